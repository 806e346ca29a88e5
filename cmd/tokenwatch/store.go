package main

import (
	"context"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
)

// openReader opens the configured PostgreSQL store for a command that
// only reads (status, silence list): it never creates or migrates the
// schema, and fails with postgres.ErrNoSchema where there is none.
func openReader(ctx context.Context, pg *config.Postgres) (*postgres.Store, error) {
	return postgres.New(ctx, pg.DSN.Reveal(), postgres.Options{Now: time.Now, ReadOnly: true})
}

// openStore builds the configured store: the state file (state.path) or
// PostgreSQL (state.postgres; the schema is created or migrated on open).
// wait is how long a session waits for the state's lock; 0 (--wait 0s)
// means a single try, as state.Open takes it.
//
// An error means the state cannot be used (exit 3); it never holds the
// DSN or its password, which is revealed in this file and nowhere else.
func openStore(ctx context.Context, cfg *config.Config, wait time.Duration, now func() time.Time) (store.Store, error) {
	// Both stores read a zero wait as their default (5s), and PostgreSQL's
	// lock_timeout of 0 would wait for ever: a millisecond is a try.
	wait = max(wait, time.Millisecond)
	if pg := cfg.State.Postgres; pg != nil {
		s, err := postgres.New(ctx, pg.DSN.Reveal(), postgres.Options{Now: now, Wait: wait})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return &store.File{Path: cfg.State.Path, Wait: wait, Now: now}, nil
}

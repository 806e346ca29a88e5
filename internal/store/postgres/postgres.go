// Package postgres is the state in PostgreSQL, for several serve replicas
// or a CronJob without a volume: a store.Store that any number of
// processes share.
//
// Every change is one short transaction, and no transaction is open
// during a network call. Locks are transaction-scoped advisory locks
// (pg_advisory_xact_lock), never held by a session between statements,
// so the store works behind a connection pooler in transaction mode;
// statements are not prepared by name for the same reason, unless the
// DSN asks for a query mode itself. Decisions (and imports) are
// serialized by one lock. Every write of records or file-level fields
// (totals, outputs, silences, ...) holds a second lock, taken after the
// first: so a decision reads its records without locking each row (at
// 10,000 checks, locking every row cost more than the rest), and the
// order of locks is the same everywhere, so they cannot deadlock. Claims
// lock only the messages they take, skipping those locked.
//
// Leases and slots are compared with the store's clock (Options.Now), not
// the database's: tests move it by hand, and replicas whose clocks differ
// by less than a lease still never deliver a message twice at once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// The transaction-scoped advisory locks: "tokwat" and a number.
const (
	lockMigrate   int64 = 0x746f6b77617401
	lockDecide    int64 = 0x746f6b77617402
	lockFileLevel int64 = 0x746f6b77617403
)

// slotsKept is how far back a check's claimed slots are kept: a replica
// whose tick is this late would run a slot again.
const slotsKept = 24 * time.Hour

// Options tune a Store.
type Options struct {
	// Now is the clock of leases; nil means time.Now.
	Now func() time.Time
	// Wait is how long a decision waits for another's lock before it
	// gives up with store.ErrLocked; 0 means 5s.
	Wait time.Duration
	// MaxConns bounds the connections; 0 means 4.
	MaxConns int32
	// ReadOnly is for a command that only reads (status, silence list):
	// New never creates or migrates the schema, and fails with
	// ErrNoSchema where there is none.
	ReadOnly bool
	// Timeout bounds each call whose caller gave no deadline, so that a
	// database that stops answering fails the call; 0 means 30s.
	Timeout time.Duration
}

// Store is the state in PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	now     func() time.Time
	wait    time.Duration
	timeout time.Duration // see Options.Timeout
	secrets []string      // cut from every error: the password, the DSN
}

var _ store.Store = (*Store)(nil)

// New connects to the database of dsn and migrates its schema when it is
// behind (see ensureSchema). dsn is a secret: no error says it, or its password.
func New(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, secrets, err := parse(dsn)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(dsn, "default_query_exec_mode") {
		// A pooler in transaction mode hands each transaction another
		// server connection: a statement prepared by name on one is
		// unknown on the next.
		cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	}
	cfg.MaxConns = 4
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, safeError("connect", err, secrets...)
	}
	s := &Store{pool: pool, now: opts.Now, wait: opts.Wait, timeout: opts.Timeout, secrets: secrets}
	if s.now == nil {
		s.now = time.Now
	}
	if s.wait == 0 {
		s.wait = 5 * time.Second
	}
	if s.timeout == 0 {
		s.timeout = txTimeout
	}
	pingCtx, cancel := withDeadline(ctx, s.timeout)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, safeError("connect", err, secrets...)
	}
	if err := s.ensureSchema(ctx, opts.ReadOnly); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// ensureSchema reads the schema version, and creates or migrates the
// schema only when it is behind this binary's and the store may write: on
// a current schema it takes no lock and runs no DDL, so a role with rights
// on the tables alone can use it.
func (s *Store) ensureSchema(ctx context.Context, readOnly bool) error {
	ms, err := readMigrations()
	if err != nil {
		return err
	}
	var applied map[int]bool
	var newest int
	err = s.txOptions(ctx, "read the schema version", pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(ctx context.Context, tx pgx.Tx) error {
		applied, newest, err = readSchema(ctx, tx)
		return err
	})
	switch {
	case err != nil:
		return err
	case newest >= len(ms):
		return tooNew(applied, newest, len(ms))
	case readOnly:
		return behind(newest)
	}
	return s.tx(ctx, "migrate the schema", func(ctx context.Context, tx pgx.Tx) error { return migrate(ctx, tx, ms) })
}

// parse reads dsn as the store and doctor both use it: pgxpool's keys
// (pool_max_conns, ...) included, with the store's bounds. secrets are
// what no error may say: the DSN and its password.
func parse(dsn string) (*pgxpool.Config, []string, error) {
	secrets := []string{dsn}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, nil, safeError("read the DSN", err, secrets...)
	}
	bound(cfg)
	return cfg, append(secrets, cfg.ConnConfig.Password), nil
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Schema reads the database's schema version: Problem says why this
// binary cannot use it, if it cannot.
func (s *Store) Schema(ctx context.Context) (Schema, error) {
	ctx, cancel := withDeadline(ctx, s.timeout)
	defer cancel()
	return schema(ctx, s.pool, s.secrets)
}

// Check connects to the database of dsn and reads its schema version,
// changing nothing (for doctor, which must not migrate): Version 0 when
// tokenwatch has not created its schema there yet, and then whether the
// role may create it.
func Check(ctx context.Context, dsn string) (Schema, error) {
	cfg, secrets, err := parse(dsn)
	if err != nil {
		return Schema{}, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return Schema{}, safeError("connect", err, secrets...)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ctx, cancel := withDeadline(ctx, txTimeout)
	defer cancel()
	applied, newest, err := readSchema(ctx, conn)
	switch {
	case errors.Is(err, errStrayTables):
		return Schema{Known: SchemaVersion, Problem: err}, nil
	case err != nil:
		return Schema{}, safeError("read the schema version", err, secrets...)
	}
	sc := Schema{Version: newest, Known: SchemaVersion, Problem: tooNew(applied, newest, SchemaVersion)}
	if newest < SchemaVersion {
		p, err := readPrivilege(ctx, conn)
		if err != nil {
			return Schema{}, safeError("read the role's privileges", err, secrets...)
		}
		sc.Privilege = &p
	}
	return sc, nil
}

func schema(ctx context.Context, q querier, secrets []string) (Schema, error) {
	applied, newest, err := appliedVersions(ctx, q)
	if err != nil {
		return Schema{}, safeError("read the schema version", err, secrets...)
	}
	return Schema{Version: newest, Known: SchemaVersion, Problem: tooNew(applied, newest, SchemaVersion)}, nil
}

// Open checks the connection: a session holds nothing between calls.
func (s *Store) Open(ctx context.Context) (store.Session, error) {
	ctx, cancel := withDeadline(ctx, s.timeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return nil, s.safe("connect", err)
	}
	return &session{s: s}, nil
}

// Snapshot reads everything in one read-only, repeatable-read transaction.
func (s *Store) Snapshot(ctx context.Context) (*state.File, error) {
	var f *state.File
	err := s.txOptions(ctx, "read the state", pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(ctx context.Context, tx pgx.Tx) error {
		v, err := load(ctx, tx, store.Scope{All: true}, true)
		if err != nil {
			return err
		}
		f = v.file
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ClaimSlot inserts the slot's row: the one caller whose insert is not a
// conflict wins. The winner forgets the check's slots of long ago.
func (s *Store) ClaimSlot(ctx context.Context, check string, slot time.Time, owner string) (bool, error) {
	won := false
	err := s.tx(ctx, "claim a schedule slot", func(ctx context.Context, tx pgx.Tx) error {
		won = false // a retry starts over
		tag, err := tx.Exec(ctx, "INSERT INTO tokenwatch_slots (check_name, slot, owner) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
			check, slot, owner)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		won = true
		_, err = tx.Exec(ctx, "DELETE FROM tokenwatch_slots WHERE check_name = $1 AND slot < $2", check, slot.Add(-slotsKept))
		return err
	})
	return won, err
}

// Import copies f in, in one transaction that holds the decision lock.
func (s *Store) Import(ctx context.Context, f *state.File, configured []string) error {
	if p := f.Problem(); p != "" {
		return fmt.Errorf("import: the state cannot be used: %s", p)
	}
	return s.tx(ctx, "import the state", func(ctx context.Context, tx pgx.Tx) error {
		if err := s.lock(ctx, tx, lockDecide, lockFileLevel); err != nil {
			return err
		}
		var held string
		err := tx.QueryRow(ctx, "SELECT name FROM tokenwatch_records WHERE name = ANY($1) ORDER BY name LIMIT 1", configured).Scan(&held)
		switch {
		case err == nil:
			return fmt.Errorf("%w: %s", store.ErrNotEmpty, held)
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		return importFile(ctx, tx, f)
	})
}

// tx runs fn in a transaction, committed when fn returns nil. fn gets the
// transaction's context: bounded by Options.Timeout when the caller's has no
// deadline, so no call hangs on a database that stopped answering. A
// transaction whose connection broke before it committed rolled back, so
// it runs once more on a new connection (the server ended the session, a
// pooled connection had died). Errors of the database come back worded by
// safeError; fn's own are returned as they are.
func (s *Store) tx(ctx context.Context, doing string, fn func(context.Context, pgx.Tx) error) error {
	return s.txOptions(ctx, doing, pgx.TxOptions{}, fn)
}

func (s *Store) txOptions(ctx context.Context, doing string, opts pgx.TxOptions, fn func(context.Context, pgx.Tx) error) error {
	ctx, cancel := withDeadline(ctx, s.timeout)
	defer cancel()
	again, err := s.attempt(ctx, doing, opts, fn)
	if again && ctx.Err() == nil {
		_, err = s.attempt(ctx, doing, opts, fn)
	}
	return err
}

// attempt runs fn in one transaction; again is true when it failed
// because the connection broke before Commit was sent (after it, the
// transaction may have committed, and is not run twice).
func (s *Store) attempt(ctx context.Context, doing string, opts pgx.TxOptions, fn func(context.Context, pgx.Tx) error) (again bool, err error) {
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return connectionLost(err), s.safe(doing, err)
	}
	defer rollback(ctx, tx)
	if err := fn(ctx, tx); err != nil {
		var caller *callerError
		return !errors.As(err, &caller) && connectionLost(err), s.classify(doing, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, s.safe(doing, err)
	}
	return false, nil
}

// rollback ends tx if it did not commit (a no-op after Commit), even when
// ctx was canceled, but not for longer than a connection may take.
func rollback(ctx context.Context, tx pgx.Tx) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), defaultConnectTimeout)
	defer cancel()
	_ = tx.Rollback(ctx)
}

// classify returns an error of fn: a caller's error as it is, a
// database's worded safely, a lock that ran out as store.ErrLocked.
func (s *Store) classify(doing string, err error) error {
	var caller *callerError
	switch {
	case errors.As(err, &caller):
		return caller.err
	case errors.Is(err, store.ErrNotEmpty), errors.Is(err, ErrSchemaTooNew):
		return err
	case errors.Is(err, errInvalid):
		return fmt.Errorf("postgres: %s: %w", doing, err)
	}
	safe := s.safe(doing, err)
	if isCode(safe, lockNotAvailable) {
		return fmt.Errorf("%w (waited %s): %v", store.ErrLocked, s.wait, safe)
	}
	return safe
}

func (s *Store) safe(doing string, err error) error { return safeError(doing, err, s.secrets...) }

// lock takes transaction-scoped advisory locks, in the order given,
// waiting at most s.wait for each.
func (s *Store) lock(ctx context.Context, tx pgx.Tx, keys ...int64) error {
	if _, err := tx.Exec(ctx, "SELECT set_config('lock_timeout', $1, true)", fmt.Sprintf("%dms", s.wait.Milliseconds())); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", k); err != nil {
			return err
		}
	}
	return nil
}

// callerError carries an error of the caller's fn through a transaction,
// to be returned as it is.
type callerError struct{ err error }

func (e *callerError) Error() string { return e.err.Error() }

// errInvalid is returned when what the database holds breaks the state's
// rules: nothing is decided from it.
var errInvalid = errors.New("the state in PostgreSQL cannot be used")

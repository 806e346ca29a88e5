package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// Behind a pooler in transaction mode, each transaction may get another
// server connection: nothing may outlive a transaction on its connection.
// After a decision, a claim, an ack, an update and a slot claim, the
// store's one connection holds no prepared statement, no advisory lock and
// no changed setting.
func TestNothingOutlivesATransaction(t *testing.T) {
	clock := testkit.NewClock()
	s := open(t, pgtestDSN(t), Options{Now: clock.Now, MaxConns: 1, Wait: 3 * time.Second})
	ctx := context.Background()
	enqueueAll(t, s, []string{"a"}, 2, clock.Now())
	sess := openSession(t, s)
	ms, err := sess.Claim(ctx, "slack", "r1", time.Minute)
	if err != nil || len(ms) != 1 {
		t.Fatalf("claim: %v %v", ms, err)
	}
	if err := sess.Ack(ctx, ms[0], &state.Thread{Channel: "C", TS: "1"}, func(*state.File) {}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Update(ctx, func(f *state.File) error { f.LastSuccess = clock.Now(); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimSlot(ctx, "a", clock.Now(), "r1"); err != nil {
		t.Fatal(err)
	}
	if err := sess.Decide(ctx, store.Scope{Checks: []string{"a"}}, func(*state.File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var prepared, locks int
	var timeout string
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_prepared_statements),
		(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
		current_setting('lock_timeout')`).Scan(&prepared, &locks, &timeout); err != nil {
		t.Fatal(err)
	}
	if prepared != 0 || locks != 0 || timeout != "0" {
		t.Errorf("left on the connection: %d prepared statements, %d advisory locks, lock_timeout %s", prepared, locks, timeout)
	}
}

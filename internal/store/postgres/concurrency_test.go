package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// replicas are n stores on one database, as n serve processes would be.
func replicas(t testing.TB, dsn string, n int, clock *testkit.Clock) []*Store {
	out := make([]*Store, n)
	for i := range out {
		out[i] = open(t, dsn, Options{Now: clock.Now, Wait: 10 * time.Second})
	}
	return out
}

// openSession opens a session of s.
func openSession(t testing.TB, s *Store) store.Session {
	t.Helper()
	sess, err := s.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// message is the n-th message about check (n is kept in FailuresInRow, to
// check the order of delivery).
func message(check string, n int, at time.Time) state.Pending {
	return state.Pending{Decision: alert.Decision{Kind: alert.KindAlert, Check: check, Type: checks.TypeCourier,
		Endpoint: "https://" + check, Outcome: checks.Invalid, Since: at, At: at, FailuresInRow: n}}
}

// enqueueAll queues perCheck messages for each of checks at slack, in one decision.
func enqueueAll(t testing.TB, s *Store, checkNames []string, perCheck int, at time.Time) {
	t.Helper()
	err := openSession(t, s).Decide(context.Background(), store.Scope{Checks: checkNames}, func(f *state.File) error {
		for n := range perCheck {
			for _, c := range checkNames {
				f.Record(state.Identity{Name: c, Type: checks.TypeCourier, Endpoint: "https://" + c})
				f.SetOutbox("slack", append(f.Outbox("slack"), message(c, n+1, at)))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// 5 replicas ask for each of 100 slots at once: each slot runs exactly
// once, 100 passes in all.
func TestSlotsRunOncePerSlot(t *testing.T) {
	clock := testkit.NewClock()
	rs := replicas(t, pgtestDSN(t), 5, clock)
	base := clock.Now().Truncate(time.Minute)
	winners := make([]atomic.Int32, 100)
	var passes atomic.Int32
	var wg sync.WaitGroup
	for i, r := range rs {
		wg.Go(func() {
			for slot := range 100 {
				won, err := r.ClaimSlot(context.Background(), "courier-main", base.Add(time.Duration(slot)*time.Minute), fmt.Sprintf("replica-%d", i))
				if err != nil {
					t.Errorf("replica %d slot %d: %v", i, slot, err)
					return
				}
				if won {
					passes.Add(1)
					winners[slot].Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := passes.Load(); n != 100 {
		t.Errorf("%d passes, want 100", n)
	}
	for slot := range winners {
		if n := winners[slot].Load(); n != 1 {
			t.Errorf("slot %d ran %d times", slot, n)
		}
	}
	// Another check's slot is its own.
	if won, err := rs[0].ClaimSlot(context.Background(), "partner-acme", base, "replica-0"); err != nil || !won {
		t.Errorf("another check's slot: %v %v", won, err)
	}
}

// delivery is one message a claimer delivered.
type delivery struct {
	check string
	n     int
	by    int
}

// deliverAll runs claimers until want messages were delivered (or the
// deadline), each claiming, delivering (noting it) and acknowledging.
func deliverAll(t *testing.T, rs []*Store, want int) []delivery {
	var mu sync.Mutex
	var log []delivery
	done := func() bool { mu.Lock(); defer mu.Unlock(); return len(log) >= want }
	var wg sync.WaitGroup
	deadline := time.Now().Add(testkit.Deadline)
	for i, r := range rs {
		sess := openSession(t, r)
		wg.Go(func() {
			for !done() && time.Now().Before(deadline) {
				ms, err := sess.Claim(context.Background(), "slack", strconv.Itoa(i), time.Minute)
				if err != nil {
					t.Errorf("claimer %d: %v", i, err)
					return
				}
				for _, m := range ms {
					mu.Lock()
					log = append(log, delivery{check: m.Check, n: m.FailuresInRow, by: i})
					mu.Unlock()
					if err := sess.Ack(context.Background(), m, nil, func(f *state.File) { f.Count("slack", "alert", true) }); err != nil {
						t.Errorf("claimer %d ack: %v", i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return log
}

// 3 claimers deliver 200 messages about 10 checks: each exactly once, and
// each check's in the order decided.
func TestClaimersDeliverEachOnceInOrder(t *testing.T) {
	clock := testkit.NewClock()
	rs := replicas(t, pgtestDSN(t), 3, clock)
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("check-%d", i))
	}
	enqueueAll(t, rs[0], names, 20, clock.Now())
	log := deliverAll(t, rs, 200)
	if len(log) != 200 {
		t.Fatalf("%d deliveries, want 200", len(log))
	}
	next := map[string]int{}
	by := map[int]int{}
	for _, d := range log {
		next[d.check]++
		if d.n != next[d.check] {
			t.Fatalf("%s: message %d delivered as number %d (out of order or twice)", d.check, d.n, next[d.check])
		}
		by[d.by]++
	}
	for _, c := range names {
		if next[c] != 20 {
			t.Errorf("%s: %d delivered, want 20", c, next[c])
		}
	}
	f, err := rs[1].Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Waiting() != 0 || len(f.Totals) != 1 || f.Totals[0].Value != 200 {
		t.Errorf("after delivery: %d waiting, totals %+v (lost counts?)", f.Waiting(), f.Totals)
	}
	t.Logf("deliveries by claimer: %v", by)
}

// A claimer that dies holding a message: nobody takes it while its lease
// runs; after, exactly one live claimer delivers it, once.
func TestDeadClaimersMessageIsRedeliveredOnce(t *testing.T) {
	clock := testkit.NewClock()
	rs := replicas(t, pgtestDSN(t), 3, clock)
	enqueueAll(t, rs[0], []string{"courier-main"}, 2, clock.Now())
	dead, err := openSession(t, rs[0]).Claim(context.Background(), "slack", "dies", time.Minute)
	if err != nil || len(dead) != 1 || dead[0].FailuresInRow != 1 {
		t.Fatalf("the first claim: %+v %v", dead, err)
	}
	rs[0].Close() // its connections go; its lease stays
	live := rs[1:]
	for i, r := range live {
		if ms, err := openSession(t, r).Claim(context.Background(), "slack", "live", time.Minute); err != nil || len(ms) != 0 {
			t.Fatalf("live claimer %d took %+v (%v) inside the lease", i, ms, err)
		}
	}
	clock.Advance(time.Minute)
	log := deliverAll(t, live, 2)
	if len(log) != 2 || log[0].n != 1 || log[1].n != 2 {
		t.Fatalf("after the lease: %+v, want message 1 once, then message 2", log)
	}
	claims := scalar[int](t, rs[1].poolDSN(t), "SELECT count(*) FROM tokenwatch_outbox")
	if claims != 0 {
		t.Errorf("%d messages left", claims)
	}
}

// A connection killed while a decision is under way (pg_terminate_backend
// from another connection) leaves no part of that attempt behind, and its
// locks go with it: the decision runs once more on a new connection, from
// the state as it was, and is kept once.
func TestKilledDecisionLeavesNothing(t *testing.T) {
	clock := testkit.NewClock()
	dsn := pgtestDSN(t)
	victim := open(t, dsn+" application_name=victim", Options{Now: clock.Now, Wait: 10 * time.Second})
	enqueueAll(t, victim, []string{"a", "b"}, 1, clock.Now())
	inside := make(chan struct{})
	killed := make(chan struct{})
	errc := make(chan error, 1)
	attempts := 0
	var seen []string // the checks each attempt was given, and a's failures
	go func() {
		errc <- openSession(t, victim).Decide(context.Background(), store.Scope{Checks: []string{"a", "b", "c"}}, func(f *state.File) error {
			attempts++
			seen = append(seen, fmt.Sprint(slices.Sorted(maps.Keys(f.Checks)), f.Checks["a"].FailuresInRow))
			f.Checks["a"].FailuresInRow = 99
			delete(f.Checks, "b")
			f.Record(state.Identity{Name: "c", Type: checks.TypeCourier, Endpoint: "https://c"})
			f.SetOutbox("slack", append(f.Outbox("slack")[1:], message("c", 1, clock.Now())))
			f.Egress = &state.Egress{Since: clock.Now(), NotifiedAt: clock.Now(), Checks: 3}
			if attempts == 1 {
				close(inside)
				<-killed
			}
			return nil
		})
	}()
	testkit.Receive(t, "the decision to start", inside)
	if n := scalar[int](t, dsn, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'victim' AND state LIKE 'idle in transaction%'`); n != 1 {
		t.Fatalf("terminated %d connections in a decision, want 1", n)
	}
	close(killed)
	if err := testkit.Receive(t, "the killed decision to end", errc); err != nil {
		t.Fatalf("the decision whose connection was killed was not retried: %v", err)
	}
	if want := []string{"[a b] 0", "[a b] 0"}; !slices.Equal(seen, want) {
		t.Errorf("the attempts saw %q, want the state as before both times %q", seen, want)
	}
	other := open(t, dsn, Options{Now: clock.Now, Wait: 2 * time.Second})
	after, err := other.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(after.Checks)), []string{"a", "c"}) || after.Checks["a"].FailuresInRow != 99 ||
		len(after.Outbox("slack")) != 2 || after.Egress == nil {
		t.Errorf("the retried decision was not kept once: %+v %+v %+v", after.Checks, after.Outboxes, after.Egress)
	}
	// Its locks died with it; and its store goes on with a new connection.
	for i, s := range []*Store{other, victim} {
		if err := openSession(t, s).Decide(context.Background(), store.Scope{Checks: []string{"a"}}, func(f *state.File) error {
			f.Checks["a"].FailuresInRow++
			return nil
		}); err != nil {
			t.Errorf("decision %d after the kill: %v", i, err)
		}
	}
}

// Decisions are serialized: one that cannot get the lock within its wait
// gives up with store.ErrLocked (the run exits 3), and concurrent ones
// lose no update.
func TestDecisionsAreSerialized(t *testing.T) {
	clock := testkit.NewClock()
	dsn := pgtestDSN(t)
	holder := open(t, dsn, Options{Now: clock.Now})
	impatient := open(t, dsn, Options{Now: clock.Now, Wait: 100 * time.Millisecond})
	enqueueAll(t, holder, []string{"a"}, 1, clock.Now())
	inside, release := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- openSession(t, holder).Decide(context.Background(), store.Scope{Checks: []string{"a"}}, func(*state.File) error {
			close(inside)
			<-release
			return nil
		})
	}()
	testkit.Receive(t, "the first decision to hold the lock", inside)
	err := openSession(t, impatient).Decide(context.Background(), store.Scope{Checks: []string{"b"}}, func(*state.File) error { return nil })
	close(release)
	if !errors.Is(err, store.ErrLocked) {
		t.Errorf("a decision while another holds the lock: %v, want ErrLocked", err)
	}
	if err := testkit.Receive(t, "the first decision", errc); err != nil {
		t.Fatal(err)
	}

	rs := replicas(t, dsn, 3, clock)
	var wg sync.WaitGroup
	for _, r := range rs {
		sess := openSession(t, r)
		wg.Go(func() {
			for range 30 {
				if err := sess.Decide(context.Background(), store.Scope{Checks: []string{"a"}}, func(f *state.File) error {
					f.Checks["a"].FailuresInRow++
					return nil
				}); err != nil {
					t.Error(err)
				}
				if err := sess.Update(context.Background(), func(f *state.File) error { f.Count("slack", "alert", true); return nil }); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	f, err := rs[0].Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.Checks["a"].FailuresInRow != 90 || len(f.Totals) != 1 || f.Totals[0].Value != 90 {
		t.Errorf("after 90 decisions and 90 updates: failures_in_row %d, totals %+v", f.Checks["a"].FailuresInRow, f.Totals)
	}
}

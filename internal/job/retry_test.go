package job

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
	"github.com/tokenwatch/tokenwatch/notify"
)

// errCut is what a store says when its connection was cut under it (a
// terminated backend), as store/postgres words it.
var errCut = errors.New("postgres: record the delivery: terminating connection due to administrator command (SQLSTATE 57P01)")

// cutStore is a state file whose next acks and decisions fail as a cut
// connection does, as many times as the test says.
type cutStore struct {
	*store.File
	mu      sync.Mutex
	acks    int // acks still to fail
	decides int // decisions still to fail
	nacks   []string
}

// fail reports whether the call counted by n fails, and counts it.
func (c *cutStore) fail(n *int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if *n == 0 {
		return false
	}
	*n--
	return true
}

func (c *cutStore) Open(ctx context.Context) (store.Session, error) {
	ss, err := c.File.Open(ctx)
	if ss == nil {
		return nil, err
	}
	return cutSession{Session: ss, c: c}, err
}

type cutSession struct {
	store.Session
	c *cutStore
}

func (s cutSession) Decide(ctx context.Context, scope store.Scope, fn func(*state.File) error) error {
	if s.c.fail(&s.c.decides) {
		return errCut
	}
	return s.Session.Decide(ctx, scope, fn)
}

func (s cutSession) Ack(ctx context.Context, m store.Message, thread *state.Thread, fn func(*state.File)) error {
	if s.c.fail(&s.c.acks) {
		return errCut
	}
	return s.Session.Ack(ctx, m, thread, fn)
}

func (s cutSession) Nack(ctx context.Context, m store.Message, reason string, fn func(*state.File)) error {
	s.c.mu.Lock()
	s.c.nacks = append(s.c.nacks, reason)
	s.c.mu.Unlock()
	return s.Session.Nack(ctx, m, reason, fn)
}

// cutJob is a job on a cutStore, keeping its session between passes as
// serve does (the leases of a session are what a stall is made of).
func cutJob(t *testing.T, n *probeNotifier, clk *testkit.Clock) (*Job, *cutStore, string) {
	api := newCourierAPI(t)
	path := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, path, ""), n, clk)
	c := &cutStore{File: &store.File{Path: path, Now: clk.Now, LockPerCall: true}}
	j.Store, j.Keep = c, true
	t.Cleanup(func() { j.Close() })
	return j, c, path
}

// An ack cut once is tried again: the delivery is recorded, the alert
// goes out once, and the pass is a success.
func TestAckCutOnceIsRetried(t *testing.T) {
	n := &probeNotifier{}
	j, c, path := cutJob(t, n, testkit.NewClock())
	c.acks = 1
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || !slices.Equal(n.sent, []string{"alert:courier-main"}) {
		t.Fatalf("sent %v, failures %v: want the alert once, recorded", n.sent, rep.Failures)
	}
	if box := readState(t, path).Outbox("slack"); len(box) != 0 {
		t.Fatalf("outbox %+v: the retried ack must record the delivery", box)
	}
}

// An ack that keeps failing hands the message back: the run says the
// delivery was not recorded (exit 3), and the next pass sends it again
// at once instead of waiting out the lease (a repeat, not a stall).
func TestAckThatKeepsFailingReleasesTheMessage(t *testing.T) {
	n := &probeNotifier{}
	j, c, _ := cutJob(t, n, testkit.NewClock())
	c.acks = storeAttempts
	rep := j.Run(context.Background(), Options{})
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, "\n"), "record the delivery of alert for courier-main") {
		t.Fatalf("failures %v: the run must say the delivery was not recorded", rep.Failures)
	}
	if len(n.sent) != 1 {
		t.Fatalf("sent %v: a message handed back is not sent again by the same pass", n.sent)
	}
	if len(c.nacks) != 1 || !strings.Contains(c.nacks[0], "could not be recorded") {
		t.Fatalf("nacks %q: want the message handed back once, saying why", c.nacks)
	}
	// The same session, the same instant: a message still leased would
	// not be claimed.
	rep = j.Run(context.Background(), Options{})
	if !slices.Equal(n.sent, []string{"alert:courier-main", "alert:courier-main"}) {
		t.Fatalf("sent %v, failures %v: want the alert sent again by the next pass", n.sent, rep.Failures)
	}
}

// A decision cut once is tried again before deciding in memory: it is
// recorded, and the alert goes out once, from the store.
func TestDecisionCutOnceIsRetried(t *testing.T) {
	n := &probeNotifier{}
	j, c, path := cutJob(t, n, testkit.NewClock())
	c.decides = 1
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || !slices.Equal(n.sent, []string{"alert:courier-main"}) {
		t.Fatalf("sent %v, failures %v: want the alert once, recorded", n.sent, rep.Failures)
	}
	if rec := readState(t, path).Checks["courier-main"]; rec == nil || rec.Track.Active == nil {
		t.Fatalf("record %+v: the retried decision must be recorded", rec)
	}
}

// End to end on PostgreSQL: the database's connections are terminated
// while the alert is being sent (pg_terminate_backend, as an
// administrator or a failover does). The ack is tried again on a new
// connection: the alert goes out once, is recorded, and nothing waits.
func TestAckAfterTerminatedConnectionsOnPostgres(t *testing.T) {
	api := newCourierAPI(t) // 401
	clk := testkit.NewClock()
	dsn := pgtest.DSN(t)
	n := &probeNotifier{}
	j := testJob(t, courierConfig(api.URL, filepath.Join(t.TempDir(), "unused.json"), ""), n, clk)
	j.Store = pgStore(t, dsn, clk)
	n.probe = func(notify.Message) {
		pgtest.Exec(t, dsn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
	}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || !slices.Equal(n.sent, []string{"alert:courier-main"}) || rep.Pending != 0 {
		t.Fatalf("sent %v, pending %d, failures %v: want the alert once, recorded", n.sent, rep.Pending, rep.Failures)
	}
	n.probe = nil
	clk.Advance(time.Minute)
	if rep := j.Run(context.Background(), Options{}); len(n.sent) != 1 {
		t.Fatalf("sent %v, failures %v: the recorded alert must not be sent again", n.sent, rep.Failures)
	}
}

package serve

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// frozenStore is a database that stopped answering: every call blocks
// until its context ends, except Snapshot, which blocks until the test
// releases it (a read that ignores its deadline: /metrics must not wait
// for it either).
type frozenStore struct {
	snapshots chan struct{} // one value per Snapshot that started
	release   chan struct{}
}

func (f *frozenStore) Open(ctx context.Context) (store.Session, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *frozenStore) Snapshot(context.Context) (*state.File, error) {
	f.snapshots <- struct{}{}
	<-f.release
	return nil, context.DeadlineExceeded
}

func (f *frozenStore) ClaimSlot(ctx context.Context, _ string, _ time.Time, _ string) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

func (f *frozenStore) Import(ctx context.Context, _ *state.File, _ []string) error {
	<-ctx.Done()
	return ctx.Err()
}

func (f *frozenStore) Close() error { return nil }

// A frozen database stops nothing: each tick claims its slot, gives up
// after the deadline, runs its checks anyway and goes on with the next;
// the replica is ready; and a scrape answers at once with the last
// snapshot while another scrape's read of the shared state hangs.
func TestFrozenStoreStopsNothing(t *testing.T) {
	frozen := &frozenStore{snapshots: make(chan struct{}, 16), release: make(chan struct{})}
	defer close(frozen.release)
	fake := &fakeCheck{name: "a"}
	cfg := &config.Config{Concurrency: 1, State: config.State{Path: "unused.json"},
		Checks: []config.Check{{Name: "a", Type: "courier", Schedule: "@every 10ms", Alert: config.DefaultAlert}}}
	s := newServer(cfg, []checks.Check{fake})
	s.Shared = true
	s.Build = func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
		return &job.Job{Config: cfg, Checks: []checks.Check{fake}, Store: frozen, StoreTimeout: 20 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler), Outputs: []job.Output{m}}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	testkit.WaitFor(t, "ready", s.ready.Load)
	testkit.WaitFor(t, "several passes", func() bool { return fake.runs.Load() >= 3 })

	scrape := func() chan int {
		code := make(chan int, 1)
		go func() {
			rec := httptest.NewRecorder()
			s.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			code <- rec.Code
		}()
		return code
	}
	first := scrape()
	<-frozen.snapshots // the first scrape is reading, and hangs
	select {
	case code := <-scrape():
		if code != http.StatusOK {
			t.Fatalf("/metrics answered %d while the shared state hangs", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a scrape waits for another scrape's read of a frozen store")
	}
	if len(first) != 0 {
		t.Fatal("the first scrape returned before its read did")
	}
}

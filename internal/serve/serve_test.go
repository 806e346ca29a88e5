package serve

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
)

// fakeCheck is a check whose behaviour the test scripts.
type fakeCheck struct {
	name  string
	runs  atomic.Int64
	panic bool          // panic on every run after the first pass
	block time.Duration // take this long
}

func (f *fakeCheck) Name() string        { return f.name }
func (f *fakeCheck) Type() string        { return "courier" }
func (f *fakeCheck) Endpoint() string    { return "https://fake.example" }
func (f *fakeCheck) Fingerprint() string { return "00000000" }
func (f *fakeCheck) Run(ctx context.Context) checks.Result {
	n := f.runs.Add(1)
	if f.panic && n > 1 {
		panic("check exploded")
	}
	select {
	case <-time.After(f.block):
	case <-ctx.Done():
	}
	return checks.Result{Check: f.name, Type: "courier", Outcome: checks.OK, Started: time.Now()}
}

func testServer(t *testing.T, fakes ...*fakeCheck) (*Server, context.CancelFunc, chan error) {
	t.Helper()
	cfg := &config.Config{Concurrency: 4, State: config.State{Path: filepath.Join(t.TempDir(), "state.json")}}
	var list []checks.Check
	for _, f := range fakes {
		cfg.Checks = append(cfg.Checks, config.Check{Name: f.name, Type: "courier", Schedule: "@every 1s", Alert: config.DefaultAlert})
		list = append(list, f)
	}
	s := &Server{
		Listen:  "127.0.0.1:0",
		Metrics: metrics.NewServe(nil),
		Logger:  slog.New(slog.DiscardHandler),
		Grace:   2 * time.Second,
		Load:    func() (*config.Config, error) { return cfg, nil },
		Build: func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
			return &job.Job{Config: cfg, Checks: list, Logger: slog.New(slog.DiscardHandler), Outputs: []job.Output{m}}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, cancel, done
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPanickingCheckKeepsItsSchedule(t *testing.T) {
	bomb := &fakeCheck{name: "bomb", panic: true}
	steady := &fakeCheck{name: "steady"}
	testServer(t, bomb, steady)
	// The first pass, then at least three scheduled runs that each panic:
	// the check is neither unscheduled nor skipped forever.
	waitUntil(t, "the panicking check to run again and again", func() bool { return bomb.runs.Load() >= 4 })
	if steady.runs.Load() < 2 {
		t.Errorf("the other check stopped running")
	}
}

func TestStillRunningCheckIsSkippedAndCounted(t *testing.T) {
	slow := &fakeCheck{name: "slow", block: 2500 * time.Millisecond}
	s, _, _ := testServer(t, slow)
	waitUntil(t, "a skipped run to be counted", func() bool {
		return testutil.ToFloat64(s.Metrics.SkippedCounter().WithLabelValues("slow")) >= 1
	})
}

func TestReadyOnlyAfterTheFirstPass(t *testing.T) {
	slow := &fakeCheck{name: "slow", block: 500 * time.Millisecond}
	s, cancel, done := testServer(t, slow)
	if s.ready.Load() {
		t.Error("ready before the first pass finished")
	}
	waitUntil(t, "ready", s.ready.Load)
	cancel()
	if err := <-done; err != nil {
		t.Errorf("stop: %v", err)
	}
	done <- nil // for the cleanup
}

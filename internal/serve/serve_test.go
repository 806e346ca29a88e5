package serve

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
)

// fakeCheck is a check whose behaviour the test scripts.
type fakeCheck struct {
	name  string
	runs  atomic.Int64
	block time.Duration // take this long
}

func (f *fakeCheck) Name() string        { return f.name }
func (f *fakeCheck) Type() string        { return "courier" }
func (f *fakeCheck) Endpoint() string    { return "https://fake.example" }
func (f *fakeCheck) Fingerprint() string { return "00000000" }
func (f *fakeCheck) Run(ctx context.Context) checks.Result {
	f.runs.Add(1)
	select {
	case <-time.After(f.block):
	case <-ctx.Done():
	}
	return checks.Result{Check: f.name, Type: "courier", Outcome: checks.OK, Started: time.Now()}
}

// panickingOutput panics on every pass after the first: a bug in tokenwatch's
// own code, after the checks, which only the cron chain's Recover catches.
type panickingOutput struct{ passes atomic.Int64 }

func (p *panickingOutput) Name() string { return "panicking" }
func (p *panickingOutput) Report(context.Context, *job.Report) error {
	if p.passes.Add(1) > 1 {
		panic("output exploded")
	}
	return nil
}

func testServer(t *testing.T, fakes ...*fakeCheck) (*Server, context.CancelFunc, chan error) {
	return testServerWith(t, nil, fakes...)
}

func testServerWith(t *testing.T, extra job.Output, fakes ...*fakeCheck) (*Server, context.CancelFunc, chan error) {
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
			outputs := []job.Output{m}
			if extra != nil {
				outputs = append(outputs, extra)
			}
			return &job.Job{Config: cfg, Checks: list, Logger: slog.New(slog.DiscardHandler), Outputs: outputs}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, cancel, done
}

// skipped reads tokenwatch_check_skipped_total for a check from the
// registry; -1 while the series does not exist (the server is starting).
func skipped(t *testing.T, s *Server, check string) float64 {
	t.Helper()
	families, err := s.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "tokenwatch_check_skipped_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "check" && l.GetValue() == check {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return -1
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

func TestPanickingPassKeepsItsSchedule(t *testing.T) {
	bomb := &fakeCheck{name: "bomb"}
	out := &panickingOutput{}
	s, _, _ := testServerWith(t, out, bomb)
	// The first pass, then at least three scheduled passes that each panic:
	// the check is neither unscheduled nor skipped forever.
	waitUntil(t, "the panicking pass to run again and again", func() bool { return out.passes.Load() >= 4 })
	if n := skipped(t, s, "bomb"); n != 0 {
		t.Errorf("%v runs skipped: a panic must release the skip guard", n)
	}
}

func TestStillRunningCheckIsSkippedAndCounted(t *testing.T) {
	slow := &fakeCheck{name: "slow", block: 2500 * time.Millisecond}
	s, _, _ := testServer(t, slow)
	waitUntil(t, "a skipped run to be counted", func() bool {
		return skipped(t, s, "slow") >= 1
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

// gauge counts checks in flight and remembers the most seen at once.
type gauge struct{ now, peak atomic.Int64 }

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// countedCheck is a fakeCheck that reports itself to a gauge while it runs.
type countedCheck struct {
	*fakeCheck
	g *gauge
}

func (c countedCheck) Run(ctx context.Context) checks.Result {
	c.g.enter()
	defer c.g.leave()
	return c.fakeCheck.Run(ctx)
}

// Every schedule draws on one limit: with concurrency 2, ten slow checks
// on five schedules firing together never have more than 2 in flight.
func TestConcurrencyIsOneLimitAcrossSchedules(t *testing.T) {
	g := &gauge{}
	cfg := &config.Config{Concurrency: 2, State: config.State{Path: filepath.Join(t.TempDir(), "state.json")}}
	var list []checks.Check
	var fakes []*fakeCheck
	for i := range 10 {
		f := &fakeCheck{name: fmt.Sprintf("c%d", i), block: 150 * time.Millisecond}
		fakes = append(fakes, f)
		cfg.Checks = append(cfg.Checks, config.Check{Name: f.name, Type: "courier", Schedule: fmt.Sprintf("@every %dms", 1000+i%5), Alert: config.DefaultAlert})
		list = append(list, countedCheck{fakeCheck: f, g: g})
	}
	s := &Server{
		Listen: "127.0.0.1:0", Metrics: metrics.NewServe(nil), Logger: slog.New(slog.DiscardHandler), Grace: 2 * time.Second,
		Load: func() (*config.Config, error) { return cfg, nil },
		Build: func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
			return &job.Job{Config: cfg, Checks: list, Logger: slog.New(slog.DiscardHandler), Outputs: []job.Output{m}}, nil
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitUntil(t, "every check to run three times", func() bool {
		for _, f := range fakes {
			if f.runs.Load() < 3 {
				return false
			}
		}
		return true
	})
	if peak := g.peak.Load(); peak > 2 || peak < 1 {
		t.Errorf("%d checks in flight at once, want at most concurrency 2", peak)
	}
}

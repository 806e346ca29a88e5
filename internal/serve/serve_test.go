package serve

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// fakeCheck is a check whose behaviour the test scripts.
type fakeCheck struct {
	name string
	runs atomic.Int64
	// block is how long each run takes: a check that takes time, so that
	// passes overlap; not a timing the test asserts.
	block time.Duration
	// holdFrom, when not 0, keeps run number holdFrom and every later one
	// going until release is closed (or the run is cancelled).
	holdFrom int64
	release  chan struct{}
}

// newHeldCheck is a fakeCheck whose runs from holdFrom on wait for the
// test; testServer releases them when the test ends, before it stops the
// server (which would otherwise wait out its grace period).
func newHeldCheck(name string, holdFrom int64) *fakeCheck {
	return &fakeCheck{name: name, holdFrom: holdFrom, release: make(chan struct{})}
}

func (f *fakeCheck) Name() string        { return f.name }
func (f *fakeCheck) Type() string        { return "courier" }
func (f *fakeCheck) Endpoint() string    { return "https://fake.example" }
func (f *fakeCheck) Fingerprint() string { return "00000000" }
func (f *fakeCheck) Run(ctx context.Context) checks.Result {
	run := f.runs.Add(1)
	timer := time.NewTimer(f.block)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	if f.holdFrom != 0 && run >= f.holdFrom {
		select {
		case <-f.release:
		case <-ctx.Done():
		}
	}
	return checks.Result{Check: f.name, Type: "courier", Outcome: checks.OK, Started: time.Now()}
}

// exactEvery reads "@every D" exactly, below a second too (robfig/cron's
// own parser makes every @every at least a second), so that a test's
// schedules fire within milliseconds.
type exactEvery struct{}

func (exactEvery) Parse(spec string) (cron.Schedule, error) {
	text, ok := strings.CutPrefix(spec, "@every ")
	d, err := time.ParseDuration(text)
	if !ok || err != nil || d <= 0 {
		return nil, fmt.Errorf("test schedule %q: want @every and a Go duration", spec)
	}
	return every(d), nil
}

// every fires d after the last time.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

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
		cfg.Checks = append(cfg.Checks, config.Check{Name: f.name, Type: "courier", Schedule: "@every 10ms", Alert: config.DefaultAlert})
		list = append(list, f)
	}
	var outputs []job.Output
	if extra != nil {
		outputs = append(outputs, extra)
	}
	s := newServer(cfg, list, outputs...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		for _, f := range fakes {
			if f.release != nil {
				close(f.release)
			}
		}
		cancel()
		<-done
	})
	return s, cancel, done
}

// newServer is a server of cfg running the given checks, on the exact
// schedules of a test, reporting to its metrics and to outputs.
func newServer(cfg *config.Config, list []checks.Check, outputs ...job.Output) *Server {
	return &Server{
		Listen:    "127.0.0.1:0",
		Metrics:   metrics.NewServe(nil),
		Logger:    slog.New(slog.DiscardHandler),
		Grace:     2 * time.Second,
		Schedules: exactEvery{},
		Load:      func() (*config.Config, error) { return cfg, nil },
		Build: func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
			return &job.Job{Config: cfg, Checks: list, Logger: slog.New(slog.DiscardHandler), Outputs: append([]job.Output{m}, outputs...)}, nil
		},
	}
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

func TestPanickingPassKeepsItsSchedule(t *testing.T) {
	bomb := &fakeCheck{name: "bomb"}
	out := &panickingOutput{}
	s, _, _ := testServerWith(t, out, bomb)
	// The first pass, then at least three scheduled passes that each panic:
	// the check is neither unscheduled nor skipped forever.
	testkit.WaitFor(t, "the panicking pass to run again and again", func() bool { return out.passes.Load() >= 4 })
	// A guard a panic kept would skip every time after it; a time skipped
	// now and then is a pass (its panic logged with a stack) that outlasted
	// the 10 ms schedule on a loaded machine.
	if n, passes := skipped(t, s, "bomb"), out.passes.Load(); n >= float64(passes) {
		t.Errorf("%v runs skipped against %d passes: a panic must release the skip guard", n, passes)
	}
}

// A time of a schedule that comes while its last pass still runs is
// skipped, and counted.
func TestStillRunningCheckIsSkippedAndCounted(t *testing.T) {
	slow := newHeldCheck("slow", 2) // the first scheduled pass never ends
	s, _, _ := testServer(t, slow)
	testkit.WaitFor(t, "a skipped run to be counted", func() bool {
		return skipped(t, s, "slow") >= 1
	})
	if n := slow.runs.Load(); n != 2 {
		t.Errorf("%d runs of a check whose pass never ended, want 2 (the first pass and the one that holds)", n)
	}
}

// /readyz says ready only once the first pass is done.
func TestReadyOnlyAfterTheFirstPass(t *testing.T) {
	slow := newHeldCheck("slow", 1) // the first pass waits for the test
	s, cancel, done := testServer(t, slow)
	testkit.WaitFor(t, "the first pass to start", func() bool { return slow.runs.Load() >= 1 })
	if s.ready.Load() {
		t.Error("ready while the first pass runs")
	}
	slow.release <- struct{}{} // the first run ends; later runs hold again
	testkit.WaitFor(t, "ready", s.ready.Load)
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
		f := &fakeCheck{name: fmt.Sprintf("c%d", i), block: 15 * time.Millisecond}
		fakes = append(fakes, f)
		cfg.Checks = append(cfg.Checks, config.Check{Name: f.name, Type: "courier", Schedule: fmt.Sprintf("@every %dms", 10+i%5), Alert: config.DefaultAlert})
		list = append(list, countedCheck{fakeCheck: f, g: g})
	}
	s := newServer(cfg, list)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "every check to run three times", func() bool {
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

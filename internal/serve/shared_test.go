package serve

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
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

// otherReplicas is a state file whose every slot another replica wins.
type otherReplicas struct{ *store.File }

func (otherReplicas) ClaimSlot(context.Context, string, time.Time, string) (bool, error) {
	return false, nil
}

// A replica that won no slot runs no check, yet its /metrics shows each
// check as the shared state holds it (another replica's result).
func TestSharedMetricsShowWhatOtherReplicasRan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	st := otherReplicas{&store.File{Path: path}}
	sess, err := st.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Decide(context.Background(), store.Scope{All: true}, func(f *state.File) error {
		rec := f.Record(state.Identity{Name: "a", Type: "courier", Endpoint: "https://fake.example"})
		rec.Outcome, rec.FailuresInRow, rec.LastRun = checks.Invalid, 3, time.Now()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sess.Close()

	fake := &fakeCheck{name: "a"}
	cfg := &config.Config{Concurrency: 1, State: config.State{Path: path},
		Checks: []config.Check{{Name: "a", Type: "courier", Schedule: "@every 1h", Alert: config.DefaultAlert}}}
	s := newServer(cfg, []checks.Check{fake})
	s.Shared = true
	s.Build = func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
		return &job.Job{Config: cfg, Checks: []checks.Check{fake}, Store: st, Logger: slog.New(slog.DiscardHandler), Outputs: []job.Output{m}}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	testkit.WaitFor(t, "ready", s.ready.Load)

	rec := httptest.NewRecorder()
	s.routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`tokenwatch_check_outcome{check="a",outcome="invalid",type="courier"} 1`,
		`tokenwatch_check_failures_in_row{check="a",type="courier"} 3`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s: the shared state is not shown", want)
		}
	}
	if n := fake.runs.Load(); n != 0 {
		t.Errorf("the check ran %d times on a replica that won none of its slots", n)
	}
}

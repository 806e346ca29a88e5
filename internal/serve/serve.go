// Package serve is tokenwatch as a daemon: the checks on their cron
// schedules (robfig/cron, in UTC, "@every D" at the multiples of D since
// the Unix epoch, see slots.go; one pass per schedule's time, every pass
// within one limit of checks in flight), one session of the state kept
// between passes (the file in memory, locked only inside each read or
// write; or PostgreSQL, shared with other replicas, each check's slot
// run by one of them), /metrics, /healthz and /readyz, a reload on SIGHUP
// that keeps the old configuration when the new one is bad, and a
// graceful stop that lets in-flight checks finish and saves the state.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/robfig/cron/v3"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
)

// Server runs the checks on their schedules until its context ends.
type Server struct {
	// Listen is the address of /metrics, /healthz and /readyz.
	Listen string
	// Load reads and validates the configuration (at start-up and on SIGHUP).
	Load func() (*config.Config, error)
	// Build wires a job for a configuration; the metrics are shared by every
	// configuration the server runs, so series survive a reload.
	Build   func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error)
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Grace is how long in-flight checks may go on after SIGTERM before
	// they are cancelled; 0 means 20s.
	Grace time.Duration
	// Reload receives a value for every SIGHUP.
	Reload <-chan os.Signal
	// Schedules reads each schedule of the configuration; nil means
	// robfig/cron's standard parser (five fields or a descriptor), the one
	// the configuration is validated with, except that "@every D" fires at
	// the multiples of D since the Unix epoch (see slots.go).
	Schedules cron.ScheduleParser
	// Shared is set when other replicas share the state (PostgreSQL):
	// /metrics then shows every check as the state holds it, read at
	// scrape time at most once per SharedEvery (see refresh).
	Shared bool

	configListen string // metrics.listen of the configuration loaded last
	ready        atomic.Bool
	runCtx       context.Context
	current      atomic.Pointer[job.Job] // the job of the configuration that runs
	sharedMu     sync.Mutex
	sharedAt     time.Time // when /metrics last read the shared state
}

// SharedEvery is how long /metrics reuses the shared state it read: a
// scrape every few seconds from several Prometheus servers costs one
// snapshot, and a check's series are at most this much older than the
// store.
const SharedEvery = 5 * time.Second

// RefreshTimeout bounds /metrics' read of the shared state: Prometheus
// gives up on a scrape after 10s by default, and this replica's own
// series are worth more than a scrape that times out.
const RefreshTimeout = 3 * time.Second

// Run serves until ctx is cancelled (SIGTERM, SIGINT), then stops gracefully.
func (s *Server) Run(ctx context.Context) error {
	cfg, err := s.Load()
	if err != nil {
		return err
	}
	s.Metrics.SetChecks(cfg.Checks)
	s.Metrics.Reloaded(true, time.Now())
	s.configListen = cfg.Metrics.Listen
	j, err := s.build(cfg)
	if err != nil {
		return err
	}
	s.current.Store(j)
	listener, err := net.Listen("tcp", s.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.Listen, err)
	}
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("metrics server stopped", "error", err.Error())
		}
	}()
	s.Logger.Info("serving", "listen", listener.Addr().String(), "checks", len(cfg.Checks))

	// Checks run on a context that outlives SIGTERM by the grace period.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	s.runCtx = runCtx

	first := make(chan struct{})
	go func() {
		defer close(first)
		defer func() {
			if r := recover(); r != nil {
				s.Logger.Error("first pass panicked; the schedules start anyway", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			}
		}()
		s.firstPass(j)
	}()
	var sched *cron.Cron
	select {
	case <-first:
		s.ready.Store(true)
		sched = s.schedule(j)
	case <-ctx.Done():
	}

	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-s.Reload:
			if next, nextJob := s.reload(sched, j); next != nil {
				sched, j = next, nextJob
				s.current.Store(j)
			}
		}
	}
	s.Logger.Info("stopping: waiting for checks in flight", "grace", s.grace().String())
	s.ready.Store(false)
	stopped := make(chan struct{})
	go func() {
		if sched != nil {
			<-sched.Stop().Done()
		}
		<-first
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(s.grace()):
		s.Logger.Warn("grace period over: cancelling checks in flight")
		cancelRuns()
		<-stopped
	}
	if err := j.Close(); err != nil {
		s.Logger.Error("state not released cleanly", "error", err.Error())
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	s.Logger.Info("stopped")
	return nil
}

// build wires a job for cfg that keeps the state in memory between passes:
// the daemon reads it once and saves it as it changes.
func (s *Server) build(cfg *config.Config) (*job.Job, error) {
	j, err := s.Build(cfg, s.Metrics)
	if err != nil {
		return nil, err
	}
	j.Keep = true
	return j, nil
}

func (s *Server) grace() time.Duration {
	if s.Grace == 0 {
		return 20 * time.Second
	}
	return s.Grace
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	metricsHandler := promhttp.HandlerFor(s.Metrics.Registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.Logger.Handler(), slog.LevelError)})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		s.refresh(r.Context())
		metricsHandler.ServeHTTP(w, r)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	// Ready stays true while the store cannot be used: passes still check
	// and alert without it (see job.bounded), and a replica taken out of
	// service for it would only hide its metrics.
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready: the first pass has not finished", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// schedule starts a cron with one entry per schedule, in UTC: the checks
// that share a schedule run as one pass at each of its times (one summary
// when it has too many messages, one heartbeat ping), and every pass draws
// on the job's one limit of checks in flight. Each entry's chain is the
// order FINDINGS calls for: SkipIfStillRunning first, so a time that comes
// while the last pass of that schedule still runs is skipped (and counted
// for each of its checks), then Recover, so a panic is logged and releases
// the skip guard. In the other order a panicking pass would run once and
// be skipped forever.
func (s *Server) schedule(j *job.Job) *cron.Cron {
	parser := s.Schedules
	if parser == nil {
		parser = slotParser{}
	}
	c := cron.New(cron.WithLocation(time.UTC))
	for _, g := range groups(j.Config.Checks) {
		sched, err := parse(parser, g.spec)
		if err != nil {
			// validate rejects bad specs; this is a last line of defence.
			s.Logger.Error("checks not scheduled", "checks", g.names, "schedule", g.spec, "error", err.Error())
			continue
		}
		entry := cron.NewChain(
			cron.SkipIfStillRunning(skipCounter{s: s, checks: g.names}),
			cron.Recover(cronLogger{s.Logger}),
		).Then(cron.FuncJob(func() { s.pass(j, s.won(j, g.names, sched, time.Now())) }))
		c.Schedule(sched, entry)
	}
	c.Start()
	return c
}

// group is the checks that share one schedule.
type group struct {
	spec  string
	names []string
}

// groups gathers the checks by schedule, in the order the schedules first
// appear in the configuration.
func groups(list []config.Check) []group {
	var out []group
	at := map[string]int{}
	for _, c := range list {
		i, ok := at[c.Schedule]
		if !ok {
			i = len(out)
			at[c.Schedule] = i
			out = append(out, group{spec: c.Schedule})
		}
		out[i].names = append(out[i].names, c.Name)
	}
	return out
}

// parse reads a schedule, turning robfig/cron's panics on odd specs into errors.
func parse(p cron.ScheduleParser, spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("invalid schedule: %v", r)
		}
	}()
	return p.Parse(spec)
}

// firstPass runs every check whose current slot this replica wins: a
// restart does not run again a slot another replica (or this one, before
// it restarted) ran.
func (s *Server) firstPass(j *job.Job) {
	parser := s.Schedules
	if parser == nil {
		parser = slotParser{}
	}
	now := time.Now()
	var won []string
	for _, g := range groups(j.Config.Checks) {
		sched, err := parse(parser, g.spec)
		if err != nil {
			won = append(won, g.names...) // not scheduled (see schedule): run once at least
			continue
		}
		won = append(won, s.won(j, g.names, sched, now)...)
	}
	s.pass(j, won)
}

// won is those of names whose slot at now (see Slot) this replica won:
// replicas that share the state run each check once per slot. A claim
// that fails (PostgreSQL down) runs the check anyway: a check run twice
// is better than one that on-call never hears about.
func (s *Server) won(j *job.Job, names []string, sched cron.Schedule, now time.Time) []string {
	slot := Slot(sched, now)
	won := make([]bool, len(names))
	// A claim is a round trip: a few at once (as many as the store has
	// connections by default), or 10,000 checks wait seconds for theirs.
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(claimsInFlight, len(names)) {
		wg.Go(func() {
			for i := range next {
				ok, err := j.ClaimSlot(s.runCtx, names[i], slot)
				if err != nil {
					s.Logger.Warn("cannot claim the check's slot; running it anyway", "check", names[i], "slot", slot, "error", err.Error())
					ok = true
				}
				won[i] = ok
			}
		})
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
	out := make([]string, 0, len(names))
	for i, name := range names {
		if won[i] {
			out = append(out, name)
		}
	}
	if len(out) < len(names) {
		s.Logger.Debug("slot run by another replica", "checks", len(names)-len(out), "slot", slot)
	}
	return out
}

// claimsInFlight is how many slot claims a replica makes at once.
const claimsInFlight = 4

// refresh reads the shared state into the metrics (Shared), unless it
// did within SharedEvery. A failed read leaves the series as they were:
// this replica's passes still update its own. A scrape never waits for
// another scrape's read: while one is reading (a slow or frozen
// database), the others answer at once with the last snapshot, and the
// read itself gives up after RefreshTimeout.
func (s *Server) refresh(ctx context.Context) {
	j := s.current.Load()
	if !s.Shared || j == nil {
		return
	}
	if !s.sharedMu.TryLock() {
		return
	}
	defer s.sharedMu.Unlock()
	if time.Since(s.sharedAt) < SharedEvery {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, RefreshTimeout)
	defer cancel()
	rep, err := j.SharedReport(ctx)
	if err != nil {
		s.Logger.Warn("cannot read the shared state for /metrics; showing this replica's last passes", "error", err.Error())
		return
	}
	s.sharedAt = time.Now()
	s.Metrics.Shared(rep)
}

// pass runs one pass of the given checks; none is no pass at all (every
// slot went to other replicas).
func (s *Server) pass(j *job.Job, only []string) {
	if len(only) == 0 {
		return
	}
	rep := j.Run(s.runCtx, job.Options{Only: only})
	if !rep.Delivered() {
		s.Logger.Error("pass could not deliver everything; the next pass retries", "failures", rep.Failures)
	}
}

// reload loads the configuration again. A bad one keeps the old running.
func (s *Server) reload(old *cron.Cron, oldJob *job.Job) (*cron.Cron, *job.Job) {
	cfg, err := s.Load()
	if err != nil {
		s.Metrics.Reloaded(false, time.Now())
		s.Logger.Error("reload failed: keeping the configuration that runs now", "error", err.Error())
		return nil, nil
	}
	j, err := s.build(cfg)
	if err != nil {
		s.Metrics.Reloaded(false, time.Now())
		s.Logger.Error("reload failed: keeping the configuration that runs now", "error", err.Error())
		return nil, nil
	}
	if old != nil {
		<-old.Stop().Done() // in-flight checks of the old configuration finish first
	}
	// The new job opens its own session of the state the old one saved.
	if err := oldJob.Close(); err != nil {
		s.Logger.Error("state not released cleanly", "error", err.Error())
	}
	s.Metrics.SetChecks(cfg.Checks)
	s.Metrics.Reloaded(true, time.Now())
	s.Logger.Info("configuration reloaded", "checks", len(cfg.Checks))
	if cfg.Metrics.Listen != s.configListen {
		s.Logger.Warn("metrics.listen changed: restart tokenwatch to move the listener", "listening_on", s.Listen, "configured", cfg.Metrics.Listen)
		s.configListen = cfg.Metrics.Listen
	}
	return s.schedule(j), j
}

// skipCounter is the logger of one schedule's SkipIfStillRunning: the only
// thing it logs is a skip, which it counts for each of the schedule's checks.
type skipCounter struct {
	s      *Server
	checks []string
}

// Info implements cron.Logger: SkipIfStillRunning logs only "skip".
func (k skipCounter) Info(msg string, kv ...any) {
	for _, name := range k.checks {
		k.s.Metrics.Skipped(name)
	}
	k.s.Logger.Warn("checks skipped: the last pass of their schedule is still going", "checks", k.checks)
}

// Error implements cron.Logger.
func (k skipCounter) Error(err error, msg string, kv ...any) {
	k.s.Logger.Error("cron: "+msg, append(kv, "checks", k.checks, "error", err.Error())...)
}

// cronLogger sends robfig/cron's logs to slog.
type cronLogger struct{ l *slog.Logger }

// Info implements cron.Logger.
func (c cronLogger) Info(msg string, kv ...any) { c.l.Debug("cron: "+msg, kv...) }

// Error implements cron.Logger.
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Error("cron: "+msg, append(kv, "error", err.Error())...)
}

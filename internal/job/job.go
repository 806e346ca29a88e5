package job

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Job is everything one pass needs. Build it once; Run it once per pass
// (run: once; serve: on every scheduled tick, several at once).
type Job struct {
	Config *config.Config
	Checks []checks.Check
	// Notifiers are how on-call hears: none, one or several, each with its
	// own outbox in the state and its own failures.
	Notifiers []notify.Notifier
	Logger    *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Store is where the state is kept; nil means the state file of
	// Config (see store).
	Store store.Store
	// StateWait is how long a pass waits for another run's state lock,
	// when Store is nil; 0 means 5s.
	StateWait time.Duration
	// StoreTimeout bounds every call to the store; 0 means the defaults
	// (see callTimeout), which tests shorten.
	StoreTimeout time.Duration
	// Grace is how long a pass keeps delivering after its context is
	// cancelled (SIGTERM); 0 means DefaultGrace.
	Grace time.Duration
	// Outputs receive every pass's report after the messages are sent:
	// metrics, textfile, Pushgateway, heartbeat. Their errors mean exit 3.
	Outputs []Output

	// Keep keeps one session of the store between passes (serve), released
	// by Close: the state file is read once, saved as it changes, and
	// locked only inside each read or write (so that `tokenwatch silence`
	// works meanwhile); PostgreSQL holds nothing between calls anyway.
	Keep bool
	// Owner names this process in the leases of the messages it delivers;
	// empty means its host name and pid.
	Owner string

	// mu guards kept: the session kept between passes.
	mu        sync.Mutex
	kept      store.Session
	storeOnce sync.Once
	bounded   store.Store // Store with deadlines (see store)
	// openMu serializes opening the store (see open).
	openMu sync.Mutex
	// delivering serializes each notifier's deliveries (its outbox is sent
	// in order), without blocking the checks or the decisions.
	delivering sync.Map // notifier name -> *sync.Mutex
	// slots bound the checks in flight across every pass of this job.
	slotsOnce sync.Once
	slots     chan struct{}
	indexOnce sync.Once
	idx       *checkIndex
}

// Output is something a pass reports to after alerting: it must not delay
// or block the alerts, so it runs last.
type Output interface {
	// Name says what it is in failure messages ("pushgateway").
	Name() string
	// Report records the pass; an error means it was not delivered.
	Report(ctx context.Context, rep *Report) error
}

// Starter is an Output that also wants to hear when a pass starts (the
// heartbeat's URL/start). Start runs beside the checks and must return
// within its own short timeout.
type Starter interface {
	Start(ctx context.Context)
}

// Options change one pass.
type Options struct {
	// Only restricts the pass to these check names; empty means all.
	Only []string
	// DryRun checks and decides, but sends, pushes and writes nothing.
	DryRun bool
}

// Report is what one pass did.
type Report struct {
	Results  []checks.Result
	Started  time.Time
	Duration time.Duration
	// Notifications lists every message of the pass, delivered or not.
	Notifications []Notification
	// Failures says what could not be delivered or saved; non-empty means exit 3.
	Failures []string
	// Tracks is every configured check's state as the pass left it (for
	// checks that did not run in it, as the state remembers them).
	Tracks map[string]alert.Track
	// Lifecycles is every configured check's credential lifecycle as the
	// pass left it (first sightings, issued_at, the certificate seen).
	Lifecycles map[string]alert.Lifecycle
	// DryRun is set when nothing was sent or written.
	DryRun bool
	// LastSuccess is the start of the last pass that delivered every
	// message, saved the state and wrote or pushed every output, as the
	// state knew it when this pass began: an output cannot report its own
	// success, so this pass's own success shows in the next pass's report.
	// Zero when unknown.
	LastSuccess time.Time
	// Totals are the cumulative message counts by notifier, kind and
	// result, this pass included. In run they are kept in the state, so
	// they only grow from run to run and increase() works on a textfile or
	// a Pushgateway.
	Totals []Total
	// Outputs is, per output name ("textfile", "pushgateway", "heartbeat",
	// "state"), when it last succeeded and last failed, as the state knew
	// it when this pass began (this pass's own outcome for "state").
	Outputs map[string]OutputStatus
	// Notifiers is how each notifier's last delivery went (this pass's, or
	// as the state remembers it), and NotifierErrors their failed
	// deliveries by reason, cumulative like Totals.
	Notifiers      map[string]bool
	NotifierErrors []NotifierError
	// Pending is how many messages wait for the next run; -1 when unknown
	// (the state could not be read).
	Pending int
	// Mutes holds every configured check silenced at the pass's time (by
	// a silence or an open maintenance window), by name; nil when unknown
	// (the state could not be read).
	Mutes map[string]alert.Mute
}

// Total is one cumulative message count.
type Total struct {
	Notifier string
	Kind     string
	Result   string // "sent" or "failed"
	Value    float64
}

// NotifierError is one cumulative count of a notifier's failed
// deliveries for one reason (permanent, rate_limited, transient).
type NotifierError = state.ErrorTotal

// OutputStatus is when an output last succeeded and last failed; zero
// times mean never (as far as the state remembers).
type OutputStatus = state.OutputStatus

// Notification is one message the pass sent or meant to send.
type Notification struct {
	notify.Message
	Notifier  string
	Delivered bool
	// Summarized is set when the message went out inside one summary.
	Summarized bool
	// Error says why it was not delivered; empty in a dry run.
	Error string
}

// Delivered reports whether the pass delivered everything it had to.
func (r *Report) Delivered() bool { return len(r.Failures) == 0 }

func (j *Job) now() time.Time {
	if j.Now != nil {
		return j.Now()
	}
	return time.Now()
}

// DefaultGrace is how long a pass goes on delivering after it is told to
// stop (SIGTERM): enough for a message in flight, well inside Kubernetes'
// 30 s grace period.
const DefaultGrace = 5 * time.Second

// Run performs one pass: check, decide and record, deliver (recording each
// delivery as it happens), report to the outputs, save.
//
// The order is chosen for on-call: a message is sent even when the state
// cannot be saved (a repeat on the next run is acceptable, silence is not),
// and a crash repeats at most the message that was in flight. Passes may
// run at once (serve), in this process and in others sharing the store:
// they share one limit of checks in flight, decide one at a time (the
// store serializes decisions), and deliver each check's messages in order
// (claimed under a lease, see deliver).
func (j *Job) Run(ctx context.Context, opts Options) *Report {
	rep := &Report{Started: j.now(), DryRun: opts.DryRun, Tracks: map[string]alert.Track{}, Pending: -1}
	wall := time.Now() // the duration is real time, whatever clock the job is given
	var starting sync.WaitGroup
	if !opts.DryRun {
		for _, out := range j.Outputs {
			if s, ok := out.(Starter); ok {
				starting.Go(func() { s.Start(ctx) })
			}
		}
	}
	// The state is read (and its lock taken, waiting for another run if
	// need be) while the checks run: neither needs the other.
	var opened <-chan opening
	if !opts.DryRun {
		opened = j.openAsync(ctx)
	}
	rep.Results = checks.RunAllIn(ctx, j.selected(opts.Only), j.limit())
	for _, r := range rep.Results {
		// One line per check that is not ok: at 10,000 checks, a line for
		// every ok check would bury them (and cost more than the check).
		level := slog.LevelInfo
		switch {
		case r.Interrupted:
			level = slog.LevelWarn
		case r.Outcome == checks.OK:
			level = slog.LevelDebug
		}
		if !j.Logger.Enabled(ctx, level) {
			continue // nothing built for a line nobody reads
		}
		j.Logger.Log(ctx, level, "check done", "check", r.Check, "type", r.Type, "outcome", string(r.Outcome),
			"http_status", r.HTTPStatus, "duration", r.Duration.Round(time.Millisecond).String(),
			"fingerprint", r.Fingerprint, "detail", r.Detail)
	}
	if n := interrupted(rep.Results); n > 0 {
		// The run did not finish: on-call must not read silence as "all ok".
		rep.Failures = append(rep.Failures, fmt.Sprintf("run: %d checks were not checked (stopped, or a tokenwatch bug); see their details", n))
	}
	// What was decided is sent or kept after a SIGTERM, but only for the
	// grace period: then every retry stops, the rest waits in the outbox.
	deliverCtx, cancel := j.graceContext(ctx)
	defer cancel()
	if opts.DryRun {
		j.dryRun(deliverCtx, rep)
		rep.Duration = time.Since(wall)
		return rep
	}
	sess := j.decide(deliverCtx, rep, <-opened)
	if sess == nil {
		rep.Duration = time.Since(wall)
		starting.Wait()
		j.report(deliverCtx, rep, nil)
		return rep
	}
	for _, n := range j.Notifiers {
		j.deliver(deliverCtx, rep, sess, n)
	}
	j.sync(deliverCtx, rep, sess)
	rep.Duration = time.Since(wall)
	starting.Wait()
	outputs := j.report(deliverCtx, rep, sess)
	j.finish(deliverCtx, rep, outputs, sess)
	return rep
}

// interrupted counts the results that say nothing about their credential.
func interrupted(results []checks.Result) int {
	n := 0
	for _, r := range results {
		if r.Interrupted {
			n++
		}
	}
	return n
}

// report hands the pass to every output, and returns how each did.
func (j *Job) report(ctx context.Context, rep *Report, sess *session) map[string]error {
	if sess != nil {
		sess.mu.Lock()
		rep.Pending = sess.pending
		rep.Totals = sess.totals
		rep.Notifiers = sess.notifiers
		rep.NotifierErrors = sess.errors
		sess.mu.Unlock()
	}
	results := map[string]error{}
	for _, out := range j.Outputs {
		err := out.Report(ctx, rep)
		results[out.Name()] = err
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", out.Name(), err))
			j.Logger.Error("output not delivered", "output", out.Name(), "error", err.Error())
		}
	}
	return results
}

// limit is the semaphore every pass's checks share: Config.Concurrency
// checks in flight in all, however many passes run at once.
func (j *Job) limit() chan struct{} {
	j.slotsOnce.Do(func() { j.slots = make(chan struct{}, max(1, j.Config.Concurrency)) })
	return j.slots
}

// graceContext is ctx without its cancellation, cancelled Grace after ctx is.
func (j *Job) graceContext(ctx context.Context) (context.Context, context.CancelFunc) {
	grace := j.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		j.Logger.Warn("stopping: delivering for at most the grace period, then keeping the rest for the next run", "grace", grace.String())
		time.AfterFunc(grace, cancel)
	})
	return out, func() { stop(); cancel() }
}

// Close releases the session kept between passes (Keep). The store
// itself belongs to whoever gave it (see Store).
func (j *Job) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.kept == nil {
		return nil
	}
	err := j.kept.Close()
	j.kept = nil
	return err
}

func (j *Job) selected(only []string) []checks.Check {
	if len(only) == 0 {
		return j.Checks
	}
	want := map[string]bool{}
	for _, name := range only {
		want[name] = true
	}
	var out []checks.Check
	for _, c := range j.Checks {
		if want[c.Name()] {
			out = append(out, c)
		}
	}
	return out
}

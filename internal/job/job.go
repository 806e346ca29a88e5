package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Job is everything one pass needs. Build it once; Run it once per pass
// (run: once; serve: on every scheduled tick).
type Job struct {
	Config *config.Config
	Checks []checks.Check
	// Notifiers are how on-call hears: none, one or several, each with its
	// own outbox in the state and its own failures.
	Notifiers []notify.Notifier
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StateWait is how long a pass waits for another run's state lock; 0 means 5s.
	StateWait time.Duration
	// Grace is how long a pass keeps delivering after its context is
	// cancelled (SIGTERM); 0 means DefaultGrace.
	Grace time.Duration
	// Outputs receive every pass's report after the messages are sent:
	// metrics, textfile, Pushgateway, heartbeat. Their errors mean exit 3.
	Outputs []Output

	stateMu   sync.Mutex // serve: ticks of different checks share the state file
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
	// Pending is how many messages wait for the next run; -1 when unknown
	// (the state could not be read).
	Pending int
}

// Total is one cumulative message count.
type Total struct {
	Notifier string
	Kind     string
	Result   string // "sent" or "failed"
	Value    float64
}

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

// Run performs one pass: check, move the alert state, notify (recording
// each delivery as it happens), report to the outputs, save.
//
// The order is chosen for on-call: a message is sent even when the state
// cannot be saved (a repeat on the next run is acceptable, silence is not),
// and a crash repeats at most the message that was in flight.
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
	selected := j.selected(opts.Only)
	rep.Results = checks.RunAll(ctx, selected, j.Config.Concurrency)
	for _, r := range rep.Results {
		level := slog.LevelInfo
		if r.Interrupted {
			level = slog.LevelWarn
		}
		j.Logger.Log(ctx, level, "check done", "check", r.Check, "type", r.Type, "outcome", string(r.Outcome),
			"http_status", r.HTTPStatus, "duration", r.Duration.Round(time.Millisecond).String(),
			"fingerprint", r.Fingerprint, "detail", r.Detail)
	}
	// What was decided is sent or kept after a SIGTERM, but only for the
	// grace period: then every retry stops, the rest waits in the outbox.
	deliverCtx, cancel := j.graceContext(ctx)
	defer cancel()
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	sess := j.alert(deliverCtx, rep, opts.DryRun)
	defer sess.close() // also when an output panics: serve recovers and goes on
	rep.Duration = time.Since(wall)
	starting.Wait()
	if opts.DryRun {
		return rep
	}
	results := map[string]error{}
	for _, out := range j.Outputs {
		err := out.Report(deliverCtx, rep)
		results[out.Name()] = err
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", out.Name(), err))
			j.Logger.Error("output not delivered", "output", out.Name(), "error", err.Error())
		}
	}
	sess.finish(rep, results)
	return rep
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

// session is one pass's hold on the state: the file as it is being moved,
// and the store it is saved to (nil in a dry run, or when the state cannot
// be locked: then nothing is saved and the pass says so).
type session struct {
	job     *Job
	store   *state.Store
	st      *state.File
	saveErr error // the first save that failed; later ones are not repeated
}

// save writes the state as it is now. A failure is remembered and reported
// once, at the end; the pass goes on delivering.
func (s *session) save() {
	if s.store == nil || s.saveErr != nil {
		return
	}
	if err := s.store.Save(s.st); err != nil {
		s.saveErr = err
		s.job.Logger.Error("state not saved; messages are still sent, and the next run may repeat them",
			"path", s.job.Config.State.Path, "error", err.Error())
	}
}

// finish records how the outputs did and whether the pass was a success,
// saves, and releases the state.
func (s *session) finish(rep *Report, outputs map[string]error) {
	if s.store == nil {
		return
	}
	for name, err := range outputs {
		if name == metricsOutput {
			continue // the registry in memory: it cannot fail in a way anyone must hear about
		}
		s.st.RecordOutput(name, rep.Started, err)
	}
	// The final save's own failure cannot be recorded in the file it failed
	// to write: the next pass finds the state's last success unchanged.
	s.st.RecordOutput(state.OutputState, rep.Started, s.saveErr)
	if s.saveErr == nil && rep.Delivered() {
		s.st.LastSuccess = rep.Started
	}
	s.save()
	if s.saveErr != nil {
		rep.Failures = append(rep.Failures, "state: "+s.saveErr.Error()+": what was sent may be sent again by the next run")
	}
}

// close releases the state lock, if the session holds it.
func (s *session) close() {
	if s.store != nil {
		s.store.Close()
	}
}

// metricsOutput is the registry's Output name; see finish.
const metricsOutput = "metrics"

// alert moves the state and sends what the policy decides. The caller holds
// stateMu; the returned session still holds the state lock until finish.
func (j *Job) alert(ctx context.Context, rep *Report, dryRun bool) *session {
	now := j.now()
	path := j.Config.State.Path
	sess := &session{job: j}

	var corrupt *state.Corruption
	if dryRun {
		var err error
		sess.st, corrupt, err = state.Peek(path)
		switch {
		case errors.Is(err, state.ErrNewerFormat):
			j.Logger.Error("dry run: the state file is of a newer format; nothing to decide", "path", path, "error", err.Error())
			return sess
		case err != nil:
			j.Logger.Warn("dry run: cannot read the state; deciding from empty", "path", path, "error", err.Error())
		}
	} else {
		wait := j.StateWait
		if wait == 0 {
			wait = 5 * time.Second
		}
		store, err := state.Open(path, wait)
		switch {
		case errors.Is(err, state.ErrLocked):
			// Another run is deciding and sending from the same state: sending
			// too would repeat its messages, and it will send ours next time.
			msg := err.Error() + ": another run is still sending; this run's results are not recorded and nothing was sent"
			rep.Failures = append(rep.Failures, "state: "+msg)
			j.Logger.Error("cannot take the state", "error", msg)
			return sess
		case err != nil:
			// Nobody else holds the state, it just cannot be written: decide
			// from what it says and alert anyway.
			rep.Failures = append(rep.Failures, "state: "+err.Error()+": alerts were sent from the state as last saved; nothing was recorded, so the next run may repeat them")
			j.Logger.Error("cannot lock the state; alerting without saving", "path", path, "error", err.Error())
			var peekErr error
			if sess.st, corrupt, peekErr = state.Peek(path); errors.Is(peekErr, state.ErrNewerFormat) {
				return sess
			}
		default:
			sess.store = store
			sess.st, corrupt, err = store.Load(now)
			switch {
			case errors.Is(err, state.ErrNewerFormat):
				// Deciding from empty would re-alert everything on every run.
				rep.Failures = append(rep.Failures, "state: "+err.Error()+"; nothing was decided or sent")
				j.Logger.Error("the state file is of a newer format; nothing is decided or sent until it is", "path", path, "error", err.Error())
				return sess
			case err != nil:
				rep.Failures = append(rep.Failures, "state: "+err.Error())
				j.Logger.Error("cannot read the state; alerting from empty", "path", path, "error", err.Error())
			case store.MigratedFrom != 0:
				j.Logger.Info("state migrated to the current format; the original is kept beside it",
					"path", path, "from_format", store.MigratedFrom, "backup", store.Backup)
			}
		}
	}
	st := sess.st
	rep.Outputs = st.OutputStatuses()
	idx := j.index()
	if dropped := st.Prune(idx.ids); len(dropped) > 0 {
		j.Logger.Info("state dropped for checks that were removed, or whose type or endpoint changed", "checks", dropped)
	}
	names := make([]string, len(j.Notifiers))
	for i, n := range j.Notifiers {
		names[i] = n.Name()
	}
	if dropped := st.KeepOutboxes(names); len(dropped) > 0 {
		j.Logger.Warn("undelivered messages dropped: their notifier is no longer configured", "notifiers", dropped)
	}
	if corrupt != nil {
		j.stateReset(st, corrupt)
	}

	for _, r := range rep.Results {
		i, ok := idx.byName[r.Check]
		if !ok {
			continue // not configured: a check built from another configuration
		}
		c := j.Config.Checks[i]
		rec := st.Record(idx.ids[i])
		if r.Interrupted {
			rep.Tracks[r.Check] = rec.Track
			continue // says nothing about the credential
		}
		var ds []alert.Decision
		rec.Track, ds = alert.Evaluate(rec.Track, r, c.Alert, now)
		rep.Tracks[r.Check] = rec.Track
		for _, d := range ds {
			d.ClientID = c.ClientID
			j.enqueue(st, d) // after earlier runs' messages
			j.Logger.Info("decision", "check", d.Check, "kind", string(d.Kind), "outcome", string(d.Outcome))
		}
	}
	// Checks that did not run in this pass are reported as the state remembers them.
	for _, c := range j.Config.Checks {
		if rec, ok := st.Checks[c.Name]; ok {
			if _, done := rep.Tracks[c.Name]; !done {
				rep.Tracks[c.Name] = rec.Track
			}
		}
	}
	rep.LastSuccess = st.LastSuccess
	if dryRun {
		j.preview(rep, st)
		return sess
	}
	// The decisions are recorded before anything is sent: a crash from here
	// on repeats at most the message in flight, never loses one.
	sess.save()
	for _, n := range j.Notifiers {
		j.deliver(ctx, rep, sess, n)
	}
	rep.Pending = st.Waiting()
	rep.Totals = totals(st)
	return sess
}

// enqueue puts a decision in every notifier's outbox.
func (j *Job) enqueue(st *state.File, d alert.Decision) {
	for _, n := range j.Notifiers {
		st.SetOutbox(n.Name(), append(st.Outbox(n.Name()), state.Pending{Decision: d}))
	}
}

// checkIndex finds a configured check and its state identity by name.
type checkIndex struct {
	byName map[string]int // index in Config.Checks
	ids    []state.Identity
}

// index is built once per job: the configuration does not change under it.
func (j *Job) index() *checkIndex {
	j.indexOnce.Do(func() {
		idx := &checkIndex{byName: make(map[string]int, len(j.Config.Checks)), ids: make([]state.Identity, len(j.Config.Checks))}
		for i, c := range j.Config.Checks {
			idx.byName[c.Name] = i
			idx.ids[i] = state.Identity{Name: c.Name, Type: c.Type, Endpoint: c.Endpoint(),
				V1Key: state.V1Key(c.Name, c.Type, c.Endpoint(), c.Alert)}
		}
		j.idx = idx
	})
	return j.idx
}

// preview lists what a dry run would send.
func (j *Job) preview(rep *Report, st *state.File) {
	for _, n := range j.Notifiers {
		for _, p := range st.Outbox(n.Name()) {
			m := notify.Message{Decision: p.Decision, Late: p.Attempts > 0, Thread: threadOf(st, n.Name(), p.Decision)}
			rep.Notifications = append(rep.Notifications, Notification{Message: m, Notifier: n.Name()})
		}
	}
	rep.Pending = st.Waiting()
}

// deliver sends one notifier's outbox in order, recording each delivery in
// the state as it happens. After the first failure the rest is not tried:
// the notifier is down, and order matters more than a few seconds.
func (j *Job) deliver(ctx context.Context, rep *Report, sess *session, n notify.Notifier) {
	st := sess.st
	name := n.Name()
	queue := st.Outbox(name)
	if len(queue) == 0 {
		return
	}
	messages := make([]notify.Message, len(queue))
	for i, p := range queue {
		// A message an earlier run could not deliver is late.
		messages[i] = notify.Message{Decision: p.Decision, Late: p.Attempts > 0, Thread: threadOf(st, name, p.Decision)}
	}
	// keep marks queue[i:] as not delivered by this run.
	keep := func(i int, reason string) {
		for k := range queue[i:] {
			queue[i+k].Attempts++
			queue[i+k].LastError = reason
		}
		st.SetOutbox(name, queue[i:])
		sess.save()
	}

	if limit := notify.MaxPerRun(n); limit > 0 && len(queue) > limit {
		err := n.SendSummary(ctx, messages)
		for _, m := range messages {
			note := Notification{Message: m, Notifier: name, Delivered: err == nil, Summarized: true}
			if err != nil {
				note.Error = err.Error()
			}
			rep.Notifications = append(rep.Notifications, note)
			st.Count(name, string(m.Kind), err == nil)
		}
		if err != nil {
			keep(0, err.Error())
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: summary of %d messages not delivered: %v", name, len(queue), err))
			return
		}
		st.SetOutbox(name, nil)
		sess.save()
		j.Logger.Warn("too many messages for one run: sent one summary", "notifier", name, "messages", len(queue), "max_messages_per_run", limit)
		return
	}

	for i, m := range messages {
		// An alert delivered just before may have opened the thread this belongs in.
		m.Thread = threadOf(st, name, m.Decision)
		note := Notification{Message: m, Notifier: name}
		thread, err := n.Send(ctx, m)
		st.Count(name, string(m.Kind), err == nil)
		if err != nil {
			note.Error = err.Error()
			rep.Notifications = append(rep.Notifications, note)
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %s for %s not delivered: %v", name, m.Kind, m.Check, err))
			j.Logger.Error("notification not delivered; the next run retries it", "notifier", name, "check", m.Check, "kind", string(m.Kind), "error", err.Error())
			for _, rest := range messages[i+1:] {
				rep.Notifications = append(rep.Notifications, Notification{Message: rest, Notifier: name,
					Error: "not tried: an earlier message failed (" + err.Error() + ")"})
			}
			keep(i, err.Error())
			return
		}
		note.Delivered = true
		rep.Notifications = append(rep.Notifications, note)
		// A thread the notifier did not fully name cannot be followed:
		// posting into it would fail, and the state would not hold it.
		if rec := st.Checks[m.Check]; rec != nil && thread != nil && thread.Channel != "" && thread.TS != "" {
			rec.SetThread(name, *thread)
		}
		st.SetOutbox(name, queue[i+1:])
		sess.save()
	}
}

// totals is the state's cumulative counts, for the metrics.
func totals(st *state.File) []Total {
	out := make([]Total, 0, len(st.Totals))
	for _, t := range st.Totals {
		out = append(out, Total{Notifier: t.Notifier, Kind: t.Kind, Result: t.Result, Value: t.Value})
	}
	return out
}

// threadOf is where a message belongs: the thread of the check's incident
// at this notifier, unless the message opens a new incident.
func threadOf(st *state.File, notifier string, d alert.Decision) *notify.Thread {
	rec := st.Checks[d.Check]
	if rec == nil || d.NewThread {
		return nil
	}
	if t, ok := rec.Thread(notifier); ok {
		return &t
	}
	return nil
}

// stateReset reports a corrupt state file loudly: in the log, and by a
// notice at the head of the outbox, so that it is retried like any other
// message until delivered.
func (j *Job) stateReset(st *state.File, c *state.Corruption) {
	where := "it could not be moved aside"
	if c.MovedTo != "" {
		where = "it was moved to " + c.MovedTo
	}
	j.Logger.Error("state file was corrupt: starting from empty; every failing check alerts afresh",
		"path", j.Config.State.Path, "reason", c.Reason, "moved_to", c.MovedTo)
	text := fmt.Sprintf("The state file %s could not be read (%s); %s. tokenwatch started from an empty state: every check that fails now alerts afresh, and reminders and thresholds restart.",
		j.Config.State.Path, c.Reason, where)
	notice := state.Pending{Decision: alert.Decision{Kind: alert.KindNotice, Check: state.NoticeCheck, Detail: text, At: j.now()}}
	for _, n := range j.Notifiers {
		st.SetOutbox(n.Name(), append([]state.Pending{notice}, st.Outbox(n.Name())...))
	}
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

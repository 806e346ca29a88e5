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
	// Notifier is how on-call hears; nil when no slack section is configured.
	Notifier notify.Notifier
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StateWait is how long a pass waits for another run's state lock; 0 means 5s.
	StateWait time.Duration
	// Outputs receive every pass's report after the messages are sent:
	// metrics, textfile, Pushgateway, heartbeat. Their errors mean exit 3.
	Outputs []Output

	stateMu sync.Mutex // serve: ticks of different checks share the state file
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
	// LastSuccess is when a pass last delivered everything and saved the
	// state: this one, or an earlier one; zero when unknown.
	LastSuccess time.Time
	// Pending is how many messages wait for the next run; -1 when unknown
	// (the state could not be read).
	Pending int
}

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

// Run performs one pass: check, move the alert state, notify, save, report.
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
	// Alerting goes on after a SIGTERM: what was decided is sent or kept.
	alertCtx := context.WithoutCancel(ctx)
	j.alert(alertCtx, rep, opts.DryRun)
	rep.Duration = time.Since(wall)
	starting.Wait()
	if !opts.DryRun {
		for _, out := range j.Outputs {
			if err := out.Report(alertCtx, rep); err != nil {
				rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %v", out.Name(), err))
				j.Logger.Error("output not delivered", "output", out.Name(), "error", err.Error())
			}
		}
	}
	return rep
}

// alert moves the state and sends what the policy decides, under the state lock.
func (j *Job) alert(ctx context.Context, rep *Report, dryRun bool) {
	j.stateMu.Lock()
	defer j.stateMu.Unlock()
	now := j.now()
	path := j.Config.State.Path

	var st *state.File
	var corrupt *state.Corruption
	var store *state.Store
	if dryRun {
		var err error
		if st, corrupt, err = state.Peek(path); err != nil {
			j.Logger.Warn("dry run: cannot read the state; deciding from empty", "path", path, "error", err.Error())
		}
	} else {
		wait := j.StateWait
		if wait == 0 {
			wait = 5 * time.Second
		}
		var err error
		if store, err = state.Open(path, wait); err != nil {
			msg := err.Error()
			if errors.Is(err, state.ErrLocked) {
				msg += ": another run is still sending; this run's results are not recorded and nothing was sent"
			}
			rep.Failures = append(rep.Failures, "state: "+msg)
			j.Logger.Error("cannot take the state", "error", msg)
			return
		}
		defer store.Close()
		if st, corrupt, err = store.Load(now); err != nil {
			rep.Failures = append(rep.Failures, "state: "+err.Error())
			return
		}
	}
	if corrupt != nil {
		j.stateReset(ctx, rep, corrupt, dryRun)
	}
	if dropped := st.Prune(j.Config.Checks); len(dropped) > 0 {
		j.Logger.Info("state dropped for checks that were removed or edited", "checks", dropped)
	}

	queue := st.Outbox // earlier runs' messages first, in order

	for _, r := range rep.Results {
		c := j.configOf(r.Check)
		rec := st.Record(c)
		if r.Interrupted {
			rep.Tracks[r.Check] = rec.Track
			continue // says nothing about the credential
		}
		var ds []alert.Decision
		rec.Track, ds = alert.Evaluate(rec.Track, r, c.Alert, now)
		rep.Tracks[r.Check] = rec.Track
		for _, d := range ds {
			d.ClientID = c.ClientID
			queue = append(queue, state.Pending{Decision: d})
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
	st.Outbox = j.deliver(ctx, rep, st, queue, dryRun)
	rep.Pending = len(st.Outbox)
	rep.LastSuccess = st.LastSuccess // until this pass proves itself
	if dryRun {
		return
	}
	if rep.Delivered() {
		st.LastSuccess = rep.Started
	}
	if err := store.Save(st); err != nil {
		rep.Failures = append(rep.Failures, "state: "+err.Error())
		j.Logger.Error("state not saved", "path", path, "error", err.Error())
		return
	}
	rep.LastSuccess = st.LastSuccess
}

// deliver sends the queue in order and returns what is left for the next
// run. After the first failure the rest is not tried: Slack is down, and
// order matters more than a few seconds.
func (j *Job) deliver(ctx context.Context, rep *Report, st *state.File, queue []state.Pending, dryRun bool) []state.Pending {
	if j.Notifier == nil || len(queue) == 0 {
		return nil
	}
	name := j.Notifier.Name()
	messages := make([]notify.Message, len(queue))
	for i, p := range queue {
		// A message an earlier run could not deliver is late.
		messages[i] = notify.Message{Decision: p.Decision, Late: p.Attempts > 0, Thread: threadOf(st, p.Decision)}
	}
	if dryRun {
		for _, m := range messages {
			rep.Notifications = append(rep.Notifications, Notification{Message: m, Notifier: name})
		}
		return nil
	}
	var left []state.Pending
	keep := func(i int, reason string) {
		p := queue[i]
		p.Attempts++
		p.LastError = reason
		left = append(left, p)
	}

	limit := config.DefaultMaxMessagesPerRun
	if j.Config.Slack != nil {
		limit = j.Config.Slack.MaxMessagesPerRun
	}
	if len(queue) > limit {
		err := j.Notifier.SendSummary(ctx, messages)
		for i, m := range messages {
			n := Notification{Message: m, Notifier: name, Delivered: err == nil, Summarized: true}
			if err != nil {
				n.Error = err.Error()
				keep(i, n.Error)
			}
			rep.Notifications = append(rep.Notifications, n)
		}
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("summary of %d messages not delivered: %v", len(queue), err))
		} else {
			j.Logger.Warn("too many messages for one run: sent one summary", "messages", len(queue), "max_messages_per_run", limit)
		}
		return left
	}

	var failed error
	for i, m := range messages {
		n := Notification{Message: m, Notifier: name}
		if failed != nil {
			n.Error = "not tried: an earlier message failed (" + failed.Error() + ")"
			keep(i, failed.Error())
			rep.Notifications = append(rep.Notifications, n)
			continue
		}
		// An alert delivered just before may have opened the thread this belongs in.
		m.Thread = threadOf(st, m.Decision)
		n.Message = m
		thread, err := j.Notifier.Send(ctx, m)
		if err != nil {
			failed = err
			n.Error = err.Error()
			keep(i, n.Error)
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s for %s not delivered: %v", m.Kind, m.Check, err))
			j.Logger.Error("notification not delivered; the next run retries it", "check", m.Check, "kind", string(m.Kind), "error", err.Error())
		} else {
			n.Delivered = true
			if rec := st.Checks[m.Check]; rec != nil && thread != nil {
				rec.Thread = &state.Thread{Channel: thread.Channel, TS: thread.TS}
			}
		}
		rep.Notifications = append(rep.Notifications, n)
	}
	return left
}

// threadOf is where a message belongs: the thread of the check's incident,
// unless the message opens a new incident.
func threadOf(st *state.File, d alert.Decision) *notify.Thread {
	rec := st.Checks[d.Check]
	if rec == nil || rec.Thread == nil || d.NewThread {
		return nil
	}
	return &notify.Thread{Channel: rec.Thread.Channel, TS: rec.Thread.TS}
}

// stateReset reports a corrupt state file loudly: in the log, and in Slack.
func (j *Job) stateReset(ctx context.Context, rep *Report, c *state.Corruption, dryRun bool) {
	where := "it could not be moved aside"
	if c.MovedTo != "" {
		where = "it was moved to " + c.MovedTo
	}
	j.Logger.Error("state file was corrupt: starting from empty; every failing check alerts afresh",
		"path", j.Config.State.Path, "reason", c.Reason, "moved_to", c.MovedTo)
	if dryRun || j.Notifier == nil {
		return
	}
	text := fmt.Sprintf("The state file %s could not be read (%s); %s. tokenwatch started from an empty state: every check that fails now alerts afresh, and reminders and thresholds restart.",
		j.Config.State.Path, c.Reason, where)
	notice := notify.Message{Decision: alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", Detail: text, At: j.now()}}
	if _, err := j.Notifier.Send(ctx, notice); err != nil {
		rep.Failures = append(rep.Failures, "state reset notice not delivered: "+err.Error())
	}
}

func (j *Job) configOf(name string) config.Check {
	for _, c := range j.Config.Checks {
		if c.Name == name {
			return c
		}
	}
	return config.Check{Name: name}
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

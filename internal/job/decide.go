package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

// decide moves the state by this pass's results and records the decisions
// in every notifier's outbox, in one decision of the store, before
// anything is sent: a crash from here on repeats at most the message in
// flight, never loses one. It returns nil when the pass must not decide
// (see open). A store that fails to record the decision (PostgreSQL gone
// since the session opened) leaves the pass deciding in memory, as open
// does for a store that cannot be opened.
func (j *Job) decide(ctx context.Context, rep *Report, o opening) *session {
	rep.Failures = append(rep.Failures, o.failures...)
	sess := o.sess
	if sess == nil {
		return nil
	}
	var decided *state.File
	decideOnce := func() error {
		return sess.store.Decide(ctx, j.scope(rep, sess), func(st *state.File) error {
			j.decideIn(st, rep, sess)
			decided = st
			return nil
		})
	}
	err := decideOnce()
	if retryable(err) {
		// A cut connection is worth one more try before deciding in
		// memory: the alerts would go out unrecorded, then again from the
		// store's outbox, once it answers.
		j.Logger.Warn("decision not recorded; trying once more", "state", j.stateName(), "error", err.Error())
		err = decideOnce()
	}
	switch {
	case err == nil:
		return sess
	case errors.Is(err, store.ErrUnsaved):
		sess.noteSaveErr(err) // decided in the session's memory: it goes on from there
		return sess
	case errors.Is(err, store.ErrLocked):
		msg := err.Error() + ": another run is still deciding; this run's results are not recorded and nothing was sent"
		rep.Failures = append(rep.Failures, "state: "+msg)
		j.Logger.Error("cannot take the state", "error", msg)
		j.release(sess)
		return nil
	}
	j.release(sess)
	rep.Failures = append(rep.Failures, "state: "+err.Error()+": alerts were sent from the state as last saved; nothing was recorded, so the next run may repeat them")
	j.Logger.Error("decision not recorded; alerting without saving", "state", j.stateName(), "error", err.Error())
	mem := &session{job: j, unsaved: true}
	if decided != nil {
		// The decision was made, only its write failed: deliver it.
		mem.store = store.Memory(decided, j.now)
		mem.see(decided)
		mem.active, mem.waiting, mem.pending = sess.active, sess.waiting, sess.pending
		return mem
	}
	f, serr := j.snapshotAfter(ctx, err)
	if serr != nil {
		f = state.New()
	}
	mem.store, mem.first = store.Memory(f, j.now), true
	if err := mem.store.Decide(ctx, store.Scope{All: true}, func(st *state.File) error {
		j.decideIn(st, rep, mem)
		return nil
	}); err != nil {
		j.Logger.Error("cannot decide in memory", "error", err.Error()) // memory does not fail
	}
	return mem
}

// decideIn is a decision: the state fitted to this configuration on a
// session's first, the results evaluated, and what the pass reports and
// syncs later read off.
func (j *Job) decideIn(st *state.File, rep *Report, sess *session) {
	if sess.first {
		j.adopt(st, sess.corrupt)
	}
	j.evaluate(st, rep)
	var active []notify.Active
	waiting := map[string]int{}
	for _, n := range j.Notifiers {
		waiting[n.Name()] = len(st.Outbox(n.Name()))
		if _, syncs := n.(notify.Syncer); syncs && active == nil {
			active = j.active(st, rep.Results, rep.Mutes) // for sync; nobody else reads them
		}
	}
	sess.see(st)
	sess.mu.Lock()
	sess.active, sess.waiting, sess.pending = active, waiting, st.Waiting()
	sess.mu.Unlock()
}

// scope is what a pass's decision reads: every check when the session is
// new (to fit the state to the configuration) or the pass runs them all,
// else the checks that ran.
func (j *Job) scope(rep *Report, sess *session) store.Scope {
	if sess.first || len(rep.Results) == len(j.Checks) {
		return store.Scope{All: true}
	}
	names := make([]string, len(rep.Results))
	for i, r := range rep.Results {
		names[i] = r.Check
	}
	return store.Scope{Checks: names}
}

// release ends a pass's session after a decision that failed. The
// session kept between passes, if it was that one, is kept no more: the
// next pass opens the store afresh.
func (j *Job) release(s *session) {
	j.mu.Lock()
	if j.kept == s.store {
		j.kept = nil // a kept session that failed is opened afresh by the next pass
	}
	j.mu.Unlock()
	if err := s.store.Close(); err != nil {
		j.Logger.Error("state not released cleanly", "error", err.Error())
	}
}

// opening is the state a pass decides from, or nil, and why.
type opening struct {
	sess     *session
	failures []string
}

// openAsync takes the state (see open) in the background.
func (j *Job) openAsync(ctx context.Context) <-chan opening {
	ch := make(chan opening, 1)
	go func() {
		var tmp Report
		ch <- opening{sess: j.open(ctx, &tmp), failures: tmp.Failures}
	}()
	return ch
}

// evaluate runs the alert policy on every result and queues its decisions.
func (j *Job) evaluate(st *state.File, rep *Report) {
	idx := j.index()
	now := j.now()
	rep.Outputs = st.OutputStatuses()
	rep.LastSuccess = st.LastSuccess
	rep.Mutes = j.mutes(st, now)
	j.withholdMuted(st, rep.Mutes)
	// The egress policy reads only the results: it is decided first, and
	// may hold the pass's outage alerts (see withhold) as each check moves.
	ran := make([]checks.Result, 0, len(rep.Results))
	for _, r := range rep.Results {
		if _, ok := idx.byName[r.Check]; ok && !r.Interrupted {
			ran = append(ran, r)
		}
	}
	ran, left := egressEvidence(ran, rep.Mutes)
	open := st.Egress
	eg := decideEgress(open, ran, now, j.egressAfter())
	notCounted(eg.Decisions, left)
	st.Egress = eg.Incident
	for _, d := range eg.Decisions {
		j.enqueue(st, d)
		j.Logger.Warn("decision", "check", d.Check, "kind", string(d.Kind), "outcome", string(d.Outcome), "detail", d.Detail)
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
		next, ds := alert.EvaluateMuted(blind(open, eg, rec.Track, r), owned(r, c), c.Alert, rep.Mutes[r.Check], now)
		if eg.Down {
			next, ds = withhold(rec.Track, next, ds, now)
		}
		rec.Track = next
		rep.Tracks[r.Check] = next
		for _, d := range ds {
			j.enqueue(st, d) // after earlier runs' messages
			j.Logger.Info("decision", "check", d.Check, "kind", string(d.Kind), "outcome", string(d.Outcome))
		}
		j.lifecycle(st, rec, r, c, now)
	}
	rep.Lifecycles = j.lifecycles(st)
	// Checks that did not run in this pass are reported as the state remembers them.
	for _, c := range j.Config.Checks {
		if rec, ok := st.Checks[c.Name]; ok {
			if _, done := rep.Tracks[c.Name]; !done {
				rep.Tracks[c.Name] = rec.Track
			}
		}
	}
	// Ended silences have done their work: each check's track remembers
	// the one it was under, for the message that says it ended.
	st.PruneSilences(now)
}

// owned is a result with its check's owner and team, as configured now:
// the policy copies them into every decision, which a notifier routes and
// words from alone.
func owned(r checks.Result, c config.Check) checks.Result {
	r.Owner, r.Team = c.Owner, c.Team
	return r
}

// adopt fits a state just read to this configuration: records of checks
// that are gone or changed their endpoint are dropped, and so are the
// outboxes of notifiers that are gone; a corrupt file is announced.
func (j *Job) adopt(st *state.File, corrupt *state.Corruption) {
	open := map[string]state.Record{}
	for name, rec := range st.Checks {
		if rec.Active != nil {
			open[name] = *rec
		}
	}
	if dropped := st.Prune(j.index().ids); len(dropped) > 0 {
		j.Logger.Info("state dropped for checks that were removed, or whose type or endpoint changed", "checks", dropped)
		for _, name := range dropped {
			if rec, ok := open[name]; ok {
				j.alertClosed(st, name, rec)
			}
		}
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
}

// egressAfter is how many passes in a row our own network must be down
// before on-call is told: as soon as the quickest check would have alerted
// on its own outage (the smallest after_outages).
func (j *Job) egressAfter() int {
	after := 0
	for _, c := range j.Config.Checks {
		if after == 0 || c.Alert.AfterOutages < after {
			after = c.Alert.AfterOutages
		}
	}
	return max(after, 1)
}

// alertClosed tells on-call that the open alert of a check whose record
// was dropped will get no resolution: the check was removed, or now tests
// another endpoint or kind, and starts afresh. Without it the alert would
// stay open in Slack for ever.
func (j *Job) alertClosed(st *state.File, name string, rec state.Record) {
	why := "it was removed from the configuration"
	if _, configured := j.index().byName[name]; configured {
		why = "its type or endpoint changed in the configuration, so it now tests another credential and starts afresh"
	}
	d := alert.Decision{Kind: alert.KindNotice, Notice: alert.NoticeAlertClosed, Check: name, Type: rec.Type, Endpoint: rec.Endpoint,
		Previous: rec.Active.Outcome, Since: rec.Active.Since, At: j.now(),
		Detail: fmt.Sprintf("%s's open alert (%s since %s) is closed without a resolution: %s.", name, rec.Active.Outcome, notify.Timestamp(rec.Active.Since), why)}
	j.enqueue(st, d)
	j.Logger.Warn("open alert closed by a configuration change", "check", name, "outcome", string(rec.Active.Outcome))
}

// enqueue puts a decision in every notifier's outbox. A reminder says
// nothing new while the alert or reminder it repeats still waits: it
// replaces a waiting reminder (keeping its place and its attempts, so it is
// still marked late), and is dropped behind a waiting alert. Without this,
// a notifier that is down for days would collect one reminder per check per
// repeat_every, and the state would grow without bound.
func (j *Job) enqueue(st *state.File, d alert.Decision) {
	for _, n := range j.Notifiers {
		box := st.Outbox(n.Name())
		if d.Kind == alert.KindReminder && coalesce(box, d) {
			continue
		}
		st.SetOutbox(n.Name(), append(box, state.Pending{Decision: d}))
	}
}

// coalesce folds reminder d into box, and reports whether it did.
func coalesce(box []state.Pending, d alert.Decision) bool {
	for i := len(box) - 1; i >= 0; i-- {
		p := &box[i]
		if p.Check != d.Check {
			continue
		}
		if p.Outcome != d.Outcome || (p.Kind != alert.KindAlert && p.Kind != alert.KindReminder) {
			return false // the latest message about the check says something else
		}
		if p.Kind == alert.KindReminder {
			p.Decision = d
		}
		return true
	}
	return false
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

// stateReset reports a corrupt state file loudly: in the log, and by a
// notice at the head of every outbox, so that it is retried like any other
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

// message is a pending decision as a notifier gets it: late when an
// earlier run could not deliver it, in the thread of its incident.
func message(st *state.File, notifier string, p state.Pending) notify.Message {
	var thread *state.Thread
	if rec := st.Checks[p.Check]; rec != nil {
		if t, ok := rec.Thread(notifier); ok {
			thread = &t
		}
	}
	return notify.Message{Decision: p.Decision, Late: p.Attempts > 0, Thread: threadOf(thread, p.Decision)}
}

// claimed is a claimed message as its notifier gets it (see message). It
// is late when an earlier delivery failed, or when a pass before this
// one, started at started, decided it: a message queued behind one that
// failed was not tried, but on-call hears it late all the same.
func claimed(m store.Message, started time.Time) notify.Message {
	late := m.Attempts > 0 || m.At.Before(started)
	return notify.Message{Decision: m.Decision, Late: late, Thread: threadOf(m.Thread, m.Decision)}
}

// threadOf is where a message belongs: the thread of the check's incident
// at this notifier, unless the message opens a new incident. A lifecycle
// message (rotate, tls_expiry, their end) belongs to no outcome incident:
// in its thread, its resolution would mark that incident resolved.
func threadOf(thread *state.Thread, d alert.Decision) *notify.Thread {
	if thread == nil || d.NewThread || d.Lifecycle != nil {
		return nil
	}
	t := *thread
	return &t
}

// totals is the state's cumulative counts, for the metrics.
func totals(st *state.File) []Total {
	out := make([]Total, 0, len(st.Totals))
	for _, t := range st.Totals {
		out = append(out, Total{Notifier: t.Notifier, Kind: t.Kind, Result: t.Result, Value: t.Value})
	}
	return out
}

package job

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// syncIntervals is how many schedule intervals an alert synced by serve
// stands: two ticks may be missed (a slow pass, a restart) before it lapses.
const syncIntervals = 3

// sync sends every active alert to each notifier that wants them on every
// pass (notify.Syncer: Alertmanager forgets an alert it does not hear
// again): those of the checks the pass decided, as it decided them. It
// holds the notifier's delivery lock for the call, after the pass's own
// deliveries, so that the pass's resolutions go first. A failure is the notifier's,
// counted like a failed delivery; nothing is kept: the next pass sends
// every alert that is still active.
func (j *Job) sync(ctx context.Context, rep *Report, sess *session) {
	for _, n := range j.Notifiers {
		s, ok := n.(notify.Syncer)
		if !ok {
			continue
		}
		name := n.Name()
		lock, _ := j.delivering.LoadOrStore(name, &sync.Mutex{})
		lock.(*sync.Mutex).Lock()
		sess.mu.Lock()
		active := sess.active
		sess.mu.Unlock()
		if len(active) == 0 {
			lock.(*sync.Mutex).Unlock()
			continue
		}
		err := s.Sync(ctx, active)
		j.recordHealth(ctx, sess, name, err)
		lock.(*sync.Mutex).Unlock()
		if err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %d active alerts not re-sent (the next pass sends them again): %v", name, len(active), err))
			j.Logger.Error("active alerts not re-sent; the next pass sends them again", "notifier", name, "alerts", len(active), "error", err.Error())
		}
	}
}

// active is every alert on-call was told about and that is not over
// (outcome alerts, and the lifecycle's open rotate and tls_expiry), in
// the order of the configuration, as the state knows it now, with its
// check's owner, team and runbook as configured. A silenced check's
// outcome alert is left out: a receiver that expires alerts (Alertmanager) lets it end,
// and the alert sent when the silence ends fires it again. The caller is
// inside a decision.
func (j *Job) active(st *state.File, results []checks.Result, mutes map[string]alert.Mute) []notify.Active {
	now := j.now()
	ran := make(map[string]checks.Result, len(results))
	for _, r := range results {
		ran[r.Check] = r
	}
	var out []notify.Active
	for _, c := range j.Config.Checks {
		rec := st.Checks[c.Name]
		if rec == nil {
			continue
		}
		// A silence holds the outcome's alert, not the lifecycle's: a
		// partner's maintenance makes neither its secret nor its
		// certificate younger.
		if _, silenced := mutes[c.Name]; rec.Active != nil && !silenced {
			out = append(out, notify.Active{Decision: activeDecision(c, rec.Track, ran[c.Name], now), ValidFor: j.validFor(c, now)})
		}
		if ds := activeLifecycle(c, rec, ran[c.Name], now); ds != nil {
			out = append(out, activeOf(ds, j.validFor(c, now))...)
		}
	}
	return out
}

// activeDecision is what an alert says now: its outcome and start, the
// latest detail and secret. When the check ran in this pass, its result
// also names the OAuth client for the runbook's re-issue link.
func activeDecision(c config.Check, t alert.Track, r checks.Result, now time.Time) alert.Decision {
	a := t.Active
	d := alert.Decision{Kind: alert.KindAlert, Check: c.Name, Type: c.Type, Endpoint: c.Endpoint(), Outcome: a.Outcome,
		HTTPStatus: t.HTTPStatus, Detail: t.Detail, Since: a.Since, FailuresInRow: t.FailuresInRow, Checks: a.Checks,
		Fingerprint: t.Fingerprint, At: now, Owner: c.Owner, Team: c.Team}
	if r.Check == c.Name {
		d.ClientID = r.ClientID
	}
	return d
}

// recordHealth records how a sync went in the notifier's health (see
// recordDelivery).
func (j *Job) recordHealth(ctx context.Context, sess *session, notifier string, err error) {
	if uerr := sess.store.Update(ctx, func(st *state.File) error {
		j.recordDelivery(st, notifier, err)
		sess.see(st)
		return nil
	}); uerr != nil {
		sess.noteSaveErr(fmt.Errorf("record how %s's sync went: %w", notifier, uerr))
	}
}

// validFor is how long a synced alert stands. In run, 0: the notifier's
// own window (alertmanager.resend_window), since tokenwatch does not know
// when the timer runs it next. In serve, until the third scheduled pass
// from now: two may be missed before the alert lapses, and a schedule
// whose intervals differ (weekdays only) is measured where it is now.
func (j *Job) validFor(c config.Check, now time.Time) time.Duration {
	if !j.Keep {
		return 0
	}
	sched, err := parseSchedule(c.Schedule)
	if err != nil {
		return 0 // validated with the configuration; the notifier's window is a safe fallback
	}
	next := now.UTC()
	for range syncIntervals {
		next = sched.Next(next)
	}
	if next.IsZero() {
		return 0 // a schedule that never fires again
	}
	return next.Sub(now)
}

// parseSchedule parses a robfig/cron spec as serve does, turning the
// parser's panics on odd specs into errors.
func parseSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("schedule %q: %v", spec, r)
		}
	}()
	return cron.ParseStandard(spec)
}

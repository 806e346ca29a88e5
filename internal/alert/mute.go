package alert

import (
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// Mute is a silence or an open maintenance window over one check, as the
// policy needs it: until when, and what on-call reads about it. The zero
// Mute mutes nothing.
type Mute struct {
	Until time.Time `json:"until"`
	// Reason is the silence's reason; for a maintenance window, its schedule.
	Reason string `json:"reason,omitempty"`
	// By is who set the silence; "" for a maintenance window.
	By string `json:"by,omitempty"`
	// Window is set for a maintenance window from the configuration.
	Window bool `json:"window,omitempty"`
}

// Why is the mute's reason as status and `run` show it: the silence's
// reason, or "maintenance window" and the window's schedule.
func (m Mute) Why() string {
	if m.Window {
		return "maintenance window " + m.Reason
	}
	return m.Reason
}

// Active says whether m mutes a result at now.
func (m Mute) Active(now time.Time) bool { return now.Before(m.Until) }

// EvaluateMuted is Evaluate for a check that may be silenced at now by m
// (see the package doc): the track moves as always, but while m is active
// only the resolution of an alert on-call was told about is sent; the first
// result after it ends says so.
func EvaluateMuted(t Track, r checks.Result, s Settings, m Mute, now time.Time) (Track, []Decision) {
	next, ds := evaluate(t, r, s, now)
	switch {
	case m.Active(now):
		return muted(t, next, ds, r, m)
	case t.Silenced != nil:
		return unmuted(t, next, ds, r, s, now)
	}
	return next, ds
}

// muted keeps of the rules' decisions only a resolution (the rules resolve
// only an alert on-call was told about), and undoes what the dropped ones
// would have recorded as told: an alert opened, an outcome or a reminder
// clock moved, a rotation mentioned. Counters and flapping move on.
func muted(t, next Track, ds []Decision, r checks.Result, m Mute) (Track, []Decision) {
	next.Silenced = &m
	if t.Active != nil && next.Active == nil {
		// Resolved (said, unless send_resolved is off): on-call hears the
		// end of what it was told, silence or not.
		for i := range ds {
			ds[i].Silence = &m
		}
		return next, ds
	}
	next.Active = nil
	if t.Active != nil {
		a := *t.Active
		a.Checks++
		next.Active = &a
	}
	next.RotatedFrom = rotatedFrom(t, r)
	return next, nil
}

// unmuted is the first result after a silence ended: what the rules say
// is said as the first message after it, and a check still failing past
// its threshold, or still flapping, is told again though the rules would
// say nothing (its alert, if any, is already open) or only remind.
func unmuted(t, next Track, ds []Decision, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	ended := *t.Silenced
	// Ended early (silence remove): it lasted until now.
	if ended.Until.After(now) {
		ended.Until = now
	}
	next.Silenced = nil
	if len(ds) == 0 {
		switch {
		case next.Flapping() && len(next.Changes) > 0:
			ds = []Decision{flapping(&next, t.Outcome, r, s, now)}
		case r.Outcome != checks.OK && next.Active != nil && next.FailuresInRow >= Threshold(r.Outcome, s):
			d := decision(KindAlert, &next, r, now)
			if next.Active.Outcome != r.Outcome {
				d.Previous = next.Active.Outcome
			}
			next.Active.Outcome, next.Active.LastNotified = r.Outcome, now
			ds = []Decision{d}
		}
	}
	for i := range ds {
		if ds[i].Kind == KindReminder {
			// On-call heard nothing for the silence: not a reminder.
			ds[i].Kind = KindAlert
		}
		ds[i].Silence, ds[i].SilenceEnded = &ended, true
	}
	return next, ds
}

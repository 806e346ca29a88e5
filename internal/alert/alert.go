// Package alert decides, from a check's history and its newest result,
// whether on-call must hear about it: a new alert, a reminder, a resolution,
// or nothing. Evaluate is a pure function of (track, result, settings, now);
// sending and saving happen elsewhere.
//
// Flapping: a check whose outcome changed FlapChanges times within
// FlapWindow (a first result is not a change) is flapping. The result that
// makes it so sends one flapping message instead of whatever the rules below
// would say; then nothing (no alert, reminder or resolution) is sent for the
// check until its outcome has held for FlapWindow. The counts go on
// meanwhile (failures and oks in a row, since when), and the alert on-call
// was told about, if any, stays open. At the first result that finds the
// outcome held for FlapWindow, flapping ends with one message that says
// it settled (Settled), whatever the thresholds: the outcome has held for
// a whole window, and on-call last heard the check was flapping.
//   - failing: an alert (a new incident when none was open, else the open
//     one's outcome moves to it), and the reminder clock restarts;
//   - ok: a resolution, which closes the alert open, if any (nothing is
//     sent when send_resolved is off, as always).
//
// Silences and maintenance windows (EvaluateMuted, a Mute): a silenced
// check is still checked and its track moves as always (counts, since when,
// flapping), but no alert, reminder or flapping message is sent for it, and
// what such a message would have recorded as told (an alert opened, its
// outcome changed, the reminder clock) is not recorded. On-call hears only:
//   - the resolution of an alert it was told about, which is sent during
//     the silence and says the check is silenced until when, and why;
//   - at the first result after the silence ends, one message saying it
//     was silenced until then (until now, when it was ended early): the
//     rules' own message if they have one (a reminder becomes an alert:
//     on-call heard nothing for the whole silence); else, still flapping,
//     the flapping message; else, failing past its threshold with an alert
//     open from before the silence, an alert in that incident's thread
//     (the reminder clock restarts). A failure that reached its threshold
//     only during the silence opened no alert: if it still fails when the
//     silence ends, that alert is a new incident; if it was ok again before
//     the end, nothing is ever sent (on-call never heard of it).
package alert

import (
	"slices"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// Settings say when a check's failures become messages. The policy owns
// them: the configuration decodes into this type, and a record in the state
// never depends on them (a changed setting applies to the record as it stands).
type Settings struct {
	AfterFailures int           // invalid, forbidden: alert after this many in a row
	AfterOutages  int           // unavailable, bad_response: alert after this many in a row
	ResolveAfter  int           // oks in a row before an alert is resolved
	RepeatEvery   time.Duration // remind this often while failing; 0: never
	SendResolved  bool
	FlapChanges   int           // outcome changes within FlapWindow that make a check flap; 0: never
	FlapWindow    time.Duration // how recent a change must be to count, and how long an outcome must hold to end flapping
}

// DefaultSettings apply where the configuration says nothing.
var DefaultSettings = Settings{AfterFailures: 1, AfterOutages: 3, ResolveAfter: 1, RepeatEvery: 4 * time.Hour, SendResolved: true,
	FlapChanges: 4, FlapWindow: time.Hour}

// Kind is what a message is.
type Kind string

const (
	// KindAlert: a check started failing, or started failing differently.
	KindAlert Kind = "alert"
	// KindReminder: an alert is still active after repeat_every.
	KindReminder Kind = "reminder"
	// KindResolved: the check works again.
	KindResolved Kind = "resolved"
	// KindNotice: something about tokenwatch itself (its state was reset).
	// Never produced by Evaluate.
	KindNotice Kind = "notice"
	// KindFlapping: a check's outcome keeps changing; alerts and
	// resolutions for it wait until it settles.
	KindFlapping Kind = "flapping"
	// KindEgress: every endpoint is unreachable at once: our own network,
	// DNS or proxy is suspect, not each partner.
	KindEgress Kind = "egress"
)

// What a notice is about.
const (
	// NoticeStateReset: the state file was corrupt, and tokenwatch started
	// from an empty one.
	NoticeStateReset = ""
	// NoticeAlertClosed: a check with an open alert was removed from the
	// configuration, or its type or endpoint changed (another credential's
	// history): its alert is closed without a resolution. Its Previous and
	// Since are the alert's outcome and start.
	NoticeAlertClosed = "alert_closed"
)

// Track is what is remembered about one check between runs.
type Track struct {
	Outcome       checks.Outcome `json:"outcome,omitempty"`
	HTTPStatus    int            `json:"http_status,omitempty"`
	Detail        string         `json:"detail,omitempty"`
	FailuresInRow int            `json:"failures_in_row"`
	OKsInRow      int            `json:"oks_in_row"`
	// FailingSince is the first failure of the current streak.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// OutcomeSince is when the current outcome began.
	OutcomeSince time.Time `json:"outcome_since,omitzero"`
	LastRun      time.Time `json:"last_run,omitzero"`
	LastOK       time.Time `json:"last_ok,omitzero"`
	Fingerprint  string    `json:"fingerprint,omitempty"`
	// RotatedFrom is the fingerprint of the secret before a rotation that no
	// message has mentioned yet.
	RotatedFrom string `json:"rotated_from,omitempty"`
	// Active is the alert on-call was told about and not yet told is over.
	Active *Active `json:"active,omitempty"`
	// Changes are the outcome changes of the last FlapWindow, oldest
	// first, at most FlapChanges of them.
	Changes []Change `json:"changes,omitempty"`
	// FlappingSince is when the check started flapping; zero when it is not.
	FlappingSince time.Time `json:"flapping_since,omitzero"`
	// Silenced is the mute in force at the last result, nil when none: the
	// next result without one says it was silenced until then, and why.
	Silenced *Mute `json:"silenced,omitempty"`
}

// Change is one change of a check's outcome.
type Change struct {
	From checks.Outcome `json:"from"`
	To   checks.Outcome `json:"to"`
	At   time.Time      `json:"at"`
}

// Flapping says whether the check is flapping: its messages wait until it
// settles.
func (t Track) Flapping() bool { return !t.FlappingSince.IsZero() }

// Active is an alert that has fired and not been resolved.
type Active struct {
	Outcome      checks.Outcome `json:"outcome"`
	Since        time.Time      `json:"since"`
	FiredAt      time.Time      `json:"fired_at"`
	LastNotified time.Time      `json:"last_notified"`
	// Checks counts the results seen since the alert fired, itself included.
	Checks int `json:"checks"`
}

// Decision is one message to send, with everything needed to write it.
type Decision struct {
	Kind     Kind           `json:"kind"`
	Check    string         `json:"check"`
	Type     string         `json:"type"`
	Endpoint string         `json:"endpoint"`
	Outcome  checks.Outcome `json:"outcome"`
	// Previous is the outcome before: the earlier failing outcome of an alert
	// that changed, or what a resolved alert was about.
	Previous      checks.Outcome `json:"previous,omitempty"`
	HTTPStatus    int            `json:"http_status,omitempty"`
	Detail        string         `json:"detail,omitempty"`
	Since         time.Time      `json:"since"`
	FailuresInRow int            `json:"failures_in_row,omitempty"`
	Checks        int            `json:"checks,omitempty"`
	Fingerprint   string         `json:"fingerprint,omitempty"`
	// RotatedFrom is set when the secret changed since the last message.
	RotatedFrom string `json:"rotated_from,omitempty"`
	// NewThread is set on an alert that opens a new incident (as opposed to
	// one that changes the outcome of an incident already open).
	NewThread bool      `json:"new_thread,omitempty"`
	At        time.Time `json:"at"`
	// ClientID is the courier OAuth app's ClientID, for the re-issue link
	// of its kind's runbook (which is looked up by type, outcome and this
	// site when the message is written, also for a message an earlier
	// release stored).
	ClientID string `json:"client_id,omitempty"`
	// Owner and Team are the check's, as configured when the decision was
	// made: every message names the owner, and Team is a routing label.
	Owner string `json:"owner,omitempty"`
	Team  string `json:"team,omitempty"`
	// Outcomes, Changes and FlapWindow are a flapping message's: the
	// outcomes the check moved between (in the order it first took them),
	// how many changes, within what window. Its Since is the first of those
	// changes, its Previous the outcome before the latest.
	Outcomes   []checks.Outcome `json:"outcomes,omitempty"`
	Changes    int              `json:"changes,omitempty"`
	FlapWindow time.Duration    `json:"flap_window,omitempty"`
	// Settled is set on the alert or resolution that ends flapping: the
	// outcome has held for FlapWindow.
	Settled bool `json:"settled,omitempty"`
	// Notice is what a message of kind notice is about: NoticeStateReset
	// (the zero value, as every notice an earlier release stored) or
	// NoticeAlertClosed.
	Notice string `json:"notice,omitempty"`
	// Silence is the silence or maintenance window the check is under (a
	// resolution sent during it), or, with SilenceEnded, the one that has
	// just ended: every message about a silenced check says so.
	Silence      *Mute `json:"silence,omitempty"`
	SilenceEnded bool  `json:"silence_ended,omitempty"`
	// Lifecycle is what a rotate or tls_expiry message, or the resolution
	// of one, says (lifecycle.go); nil on every other message.
	Lifecycle *LifecycleFacts `json:"lifecycle,omitempty"`
}

// Threshold is how many failures in a row it takes to alert on outcome o.
func Threshold(o checks.Outcome, s Settings) int {
	if o.IsCredentialFailure() {
		return s.AfterFailures
	}
	return s.AfterOutages
}

// Evaluate moves a check's track forward by one result and says what, if
// anything, on-call must be told, for a check under no silence. It never
// mutates t.
func Evaluate(t Track, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	return EvaluateMuted(t, r, s, Mute{}, now)
}

// evaluate is Evaluate as if no silence ever was.
func evaluate(t Track, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	next := t
	if t.Active != nil {
		a := *t.Active
		next.Active = &a
	}
	next.RotatedFrom = rotatedFrom(t, r)
	next.Fingerprint = r.Fingerprint
	next.HTTPStatus, next.Detail, next.LastRun = r.HTTPStatus, r.Detail, now
	if r.Outcome != t.Outcome {
		next.OutcomeSince = now
	}
	next.Outcome = r.Outcome
	if next.Active != nil {
		next.Active.Checks++
	}
	next.Changes = recentChanges(t, r.Outcome, s, now)
	count(&next, r.Outcome, now)

	switch {
	case s.FlapChanges == 0:
		// Turned off: a check that was flapping is not any more.
		next.FlappingSince = time.Time{}
	case !next.Flapping() && len(next.Changes) >= s.FlapChanges:
		next.FlappingSince = now
		return next, []Decision{flapping(&next, t.Outcome, r, s, now)}
	case next.Flapping() && now.Sub(next.OutcomeSince) < s.FlapWindow:
		return next, nil
	case next.Flapping():
		return settle(next, r, s, now)
	}
	return rules(next, r, s, now)
}

// rotatedFrom is the fingerprint of the secret before r's that no message
// has mentioned yet, if any.
func rotatedFrom(t Track, r checks.Result) string {
	if t.Fingerprint != "" && r.Fingerprint != "" && t.Fingerprint != r.Fingerprint {
		return t.Fingerprint
	}
	return t.RotatedFrom
}

// recentChanges are t's changes still within the flap window, with the
// change r's outcome makes (a first result makes none), at most
// FlapChanges of them: the flapping rule needs no more.
func recentChanges(t Track, o checks.Outcome, s Settings, now time.Time) []Change {
	if s.FlapChanges == 0 {
		return nil
	}
	var kept []Change // never t's array: Evaluate does not mutate t
	for _, c := range t.Changes {
		if now.Sub(c.At) < s.FlapWindow {
			kept = append(kept, c)
		}
	}
	if t.Outcome != "" && o != t.Outcome {
		kept = append(kept, Change{From: t.Outcome, To: o, At: now})
	}
	if len(kept) > s.FlapChanges {
		kept = kept[len(kept)-s.FlapChanges:]
	}
	return kept
}

// count moves the streak counters forward by one result.
func count(next *Track, o checks.Outcome, now time.Time) {
	if o == checks.OK {
		next.OKsInRow++
		next.FailuresInRow = 0
		next.LastOK = now
		return
	}
	next.OKsInRow = 0
	next.FailuresInRow++
	if next.FailuresInRow == 1 || next.FailingSince.IsZero() {
		next.FailingSince = now
	}
}

// decision is a message of kind k about r, as next stands; the rotation
// it mentions is not mentioned again.
func decision(k Kind, next *Track, r checks.Result, now time.Time) Decision {
	d := Decision{Kind: k, Check: r.Check, Type: r.Type, Endpoint: r.Endpoint, Outcome: r.Outcome,
		HTTPStatus: r.HTTPStatus, Detail: r.Detail, Since: next.FailingSince, FailuresInRow: next.FailuresInRow,
		Fingerprint: r.Fingerprint, RotatedFrom: next.RotatedFrom, At: now, ClientID: r.ClientID,
		Owner: r.Owner, Team: r.Team}
	if next.Active != nil {
		d.Checks = next.Active.Checks
	}
	next.RotatedFrom = "" // said in this message
	return d
}

// flapping is the message that a check started flapping: since its first
// change in the window, between which outcomes.
func flapping(next *Track, previous checks.Outcome, r checks.Result, s Settings, now time.Time) Decision {
	d := decision(KindFlapping, next, r, now)
	d.Previous, d.Since = previous, next.Changes[0].At
	d.Changes, d.FlapWindow = len(next.Changes), s.FlapWindow
	d.Outcomes = []checks.Outcome{next.Changes[0].From}
	for _, c := range next.Changes {
		if !slices.Contains(d.Outcomes, c.To) {
			d.Outcomes = append(d.Outcomes, c.To)
		}
	}
	return d
}

// settle ends flapping: the outcome held for the flap window, and on-call,
// who last heard the check was flapping, hears where it settled, always
// (see the package doc): failing, an alert (a new incident when none is
// open); ok, a resolution that closes the alert open, if any.
func settle(next Track, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	flappedSince := next.FlappingSince
	next.FlappingSince = time.Time{}
	if r.Outcome == checks.OK {
		previous, since := lastFailing(next.Changes), flappedSince
		if a := next.Active; a != nil {
			previous, since = a.Outcome, a.Since
		}
		next.Active, next.FailingSince = nil, time.Time{}
		if !s.SendResolved {
			return next, nil
		}
		d := decision(KindResolved, &next, r, now)
		d.Previous, d.Since, d.Settled, d.FlapWindow = previous, since, true, s.FlapWindow
		return next, []Decision{d}
	}
	var d Decision
	switch a := next.Active; {
	case a == nil:
		next.Active = &Active{Outcome: r.Outcome, Since: next.FailingSince, FiredAt: now, LastNotified: now, Checks: 1}
		d = decision(KindAlert, &next, r, now)
		d.NewThread = true
	default:
		d = decision(KindAlert, &next, r, now)
		if a.Outcome != r.Outcome {
			d.Previous = a.Outcome
		}
		a.Outcome, a.LastNotified = r.Outcome, now
	}
	d.Settled, d.FlapWindow = true, s.FlapWindow
	return next, []Decision{d}
}

// lastFailing is the failing outcome a flapping check last left, for the
// words of its resolution when no alert was open.
func lastFailing(changes []Change) checks.Outcome {
	for i := len(changes) - 1; i >= 0; i-- {
		if changes[i].From != checks.OK {
			return changes[i].From
		}
	}
	return ""
}

// rules are what on-call is told of a check that is not flapping, its
// counters already moved by r.
func rules(next Track, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	if r.Outcome == checks.OK {
		if next.Active == nil || next.OKsInRow < s.ResolveAfter {
			return next, nil
		}
		var out []Decision
		if s.SendResolved {
			d := decision(KindResolved, &next, r, now)
			d.Previous, d.Since = next.Active.Outcome, next.Active.Since
			out = append(out, d)
		}
		next.Active = nil
		next.FailingSince = time.Time{}
		return next, out
	}
	reached := next.FailuresInRow >= Threshold(r.Outcome, s)
	switch {
	case next.Active == nil && reached:
		next.Active = &Active{Outcome: r.Outcome, Since: next.FailingSince, FiredAt: now, LastNotified: now, Checks: 1}
		d := decision(KindAlert, &next, r, now)
		d.NewThread = true
		return next, []Decision{d}
	case next.Active == nil:
		return next, nil
	case next.Active.Outcome != r.Outcome && reached:
		d := decision(KindAlert, &next, r, now)
		d.Previous = next.Active.Outcome
		next.Active.Outcome, next.Active.LastNotified = r.Outcome, now
		return next, []Decision{d}
	case next.Active.Outcome == r.Outcome && s.RepeatEvery > 0 && now.Sub(next.Active.LastNotified) >= s.RepeatEvery:
		next.Active.LastNotified = now
		return next, []Decision{decision(KindReminder, &next, r, now)}
	}
	return next, nil
}

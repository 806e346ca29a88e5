// Package alert decides, from a check's history and its newest result,
// whether on-call must hear about it: a new alert, a reminder, a resolution,
// or nothing. Evaluate is a pure function of (track, result, settings, now);
// sending and saving happen elsewhere.
package alert

import (
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
}

// DefaultSettings apply where the configuration says nothing.
var DefaultSettings = Settings{AfterFailures: 1, AfterOutages: 3, ResolveAfter: 1, RepeatEvery: 4 * time.Hour, SendResolved: true}

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
}

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
	// ClientID is the courier OAuth app's ClientID, for the re-issue link.
	// Only decisions of the first release carry it (see Remedy).
	ClientID string `json:"client_id,omitempty"`
	// Remedy is what on-call does about it, from the check's kind: the
	// decision is complete as it leaves the policy.
	Remedy checks.Remedy `json:"remedy,omitzero"`
	// Owner and Team are the check's, as configured when the decision was
	// made: every message names the owner, and Team is a routing label.
	Owner string `json:"owner,omitempty"`
	Team  string `json:"team,omitempty"`
}

// Threshold is how many failures in a row it takes to alert on outcome o.
func Threshold(o checks.Outcome, s Settings) int {
	if o.IsCredentialFailure() {
		return s.AfterFailures
	}
	return s.AfterOutages
}

// Evaluate moves a check's track forward by one result and says what, if
// anything, on-call must be told. It never mutates t.
func Evaluate(t Track, r checks.Result, s Settings, now time.Time) (Track, []Decision) {
	next := t
	if t.Active != nil {
		a := *t.Active
		next.Active = &a
	}
	if t.Fingerprint != "" && r.Fingerprint != "" && t.Fingerprint != r.Fingerprint {
		next.RotatedFrom = t.Fingerprint
	}
	next.Fingerprint = r.Fingerprint
	next.HTTPStatus, next.Detail, next.LastRun = r.HTTPStatus, r.Detail, now
	if r.Outcome != t.Outcome {
		next.OutcomeSince = now
	}
	next.Outcome = r.Outcome
	if next.Active != nil {
		next.Active.Checks++
	}

	decide := func(k Kind) Decision {
		d := Decision{Kind: k, Check: r.Check, Type: r.Type, Endpoint: r.Endpoint, Outcome: r.Outcome,
			HTTPStatus: r.HTTPStatus, Detail: r.Detail, Since: next.FailingSince, FailuresInRow: next.FailuresInRow,
			Fingerprint: r.Fingerprint, RotatedFrom: next.RotatedFrom, At: now, Remedy: r.Remedy,
			Owner: r.Owner, Team: r.Team}
		if next.Active != nil {
			d.Checks = next.Active.Checks
		}
		next.RotatedFrom = "" // said in this message
		return d
	}

	if r.Outcome == checks.OK {
		next.OKsInRow++
		next.FailuresInRow = 0
		next.LastOK = now
		if next.Active == nil || next.OKsInRow < s.ResolveAfter {
			return next, nil
		}
		var out []Decision
		if s.SendResolved {
			d := decide(KindResolved)
			d.Previous, d.Since = next.Active.Outcome, next.Active.Since
			out = append(out, d)
		}
		next.Active = nil
		next.FailingSince = time.Time{}
		return next, out
	}

	next.OKsInRow = 0
	next.FailuresInRow++
	if next.FailuresInRow == 1 || next.FailingSince.IsZero() {
		next.FailingSince = now
	}
	reached := next.FailuresInRow >= Threshold(r.Outcome, s)
	switch {
	case next.Active == nil && reached:
		next.Active = &Active{Outcome: r.Outcome, Since: next.FailingSince, FiredAt: now, LastNotified: now, Checks: 1}
		d := decide(KindAlert)
		d.NewThread = true
		return next, []Decision{d}
	case next.Active == nil:
		return next, nil
	case next.Active.Outcome != r.Outcome && reached:
		d := decide(KindAlert)
		d.Previous = next.Active.Outcome
		next.Active.Outcome, next.Active.LastNotified = r.Outcome, now
		return next, []Decision{d}
	case next.Active.Outcome == r.Outcome && s.RepeatEvery > 0 && now.Sub(next.Active.LastNotified) >= s.RepeatEvery:
		next.Active.LastNotified = now
		return next, []Decision{decide(KindReminder)}
	}
	return next, nil
}

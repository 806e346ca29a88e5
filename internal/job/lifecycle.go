package job

import (
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// lifecycle moves a check's credential lifecycle by one result (whatever
// its outcome) and queues its rotate and tls_expiry messages. The caller
// is inside a decision.
func (j *Job) lifecycle(st *state.File, rec *state.Record, r checks.Result, c config.Check, now time.Time) {
	var l alert.Lifecycle
	if rec.Lifecycle != nil {
		l = *rec.Lifecycle
	}
	next, ds, stale := alert.EvaluateLifecycle(l, owned(r, c), c.Lifecycle(), now)
	rec.Lifecycle = &next
	if stale {
		j.Logger.Warn("issued_at looks stale: it was configured for an earlier secret; the current one's age counts from its first sighting. Update or remove issued_at",
			"check", r.Check, "issued_at", c.IssuedAt.Format(time.RFC3339), "issued_for", next.IssuedFingerprint, "fingerprint", r.Fingerprint)
	}
	for _, d := range ds {
		j.enqueueLifecycle(st, d)
		j.Logger.Info("decision", "check", d.Check, "kind", string(d.Kind), "outcome", string(d.Outcome))
	}
}

// enqueueLifecycle puts a lifecycle message in every notifier's outbox.
// It supersedes every message of its track (rotate, or tls_expiry, with
// their resolutions) about the same check that still waits, and goes at
// the end: after an outage on-call's last word is the newest state, and a
// notifier down for weeks collects one message per track, not one per
// repeat_every or per flip.
func (j *Job) enqueueLifecycle(st *state.File, d alert.Decision) {
	for _, n := range j.Notifiers {
		box, waiting := withoutTrack(st.Outbox(n.Name()), d)
		st.SetOutbox(n.Name(), append(box, state.Pending{Decision: keepRepeat(d, waiting)}))
	}
}

// lifecycleTrack names the lifecycle track a message belongs to: the kind
// it opens, or the one it resolves; "" for every other message.
func lifecycleTrack(d alert.Decision) alert.Kind {
	switch {
	case d.Kind == alert.KindRotate || d.Kind == alert.KindTLSExpiry:
		return d.Kind
	case d.Kind == alert.KindResolved && d.Lifecycle != nil:
		return d.Lifecycle.About
	}
	return ""
}

// withoutTrack is box without the waiting messages of d's track about d's
// check, and those messages.
func withoutTrack(box []state.Pending, d alert.Decision) (kept, dropped []state.Pending) {
	track := lifecycleTrack(d)
	for _, p := range box {
		if p.Check == d.Check && lifecycleTrack(p.Decision) == track {
			dropped = append(dropped, p)
			continue
		}
		kept = append(kept, p)
	}
	return kept, dropped
}

// keepRepeat is d with the Repeat of a rotate message it supersedes:
// on-call has not heard the first one yet.
func keepRepeat(d alert.Decision, superseded []state.Pending) alert.Decision {
	if d.Kind != alert.KindRotate || d.Lifecycle == nil {
		return d
	}
	for _, p := range superseded {
		if p.Kind == alert.KindRotate && p.Lifecycle != nil {
			facts := *d.Lifecycle
			facts.Repeat = p.Lifecycle.Repeat
			d.Lifecycle = &facts
		}
	}
	return d
}

// lifecycles are every configured check's lifecycle as the state holds
// it, for the metrics.
func (j *Job) lifecycles(st *state.File) map[string]alert.Lifecycle {
	out := map[string]alert.Lifecycle{}
	for _, c := range j.Config.Checks {
		if rec, ok := st.Checks[c.Name]; ok && rec.Lifecycle != nil {
			out[c.Name] = *rec.Lifecycle
		}
	}
	return out
}

// activeLifecycle is what of a check's lifecycle is an active alert now
// (Alertmanager: TokenwatchCredentialOld while a rotate notice is open,
// TokenwatchTLSExpiring while a tls_expiry notice is, about the served
// certificate that expires first), as the messages that opened them say it.
func activeLifecycle(c config.Check, rec *state.Record, r checks.Result, now time.Time) []alert.Decision {
	l := rec.Lifecycle
	if l == nil {
		return nil
	}
	base := alert.Decision{Check: c.Name, Type: c.Type, Endpoint: c.Endpoint(), Outcome: rec.Outcome, HTTPStatus: rec.HTTPStatus,
		Fingerprint: rec.Fingerprint, At: now, Owner: c.Owner, Team: c.Team}
	if r.Check == c.Name {
		base.ClientID = r.ClientID
	}
	var out []alert.Decision
	if rot := l.Rotation; rot != nil {
		issued, configured := l.Issued(rot.Fingerprint)
		d := base
		d.Kind, d.Since, d.Fingerprint = alert.KindRotate, rot.Since, rot.Fingerprint
		d.Lifecycle = &alert.LifecycleFacts{IssuedAt: issued, Configured: configured, RotateAfter: c.RotateAfter}
		out = append(out, d)
	}
	if w, ok := l.Served(); ok && !l.TLSSince.IsZero() {
		d := base
		d.Kind, d.Since = alert.KindTLSExpiry, l.TLSSince
		d.Lifecycle = &alert.LifecycleFacts{Host: w.Host, NotAfter: w.NotAfter, CertFingerprint: w.Fingerprint}
		out = append(out, d)
	}
	return out
}

// activeOf wraps decisions as active alerts valid for validFor.
func activeOf(ds []alert.Decision, validFor time.Duration) []notify.Active {
	out := make([]notify.Active, len(ds))
	for i, d := range ds {
		out[i] = notify.Active{Decision: d, ValidFor: validFor}
	}
	return out
}

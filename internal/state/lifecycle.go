package state

import (
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// lifecycleProblem is what is wrong with a record's lifecycle, as
// "lifecycle.field: why", or "": the policy reads every field as the
// shape it writes.
func lifecycleProblem(l *alert.Lifecycle) string {
	if l == nil {
		return ""
	}
	if len(l.Sightings) > alert.MaxSightings {
		return fmt.Sprintf("lifecycle.sightings: %d, at most %d are kept", len(l.Sightings), alert.MaxSightings)
	}
	seen := map[string]bool{}
	for i, s := range l.Sightings {
		switch {
		case s.Fingerprint == "" || s.FirstSeen.IsZero():
			return fmt.Sprintf("lifecycle.sightings[%d]: fingerprint or first_seen missing", i)
		case seen[s.Fingerprint]:
			return fmt.Sprintf("lifecycle.sightings[%d]: fingerprint %s seen twice", i, s.Fingerprint)
		}
		seen[s.Fingerprint] = true
	}
	if l.IssuedAt.IsZero() != (l.IssuedFingerprint == "") {
		// issued_at speaks of one secret: neither makes sense alone.
		return "lifecycle.issued_at: issued_at and issued_fingerprint go together"
	}
	if r := l.Rotation; r != nil && (r.Fingerprint == "" || r.Since.IsZero() || r.LastNotified.IsZero()) {
		// A repeat would be due at once, and at every run after.
		return "lifecycle.rotation: fingerprint, since or last_notified missing"
	}
	return certWatchProblem(l.TLS)
}

// certWatchProblem checks the certificate a record remembers.
func certWatchProblem(w *alert.CertWatch) string {
	switch {
	case w == nil:
		return ""
	case w.Host == "" || w.Fingerprint == "" || w.NotAfter.IsZero():
		return "lifecycle.tls: host, fingerprint or not_after missing"
	case w.Warned < 0 || w.Warned > 2:
		return fmt.Sprintf("lifecycle.tls.warned: %d, not 0, 1 or 2", w.Warned)
	case (w.Warned > 0) == w.WarnedAt.IsZero():
		return "lifecycle.tls.warned_at: set exactly when a warning was sent"
	}
	return ""
}

// lifecycleMessageProblem checks a rotate or tls_expiry message, or the
// resolution of one: what its text needs. lifecycle is false for every
// other message, which must carry no lifecycle facts.
func lifecycleMessageProblem(d alert.Decision) (problem string, lifecycle bool) {
	f := d.Lifecycle
	switch {
	case d.Kind == alert.KindRotate:
		if f == nil || f.IssuedAt.IsZero() || f.RotateAfter <= 0 {
			return "lifecycle: a rotate message without issued_at or rotate_after", true
		}
	case d.Kind == alert.KindTLSExpiry:
		if f == nil || f.Host == "" || f.NotAfter.IsZero() {
			return "lifecycle: a tls_expiry message without host or not_after", true
		}
	case d.Kind == alert.KindResolved && f != nil:
		if f.About != alert.KindRotate && f.About != alert.KindTLSExpiry {
			return fmt.Sprintf("lifecycle.about: %q is neither rotate nor tls_expiry", f.About), true
		}
	case f != nil:
		return fmt.Sprintf("lifecycle: on a %s message", d.Kind), true
	default:
		return "", false
	}
	if d.Since.IsZero() {
		return "since: missing", true
	}
	return "", true
}

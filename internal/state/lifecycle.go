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
	return certsProblem(l)
}

// certsProblem checks the certificates a record remembers and its open
// tls_expiry notice.
func certsProblem(l *alert.Lifecycle) string {
	if len(l.Certs) > alert.MaxCerts {
		return fmt.Sprintf("lifecycle.certs: %d, at most %d are kept", len(l.Certs), alert.MaxCerts)
	}
	seen := map[[2]string]bool{}
	for i, w := range l.Certs {
		at := fmt.Sprintf("lifecycle.certs[%d]", i)
		if p := certWatchProblem(at, w); p != "" {
			return p
		}
		if w.LastSeen.IsZero() {
			// It would never count as served, nor be forgotten first.
			return at + ": last_seen missing"
		}
		if key := [2]string{w.Host, w.Fingerprint}; seen[key] {
			return fmt.Sprintf("%s: certificate %s of %s seen twice", at, w.Fingerprint, w.Host)
		} else {
			seen[key] = true
		}
	}
	if !l.TLSSince.IsZero() && len(l.Certs) == 0 {
		// An open notice speaks of a certificate.
		return "lifecycle.tls_since: a notice open without a certificate"
	}
	return ""
}

// certWatchProblem checks one certificate a record remembers, at names it.
func certWatchProblem(at string, w alert.CertWatch) string {
	switch {
	case w.Host == "" || w.Fingerprint == "" || w.NotAfter.IsZero():
		return at + ": host, fingerprint or not_after missing"
	case w.Warned < 0 || w.Warned > 2:
		return fmt.Sprintf("%s.warned: %d, not 0, 1 or 2", at, w.Warned)
	case (w.Warned > 0) == w.WarnedAt.IsZero():
		return at + ".warned_at: set exactly when a warning was sent"
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

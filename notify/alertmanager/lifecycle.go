package alertmanager

import (
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// The lifecycle's alert names: the names of the Prometheus rules on
// tokenwatch_credential_issued_timestamp_seconds and
// tokenwatch_tls_cert_not_after_timestamp_seconds, so that a route or a
// silence written for one source matches the other.
const (
	credentialOld = "TokenwatchCredentialOld"
	tlsExpiring   = "TokenwatchTLSExpiring"
)

// lifecycleAlerts is what a lifecycle message posts: a rotate or
// tls_expiry message keeps its alert active until ends; the resolution
// of one ends it now. A tls_expiry message in the critical band (under 72
// hours) also ends the warning one now: Alertmanager identifies an alert
// by its labels, severity included, so the warning would otherwise stand
// beside the critical until its endsAt, as a changed outcome ends the
// alert of the outcome before. ok is false for every other message.
func lifecycleAlerts(d alert.Decision, labels map[string]string, ends, now time.Time) (out []Alert, ok bool) {
	switch {
	case d.Kind == alert.KindRotate || d.Kind == alert.KindTLSExpiry:
		active := activeLifecycleAlert(d, labels, ends, now)
		out = []Alert{active}
		if d.Kind == alert.KindTLSExpiry && active.Labels["severity"] == "critical" {
			out = append(out, lifecycleAlert(d, tlsExpiring, "warning", labels, now))
		}
		return out, true
	case d.Kind == alert.KindResolved && d.Lifecycle != nil:
		name := credentialOld
		if d.Lifecycle.About == alert.KindTLSExpiry {
			name = tlsExpiring
		}
		// Alertmanager identifies an alert by its labels, severity
		// included: end both bands, whichever was last sent.
		return []Alert{lifecycleAlert(d, name, "warning", labels, now), lifecycleAlert(d, name, "critical", labels, now)}, true
	}
	return nil, false
}

// activeLifecycleAlert is the alert an open rotate or tls_expiry notice
// keeps active until ends: what Sync re-sends on every pass (and nothing
// more: the warning band was ended once, by the message that crossed
// into the critical one).
func activeLifecycleAlert(d alert.Decision, labels map[string]string, ends, now time.Time) Alert {
	if d.Kind == alert.KindRotate {
		// Past rotate_after: the rule's critical band.
		return lifecycleAlert(d, credentialOld, "critical", labels, ends)
	}
	severity := "warning"
	if d.Lifecycle != nil && d.Lifecycle.FinalWarning(now) {
		severity = "critical" // the rule's band under three days
	}
	return lifecycleAlert(d, tlsExpiring, severity, labels, ends)
}

// lifecycleAlert is the alert name of the check d is about, ending at ends.
func lifecycleAlert(d alert.Decision, name, severity string, extra map[string]string, ends time.Time) Alert {
	a := Alert{Labels: alertLabels(d, name, severity, extra), Annotations: annotations(d, name), EndsAt: ends.UTC().Format(timeFormat)}
	if !d.Since.IsZero() {
		a.StartsAt = d.Since.UTC().Format(timeFormat)
	}
	return a
}

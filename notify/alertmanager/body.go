package alertmanager

import (
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Alert is one entry of the body of POST /api/v2/alerts (Alertmanager's
// postableAlert). Labels identify the alert; annotations are replaced by
// each send; EndsAt is when Alertmanager resolves it unless it hears again.
type Alert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    string            `json:"startsAt,omitempty"`
	EndsAt      string            `json:"endsAt"`
}

// Alert names, one per failing outcome: the names of the Prometheus rules
// on tokenwatch's metrics, so a route or a silence written for one source
// matches the other, and the runbook anchors are the same.
var alertNames = map[checks.Outcome]string{
	checks.Invalid:     "TokenwatchCredentialInvalid",
	checks.Forbidden:   "TokenwatchCredentialForbidden",
	checks.Unavailable: "TokenwatchEndpointUnavailable",
	checks.BadResponse: "TokenwatchEndpointBrokeContract",
}

// RunbookBase is where the runbooks live; an alert links the anchor of its name.
const RunbookBase = "https://github.com/tokenwatch/tokenwatch/blob/main/docs/runbooks.md#"

// ReservedLabels are the labels tokenwatch sets itself: configured labels
// may not replace them (a route on severity or team must be able to trust them).
var ReservedLabels = []string{"alertname", "check", "type", "severity", "team"}

// timeFormat is how Alertmanager's API writes times (RFC 3339, UTC).
const timeFormat = time.RFC3339Nano

// Alerts is what one message posts: nothing for a message Alertmanager
// has no name for (a notice about tokenwatch itself, a flapping message:
// the alert it was told of stays open in the state, and Sync keeps it
// firing); the alert, active until now+window, for an alert or a
// reminder; the alert ended now for a resolution. An alert whose outcome changed (invalid, then forbidden) also
// ends the alert of the outcome before, which has another name. A pure
// function of its arguments.
func Alerts(d alert.Decision, labels map[string]string, window time.Duration, now time.Time) []Alert {
	if notify.AboutEgress(d) {
		// The contract gives the egress incident no alert name: like a
		// notice, it is not posted, and neither is its resolution.
		return nil
	}
	if out, ok := lifecycleAlerts(d, labels, now.Add(window), now); ok {
		return out
	}
	switch d.Kind {
	case alert.KindAlert, alert.KindReminder:
		out := []Alert{build(d, d.Outcome, labels, now.Add(window))}
		if d.Kind == alert.KindAlert && d.Previous != "" && d.Previous != d.Outcome && alertNames[d.Previous] != "" {
			out = append(out, build(d, d.Previous, labels, now))
		}
		if out[0].Labels == nil {
			return nil
		}
		return out
	case alert.KindResolved:
		if a := build(d, d.Previous, labels, now); a.Labels != nil {
			return []Alert{a}
		}
	}
	return nil
}

// build is the alert for outcome o of the check d is about, ending at
// ends. Its Labels are nil when o has no alert name.
func build(d alert.Decision, o checks.Outcome, extra map[string]string, ends time.Time) Alert {
	name := alertNames[o]
	if name == "" {
		return Alert{}
	}
	severity := "warning"
	if o.IsCredentialFailure() {
		severity = "critical"
	}
	a := Alert{Labels: alertLabels(d, name, severity, extra), Annotations: annotations(d, name), EndsAt: ends.UTC().Format(timeFormat)}
	if !d.Since.IsZero() {
		a.StartsAt = d.Since.UTC().Format(timeFormat)
	}
	return a
}

// alertLabels identify the alert: its name, the check, its type, the
// severity and team, over the configured labels.
func alertLabels(d alert.Decision, name, severity string, extra map[string]string) map[string]string {
	labels := make(map[string]string, len(extra)+5)
	for k, v := range extra {
		labels[k] = v
	}
	labels["alertname"] = name
	labels["check"] = d.Check
	labels["type"] = d.Type
	labels["severity"] = severity
	if d.Team != "" {
		labels["team"] = d.Team
	}
	return labels
}

// annotations are what on-call reads: the message's one-line summary, its
// paragraphs as plain text (what happened, what to do), the runbook, and
// who owns the check. A message is composed as on time: Alertmanager
// replaces annotations on every send, and a "late" note would outlive the
// delay it speaks of.
func annotations(d alert.Decision, name string) map[string]string {
	c := notify.Compose(notify.Message{Decision: d}, d.At)
	out := map[string]string{
		"summary":     notify.PlainLine(c.Summary),
		"description": description(c),
		"runbook_url": RunbookBase + strings.ToLower(name),
	}
	if d.Fingerprint != "" {
		out["fingerprint"] = d.Fingerprint
	}
	if d.Owner != "" {
		out["owner"] = d.Owner
	}
	return out
}

// description is the content's paragraphs and notes in plain text, one
// paragraph per heading, without the layout Text adds for a terminal.
func description(c notify.Content) string {
	var parts []string
	for _, s := range c.Sections {
		var lines []string
		if s.Heading != "" {
			lines = append(lines, notify.Printable(s.Heading)+":")
		}
		if s.Quote != nil {
			lines = append(lines, notify.PlainLine(s.Quote))
		}
		for _, l := range s.Lines {
			lines = append(lines, notify.PlainLine(l))
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	for _, n := range c.Notes {
		parts = append(parts, notify.PlainLine(n.Line))
	}
	return strings.Join(parts, "\n\n")
}

package notify

import (
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// The credential lifecycle's messages: a secret older than rotate_after,
// an endpoint's certificate close to expiry, and the end of either.

// composeRotate says a secret is older than rotate_after, how old, from
// when its age counts, whether the check fails now, and the kind's steps
// to re-issue it as the outcome calls for.
func composeRotate(d alert.Decision) Content {
	f := factsOf(d)
	age := Duration(d.At.Sub(f.IssuedAt))
	c := Content{Tone: Warning, Headline: fmt.Sprintf("%s: the secret is %s old, past rotate_after (%s): rotate it", d.Check, age, Duration(f.RotateAfter))}
	tag := "[ROTATE] "
	if f.Repeat {
		c.Tone = Reminder
		c.Headline = "Reminder: " + c.Headline
		tag = "[ROTATE REMINDER] "
	}
	c.Summary = Line{Prose(tag), Quote(d.Check), Prose(fmt.Sprintf(": the secret is %s old, older than rotate_after %s; re-issue it", age, Duration(f.RotateAfter)))}
	if d.Outcome != checks.OK {
		// The runbook must not read as if the secret still worked.
		c.Summary = append(c.Summary, Prose(fmt.Sprintf(" (the check fails now: %s)", d.Outcome)))
	}
	issued := "first seen by tokenwatch; no issued_at"
	if f.Configured {
		issued = "issued_at"
	}
	c.Facts = withOwner(d, []Fact{
		{"Type", Line{Value(d.Type)}},
		{"Endpoint", Line{Value(d.Endpoint)}},
		{"Fingerprint", Line{Quote(d.Fingerprint)}},
		{"Issued", Line{Prose(fmt.Sprintf("%s (%s)", Timestamp(f.IssuedAt), issued))}},
		{"Age", Line{Prose(age)}},
		{"Rotate after", Line{Prose(Duration(f.RotateAfter))}},
		{"Check now", Line{Prose(string(d.Outcome))}},
	})
	steps := checks.Kinds.Rotation(d.Type, d.Outcome, checks.Site{Endpoint: d.Endpoint, ClientID: d.ClientID})
	c.Sections = []Section{
		{Heading: "What to do", Lines: fromRemedy(steps)},
		{Lines: []Line{{Prose("A new fingerprint ends this; until then it is repeated every repeat_every.")}}},
	}
	return c
}

// composeTLSExpiry says an endpoint's certificate expires soon: the host,
// the expiry date (UTC) and the days left.
func composeTLSExpiry(d alert.Decision) Content {
	f := factsOf(d)
	left := expiryWords(f.NotAfter, d.At)
	c := Content{Tone: Warning, Headline: fmt.Sprintf("%s: the TLS certificate of %s %s (%s)", d.Check, f.Host, left, Timestamp(f.NotAfter))}
	if f.FinalWarning(d.At) {
		c.Tone = Critical
	}
	c.Summary = Line{Prose("[TLS] "), Quote(d.Check), Prose(": the certificate of "), Value(f.Host), Prose(fmt.Sprintf(" %s, on %s", left, Timestamp(f.NotAfter)))}
	c.Facts = withOwner(d, []Fact{
		{"Host", Line{Value(f.Host)}},
		{"Expires", Line{Prose(Timestamp(f.NotAfter))}},
		{"Days left", Line{Prose(daysLeftFact(f.NotAfter, d.At))}},
		{"Certificate", Line{Quote(f.CertFingerprint)}},
		{"Endpoint", Line{Value(d.Endpoint)}},
		{"Check now", Line{Prose(string(d.Outcome))}},
	})
	c.Sections = []Section{{Heading: "What to do", Lines: []Line{
		{Prose("Ask whoever runs "), Value(f.Host), Prose(" (the partner, or the team behind the endpoint) to renew its certificate, valid until " + Timestamp(f.NotAfter) +
			": once it has expired, every check of it fails with a TLS error, and so does everything else that calls it.")},
		{Prose(fmt.Sprintf("tokenwatch says this once per certificate, and once more under %d hours; it sees the renewal by itself (a new certificate fingerprint).",
			int(alert.TLSFinalWarning.Hours())))},
	}}}
	return c
}

// composeLifecycleResolved says a rotate or tls_expiry message is over:
// the secret was rotated, or the certificate renewed.
func composeLifecycleResolved(d alert.Decision) Content {
	f := factsOf(d)
	c := Content{Tone: Recovered}
	if f.About == alert.KindTLSExpiry {
		c.Headline = fmt.Sprintf("Resolved: %s: the TLS certificate of %s was renewed", d.Check, f.Host)
		c.Summary = Line{Prose("[RESOLVED] "), Quote(d.Check), Prose(": the certificate of "), Value(f.Host), Prose(" was renewed, valid until " + Timestamp(f.NotAfter))}
		c.Facts = withOwner(d, []Fact{
			{"Host", Line{Value(f.Host)}},
			{"Expires", Line{Prose(Timestamp(f.NotAfter))}},
			{"Certificate", Line{Quote(f.CertFingerprint)}},
			{"Warned since", Line{Prose(Timestamp(d.Since))}},
		})
		return c
	}
	what := "the secret was rotated"
	if d.RotatedFrom == "" {
		what = "the secret is no longer older than rotate_after"
	}
	c.Headline = fmt.Sprintf("Resolved: %s: %s", d.Check, what)
	c.Summary = Line{Prose("[RESOLVED] "), Quote(d.Check), Prose(": " + what)}
	c.Facts = withOwner(d, []Fact{
		{"Fingerprint", Line{Quote(d.Fingerprint)}},
		{"Too old since", Line{Prose(fmt.Sprintf("%s (%s)", Timestamp(d.Since), Duration(d.At.Sub(d.Since))))}},
		{"Endpoint", Line{Value(d.Endpoint)}},
	})
	return c
}

// daysLeft is how many whole days are left until t; negative once past.
func daysLeft(t, now time.Time) int {
	return int(t.Sub(now).Hours() / 24)
}

// daysLeftFact is the days left as a fact: a number, or "none: expired".
func daysLeftFact(t, now time.Time) string {
	if t.Before(now) {
		return "none: expired"
	}
	return fmt.Sprint(daysLeft(t, now))
}

// expiryWords says how long until t in days, the way a headline does:
// "expires in 5 days", "expires within a day", "expired 2 days ago".
func expiryWords(t, now time.Time) string {
	left := t.Sub(now)
	switch days := daysLeft(t, now); {
	case left < 0 && days == 0:
		return "expired today"
	case left < 0 && days == -1:
		return "expired 1 day ago"
	case left < 0:
		return fmt.Sprintf("expired %d days ago", -days)
	case days == 0:
		return "expires within a day"
	case days == 1:
		return "expires in 1 day"
	default:
		return fmt.Sprintf("expires in %d days", days)
	}
}

// factsOf is d's lifecycle facts; empty ones for a message that lacks
// them (the state refuses such a message, but a notifier must not panic).
func factsOf(d alert.Decision) alert.LifecycleFacts {
	if d.Lifecycle == nil {
		return alert.LifecycleFacts{}
	}
	return *d.Lifecycle
}

// lifecycleItem is a lifecycle message as one item of a summary: its own
// one-line summary, tagged with its kind (it has no server detail to quote).
func lifecycleItem(m Message) Line {
	item := Compose(Message{Decision: m.Decision}, m.At).Summary
	if m.Late {
		item = append(item, Prose(" "), Span{Text: "(late)", Style: Emphasis})
	}
	return item
}

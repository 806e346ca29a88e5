package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// Card is what a message says, before any medium's formatting. Text uses
// Slack's mrkdwn (*bold*, `code`, <url|label>); the text renderer strips it.
type Card struct {
	Emoji    string   // Slack emoji shortcode for the headline
	Headline string   // one line, plain text
	Fallback string   // one line for notifications and clients without blocks
	Fields   []Field  // short facts, shown two per row
	Sections []string // paragraphs in mrkdwn
	Context  []string // small print at the bottom
}

// Field is one short fact.
type Field struct{ Label, Value string }

// outcomeWords says an outcome the way on-call reads it in a headline.
var outcomeWords = map[checks.Outcome]string{
	checks.OK:          "works",
	checks.Invalid:     "credential INVALID",
	checks.Forbidden:   "credential FORBIDDEN",
	checks.Unavailable: "endpoint UNAVAILABLE",
	checks.BadResponse: "endpoint BROKE ITS CONTRACT",
}

// CardFor says one message. now is when it is rendered (for "late" notes).
func CardFor(m Message, now time.Time) Card {
	d := m.Decision
	var c Card
	switch d.Kind {
	case alert.KindAlert:
		c.Emoji = ":rotating_light:"
		if !d.Outcome.IsCredentialFailure() {
			c.Emoji = ":warning:"
		}
		c.Headline = fmt.Sprintf("%s: %s", d.Check, outcomeWords[d.Outcome])
		if d.Previous != "" {
			c.Headline += fmt.Sprintf(" (was %s)", d.Previous)
		}
		c.Fallback = fmt.Sprintf("[ALERT] %s is %s: %s", inert(d.Check), d.Outcome, inertOr(d.Detail))
		c.Fields = alertFields(d)
		c.Sections = []string{"*What happened*\n" + quoteBlock(d.Detail), "*What to do*\n" + whatToDo(d)}
	case alert.KindReminder:
		c.Emoji = ":repeat:"
		c.Headline = fmt.Sprintf("Reminder: %s still %s for %s, %d checks", d.Check, d.Outcome, Duration(d.At.Sub(d.Since)), d.Checks)
		c.Fallback = fmt.Sprintf("[REMINDER] %s still %s for %s, %d checks", inert(d.Check), d.Outcome, Duration(d.At.Sub(d.Since)), d.Checks)
		c.Fields = alertFields(d)
		c.Sections = []string{"*Still happening*\n" + quoteBlock(d.Detail), "*What to do*\n" + whatToDo(d)}
	case alert.KindResolved:
		c.Emoji = ":white_check_mark:"
		c.Headline = fmt.Sprintf("Resolved: %s works again", d.Check)
		c.Fallback = fmt.Sprintf("[RESOLVED] %s works again after %s %s", inert(d.Check), Duration(d.At.Sub(d.Since)), d.Previous)
		c.Fields = []Field{
			{"Was", string(d.Previous)},
			{"For", Duration(d.At.Sub(d.Since))},
			{"Since", Timestamp(d.Since)},
			{"Recovered", Timestamp(d.At)},
			{"Endpoint", escape(d.Endpoint)},
			{"Fingerprint", inert(d.Fingerprint)},
		}
		c.Sections = []string{"*Now*\n" + quoteBlock(d.Detail)}
	case alert.KindNotice:
		c.Emoji = ":warning:"
		c.Headline = "tokenwatch: its state was reset"
		c.Fallback = "[NOTICE] tokenwatch: " + inertOr(d.Detail)
		c.Sections = []string{"*What happened*\n" + quoteBlock(d.Detail)}
	}
	if d.RotatedFrom != "" {
		c.Context = append(c.Context, fmt.Sprintf(":key: The secret was rotated: fingerprint %s is now %s.", inert(d.RotatedFrom), inert(d.Fingerprint)))
	}
	if m.Late {
		c.Context = append(c.Context, fmt.Sprintf(":hourglass: Late: decided at %s, delivered only now (%s later) because Slack could not be reached.", Timestamp(d.At), Duration(now.Sub(d.At))))
		c.Fallback = "(late) " + c.Fallback
	}
	c.Context = append(c.Context, fmt.Sprintf("tokenwatch · check %s · %s", inert(d.Check), escape(d.Type)))
	return c
}

func alertFields(d alert.Decision) []Field {
	status := "none (no answer)"
	if d.HTTPStatus != 0 {
		status = fmt.Sprint(d.HTTPStatus)
	}
	return []Field{
		{"Type", escape(d.Type)},
		{"Endpoint", escape(d.Endpoint)},
		{"HTTP status", status},
		{"Since", fmt.Sprintf("%s (%s)", Timestamp(d.Since), Duration(d.At.Sub(d.Since)))},
		{"Failures in a row", fmt.Sprint(d.FailuresInRow)},
		{"Fingerprint", inert(d.Fingerprint)},
	}
}

// whatToDo is the runbook for one outcome of one kind of check: the kind's
// own steps where it has them, else the generic words for an outage.
func whatToDo(d alert.Decision) string {
	if r := remedyOf(d); !r.Empty() {
		return mrkdwn(r)
	}
	switch d.Outcome {
	case checks.Unavailable:
		return fmt.Sprintf("No verdict on the credential: %s could not answer %d times in a row for %s. "+
			"If every endpoint looks down at once, suspect our own egress, DNS or proxy first. "+
			"Otherwise check the endpoint's status with its owner. tokenwatch keeps checking and says when it recovers.",
			escape(d.Endpoint), d.FailuresInRow, Duration(d.At.Sub(d.Since)))
	case checks.BadResponse:
		return fmt.Sprintf("%s answered outside its documented contract (%d times in a row). The credential may be fine: "+
			"the endpoint changed or is misconfigured (a login page, a proxy, a moved path). Send the detail above to the endpoint's owner.",
			escape(d.Endpoint), d.FailuresInRow)
	}
	return "See the detail above."
}

// remedyOf is the runbook the decision carries, or, for a decision an
// earlier release stored without one, its kind's runbook from what the
// decision says (type, outcome, endpoint, ClientID).
func remedyOf(d alert.Decision) checks.Remedy {
	if !d.Remedy.Empty() {
		return d.Remedy
	}
	return checks.Kinds.Remedy(d.Type, d.Outcome, checks.Site{Endpoint: d.Endpoint, ClientID: d.ClientID})
}

// mrkdwn renders a remedy in Slack's mrkdwn, one line per step. Prose is
// the kind's own words, written as they are; code and link labels may hold
// configured values, so they are escaped and cannot form a mention.
func mrkdwn(r checks.Remedy) string {
	lines := make([]string, 0, len(r.Lines))
	for _, line := range r.Lines {
		var b strings.Builder
		for _, s := range line {
			b.WriteString(mrkdwnSpan(s))
		}
		lines = append(lines, b.String())
	}
	return strings.Join(lines, "\n")
}

func mrkdwnSpan(s checks.Span) string {
	switch {
	case s.URL != "" && s.Text != "":
		return "<" + s.URL + "|" + escape(s.Text) + ">"
	case s.URL != "" && s.Code:
		return "`" + s.URL + "`"
	case s.URL != "":
		return s.URL
	case s.Code:
		return "`" + escape(s.Text) + "`"
	case s.Strong:
		return "*" + s.Text + "*"
	}
	return s.Text
}

// quoteBlock shows server words as a mrkdwn quote of one inert code span.
func quoteBlock(s string) string {
	return "> " + inertOr(s)
}

// inertOr is inert(s), or says there was nothing to quote.
func inertOr(s string) string {
	if s == "" {
		return "(no detail)"
	}
	return inert(s)
}

// Timestamp formats a time for on-call, always in UTC.
func Timestamp(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// Duration formats a span the way people say it: 45s, 12m, 6h, 1h5m, 3d4h.
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		h, m := int(d.Hours()), int(d.Minutes())%60
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d.Hours())/24, int(d.Hours())%24
	if h == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%dh", days, h)
}

// SummaryCard says many messages in one, for a run that has too many.
func SummaryCard(ms []Message) Card {
	c := Card{
		Emoji:    ":rotating_light:",
		Headline: fmt.Sprintf("tokenwatch: %d notifications in one run, sent as one summary", len(ms)),
	}
	c.Fallback = c.Headline
	credentials, outages := 0, 0
	var lines []string
	for _, m := range ms {
		d := m.Decision
		if d.Kind != alert.KindResolved {
			if d.Outcome.IsCredentialFailure() {
				credentials++
			} else {
				outages++
			}
		}
		late := ""
		if m.Late {
			late = " _(late)_"
		}
		lines = append(lines, fmt.Sprintf("• *%s* %s %s: %s%s", d.Kind, inert(d.Check), d.Outcome, inertOr(d.Detail), late))
	}
	if outages > credentials {
		c.Sections = append(c.Sections, "Most of these are outages. When many endpoints fail at once, suspect our own egress, DNS or proxy before the partners.")
	}
	c.Sections = append(c.Sections, lines...)
	c.Context = []string{"tokenwatch · run `tokenwatch run --output text` for the full verdicts"}
	return c
}

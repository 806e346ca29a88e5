package notify

import (
	"fmt"
	"slices"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// outcomeWords says an outcome the way on-call reads it in a headline.
var outcomeWords = map[checks.Outcome]string{
	checks.OK:          "works",
	checks.Invalid:     "credential INVALID",
	checks.Forbidden:   "credential FORBIDDEN",
	checks.Unavailable: "endpoint UNAVAILABLE",
	checks.BadResponse: "endpoint BROKE ITS CONTRACT",
}

// Compose says one message. now is when it is delivered (for the late note).
func Compose(m Message, now time.Time) Content {
	d := m.Decision
	var c Content
	switch d.Kind {
	case alert.KindAlert:
		c.Tone = Critical
		if !d.Outcome.IsCredentialFailure() {
			c.Tone = Warning
		}
		c.Headline = fmt.Sprintf("%s: %s", d.Check, outcomeWords[d.Outcome])
		if d.Previous != "" {
			c.Headline += fmt.Sprintf(" (was %s)", d.Previous)
		}
		c.Summary = Line{Prose("[ALERT] "), Quote(d.Check), Prose(fmt.Sprintf(" is %s: ", d.Outcome)), quoteOr(d.Detail)}
		c.Facts = alertFacts(d)
		c.Sections = []Section{{Heading: "What happened", Quote: Line{quoteOr(d.Detail)}}, {Heading: "What to do", Lines: whatToDo(d)}}
	case alert.KindReminder:
		c.Tone = Reminder
		c.Headline = fmt.Sprintf("Reminder: %s still %s for %s, %d checks", d.Check, d.Outcome, Duration(d.At.Sub(d.Since)), d.Checks)
		c.Summary = Line{Prose("[REMINDER] "), Quote(d.Check), Prose(fmt.Sprintf(" still %s for %s, %d checks", d.Outcome, Duration(d.At.Sub(d.Since)), d.Checks))}
		c.Facts = alertFacts(d)
		c.Sections = []Section{{Heading: "Still happening", Quote: Line{quoteOr(d.Detail)}}, {Heading: "What to do", Lines: whatToDo(d)}}
	case alert.KindEgress:
		c = composeEgress(d)
	case alert.KindResolved:
		if AboutEgress(d) {
			c = composeEgress(d)
			break
		}
		if d.Lifecycle != nil {
			c = composeLifecycleResolved(d)
			break
		}
		c.Tone = Recovered
		c.Headline = fmt.Sprintf("Resolved: %s works again", d.Check)
		c.Summary = Line{Prose("[RESOLVED] "), Quote(d.Check), Prose(fmt.Sprintf(" works again after %s %s", Duration(d.At.Sub(d.Since)), d.Previous))}
		c.Facts = withOwner(d, []Fact{
			{"Was", Line{Prose(string(d.Previous))}},
			{"For", Line{Prose(Duration(d.At.Sub(d.Since)))}},
			{"Since", Line{Prose(Timestamp(d.Since))}},
			{"Recovered", Line{Prose(Timestamp(d.At))}},
			{"Endpoint", Line{Value(d.Endpoint)}},
			{"Fingerprint", Line{Quote(d.Fingerprint)}},
		})
		c.Sections = []Section{{Heading: "Now", Quote: Line{quoteOr(d.Detail)}}}
	case alert.KindFlapping:
		c = composeFlapping(d)
	case alert.KindRotate:
		c = composeRotate(d)
	case alert.KindTLSExpiry:
		c = composeTLSExpiry(d)
	case alert.KindNotice:
		c.Tone = Warning
		c.Headline = "tokenwatch: its state was reset"
		c.Summary = Line{Prose("[NOTICE] tokenwatch: "), quoteOr(d.Detail)}
		c.Sections = []Section{{Heading: "What happened", Quote: Line{quoteOr(d.Detail)}}}
		if d.Notice == alert.NoticeAlertClosed {
			c.Headline = fmt.Sprintf("%s: its open alert is closed by a configuration change", d.Check)
			c.Summary = Line{Prose("[NOTICE] "), Quote(d.Check), Prose(": "), Value(d.Detail)}
			c.Sections = []Section{{Heading: "What happened", Lines: []Line{{Value(d.Detail)}}},
				{Heading: "What to do", Lines: []Line{{Prose("Nothing, if the change was meant. If it was not, restore the check's configuration; it is checked afresh either way.")}}}}
		}
	}
	if d.RotatedFrom != "" {
		c.Notes = append(c.Notes, Note{Kind: NoteSecretRotated, Line: Line{
			Prose("The secret was rotated: fingerprint "), Quote(d.RotatedFrom), Prose(" is now "), Quote(d.Fingerprint), Prose("."),
		}})
	}
	c = withSilence(c, d)
	c = withSettled(c, d)
	if m.Late {
		c.Late = &Late{DecidedAt: d.At, By: now.Sub(d.At)}
		c.Summary = append(Line{Prose("(late) ")}, c.Summary...)
	}
	c.Footer = Line{Prose("tokenwatch · check "), Quote(d.Check), Prose(" · "), Value(d.Type)}
	return c
}

func alertFacts(d alert.Decision) []Fact {
	status := "none (no answer)"
	if d.HTTPStatus != 0 {
		status = fmt.Sprint(d.HTTPStatus)
	}
	return withOwner(d, []Fact{
		{"Type", Line{Value(d.Type)}},
		{"Endpoint", Line{Value(d.Endpoint)}},
		{"HTTP status", Line{Prose(status)}},
		{"Since", Line{Prose(fmt.Sprintf("%s (%s)", Timestamp(d.Since), Duration(d.At.Sub(d.Since))))}},
		{"Failures in a row", Line{Prose(fmt.Sprint(d.FailuresInRow))}},
		{"Fingerprint", Line{Quote(d.Fingerprint)}},
	})
}

// withOwner puts the check's owner first among facts, when it has one:
// the first thing on-call looks for is who to call.
func withOwner(d alert.Decision, facts []Fact) []Fact {
	if d.Owner == "" {
		return facts
	}
	return append([]Fact{{"Owner", Line{Value(d.Owner)}}}, facts...)
}

// whatToDo is the runbook for one outcome of one kind of check: the kind's
// own steps where it has them, else the generic words for an outage.
func whatToDo(d alert.Decision) []Line {
	if r := remedyOf(d); !r.Empty() {
		return fromRemedy(r)
	}
	switch d.Outcome {
	case checks.Unavailable:
		return []Line{{Prose("No verdict on the credential: "), Value(d.Endpoint), Prose(fmt.Sprintf(" could not answer %d times in a row for %s. "+
			"If every endpoint looks down at once, suspect our own egress, DNS or proxy first. "+
			"Otherwise check the endpoint's status with its owner. tokenwatch keeps checking and says when it recovers.",
			d.FailuresInRow, Duration(d.At.Sub(d.Since))))}}
	case checks.BadResponse:
		return []Line{{Value(d.Endpoint), Prose(fmt.Sprintf(" answered outside its documented contract (%d times in a row). The credential may be fine: "+
			"the endpoint changed or is misconfigured (a login page, a proxy, a moved path). Send the detail above to the endpoint's owner.",
			d.FailuresInRow))}}
	}
	return []Line{{Prose("See the detail above.")}}
}

// remedyOf is the runbook of the decision's kind of check, from what the
// decision says (type, outcome, endpoint, ClientID): one path for every
// message, waiting ones included, so a runbook fixed in a release reaches
// messages queued before it.
func remedyOf(d alert.Decision) checks.Remedy {
	return checks.Kinds.Remedy(d.Type, d.Outcome, checks.Site{Endpoint: d.Endpoint, ClientID: d.ClientID})
}

// fromRemedy takes a kind's runbook into a message's lines. A kind's code
// spans and link labels may hold configured values; its prose is its own.
func fromRemedy(r checks.Remedy) []Line {
	lines := make([]Line, 0, len(r.Lines))
	for _, rl := range r.Lines {
		line := make(Line, 0, len(rl))
		for _, s := range rl {
			span := Span{Text: s.Text, URL: s.URL}
			switch {
			case s.Code:
				span.Style = Code
			case s.Strong:
				span.Style = Strong
			}
			line = append(line, span)
		}
		lines = append(lines, line)
	}
	return lines
}

// quoteOr quotes server words, or says there were none.
func quoteOr(s string) Span {
	if s == "" {
		return Prose("(no detail)")
	}
	return Quote(s)
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

// ComposeSummary says many messages in one, for a run that has too many.
func ComposeSummary(ms []Message) Content {
	c := Content{
		Tone:     Critical,
		Headline: fmt.Sprintf("tokenwatch: %d notifications in one run, sent as one summary", len(ms)),
	}
	c.Summary = Line{Prose(c.Headline)}
	credentials, outages := 0, 0
	for _, m := range ms {
		d := m.Decision
		if d.Lifecycle != nil {
			c.Items = append(c.Items, lifecycleItem(m))
			continue // neither a credential failure nor an outage
		}
		if d.Kind != alert.KindResolved {
			if d.Outcome.IsCredentialFailure() {
				credentials++
			} else {
				outages++
			}
		}
		item := Line{{Text: string(d.Kind), Style: Strong}, Prose(" "), Quote(d.Check), Prose(fmt.Sprintf(" %s: ", d.Outcome)), quoteOr(d.Detail)}
		if l := Silenced(d); l != nil {
			item = append(append(item, Prose(" — ")), l...)
		}
		if m.Late {
			item = append(item, Prose(" "), Span{Text: "(late)", Style: Emphasis})
		}
		c.Items = append(c.Items, item)
	}
	if owners := ownersOf(ms); owners != nil {
		c.Sections = append(c.Sections, Section{Heading: "Owners", Lines: owners})
	}
	if outages > credentials {
		c.Sections = append(c.Sections, Section{Lines: []Line{{Prose("Most of these are outages. When many endpoints fail at once, suspect our own egress, DNS or proxy before the partners.")}}})
	}
	c.Tone = summaryTone(ms)
	c.Footer = Line{Prose("tokenwatch · "), {Text: "tokenwatch status", Style: Code}, Prose(" shows every check (it checks and sends nothing)")}
	return c
}

// ownersOf lists the owners of the checks a summary covers, one line each
// in order of first mention, with their checks; nil when none has an owner.
func ownersOf(ms []Message) []Line {
	var order []string
	checksOf := map[string][]string{}
	for _, m := range ms {
		o, check := m.Owner, m.Check
		if o == "" || slices.Contains(checksOf[o], check) {
			continue
		}
		if checksOf[o] == nil {
			order = append(order, o)
		}
		checksOf[o] = append(checksOf[o], check)
	}
	var lines []Line
	for _, o := range order {
		line := Line{Value(o), Prose(": ")}
		for i, check := range checksOf[o] {
			if i > 0 {
				line = append(line, Prose(", "))
			}
			line = append(line, Quote(check))
		}
		lines = append(lines, line)
	}
	return lines
}

// withSettled says, on the message that ends flapping, that the check no
// longer flaps: on-call's last word about it was that it did.
func withSettled(c Content, d alert.Decision) Content {
	if !d.Settled {
		return c
	}
	where := fmt.Sprintf("settled %s", d.Outcome)
	if d.Outcome == checks.OK {
		where = "settled ok"
	}
	c.Summary = append(c.Summary, Prose(" — no longer flapping: "+where))
	c.Notes = append(c.Notes, Note{Kind: NoteSettled, Line: Line{Prose(fmt.Sprintf(
		"No longer flapping: its outcome has held for %s, so this is where it settled; alerts and resolutions follow the usual rules again.", Duration(d.FlapWindow)))}})
	return c
}

// summaryTone is the siren only when something in the summary fails now:
// resolutions alone are good news, and rotate or tls_expiry notices are
// warnings about credentials that still work.
func summaryTone(ms []Message) Tone {
	tone := Recovered
	for _, m := range ms {
		switch m.Kind {
		case alert.KindResolved:
		case alert.KindRotate, alert.KindTLSExpiry, alert.KindNotice:
			tone = Warning
		default:
			return Critical
		}
	}
	return tone
}

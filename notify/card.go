package notify

import (
	"fmt"
	"net/url"
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

// whatToDo is the runbook for one outcome of one kind of check.
func whatToDo(d alert.Decision) string {
	switch {
	case d.Type == checks.TypeCourier && d.Outcome == checks.Invalid:
		return courierReissue(d)
	case d.Type == checks.TypeCourier && d.Outcome == checks.Forbidden:
		return "The token is accepted but not allowed: the Yandex account it was issued to is not an administrator of the company, " +
			"or the company key is unknown or banned. Do not re-issue the token first: it may be fine.\n" +
			"1. In the Courier (Track & Trace) company settings, give that account the administrator role.\n" +
			"2. If it already is an administrator, ask Yandex support whether the company key is blocked.\n" +
			"3. The next check says whether it worked."
	case d.Type == checks.TypePartner && d.Outcome == checks.Invalid:
		return "The partner's token endpoint rejects our client_id/client_secret. The partner's own words are above.\n" +
			"1. Ask the partner (through the Yango Deli manager) to confirm the client_id and client_secret they expect, or to re-issue them.\n" +
			"2. Put the new secret where this check reads it (its `client_secret_file` or variable); its fingerprint will change.\n" +
			"3. The next check says whether it worked."
	case d.Type == checks.TypePartner && d.Outcome == checks.Forbidden:
		return "The partner knows the client but does not allow it the `client_credentials` grant or the `read write` scope " +
			"(or refuses it with HTTP 403). Ask the partner to allow them for our client_id; the secret itself may be fine."
	case d.Outcome == checks.Unavailable:
		return fmt.Sprintf("No verdict on the credential: %s could not answer %d times in a row for %s. "+
			"If every endpoint looks down at once, suspect our own egress, DNS or proxy first. "+
			"Otherwise check the endpoint's status with its owner. tokenwatch keeps checking and says when it recovers.",
			escape(d.Endpoint), d.FailuresInRow, Duration(d.At.Sub(d.Since)))
	case d.Outcome == checks.BadResponse:
		return fmt.Sprintf("%s answered outside its documented contract (%d times in a row). The credential may be fine: "+
			"the endpoint changed or is misconfigured (a login page, a proxy, a moved path). Send the detail above to the endpoint's owner.",
			escape(d.Endpoint), d.FailuresInRow)
	}
	return "See the detail above."
}

// courierReissue is the re-issue procedure of the Yandex Courier document.
func courierReissue(d alert.Decision) string {
	// Without a client_id the link is a template: shown as code, not a link,
	// since its <placeholder> cannot live inside Slack's <url|label> syntax.
	open := "Open `" + escape("https://oauth.yandex.com/authorize?response_type=token&client_id=<ClientID-of-your-app>") +
		"`, with the ClientID from your app's page in OAuth for Yandex ID (set `client_id` on this check to get a ready link)"
	if d.ClientID != "" {
		link := "https://oauth.yandex.com/authorize?response_type=token&client_id=" + url.QueryEscape(d.ClientID)
		open = "Open <" + link + "|the authorize link for ClientID " + escape(d.ClientID) + ">: `" + link + "`"
	}
	return "The token is revoked or invalid: it was revoked, the account's password changed, 2FA was switched, " +
		"someone pressed \"log out of all devices\", or it was unused for a long time. A new token is needed.\n" +
		"1. Log in to Yandex with the account the token belongs to: it must be an *administrator in the company*.\n" +
		"2. " + open + ".\n" +
		"3. Make sure it asks to log in as the right user, click *Log in as …*, and copy the token shown.\n" +
		"4. Test it: `" + escape(`curl -H "Authorization: OAuth <new-token>" -X GET `+d.Endpoint+"/api/v1/test") + "` must answer `{\"message\":\"OK\"}`.\n" +
		"5. Put the new token where this check reads it (its `token_file` or variable); the fingerprint will change and the next check confirms."
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

package notify

import (
	"fmt"
	"strings"
)

// Text renders content as plain text: for `run --dry-run`, a terminal, and
// notifiers whose medium has no markup. Server words are shown as they
// were, but for a backtick, shown as ˋ as in Slack (where a backtick would
// end their code span), so that both read the same; nothing a terminal
// would act on passes (see Printable).
func Text(c Content) string {
	var b strings.Builder
	rule := strings.Repeat("─", 72)
	tag := ""
	if c.Tone.IsAlert() {
		tag = alertTag(c) // reminders and resolutions say so in their headline
	}
	fmt.Fprintf(&b, "%s\n%s\n", rule, Printable(strings.TrimSpace(tag+" "+c.Headline)))
	for _, f := range c.Facts {
		fmt.Fprintf(&b, "  %-18s %s\n", Printable(f.Label+":"), PlainLine(f.Value))
	}
	for _, s := range c.Sections {
		b.WriteString("\n")
		if s.Heading != "" {
			fmt.Fprintf(&b, "  %s\n", Printable(s.Heading))
		}
		if s.Quote != nil {
			fmt.Fprintf(&b, "  > %s\n", PlainLine(s.Quote))
		}
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "  %s\n", PlainLine(l))
		}
	}
	for i, item := range c.Items {
		if i == 0 {
			b.WriteString("\n") // the list stays together
		}
		fmt.Fprintf(&b, "  • %s\n", PlainLine(item))
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "  · %s\n", PlainLine(n.Line))
	}
	if c.Late != nil {
		fmt.Fprintf(&b, "  · %s\n", PlainLine(c.Late.Line(lateBecause)))
	}
	if c.Footer != nil {
		fmt.Fprintf(&b, "  · %s\n", PlainLine(c.Footer))
	}
	return b.String()
}

// lateBecause is why a late message is late, in a medium that cannot say
// which notifier failed.
const lateBecause = "an earlier run could not deliver it"

// PlainLine renders a line as plain text, made Printable: a link by its
// label, a URL as it is, every other span by its text.
func PlainLine(l Line) string {
	var b strings.Builder
	for _, s := range l {
		switch {
		case s.URL != "" && s.Text != "":
			b.WriteString(s.Text)
		case s.URL != "":
			b.WriteString(s.URL)
		case s.Style == Quoted:
			b.WriteString(strings.ReplaceAll(s.Text, "`", "ˋ"))
		default:
			b.WriteString(s.Text)
		}
	}
	return Printable(b.String())
}

// alertTag is the tag of a message that asks on-call to act: the
// lifecycle's own ([ROTATE], [TLS]) as its summary and Slack show it, so
// that an old secret or a certificate is not read as a failing check;
// [ALERT] for every other.
func alertTag(c Content) string {
	summary := PlainLine(c.Summary)
	summary = strings.TrimPrefix(summary, "(late) ") // a late message says so in its notes
	for _, tag := range []string{"[ROTATE]", "[TLS]"} {
		if strings.HasPrefix(summary, tag+" ") {
			return tag
		}
	}
	return "[ALERT]"
}

package notify

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/slack-go/slack"
)

// Slack Block Kit limits (past them Slack refuses the whole message).
const (
	maxHeader      = 150
	maxSectionText = 3000
	maxFields      = 10
	maxFieldText   = 2000
	maxContext     = 10
	maxBlocks      = 50
	// maxTotalText keeps well under the ~13,000 characters at which Slack
	// has been seen to answer msg_blocks_too_long.
	maxTotalText = 11000
)

// Blocks renders a card as Block Kit, within Slack's limits: long text is
// cut, and sections past the limits are replaced by one "and N more" line.
func Blocks(c Card) []slack.Block {
	header := cut(strings.TrimSpace(c.Emoji+" "+c.Headline), maxHeader)
	blocks := []slack.Block{slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, header, true, false))}
	total := len(header)
	if len(c.Fields) > 0 {
		var fields []*slack.TextBlockObject
		for _, f := range c.Fields[:min(len(c.Fields), maxFields)] {
			text := cut(fmt.Sprintf("*%s*\n%s", f.Label, f.Value), maxFieldText)
			total += len(text)
			fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, text, false, false))
		}
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	// Room for the context block and an "and N more" line.
	room := maxBlocks - len(blocks) - 2
	shown := 0
	for i, p := range packSections(c.Sections) {
		if i >= room || total+len(p.text) > maxTotalText {
			more := fmt.Sprintf("… and %d more not shown (Slack's message size limit).", len(c.Sections)-shown)
			blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, more, false, false), nil, nil))
			break
		}
		total += len(p.text)
		shown += p.sections
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, p.text, false, false), nil, nil))
	}
	if len(c.Context) > 0 {
		var elems []slack.MixedElement
		for _, t := range c.Context[:min(len(c.Context), maxContext)] {
			elems = append(elems, slack.NewTextBlockObject(slack.MarkdownType, cut(t, maxFieldText), false, false))
		}
		blocks = append(blocks, slack.NewContextBlock("", elems...))
	}
	return blocks
}

// packed is the text of one section block and how many sections it holds.
type packed struct {
	text     string
	sections int
}

// packSections joins list lines ("• ...", as in a summary) into blocks of at
// most maxSectionText characters, and cuts any single section that is longer.
func packSections(sections []string) []packed {
	var out []packed
	for _, s := range sections {
		s = cut(s, maxSectionText)
		if n := len(out); n > 0 && strings.HasPrefix(s, "• ") && strings.HasPrefix(out[n-1].text, "• ") &&
			len(out[n-1].text)+1+len(s) <= maxSectionText {
			out[n-1].text += "\n" + s
			out[n-1].sections++
			continue
		}
		out = append(out, packed{text: s, sections: 1})
	}
	return out
}

// cut shortens s to at most limit bytes on a rune boundary, marking the cut.
// A code span the cut leaves open is closed: left open, Slack would format
// the server words it quotes.
func cut(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	i := limit - len("`…")
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	if strings.Count(s[:i], "`")%2 == 1 {
		return s[:i] + "`…"
	}
	return s[:i] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

var (
	mrkdwnLink = regexp.MustCompile(`<([^|>]+)\|([^>]+)>`)
	emoji      = regexp.MustCompile(`:[a-z_]+: ?`)
)

// Text renders a card for a terminal: the same content, without Slack's
// markup, and with nothing a terminal would act on (see Printable).
func Text(c Card) string {
	var b strings.Builder
	rule := strings.Repeat("─", 72)
	fmt.Fprintf(&b, "%s\n%s\n", rule, Printable(strings.TrimSpace(textEmoji(c.Emoji)+" "+c.Headline)))
	for _, f := range c.Fields {
		fmt.Fprintf(&b, "  %-18s %s\n", Printable(f.Label+":"), Printable(Plain(f.Value)))
	}
	for i, s := range c.Sections {
		if i == 0 || !strings.HasPrefix(s, "• ") || !strings.HasPrefix(c.Sections[i-1], "• ") {
			b.WriteString("\n") // list lines of a summary stay together
		}
		for _, line := range strings.Split(Plain(s), "\n") {
			fmt.Fprintf(&b, "  %s\n", Printable(line))
		}
	}
	for _, t := range c.Context {
		fmt.Fprintf(&b, "  · %s\n", Printable(Plain(t)))
	}
	return b.String()
}

func textEmoji(e string) string {
	switch e {
	case ":rotating_light:":
		return "[ALERT]"
	case ":warning:":
		return "[ALERT]"
	}
	return "" // reminders and resolutions say so in their headline
}

var (
	markup   = strings.NewReplacer("*", "", "_(late)_", "(late)")
	entities = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// Plain turns Slack mrkdwn into plain text for a terminal: no *bold* or
// emoji codes, links shown by their label, entities unescaped. The content
// of a `code` span (where server words are quoted) is kept as it is, only
// its backticks dropped.
func Plain(s string) string {
	parts := strings.Split(s, "`")
	for i, p := range parts {
		if i%2 == 0 { // outside code spans
			p = markup.Replace(emoji.ReplaceAllString(mrkdwnLink.ReplaceAllString(p, "$2"), ""))
		}
		parts[i] = entities.Replace(p)
	}
	return strings.TrimPrefix(strings.Join(parts, ""), "> ")
}

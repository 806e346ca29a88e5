package slack

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/tokenwatch/tokenwatch/notify"
)

// card is a message in Slack's terms: text in mrkdwn (*bold*, `code`,
// <url|label>), laid out as Block Kit by blocksOf.
type card struct {
	Emoji    string   // Slack emoji shortcode for the headline
	Headline string   // one line, plain text
	Fallback string   // one line for notifications and clients without blocks
	Fields   []field  // short facts, shown two per row
	Sections []string // paragraphs in mrkdwn
	Context  []string // small print at the bottom
}

// field is one short fact.
type field struct{ Label, Value string }

// toneEmoji flags a headline.
var toneEmoji = map[notify.Tone]string{
	notify.Critical:  ":rotating_light:",
	notify.Warning:   ":warning:",
	notify.Reminder:  ":repeat:",
	notify.Recovered: ":white_check_mark:",
}

// noteEmoji marks a note.
var noteEmoji = map[notify.NoteKind]string{
	notify.NoteSecretRotated: ":key:",
	notify.NoteSilenced:      ":mute:",
	notify.NoteSettled:       ":anchor:",
}

// lateBecause is why a message is late, as only Slack can say it: the
// message went to Slack and nowhere else.
const lateBecause = "Slack could not be reached"

// Render is what Slack is sent for a message's content: the top-level text
// (the fallback of push notifications, in mrkdwn) and the blocks. It is
// pure: the request bodies of both modes are built from it.
func Render(c notify.Content) (string, []slackapi.Block) {
	k := cardOf(c)
	return fallbackOf(k.Fallback), blocksOf(k)
}

// fallbackOf keeps the top-level text within maxFallbackText, saying so
// when it was cut: a detail of megabytes (a hand-edited state) would
// otherwise be posted whole, beside blocks that are cut.
func fallbackOf(s string) string {
	if len(s) <= maxFallbackText {
		return s
	}
	return cut(s, maxFallbackText-len(fallbackCut)) + fallbackCut
}

// fallbackCut ends a top-level text that was cut.
const fallbackCut = " (cut: Slack's message size limit)"

// WebhookBody is the JSON an incoming webhook is posted.
func WebhookBody(text string, blocks []slackapi.Block) ([]byte, error) {
	body, err := json.Marshal(slackapi.WebhookMessage{Text: text, Blocks: &slackapi.Blocks{BlockSet: blocks}})
	if err != nil {
		return nil, fmt.Errorf("encode the Slack message: %w", err)
	}
	return body, nil
}

// cardOf says content in mrkdwn.
func cardOf(c notify.Content) card {
	k := card{Emoji: toneEmoji[c.Tone], Headline: c.Headline, Fallback: mrkdwn(c.Summary)}
	for _, f := range c.Facts {
		k.Fields = append(k.Fields, field{f.Label, mrkdwn(f.Value)})
	}
	for _, s := range c.Sections {
		var parts []string
		if s.Heading != "" {
			parts = append(parts, "*"+s.Heading+"*")
		}
		if s.Quote != nil {
			parts = append(parts, "> "+mrkdwn(s.Quote))
		}
		for _, l := range s.Lines {
			parts = append(parts, mrkdwn(l))
		}
		k.Sections = append(k.Sections, strings.Join(parts, "\n"))
	}
	for _, item := range c.Items {
		k.Sections = append(k.Sections, "• "+mrkdwn(item))
	}
	for _, n := range c.Notes {
		k.Context = append(k.Context, strings.TrimSpace(noteEmoji[n.Kind]+" "+mrkdwn(n.Line)))
	}
	if c.Late != nil {
		k.Context = append(k.Context, ":hourglass: "+mrkdwn(c.Late.Line(lateBecause)))
	}
	if c.Footer != nil {
		k.Context = append(k.Context, mrkdwn(c.Footer))
	}
	return k
}

// mrkdwn renders a line in Slack's mrkdwn. Prose is tokenwatch's own words,
// written as they are; configured values, code and link labels are escaped
// and cannot form a mention or a link; server words are made inert.
func mrkdwn(l notify.Line) string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(mrkdwnSpan(s))
	}
	return b.String()
}

func mrkdwnSpan(s notify.Span) string {
	switch {
	case s.URL != "" && s.Text != "":
		return "<" + s.URL + "|" + escape(s.Text) + ">"
	case s.URL != "" && s.Style == notify.Code:
		return "`" + s.URL + "`"
	case s.URL != "":
		return s.URL
	}
	switch s.Style {
	case notify.Strong:
		return "*" + s.Text + "*"
	case notify.Emphasis:
		return "_" + s.Text + "_"
	case notify.Setting:
		return escape(s.Text)
	case notify.Code:
		return "`" + escape(s.Text) + "`"
	case notify.Quoted:
		return inert(s.Text)
	}
	return s.Text
}

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
	// maxFallbackText bounds the top-level text (the notification's),
	// as long as a section may be.
	maxFallbackText = 3000
)

// blocksOf lays a card out as Block Kit, within Slack's limits: long text
// is cut, and sections past the limits are replaced by one "and N more" line.
func blocksOf(c card) []slackapi.Block {
	header := cut(strings.TrimSpace(c.Emoji+" "+c.Headline), maxHeader)
	blocks := []slackapi.Block{slackapi.NewHeaderBlock(slackapi.NewTextBlockObject(slackapi.PlainTextType, header, true, false))}
	total := len(header)
	if len(c.Fields) > 0 {
		var fields []*slackapi.TextBlockObject
		for _, f := range c.Fields[:min(len(c.Fields), maxFields)] {
			text := cut(fmt.Sprintf("*%s*\n%s", f.Label, f.Value), maxFieldText)
			total += len(text)
			fields = append(fields, slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false))
		}
		blocks = append(blocks, slackapi.NewSectionBlock(nil, fields, nil))
	}
	// Room for the context block and an "and N more" line.
	room := maxBlocks - len(blocks) - 2
	shown := 0
	for i, p := range packSections(c.Sections) {
		if i >= room || total+len(p.text) > maxTotalText {
			more := fmt.Sprintf("… and %d more not shown (Slack's message size limit).", len(c.Sections)-shown)
			blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, more, false, false), nil, nil))
			break
		}
		total += len(p.text)
		shown += p.sections
		blocks = append(blocks, slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, p.text, false, false), nil, nil))
	}
	if len(c.Context) > 0 {
		var elems []slackapi.MixedElement
		for _, t := range c.Context[:min(len(c.Context), maxContext)] {
			elems = append(elems, slackapi.NewTextBlockObject(slackapi.MarkdownType, cut(t, maxFieldText), false, false))
		}
		blocks = append(blocks, slackapi.NewContextBlock("", elems...))
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
	markup     = strings.NewReplacer("*", "", "_(late)_", "(late)")
	entities   = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
)

// Plain turns Slack mrkdwn into plain text for a terminal: no *bold* or
// emoji codes, links shown by their label, entities unescaped. The content
// of a `code` span (where server words are quoted) is kept as it is, only
// its backticks dropped. For showing what Slack received (the demo).
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

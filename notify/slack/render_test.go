package slack

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"

	slackapi "github.com/slack-go/slack"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/internal/notifytest"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenJSON is a payload as the golden files keep it: readable (no HTML
// escaping, indented), the same JSON Slack receives.
func goldenJSON(t *testing.T, text string, blocks []slackapi.Block) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]any{"text": text, "blocks": blocks}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestGoldenPayloads pins what Slack is sent for every golden message.
func TestGoldenPayloads(t *testing.T) {
	for name, ms := range notifytest.Messages() {
		t.Run(name, func(t *testing.T) {
			text, blocks := Render(notifytest.Content(ms))
			notifytest.Golden(t, filepath.Join("testdata", name+".json"), goldenJSON(t, text, blocks), *update)
		})
	}
}

// TestWebhookBodyIsTheGoldenPayload: the body a webhook is posted carries
// the golden payload's text and blocks, value for value once both are
// decoded (the webhook body adds slack-go's replace_original and
// delete_original), without a network.
func TestWebhookBodyIsTheGoldenPayload(t *testing.T) {
	for name, ms := range notifytest.Messages() {
		body, err := WebhookBody(Render(notifytest.Content(ms)))
		if err != nil {
			t.Fatal(err)
		}
		golden, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		type payload struct {
			Text   string `json:"text"`
			Blocks any    `json:"blocks"`
		}
		var got, want payload
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(golden, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the webhook body is not the golden payload:\n%s", name, body)
		}
	}
}

func TestBlocksStayWithinSlackLimits(t *testing.T) {
	var storm []notify.Message
	for i := 0; i < 400; i++ {
		d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 0, strings.Repeat("very long detail ", 20))
		storm = append(storm, notify.Message{Decision: d})
	}
	c := notify.ComposeSummary(storm)
	c.Headline = strings.Repeat("h", 400)
	_, blocks := Render(c)
	if len(blocks) > maxBlocks {
		t.Errorf("%d blocks, Slack accepts %d", len(blocks), maxBlocks)
	}
	raw, _ := json.Marshal(blocks)
	var decoded []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
	}
	if err := json.Unmarshal(raw, &decoded); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, b := range decoded {
		if b.Text == nil {
			continue
		}
		total += len(b.Text.Text)
		limit := maxSectionText
		if b.Type == "header" {
			limit = maxHeader
		}
		if len(b.Text.Text) > limit {
			t.Errorf("%s block of %d characters, limit %d", b.Type, len(b.Text.Text), limit)
		}
	}
	if total > maxTotalText+maxHeader {
		t.Errorf("%d characters of text in all, over the %d Slack accepts", total, maxTotalText)
	}
	last := decoded[len(decoded)-2] // before the context block
	if last.Text == nil || !strings.Contains(last.Text.Text, "more not shown") {
		t.Errorf("a cut summary must say how many were left out")
	}
}

// A kind's remedy is neutral; Slack renders it as mrkdwn. Its prose is
// written as it is; configured values (in code and link labels) cannot
// form a mention or a link.
func TestRemedyRendersAsMrkdwn(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "rejected")
	c := notify.Compose(notify.Message{Decision: d}, notifytest.At)
	c.Sections[1].Lines = []notify.Line{
		{notify.Prose("1. Log in as "), {Text: "admin", Style: notify.Strong}, notify.Prose(" (Track & Trace), then run "), {Text: "curl <x> & y", Style: notify.Code}, notify.Prose(".")},
		{{Text: "the <!channel> link", URL: "https://a.example/?q=1&r=2"}, notify.Prose(": "), {URL: "https://a.example/?q=1&r=2", Style: notify.Code}},
	}
	want := "*What to do*\n" +
		"1. Log in as *admin* (Track & Trace), then run `curl &lt;x&gt; &amp; y`.\n" +
		"<https://a.example/?q=1&r=2|the &lt;!channel&gt; link>: `https://a.example/?q=1&r=2`"
	if got := cardOf(c).Sections[1]; got != want {
		t.Errorf("mrkdwn:\n%s\nwant\n%s", got, want)
	}
}

// renderedTexts is every string Slack would render of a message: the
// top-level text (the fallback of notifications) and each text of the blocks.
func renderedTexts(t *testing.T, c notify.Content) []string {
	t.Helper()
	text, blocks := Render(c)
	raw, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	texts := []string{text}
	texts = append(texts, testkit.BlockTexts(tree)...)
	return texts
}

// outsideCode is s without its inline code spans: what Slack formats.
func outsideCode(s string) string {
	parts := strings.Split(s, "`")
	var b strings.Builder
	for i := 0; i < len(parts); i += 2 {
		b.WriteString(parts[i])
	}
	return b.String()
}

func TestServerTextIsInert(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `partner says "<!channel> <https://evil.example|click>"`)
	_, blocks := Render(notify.Compose(notify.Message{Decision: d}, notifytest.At))
	raw, _ := json.Marshal(blocks)
	if strings.Contains(string(raw), "<!channel>") || strings.Contains(string(raw), "<https://evil") {
		t.Errorf("server text became a mention or a link: %s", raw)
	}
}

// TestServerWordsCannotMentionLinkOrFormat renders every golden message,
// the hostile ones included, and checks each text Slack renders: no
// mention or link can form, and the partner's formatting marks are all
// inside code spans, where Slack shows them as they are.
func TestServerWordsCannotMentionLinkOrFormat(t *testing.T) {
	for name, ms := range notifytest.Messages() {
		hostile := strings.Contains(name, "hostile")
		for _, text := range renderedTexts(t, notifytest.Content(ms)) {
			for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@", "<#", "<http"} {
				if strings.Contains(text, bad) && !(bad == "<http" && strings.Contains(text, "<https://oauth.yandex.com/")) {
					t.Errorf("%s: %q in a rendered text: %s", name, bad, text)
				}
			}
			if !hostile {
				continue
			}
			if strings.Contains(text, "<") || strings.Contains(text, "> *") {
				t.Errorf("%s: an unescaped < or > from server text: %s", name, text)
			}
			formatted := outsideCode(text)
			for _, word := range []string{"evil", "click here", "bold", "_it_", "~s~", "code", "done", "U123"} {
				if strings.Contains(formatted, word) {
					t.Errorf("%s: server words %q outside a code span, where Slack formats them: %s", name, word, text)
				}
			}
			if strings.Count(text, "`")%2 != 0 {
				t.Errorf("%s: an unbalanced backtick: %s", name, text)
			}
		}
	}
}

func TestCutClosesACodeSpan(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, strings.Repeat("*x* ", 1000))
	for _, text := range renderedTexts(t, notify.Compose(notify.Message{Decision: d}, notifytest.At)) {
		if strings.Count(text, "`")%2 != 0 {
			t.Errorf("a cut text leaves a code span open, so the rest is formatted: …%s", text[max(0, len(text)-40):])
		}
	}
}

func TestSlackPassesNoControlCharacters(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, notifytest.TerminalHostile)
	d.Endpoint = "https://partner.example.com/\x1b[2J"
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: notifytest.At, Detail: notifytest.TerminalHostile}
	for _, c := range []notify.Content{
		notify.Compose(notify.Message{Decision: d, Late: true}, notifytest.At),
		notify.Compose(notify.Message{Decision: notice}, notifytest.At),
		notify.ComposeSummary([]notify.Message{{Decision: d}, {Decision: d}}),
	} {
		for _, s := range renderedTexts(t, c) {
			for _, r := range s {
				if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
					t.Errorf("control character %U passed: %q", r, s)
					break
				}
			}
		}
	}
}

// Plain shows what Slack received as a terminal reads it: the demo's view.
func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"*What happened*\n> `a &lt;b&gt; *c*`":        "What happened\n> a <b> *c*",
		":key: <https://x.example|the link> _(late)_": "the link (late)",
		"> `quoted`": "quoted",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}

// The top-level text (the push notification's fallback) is cut like the
// blocks: a detail of 2 MB is not posted whole, and the cut is said.
func TestFallbackStaysWithinSlackLimits(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, "`"+strings.Repeat("x", 2_000_000))
	text, _ := Render(notify.Compose(notify.Message{Decision: d}, notifytest.At))
	if len(text) > maxFallbackText {
		t.Errorf("fallback text of %d characters, want at most %d", len(text), maxFallbackText)
	}
	if !strings.HasSuffix(text, "… (cut: Slack's message size limit)") {
		t.Errorf("a cut fallback must say so: …%s", text[max(0, len(text)-60):])
	}
	if strings.Count(text, "`")%2 != 0 {
		t.Errorf("the cut fallback leaves a code span open: …%s", text[max(0, len(text)-60):])
	}
	short := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, "short detail")
	if text, _ := Render(notify.Compose(notify.Message{Decision: short}, notifytest.At)); strings.Contains(text, "cut:") {
		t.Errorf("a short fallback was marked cut: %s", text)
	}
}

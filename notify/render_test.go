package notify

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// renderedTexts is every string Slack would render of a card: the
// top-level text (the fallback of notifications) and each text of the blocks.
func renderedTexts(t *testing.T, c Card) []string {
	t.Helper()
	raw, err := json.Marshal(Blocks(c))
	if err != nil {
		t.Fatal(err)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	texts := []string{c.Fallback}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if s, ok := e.(string); ok && k == "text" {
					texts = append(texts, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(tree)
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

// TestServerWordsCannotMentionLinkOrFormat renders every golden message,
// the hostile ones included, and checks each text Slack renders: no
// mention or link can form, and the partner's formatting marks are all
// inside code spans, where Slack shows them as they are.
func TestServerWordsCannotMentionLinkOrFormat(t *testing.T) {
	for name, ms := range goldenMessages() {
		card := SummaryCard(ms)
		if len(ms) == 1 {
			card = CardFor(ms[0], at.Add(20*time.Minute))
		}
		hostile := strings.Contains(name, "hostile")
		for _, text := range renderedTexts(t, card) {
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
	d := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, strings.Repeat("*x* ", 1000))
	for _, text := range renderedTexts(t, CardFor(Message{Decision: d}, at)) {
		if strings.Count(text, "`")%2 != 0 {
			t.Errorf("a cut text leaves a code span open, so the rest is formatted: …%s", text[max(0, len(text)-40):])
		}
	}
}

// terminalHostile is server text that, printed raw, clears a terminal,
// retitles its window, sends a C1 CSI and reverses what follows.
const terminalHostile = "\x1b[2J\x1b]0;pwned\x07 \u009b31m \u202egnp.exe \u2028 \x7f \xff"

func controlIn(s string) (rune, bool) {
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
			return r, true
		}
	}
	return 0, false
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, ünïcode, emoji 🔑": "plain words, ünïcode, emoji 🔑",
		"\x1b[2J\x1b]0;pwned\x07":       `\x1b[2J\x1b]0;pwned\a`,
		"tab\tnew\nline\r":              `tab\tnew\nline\r`,
		"\u009b31m del\x7f":             `\u009b31m del\x7f`,
		"\u202egnp.exe \u200b \ufeff":   `\u202egnp.exe \u200b \ufeff`,
		"\u2028\u2029":                  `\u2028\u2029`,
		"bad \xff byte":                 "bad \uFFFD byte",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextPassesNoControlCharacters(t *testing.T) {
	d := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, terminalHostile)
	d.Endpoint = "https://partner.example.com/\x1b[2J"
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: at, Detail: terminalHostile}
	for _, c := range []Card{CardFor(Message{Decision: d, Late: true}, at), CardFor(Message{Decision: notice}, at), SummaryCard([]Message{{Decision: d}, {Decision: d}})} {
		for _, s := range append([]string{Text(c)}, renderedTexts(t, c)...) {
			if r, ok := controlIn(s); ok {
				t.Errorf("control character %U passed: %q", r, s)
			}
		}
	}
}

// TestTextShowsServerWordsVerbatim: the terminal shows what the partner
// said, its marks included (only Slack needs them neutralised).
func TestTextShowsServerWordsVerbatim(t *testing.T) {
	d := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, hostileDetail)
	text := Text(CardFor(Message{Decision: d}, at))
	if want := strings.ReplaceAll(hostileDetail, "`", "ˋ"); !strings.Contains(text, want) {
		t.Errorf("the terminal text does not quote the partner verbatim:\n%s\nwant it to contain\n%s", text, want)
	}
}

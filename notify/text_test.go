package notify_test

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/internal/notifytest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestGoldenText pins the plain text of every golden message: what
// `run --dry-run` prints.
func TestGoldenText(t *testing.T) {
	for name, ms := range notifytest.Messages() {
		t.Run(name, func(t *testing.T) {
			notifytest.Golden(t, filepath.Join("testdata", name+".txt"), notify.Text(notifytest.Content(ms)), *update)
		})
	}
}

// TestContentNamesNoMedium: the content is every notifier's, so it names
// none of them and carries no markup of one. Each notifier says in its own
// words why a late message is late.
func TestContentNamesNoMedium(t *testing.T) {
	for name, ms := range notifytest.Messages() {
		c := notifytest.Content(ms)
		texts := []string{c.Headline, notify.Text(c), notify.PlainLine(c.Summary)}
		for _, f := range c.Facts {
			texts = append(texts, f.Label)
		}
		for _, s := range c.Sections {
			texts = append(texts, s.Heading)
		}
		for _, text := range texts {
			if strings.Contains(text, "Slack") {
				t.Errorf("%s: the neutral content names Slack: %q", name, text)
			}
			if strings.Contains(strings.ReplaceAll(text, "ˋcodeˋ", ""), "`") || regexpEmoji(text) {
				t.Errorf("%s: mrkdwn in the neutral content: %q", name, text)
			}
		}
	}
}

// regexpEmoji reports a Slack emoji code (":warning:") in our own words.
func regexpEmoji(s string) bool {
	for _, e := range []string{":rotating_light:", ":warning:", ":repeat:", ":white_check_mark:", ":key:", ":hourglass:"} {
		if strings.Contains(s, e) {
			return true
		}
	}
	return false
}

// TestLateNoteSaysWhyInTheNotifiersWords: the late note is built once and
// worded by the notifier that knows why it could not deliver.
func TestLateNoteSaysWhyInTheNotifiersWords(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "rejected")
	c := notify.Compose(notify.Message{Decision: d, Late: true}, notifytest.Delivered)
	if c.Late == nil || !c.Late.DecidedAt.Equal(notifytest.At) || c.Late.By != 20*time.Minute {
		t.Fatalf("Late = %+v, want decided at %s, 20m late", c.Late, notifytest.At)
	}
	want := "Late: decided at 2026-11-21 09:05 UTC, delivered only now (20m later) because the pager was down."
	if got := notify.PlainLine(c.Late.Line("the pager was down")); got != want {
		t.Errorf("late note %q, want %q", got, want)
	}
	if got := notify.PlainLine(c.Summary); !strings.HasPrefix(got, "(late) [ALERT] courier-main is invalid") {
		t.Errorf("summary %q does not say it is late", got)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 12 * time.Minute: "12m", 6 * time.Hour: "6h", 65 * time.Minute: "1h5m",
		76 * time.Hour: "3d4h", 48 * time.Hour: "2d",
	} {
		if got := notify.Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

// A decision of a type no kind has (a check since removed) still gets the
// generic words, never another kind's runbook.
func TestUnknownTypeGetsNoKindsRunbook(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, "removed_kind", checks.Invalid, 401, "rejected")
	c := notify.Compose(notify.Message{Decision: d}, notifytest.At)
	if got := notify.PlainLine(c.Sections[1].Lines[0]); len(c.Sections[1].Lines) != 1 || got != "See the detail above." {
		t.Errorf("What to do = %q (%d lines)", got, len(c.Sections[1].Lines))
	}
}

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
		if got := notify.Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextPassesNoControlCharacters(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, notifytest.TerminalHostile)
	d.Endpoint = "https://partner.example.com/\x1b[2J"
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: notifytest.At, Detail: notifytest.TerminalHostile}
	for _, c := range []notify.Content{
		notify.Compose(notify.Message{Decision: d, Late: true}, notifytest.At),
		notify.Compose(notify.Message{Decision: notice}, notifytest.At),
		notify.ComposeSummary([]notify.Message{{Decision: d}, {Decision: d}}),
	} {
		for _, s := range []string{notify.Text(c), notify.PlainLine(c.Summary)} {
			if r, ok := controlIn(s); ok {
				t.Errorf("control character %U passed: %q", r, s)
			}
		}
	}
}

// TestTextShowsServerWordsVerbatim: the terminal shows what the partner
// said, its marks included (only Slack needs them neutralised).
func TestTextShowsServerWordsVerbatim(t *testing.T) {
	d := notifytest.Decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, notifytest.HostileDetail)
	text := notify.Text(notify.Compose(notify.Message{Decision: d}, notifytest.At))
	if want := strings.ReplaceAll(notifytest.HostileDetail, "`", "ˋ"); !strings.Contains(text, want) {
		t.Errorf("the terminal text does not quote the partner verbatim:\n%s\nwant it to contain\n%s", text, want)
	}
}

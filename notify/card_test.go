package notify

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var (
	since = time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	at    = since.Add(6*time.Hour + 5*time.Minute)
)

func decision(kind alert.Kind, typ string, o checks.Outcome, status int, detail string) alert.Decision {
	endpoint, name := "https://courier.yandex.ru", "courier-main"
	if typ == checks.TypePartner {
		endpoint, name = "https://partner.example.com", "partner-acme"
	}
	return alert.Decision{Kind: kind, Check: name, Type: typ, Endpoint: endpoint, Outcome: o, HTTPStatus: status,
		Detail: detail, Since: since, FailuresInRow: 73, Checks: 73, Fingerprint: "3f2a9c1e", At: at, NewThread: kind == alert.KindAlert}
}

// hostileError is what a hostile partner puts in its error_description:
// a channel mention, a phishing link and every mrkdwn formatting mark.
const hostileError = "<!channel> <https://evil.example/login|click here> *bold* _it_ ~s~ `code` <!here> <!everyone> <@U123> <#C123> & done"

// hostileDetail is the detail a partner check makes of it (checks quotes
// the partner's words with strconv.Quote).
const hostileDetail = `credentials rejected (HTTP 400): partner says "invalid_client: ` + hostileError + `"`

// goldenMessages are the messages whose text is pinned by golden files.
func goldenMessages() map[string][]Message {
	withLink := decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")
	withLink.ClientID = "0123456789abcdef"
	withLink.FailuresInRow = 1
	rotated := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `credentials rejected (HTTP 400): partner says "client <unknown>"`)
	rotated.RotatedFrom = "aa11bb22"
	changed := decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")
	changed.Previous, changed.NewThread = checks.Unavailable, false
	resolved := decision(alert.KindResolved, checks.TypeCourier, checks.OK, 200, "token accepted")
	resolved.Previous = checks.Invalid
	var storm []Message
	for i := 0; i < 12; i++ {
		d := decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 0, "DNS: host partner.example.com not found")
		d.Check = "partner-" + string(rune('a'+i))
		storm = append(storm, Message{Decision: d, Late: i < 2})
	}
	hostile := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, hostileDetail)
	hostileLate := hostile
	hostileLate.Kind, hostileLate.Outcome, hostileLate.HTTPStatus = alert.KindReminder, checks.Forbidden, 403
	var hostileStorm []Message
	for i, d := range []alert.Decision{hostile, hostileLate, hostile} {
		d.Check = "partner-" + string(rune('a'+i))
		hostileStorm = append(hostileStorm, Message{Decision: d, Late: i == 1})
	}
	notice := alert.Decision{Kind: alert.KindNotice, Check: "tokenwatch", At: at,
		Detail: "The state file /var/lib/tokenwatch/state.json could not be read (" + hostileError + "); it was moved aside."}
	return map[string][]Message{
		"alert-hostile":                {{Decision: hostile}},
		"alert-hostile-late":           {{Decision: hostileLate, Late: true}},
		"summary-hostile":              hostileStorm,
		"notice-hostile":               {{Decision: notice}},
		"alert-courier-invalid":        {{Decision: withLink}},
		"alert-courier-invalid-nolink": {{Decision: decision(alert.KindAlert, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")}},
		"alert-courier-forbidden":      {{Decision: decision(alert.KindAlert, checks.TypeCourier, checks.Forbidden, 403, "token accepted but not allowed (HTTP 403)")}},
		"alert-partner-invalid-late":   {{Decision: rotated, Late: true}},
		"alert-partner-forbidden":      {{Decision: decision(alert.KindAlert, checks.TypePartner, checks.Forbidden, 400, `client not allowed this grant or scope (HTTP 400): partner says "unauthorized_client"`)}},
		"alert-unavailable":            {{Decision: decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 503, "server error (HTTP 503)")}},
		"alert-bad-response":           {{Decision: decision(alert.KindAlert, checks.TypePartner, checks.BadResponse, 200, `HTTP 200 but Content-Type is "text/html", not application/json`)}},
		"alert-outcome-changed":        {{Decision: changed}},
		"reminder":                     {{Decision: decision(alert.KindReminder, checks.TypeCourier, checks.Invalid, 401, "token rejected (HTTP 401) twice, 1s apart")}},
		"resolved":                     {{Decision: resolved}},
		"summary":                      storm,
	}
}

func TestGoldenMessages(t *testing.T) {
	for name, ms := range goldenMessages() {
		t.Run(name, func(t *testing.T) {
			var card Card
			if len(ms) == 1 {
				card = CardFor(ms[0], at.Add(20*time.Minute))
			} else {
				card = SummaryCard(ms)
			}
			var blocks strings.Builder
			enc := json.NewEncoder(&blocks)
			enc.SetEscapeHTML(false) // readable golden files; the same JSON to Slack
			enc.SetIndent("", "  ")
			if err := enc.Encode(map[string]any{"text": card.Fallback, "blocks": Blocks(card)}); err != nil {
				t.Fatal(err)
			}
			golden(t, name+".json", blocks.String())
			golden(t, name+".txt", Text(card))
		})
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./notify -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test ./notify -update rewrites it after review):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestBlocksStayWithinSlackLimits(t *testing.T) {
	var storm []Message
	for i := 0; i < 400; i++ {
		d := decision(alert.KindAlert, checks.TypePartner, checks.Unavailable, 0, strings.Repeat("very long detail ", 20))
		storm = append(storm, Message{Decision: d})
	}
	card := SummaryCard(storm)
	card.Headline = strings.Repeat("h", 400)
	blocks := Blocks(card)
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

func TestServerTextIsInert(t *testing.T) {
	d := decision(alert.KindAlert, checks.TypePartner, checks.Invalid, 400, `partner says "<!channel> <https://evil.example|click>"`)
	card := CardFor(Message{Decision: d}, at)
	raw, _ := json.Marshal(Blocks(card))
	if strings.Contains(string(raw), "<!channel>") || strings.Contains(string(raw), "<https://evil") {
		t.Errorf("server text became a mention or a link: %s", raw)
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45s", 12 * time.Minute: "12m", 6 * time.Hour: "6h", 65 * time.Minute: "1h5m",
		76 * time.Hour: "3d4h", 48 * time.Hour: "2d",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}

// A kind's remedy is neutral; the card renders it as mrkdwn. Configured
// values (in code and link labels) cannot form a mention or a link.
func TestRemedyRendersAsMrkdwn(t *testing.T) {
	r := checks.Remedy{Lines: []checks.Line{
		{checks.Prose("1. Log in as "), checks.Strong("admin"), checks.Prose(", then run "), checks.Code("curl <x> & y"), checks.Prose(".")},
		{checks.Link("https://a.example/?q=1&r=2", "the <!channel> link"), checks.Prose(": "), checks.CodeURL("https://a.example/?q=1&r=2")},
	}}
	want := "1. Log in as *admin*, then run `curl &lt;x&gt; &amp; y`.\n" +
		"<https://a.example/?q=1&r=2|the &lt;!channel&gt; link>: `https://a.example/?q=1&r=2`"
	if got := mrkdwn(r); got != want {
		t.Errorf("mrkdwn:\n%s\nwant\n%s", got, want)
	}
}

// A decision of a type no kind has (a check since removed) still gets the
// generic words, never another kind's runbook.
func TestUnknownTypeGetsNoKindsRunbook(t *testing.T) {
	d := decision(alert.KindAlert, "removed_kind", checks.Invalid, 401, "rejected")
	if got := whatToDo(d); got != "See the detail above." {
		t.Errorf("whatToDo = %q", got)
	}
}

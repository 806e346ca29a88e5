package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
)

// terminalAttack clears the screen, retitles the window and rings the bell
// (C0), opens a C1 control sequence, and reverses the text that follows (bidi).
const terminalAttack = "\x1b[2J\x1b]0;pwned\x07 \u009b31m \u202egnp.exe"

// hostileWords is what a hostile partner says in every field it controls: a
// channel mention, a phishing link, every mrkdwn mark, a terminal attack,
// a string that looks like a secret, and the credentials it was sent.
func hostileWords(sent string) string {
	return "<!channel> <https://evil.example/login|click here to re-login> *bold* _it_ ~s~ `code` <!here> <@U1> <#C1> " +
		terminalAttack + " xoxb-0000-FAKE-looking-token sent " + sent
}

// newHostileAPI answers every check with hostile words in the field that
// check's credential selects: the courier 403 body, a courier 200 message,
// an HTML title, a Retry-After; the partner's error, error_description,
// Yango description, and Content-Type.
func newHostileAPI(t *testing.T) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		id, secret, basic := r.BasicAuth()
		if !basic {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		auth := r.Header.Get("Authorization")
		words := hostileWords(auth + " " + secret)
		quoted, _ := json.Marshal(words)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(auth, "-403"):
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"message":%s}`, quoted)
		case strings.HasSuffix(auth, "-200"):
			fmt.Fprintf(w, `{"message":%s}`, quoted)
		case strings.HasSuffix(auth, "-html"):
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusTeapot)
			fmt.Fprintf(w, "<html><head><title>%s</title></head></html>", words)
		case strings.HasSuffix(auth, "-retry"):
			w.Header().Set("Retry-After", headerSafe(words))
			w.WriteHeader(http.StatusTooManyRequests)
		case id == "desc":
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":%s}`, quoted)
		case id == "code":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%s,"description":%s}`, quoted, quoted)
		case id == "yango":
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `[{"code":400,"description":%s}]`, quoted)
		case id == "ctype":
			w.Header().Set("Content-Type", "text/"+headerSafe(words))
			fmt.Fprint(w, `{"access_token":"x"}`)
		default:
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"error":"access_denied","error_description":%s}`, quoted)
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// headerSafe drops the C0 controls Go's HTTP client refuses in a header
// (the answer would fail as malformed before any check could quote it); the
// C1 and bidi controls, which it takes, stay, moved to the front, where a
// short quote of the header still holds them.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, terminalAttack+" "+s)
}

// refuseWithAnAttack makes slack refuse messages with an error that
// carries a terminal attack and echoes the webhook path.
func refuseWithAnAttack(slack *testkit.Slack) {
	slack.Refuse(http.StatusNotFound, func(path string) string { return "invalid_auth " + terminalAttack + " " + path })
}

// slackTexts is every text Slack renders of one recorded payload: the
// top-level text and each "text" of its blocks, whether it came as a
// webhook's JSON or as a bot's form.
func slackTexts(t *testing.T, payload string) []string {
	t.Helper()
	var msg struct {
		Text   string `json:"text"`
		Blocks any    `json:"blocks"`
	}
	if form, err := url.ParseQuery(payload); err == nil && form.Has("channel") {
		msg.Text = form.Get("text")
		if err := json.Unmarshal([]byte(form.Get("blocks")), &msg.Blocks); err != nil {
			t.Fatalf("bot payload blocks: %v", err)
		}
	} else if err := json.Unmarshal([]byte(payload), &msg); err != nil {
		t.Fatalf("webhook payload is not JSON: %v: %q", err, payload)
	}
	texts := []string{msg.Text}
	texts = append(texts, testkit.BlockTexts(msg.Blocks)...)
	return texts
}

// terminalControl finds a character a terminal acts on rather than shows;
// a newline is how logs, tables and files are laid out.
func terminalControl(s string) (int, bool) {
	for i, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp)) {
			return i, true
		}
	}
	return 0, false
}

// TestHostilePartnerAndSlackEscapeNothing runs the command against a
// partner that puts mentions, links, mrkdwn, terminal escapes and echoed
// secrets in every field it controls, and a Slack that refuses with a
// terminal attack; then alerts late once Slack is back. No Slack text may
// mention, link or format, and no output, log or state may carry a control
// character or a configured secret.
func TestHostilePartnerAndSlackEscapeNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ mode, maxMessages string }{{"webhook", "50"}, {"webhook", "3"}, {"bot", "50"}, {"bot", "3"}} {
		t.Run(tc.mode+"/max"+tc.maxMessages, func(t *testing.T) {
			t.Parallel()
			api := newHostileAPI(t)
			slack := testkit.NewSlack(t)
			dir := t.TempDir()
			slackYAML := fmt.Sprintf("slack: {webhook_url: %s, max_messages_per_run: %s}", slack.WebhookURL("/services/T/B/"+secretHook), tc.maxMessages)
			if tc.mode == "bot" {
				slackYAML = fmt.Sprintf("slack: {bot_token: %s, channel: '#c', api_url: %s, max_messages_per_run: %s}", secretBot, slack.APIURL(), tc.maxMessages)
			}
			var checksYAML strings.Builder
			var secrets = []string{secretHook, secretBot, secretClient}
			for _, kind := range []string{"403", "200", "html", "retry"} {
				token := secretToken + "-" + kind
				secrets = append(secrets, token)
				fmt.Fprintf(&checksYAML, "  - {name: courier-%s, type: courier, base_url: %s, token: %s}\n", kind, api.URL, token)
			}
			for _, id := range []string{"desc", "code", "yango", "ctype", "forbidden"} {
				fmt.Fprintf(&checksYAML, "  - {name: partner-%s, type: partner_oauth, host: %s, client_id: %s, client_secret: %s}\n", id, api.URL, id, secretClient)
			}
			fmt.Fprintf(&checksYAML, "  - {name: partner-basic, type: partner_oauth, host: %s, client_id: desc, client_secret: %s, auth_style: basic}\n", api.URL, secretClient)
			path := writeConfig(t, fmt.Sprintf("%s\nstate: {path: %s/state.json}\ndefaults:\n  alert: {after_outages: 1}\nchecks:\n%s", slackYAML, dir, checksYAML.String()))

			outputs := map[string]string{} // where → what was written there
			runs := []struct {
				failing bool
				args    []string
				want    int
			}{
				{false, []string{"--dry-run"}, exitOK},
				{false, []string{"--dry-run", "--output", "json"}, exitOK},
				{true, []string{"--output", "text", "--log-format", "json", "--log-level", "debug"}, exitUndelivered},
				{true, []string{"--output", "json", "--log-format", "text", "--log-level", "debug"}, exitUndelivered},
				{false, []string{"--output", "text", "--log-format", "json", "--log-level", "debug"}, exitOK},
				{false, []string{"--output", "json", "--log-format", "text", "--log-level", "debug"}, exitOK},
			}
			for i, r := range runs {
				if r.failing {
					refuseWithAnAttack(slack)
				} else {
					slack.Accept()
				}
				code, stdout, stderr := run(append([]string{"run", "--config", path}, r.args...)...)
				if code != r.want {
					t.Fatalf("run %d %v: exit %d, want %d: %q", i, r.args, code, r.want, stderr)
				}
				for name, out := range map[string]string{"stdout": stdout, "stderr": stderr} {
					if at, ok := terminalControl(out); ok {
						t.Errorf("run %d %v: a control character on %s: %q", i, r.args, name, out[max(0, at-60):min(len(out), at+20)])
					}
					outputs[fmt.Sprintf("run %d %s", i, name)] = out
				}
			}
			if !strings.Contains(outputs["run 2 stdout"], "evil.example") {
				t.Errorf("the partner's words never reached the output: the test proves nothing")
			}

			state, err := os.ReadFile(filepath.Join(dir, "state.json"))
			if err != nil {
				t.Fatal(err)
			}
			if at, ok := terminalControl(string(state)); ok {
				t.Errorf("a control character in the state file: %q", state[max(0, at-60):min(len(state), at+20)])
			}
			outputs["the state file"] = string(state)

			payloads := slack.Payloads()
			late := false
			for i, p := range payloads {
				outputs[fmt.Sprintf("Slack payload %d", i)] = p
				for _, text := range slackTexts(t, p) {
					late = late || strings.Contains(text, "Late:") || strings.Contains(text, "_(late)_")
					assertInert(t, text)
				}
			}
			if len(payloads) < 3 || !late {
				t.Errorf("%d Slack payloads, a late one among them: %v; the test saw too little", len(payloads), late)
			}

			for where, out := range outputs {
				for _, s := range secrets {
					if i := strings.Index(out, s); i >= 0 {
						t.Errorf("secret %q… leaked into %s: …%q…", s[:8], where, out[max(0, i-80):min(len(out), i+40)])
					}
				}
			}
		})
	}
}

// assertInert fails when a text Slack renders could mention, link, format
// server words, or carries a control character.
func assertInert(t *testing.T, text string) {
	t.Helper()
	for _, bad := range []string{"<!channel>", "<!here>", "<!everyone>", "<@", "<#", "<http", "<"} {
		if strings.Contains(text, bad) {
			t.Errorf("Slack text has %q: %q", bad, text)
			break
		}
	}
	if at, ok := terminalControl(text); ok {
		t.Errorf("Slack text has a control character: %q", text[max(0, at-60):min(len(text), at+20)])
	}
	if strings.Count(text, "`")%2 != 0 {
		t.Errorf("Slack text leaves a code span open: %q", text)
	}
	formatted := strings.Split(text, "`")
	for i := 0; i < len(formatted); i += 2 { // outside code spans: what Slack formats
		for _, word := range []string{"evil.example", "*bold*", "_it_", "~s~", "FAKE-looking"} {
			if strings.Contains(formatted[i], word) {
				t.Errorf("server words %q outside a code span, where Slack formats them: %q", word, text)
			}
		}
	}
}

// rawReport is a report whose every string carries a terminal attack, as
// if nothing upstream had cleaned it: the outputs must hold on their own.
func rawReport(dryRun bool) *job.Report {
	attack := terminalAttack + " \u2028\x7f\U000e0001"
	d := alert.Decision{Kind: alert.KindAlert, Check: "c" + attack, Type: "courier", Outcome: checks.Invalid, Detail: "detail " + attack}
	n := job.Notification{Message: notify.Message{Decision: d}, Notifier: "slack"}
	if !dryRun {
		n.Error = "slack: Slack refused the message: " + attack
	}
	return &job.Report{
		Results: []checks.Result{{Check: "c" + attack, Type: "courier", Outcome: checks.Invalid, HTTPStatus: 401,
			Detail: "detail " + attack, Duration: time.Second}},
		Notifications: []job.Notification{n},
		Failures:      []string{"alert for c not delivered: " + attack},
		DryRun:        dryRun,
	}
}

func TestTablePassesNoControlCharacters(t *testing.T) {
	t.Parallel()
	for _, dryRun := range []bool{false, true} {
		var out bytes.Buffer
		writeTable(&out, rawReport(dryRun))
		if at, ok := terminalControl(out.String()); ok {
			t.Errorf("dry run %v: a control character in the table: %q", dryRun, out.String()[max(0, at-40):min(out.Len(), at+20)])
		}
		if !strings.Contains(out.String(), `\x1b[2J`) || !strings.Contains(out.String(), `\u202e`) {
			t.Errorf("dry run %v: the table does not show what was escaped: %q", dryRun, out.String())
		}
	}
}

// TestJSONEscapesWhatTerminalsActOn: the JSON report escapes DEL, C1 and
// format characters too (encoding/json leaves them raw), and decodes to
// exactly the strings of the report.
func TestJSONEscapesWhatTerminalsActOn(t *testing.T) {
	t.Parallel()
	rep := rawReport(false)
	var out bytes.Buffer
	writeJSON(&out, rep)
	if at, ok := terminalControl(out.String()); ok {
		t.Errorf("a raw control character in the JSON: %q", out.String()[max(0, at-40):min(out.Len(), at+20)])
	}
	var got jsonReport
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %q", err, out.String())
	}
	want := jsonReport{Failures: rep.Failures}
	if len(got.Checks) != 1 || got.Checks[0].Detail != rep.Results[0].Detail || got.Checks[0].Name != rep.Results[0].Check ||
		len(got.Notifications) != 1 || got.Notifications[0].Error != rep.Notifications[0].Error || !reflect.DeepEqual(got.Failures, want.Failures) {
		t.Errorf("the JSON does not decode to the report's own strings: %+v", got)
	}
}

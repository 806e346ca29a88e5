package job

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// botPost is one chat.postMessage or chat.update the fake bot API received.
type botPost struct {
	method, channel, threadTS, text, blocks string
}

// channelBot is a fake Slack Web API that, as Slack does, answers a post
// with the channel's ID (C + its name) and a new ts: a reply posted to the
// wrong channel would show.
type channelBot struct {
	*httptest.Server
	mu    sync.Mutex
	posts []botPost
}

func newChannelBot(t *testing.T) *channelBot {
	b := &channelBot{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		f := r.PostForm
		b.mu.Lock()
		p := botPost{method: strings.TrimPrefix(r.URL.Path, "/api/"), channel: f.Get("channel"), threadTS: f.Get("thread_ts"), text: f.Get("text"), blocks: f.Get("blocks")}
		b.posts = append(b.posts, p)
		ts := f.Get("ts")
		if p.method == "chat.postMessage" {
			ts = fmt.Sprintf("1700000000.%06d", len(b.posts))
		}
		b.mu.Unlock()
		channel := p.channel
		if id, ok := strings.CutPrefix(channel, "#"); ok {
			channel = "C" + id
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": channel, "ts": ts})
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *channelBot) take() []botPost {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.posts
	b.posts = nil
	return out
}

// twoOwnedCouriers is a config of two courier checks on one API, each with
// an owner and the slack key given for it.
func twoOwnedCouriers(slackYAML, statePath, apiURL, slackA, slackB string) string {
	return fmt.Sprintf(`%s
state: {path: %s}
checks:
  - {name: courier-a, type: courier, base_url: %s, token: %s-a, owner: "@team-a", team: alpha%s}
  - {name: courier-b, type: courier, base_url: %s, token: %s-b, owner: "@team-b", team: beta%s}
`, slackYAML, statePath, apiURL, testToken, slackA, apiURL, testToken, slackB)
}

// routedJob is a job whose notifiers come from its configuration, as in
// run, logging to the returned buffer.
func routedJob(t *testing.T, src string, clk *testkit.Clock) (*Job, *bytes.Buffer) {
	j := testJob(t, src, nil, clk)
	var logs bytes.Buffer
	j.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j.Notifiers = BuildNotifiers(j.Config, j.Logger, clk.Now)
	return j, &logs
}

// In bot mode each check's incident lives in its own channel: the alert
// opens a thread there, the reminder and the resolution reply in that
// thread, the first message is marked resolved there, and every message
// names the check's owner.
func TestBotRoutesEachCheckToItsChannel(t *testing.T) {
	api := newCourierAPI(t)
	bot := newChannelBot(t)
	clk := testkit.NewClock()
	src := twoOwnedCouriers("slack: {bot_token: xoxb-routing-test, channel: '#oncall', api_url: "+bot.URL+"/api/}",
		filepath.Join(t.TempDir(), "state.json"), api.URL, ", slack: {channel: '#a'}", ", slack: {channel: '#b'}")
	j, _ := routedJob(t, src, clk)

	steps := []struct {
		status  int64
		advance time.Duration
		want    []string // method channel thread_ts, one per call, a's first
	}{
		{401, 0, []string{"chat.postMessage #a -", "chat.postMessage #b -"}},
		{401, 4 * time.Hour, []string{"chat.postMessage Ca 1700000000.000001", "chat.postMessage Cb 1700000000.000002"}},
		{200, 5 * time.Minute, []string{"chat.postMessage Ca 1700000000.000001", "chat.update Ca -", "chat.postMessage Cb 1700000000.000002", "chat.update Cb -"}},
	}
	for i, st := range steps {
		api.status.Store(st.status)
		clk.Advance(st.advance)
		rep := j.Run(context.Background(), Options{})
		if !rep.Delivered() {
			t.Fatalf("run %d: failures %v", i, rep.Failures)
		}
		var got []string
		for _, p := range bot.take() {
			thread := p.threadTS
			if thread == "" {
				thread = "-"
			}
			got = append(got, p.method+" "+p.channel+" "+thread)
			owner := "@team-" + strings.TrimPrefix(strings.TrimPrefix(p.channel, "#"), "C")
			if !strings.Contains(p.blocks, owner) {
				t.Errorf("run %d: %s to %s does not name its owner %s", i, p.method, p.channel, owner)
			}
		}
		if strings.Join(got, "\n") != strings.Join(st.want, "\n") {
			t.Errorf("run %d: Slack received\n%s\nwant\n%s", i, strings.Join(got, "\n"), strings.Join(st.want, "\n"))
		}
	}
}

// In webhook mode two checks with webhooks of their own each get only
// their own check's messages, and a check without one the default
// webhook's; no webhook URL is in the report, the log or the state.
func TestWebhookRoutesEachCheckToItsWebhook(t *testing.T) {
	api := newCourierAPI(t)
	fake := testkit.NewSlack(t)
	clk := testkit.NewClock()
	dir := t.TempDir()
	hookB := fake.WebhookURL("/services/T/B/b-SECRETHOOK")
	if err := os.WriteFile(filepath.Join(dir, "hook-b"), []byte(hookB+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(dir, "state.json")
	src := twoOwnedCouriers("slack: {webhook_url: "+fake.WebhookURL("/services/T/B/default-SECRETHOOK")+"}", statePath, api.URL,
		", slack: {webhook_url: "+fake.WebhookURL("/services/T/B/a-SECRETHOOK")+"}", ", slack: {webhook_url_file: "+filepath.Join(dir, "hook-b")+"}") +
		fmt.Sprintf("  - {name: courier-c, type: courier, base_url: %s, token: %s-c}\n", api.URL, testToken)
	j, logs := routedJob(t, src, clk)

	var reports []byte
	for i, status := range []int64{401, 200} {
		api.status.Store(status)
		clk.Advance(5 * time.Minute)
		rep := j.Run(context.Background(), Options{})
		if !rep.Delivered() || len(rep.Notifications) != 3 {
			t.Fatalf("run %d: notifications %q failures %v", i, kinds(rep), rep.Failures)
		}
		data, _ := json.Marshal(rep)
		reports = append(reports, data...)
	}
	got := map[string][]string{}
	for _, c := range fake.Calls() {
		var body struct{ Text string }
		if err := json.Unmarshal([]byte(c.Payload), &body); err != nil {
			t.Fatal(err)
		}
		got[c.Path] = append(got[c.Path], body.Text)
		owner := map[string]string{"/services/T/B/a-SECRETHOOK": "@team-a", "/services/T/B/b-SECRETHOOK": "@team-b"}[c.Path]
		if owner != "" && !strings.Contains(c.Payload, `"*Owner*\n`+owner+`"`) {
			t.Errorf("a message to %s does not name its owner %s", c.Path, owner)
		}
	}
	want := map[string][]string{
		"/services/T/B/a-SECRETHOOK":       {"[ALERT] `courier-a` is invalid", "[RESOLVED] `courier-a` works again"},
		"/services/T/B/b-SECRETHOOK":       {"[ALERT] `courier-b` is invalid", "[RESOLVED] `courier-b` works again"},
		"/services/T/B/default-SECRETHOOK": {"[ALERT] `courier-c` is invalid", "[RESOLVED] `courier-c` works again"},
	}
	for path, texts := range want {
		if len(got[path]) != len(texts) {
			t.Errorf("%s received %q, want %q", path, got[path], texts)
			continue
		}
		for i, text := range texts {
			if !strings.HasPrefix(got[path][i], text) {
				t.Errorf("%s message %d: %q, want %q...", path, i, got[path][i], text)
			}
		}
	}
	state, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for what, text := range map[string]string{"the report": string(reports), "the log": logs.String(), "the state": string(state)} {
		if strings.Contains(text, "SECRETHOOK") {
			t.Errorf("%s holds a webhook URL", what)
		}
	}
}

// Too many messages in one run: one summary to the slack section's own
// webhook, listing the owners; the checks' own webhooks get nothing, and
// a failure names the check's webhook, never its URL.
func TestStormSummaryGoesToTheDefaultDestination(t *testing.T) {
	api := newCourierAPI(t)
	fake := testkit.NewSlack(t)
	clk := testkit.NewClock()
	src := twoOwnedCouriers("slack: {webhook_url: "+fake.WebhookURL("/services/T/B/default")+", max_messages_per_run: 1}",
		filepath.Join(t.TempDir(), "state.json"), api.URL,
		", slack: {webhook_url: "+fake.WebhookURL("/services/T/B/a-SECRETHOOK")+"}", ", slack: {webhook_url: "+fake.WebhookURL("/services/T/B/b-SECRETHOOK")+"}")
	j, _ := routedJob(t, src, clk)
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || len(rep.Notifications) != 2 {
		t.Fatalf("notifications %q failures %v", kinds(rep), rep.Failures)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].Path != "/services/T/B/default" {
		t.Fatalf("Slack received %d calls (first %+v); want one summary to the default webhook", len(calls), calls)
	}
	if !strings.Contains(calls[0].Payload, "*Owners*\\n@team-a: `courier-a`\\n@team-b: `courier-b`") {
		t.Errorf("the summary does not list the owners: %s", calls[0].Payload)
	}
}

// Every check's own webhook, and the parts of its URL that are secret on
// their own, are scrubbed like the slack section's.
func TestSecretsIncludeEveryChecksWebhook(t *testing.T) {
	src := twoOwnedCouriers("slack: {webhook_url: https://hooks.slack.com/services/T/B/default}", "s.json", "https://courier.example",
		", slack: {webhook_url: 'https://hooks.slack.com/services/T0/B0/own-secret-a'}", "")
	cfg, problems := config.Parse("c.yaml", []byte(src), func(string) (string, bool) { return "", false })
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	got := Secrets(cfg)
	for _, want := range []string{"https://hooks.slack.com/services/T0/B0/own-secret-a", "/services/T0/B0/own-secret-a", "own-secret-a"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets lacks %q", want)
		}
	}
}

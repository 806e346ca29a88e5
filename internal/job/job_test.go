package job

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

const testToken = "y0_job-test-courier-token"

// courierAPI is a fake courier endpoint whose answer the test switches.
type courierAPI struct {
	*httptest.Server
	status atomic.Int64
}

func newCourierAPI(t *testing.T) *courierAPI {
	api := &courierAPI{}
	api.status.Store(401)
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := int(api.status.Load())
		w.WriteHeader(status)
		if status == 200 {
			_, _ = io.WriteString(w, `{"message":"OK"}`)
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// slackHook is a fake incoming webhook that can be taken down.
type slackHook struct {
	*httptest.Server
	mu   sync.Mutex
	down bool
	got  []string
}

func newSlackHook(t *testing.T) *slackHook {
	h := &slackHook{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.down {
			w.WriteHeader(503)
			return
		}
		h.got = append(h.got, string(body))
		_, _ = io.WriteString(w, "ok") // an incoming webhook's only success
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *slackHook) setDown(down bool) { h.mu.Lock(); h.down = down; h.mu.Unlock() }

func (h *slackHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.got
	h.got = nil
	return out
}

// clock is a fake time source the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)} }

// testJob builds a job from YAML through the real loader.
func testJob(t *testing.T, src string, n notify.Notifier, clk *clock) *Job {
	t.Helper()
	cfg, problems := config.Parse(filepath.Join(t.TempDir(), "config.yaml"), []byte(src), func(string) (string, bool) { return "", false })
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	list, err := BuildChecks(cfg.Checks)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if courier, ok := c.(*checks.Courier); ok {
			courier.RecheckDelay = 5 * time.Millisecond
		}
	}
	var ns []notify.Notifier
	if n != nil {
		ns = []notify.Notifier{n}
	}
	return &Job{Config: cfg, Checks: list, Notifiers: ns, Logger: slog.New(slog.DiscardHandler), Now: clk.Now, StateWait: 300 * time.Millisecond}
}

func courierConfig(apiURL, statePath, slackYAML string) string {
	return fmt.Sprintf(`%s
state: {path: %s}
checks:
  - name: courier-main
    type: courier
    base_url: %s
    token: %s
`, slackYAML, statePath, apiURL, testToken)
}

func kinds(rep *Report) string {
	var out []string
	for _, n := range rep.Notifications {
		s := string(n.Kind)
		if n.Late {
			s += "(late)"
		}
		if !n.Delivered {
			s += "(undelivered)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// A revoked token: one alert, a reminder only after repeat_every, one
// resolution when it works again, in webhook and in bot mode.
func TestRevokedTokenLifecycle(t *testing.T) {
	for _, mode := range []string{"webhook", "bot"} {
		t.Run(mode, func(t *testing.T) {
			api := newCourierAPI(t)
			clk := newClock()
			var slackYAML string
			var received func() int
			var bot *botAPI
			switch mode {
			case "webhook":
				hook := newSlackHook(t)
				slackYAML = "slack: {webhook_url: " + hook.URL + "/services/T/B/x}"
				received = func() int { return len(hook.take()) }
			case "bot":
				bot = newBotAPI(t)
				slackYAML = "slack: {bot_token: xoxb-job-test, channel: '#oncall', api_url: " + bot.URL + "/api/}"
				received = func() int { return bot.takePosts() }
			}
			j := testJob(t, courierConfig(api.URL, filepath.Join(t.TempDir(), "state.json"), slackYAML), nil, clk)
			j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL, BotToken: j.Config.Slack.BotToken,
				Channel: j.Config.Slack.Channel, APIURL: j.Config.Slack.APIURL, Now: clk.Now})}

			steps := []struct {
				status  int64
				advance time.Duration
				want    string
			}{
				{401, 0, "alert"},
				{401, 5 * time.Minute, ""},
				{401, 3*time.Hour + 50*time.Minute, ""}, // 3h55m after the alert
				{401, 5 * time.Minute, "reminder"},      // 4h
				{401, 5 * time.Minute, ""},
				{200, 5 * time.Minute, "resolved"},
				{200, 5 * time.Minute, ""},
			}
			for i, st := range steps {
				api.status.Store(st.status)
				clk.advance(st.advance)
				rep := j.Run(context.Background(), Options{})
				if got := kinds(rep); got != st.want || !rep.Delivered() {
					t.Fatalf("run %d: notifications %q (failures %v), want %q", i, got, rep.Failures, st.want)
				}
				if n := received(); (st.want == "" && n != 0) || (st.want != "" && n != 1) {
					t.Fatalf("run %d: Slack received %d messages for %q", i, n, st.want)
				}
			}
			if bot != nil {
				bot.mu.Lock()
				defer bot.mu.Unlock()
				if len(bot.threadTS) != 3 || bot.threadTS[0] != "" || bot.threadTS[1] != "1700000000.000001" || bot.threadTS[2] != "1700000000.000001" {
					t.Errorf("thread_ts of the posts %q: the reminder and the resolution belong in the alert's thread", bot.threadTS)
				}
				if bot.updates != 1 {
					t.Errorf("%d updates of the first message, want 1 (marked resolved)", bot.updates)
				}
			}
		})
	}
}

// botAPI is a fake Slack Web API with chat.postMessage and chat.update.
type botAPI struct {
	*httptest.Server
	mu       sync.Mutex
	threadTS []string
	posts    int
	updates  int
}

func newBotAPI(t *testing.T) *botAPI {
	b := &botAPI{}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		b.mu.Lock()
		b.threadTS = append(b.threadTS, r.PostForm.Get("thread_ts"))
		b.posts++
		ts := fmt.Sprintf("1700000000.%06d", len(b.threadTS))
		b.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C0ONCALL", "ts": ts})
	})
	mux.HandleFunc("/api/chat.update", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		b.mu.Lock()
		b.updates++
		b.mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": r.PostForm.Get("ts")})
	})
	b.Server = httptest.NewServer(mux)
	t.Cleanup(b.Close)
	return b
}

func (b *botAPI) takePosts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.posts
	b.posts = 0
	return n
}

func TestSlackDownForARunThenUp(t *testing.T) {
	api := newCourierAPI(t)
	hook := newSlackHook(t)
	clk := newClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.URL+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now,
		Retry: notify.Retry{Attempts: 2, Backoff: time.Millisecond}})}

	hook.setDown(true)
	rep := j.Run(context.Background(), Options{})
	if rep.Delivered() || kinds(rep) != "alert(undelivered)" {
		t.Fatalf("Slack down: notifications %q, failures %v; want an undelivered alert and a failure", kinds(rep), rep.Failures)
	}
	st := readState(t, statePath)
	if len(st.Outbox("slack")) != 1 || st.Outbox("slack")[0].Kind != "alert" || st.Outbox("slack")[0].Attempts != 1 {
		t.Fatalf("outbox %+v: the alert must be kept for the next run", st.Outbox("slack"))
	}

	hook.setDown(false)
	clk.advance(5 * time.Minute)
	rep = j.Run(context.Background(), Options{})
	if !rep.Delivered() || kinds(rep) != "alert(late)" {
		t.Fatalf("Slack up: notifications %q, failures %v; want the alert, late", kinds(rep), rep.Failures)
	}
	got := hook.take()
	if len(got) != 1 || !strings.Contains(got[0], "Late: decided at 2026-11-21 09:00 UTC") {
		t.Fatalf("Slack received %d messages %v; want the alert once, marked late", len(got), got)
	}
	clk.advance(5 * time.Minute)
	if rep = j.Run(context.Background(), Options{}); kinds(rep) != "" || len(hook.take()) != 0 {
		t.Errorf("third run sent %q: the late alert must be delivered exactly once", kinds(rep))
	}
	if st := readState(t, statePath); len(st.Outbox("slack")) != 0 {
		t.Errorf("outbox not emptied: %+v", st.Outbox("slack"))
	}
}

func TestTooManyMessagesBecomeOneSummary(t *testing.T) {
	api := newCourierAPI(t)
	hook := newSlackHook(t)
	clk := newClock()
	var src strings.Builder
	fmt.Fprintf(&src, "slack: {webhook_url: %s, max_messages_per_run: 3}\nstate: {path: %s}\nchecks:\n", hook.URL, filepath.Join(t.TempDir(), "s.json"))
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&src, "  - {name: courier-%d, type: courier, base_url: %s, token: %s-%d}\n", i, api.URL, testToken, i)
	}
	j := testJob(t, src.String(), nil, clk)
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now,
		MaxPerRun: j.Config.Slack.MaxMessagesPerRun})}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || len(rep.Notifications) != 5 {
		t.Fatalf("notifications %q failures %v", kinds(rep), rep.Failures)
	}
	got := hook.take()
	if len(got) != 1 || !strings.Contains(got[0], "5 notifications in one run") {
		t.Fatalf("Slack received %d messages, want one summary of 5", len(got))
	}
}

func TestOverlappingRunsDoNotCorruptTheState(t *testing.T) {
	api := newCourierAPI(t)
	hook := newSlackHook(t)
	clk := newClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	src := courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.URL+"}")

	// A run that holds the lock too long: the next one waits, then gives up clearly.
	held, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	j := testJob(t, src, nil, clk)
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{})
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, ";"), "another tokenwatch run holds the state lock") {
		t.Fatalf("failures %v: want a clear lock message", rep.Failures)
	}
	if len(hook.take()) != 0 {
		t.Errorf("a run without the state must send nothing")
	}
	held.Close()

	// Two processes' worth of runs racing: they take turns, the state stays
	// valid JSON and the revoked token alerts exactly once.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		jj := testJob(t, src, nil, clk)
		jj.StateWait = 10 * time.Second
		jj.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: jj.Config.Slack.WebhookURL})}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 5; k++ {
				if rep := jj.Run(context.Background(), Options{}); !rep.Delivered() {
					t.Errorf("racing run: %v", rep.Failures)
				}
			}
		}()
	}
	wg.Wait()
	if got := hook.take(); len(got) != 1 {
		t.Errorf("racing runs sent %d alerts, want exactly 1", len(got))
	}
	if st := readState(t, statePath); st.Checks["courier-main"].FailuresInRow != 10 {
		t.Errorf("failures in a row %d after 10 runs", st.Checks["courier-main"].FailuresInRow)
	}
}

func TestCorruptStateIsMovedAsideAndAlertsAfresh(t *testing.T) {
	api := newCourierAPI(t)
	hook := newSlackHook(t)
	clk := newClock()
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, []byte(`{"version":1,"checks":{"courier-main":`), 0o600); err != nil {
		t.Fatal(err)
	}
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.URL+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || kinds(rep) != "notice,alert" {
		t.Fatalf("notifications %q failures %v", kinds(rep), rep.Failures)
	}
	got := hook.take()
	if len(got) != 2 || !strings.Contains(got[0], "state was reset") || !strings.Contains(got[1], "credential INVALID") {
		t.Fatalf("Slack received %d messages; want the state-reset notice, then the alert", len(got))
	}
	aside, _ := filepath.Glob(statePath + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt file not moved aside: %v", aside)
	}
	if info, err := os.Stat(statePath); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("new state file: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	api := newCourierAPI(t)
	hook := newSlackHook(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.URL+"}"), nil, newClock())
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{DryRun: true})
	if kinds(rep) != "alert(undelivered)" || !rep.Delivered() {
		t.Fatalf("dry run: notifications %q failures %v", kinds(rep), rep.Failures)
	}
	if len(hook.take()) != 0 {
		t.Error("dry run sent a message")
	}
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("dry run wrote the state: %v", err)
	}
}

// A record belongs to its check by name, type and endpoint: a changed alert
// setting applies to the record as it stands (no re-alert), a changed
// endpoint is another credential's history and starts afresh.
func TestEditedCheckKeepsItsStateUnlessTheEndpointChanged(t *testing.T) {
	api := newCourierAPI(t)
	other := newCourierAPI(t)
	hook := newSlackHook(t)
	clk := newClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	src := courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.URL+"}")
	j := testJob(t, src, nil, clk)
	j.Notifiers = []notify.Notifier{notify.NewSlack(notify.SlackOptions{WebhookURL: j.Config.Slack.WebhookURL})}
	j.Run(context.Background(), Options{})
	hook.take()

	settings := testJob(t, strings.Replace(src, "    token:", "    alert: {after_failures: 2, repeat_every: 8h}\n    token:", 1), nil, clk)
	settings.Notifiers = j.Notifiers
	rep := settings.Run(context.Background(), Options{})
	if tr := rep.Tracks["courier-main"]; tr.FailuresInRow != 2 || tr.Active == nil || kinds(rep) != "" {
		t.Errorf("new alert settings: track %+v, notifications %q; want the record kept and nothing re-alerted", tr, kinds(rep))
	}

	moved := testJob(t, strings.Replace(src, api.URL, other.URL, 1), nil, clk)
	moved.Notifiers = j.Notifiers
	rep = moved.Run(context.Background(), Options{})
	if tr := rep.Tracks["courier-main"]; tr.FailuresInRow != 1 || tr.Active == nil || kinds(rep) != "alert" {
		t.Errorf("new endpoint: track %+v, notifications %q; want a fresh record and a new alert", tr, kinds(rep))
	}
}

func readState(t *testing.T, path string) *state.File {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f state.File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("state file is not valid JSON: %v", err)
	}
	return &f
}

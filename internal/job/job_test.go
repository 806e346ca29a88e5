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
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
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

// payloads is what each call carried.
func payloads(calls []testkit.SlackCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Payload)
	}
	return out
}

// slackDown makes the fake Slack answer as an outage does.
func slackDown(s *testkit.Slack) {
	s.Refuse(http.StatusServiceUnavailable, func(string) string { return "" })
}

// testJob builds a job from YAML through the real loader.
func testJob(t *testing.T, src string, n notify.Notifier, clk *testkit.Clock) *Job {
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
			clk := testkit.NewClock()
			fake := testkit.NewSlack(t)
			slackYAML := "slack: {webhook_url: " + fake.WebhookURL("/services/T/B/x") + "}"
			if mode == "bot" {
				slackYAML = "slack: {bot_token: xoxb-job-test, channel: '#oncall', api_url: " + fake.APIURL() + "}"
			}
			// received counts the messages posted since it last looked;
			// calls keeps every call, for the threads.
			var calls []testkit.SlackCall
			received := func() int {
				n := 0
				for _, c := range fake.Take() {
					calls = append(calls, c)
					if c.Path != "/api/chat.update" {
						n++
					}
				}
				return n
			}
			j := testJob(t, courierConfig(api.URL, filepath.Join(t.TempDir(), "state.json"), slackYAML), nil, clk)
			j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, BotToken: j.Config.Slack.BotToken,
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
				clk.Advance(st.advance)
				rep := j.Run(context.Background(), Options{})
				if got := kinds(rep); got != st.want || !rep.Delivered() {
					t.Fatalf("run %d: notifications %q (failures %v), want %q", i, got, rep.Failures, st.want)
				}
				if n := received(); (st.want == "" && n != 0) || (st.want != "" && n != 1) {
					t.Fatalf("run %d: Slack received %d messages for %q", i, n, st.want)
				}
			}
			if mode == "bot" {
				var threadTS []string
				updates := 0
				for _, c := range calls {
					switch c.Path {
					case "/api/chat.postMessage":
						threadTS = append(threadTS, c.Form.Get("thread_ts"))
					case "/api/chat.update":
						updates++
					}
				}
				if len(threadTS) != 3 || threadTS[0] != "" || threadTS[1] != "1700000000.000001" || threadTS[2] != "1700000000.000001" {
					t.Errorf("thread_ts of the posts %q: the reminder and the resolution belong in the alert's thread", threadTS)
				}
				if updates != 1 {
					t.Errorf("%d updates of the first message, want 1 (marked resolved)", updates)
				}
			}
		})
	}
}

func TestSlackDownForARunThenUp(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now,
		Retry: slack.Retry{Attempts: 2, Backoff: time.Millisecond}})}

	slackDown(hook)
	rep := j.Run(context.Background(), Options{})
	hook.Take() // the refused attempts
	if rep.Delivered() || kinds(rep) != "alert(undelivered)" {
		t.Fatalf("Slack down: notifications %q, failures %v; want an undelivered alert and a failure", kinds(rep), rep.Failures)
	}
	st := readState(t, statePath)
	if len(st.Outbox("slack")) != 1 || st.Outbox("slack")[0].Kind != "alert" || st.Outbox("slack")[0].Attempts != 1 {
		t.Fatalf("outbox %+v: the alert must be kept for the next run", st.Outbox("slack"))
	}

	hook.Accept()
	clk.Advance(5 * time.Minute)
	rep = j.Run(context.Background(), Options{})
	if !rep.Delivered() || kinds(rep) != "alert(late)" {
		t.Fatalf("Slack up: notifications %q, failures %v; want the alert, late", kinds(rep), rep.Failures)
	}
	got := payloads(hook.Take())
	if len(got) != 1 || !strings.Contains(got[0], "Late: decided at 2026-11-21 09:00 UTC") {
		t.Fatalf("Slack received %d messages %v; want the alert once, marked late", len(got), got)
	}
	clk.Advance(5 * time.Minute)
	if rep = j.Run(context.Background(), Options{}); kinds(rep) != "" || len(hook.Take()) != 0 {
		t.Errorf("third run sent %q: the late alert must be delivered exactly once", kinds(rep))
	}
	if st := readState(t, statePath); len(st.Outbox("slack")) != 0 {
		t.Errorf("outbox not emptied: %+v", st.Outbox("slack"))
	}
}

func TestTooManyMessagesBecomeOneSummary(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	var src strings.Builder
	fmt.Fprintf(&src, "slack: {webhook_url: %s, max_messages_per_run: 3}\nstate: {path: %s}\nchecks:\n", hook.WebhookURL("/services/T/B/x"), filepath.Join(t.TempDir(), "s.json"))
	for i := 0; i < 5; i++ {
		fmt.Fprintf(&src, "  - {name: courier-%d, type: courier, base_url: %s, token: %s-%d}\n", i, api.URL, testToken, i)
	}
	j := testJob(t, src.String(), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now,
		MaxPerRun: j.Config.Slack.MaxMessagesPerRun})}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || len(rep.Notifications) != 5 {
		t.Fatalf("notifications %q failures %v", kinds(rep), rep.Failures)
	}
	got := payloads(hook.Take())
	if len(got) != 1 || !strings.Contains(got[0], "5 notifications in one run") {
		t.Fatalf("Slack received %d messages, want one summary of 5", len(got))
	}
}

func TestOverlappingRunsDoNotCorruptTheState(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	src := courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}")

	// A run that holds the lock too long: the next one waits, then gives up clearly.
	held, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	j := testJob(t, src, nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{})
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, ";"), "another tokenwatch run holds the state lock") {
		t.Fatalf("failures %v: want a clear lock message", rep.Failures)
	}
	if len(hook.Take()) != 0 {
		t.Errorf("a run without the state must send nothing")
	}
	held.Close()

	// Two processes' worth of runs racing: they take turns, the state stays
	// valid JSON and the revoked token alerts exactly once.
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		jj := testJob(t, src, nil, clk)
		jj.StateWait = 10 * time.Second
		jj.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: jj.Config.Slack.WebhookURL})}
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
	if got := payloads(hook.Take()); len(got) != 1 {
		t.Errorf("racing runs sent %d alerts, want exactly 1", len(got))
	}
	if st := readState(t, statePath); st.Checks["courier-main"].FailuresInRow != 10 {
		t.Errorf("failures in a row %d after 10 runs", st.Checks["courier-main"].FailuresInRow)
	}
}

func TestCorruptStateIsMovedAsideAndAlertsAfresh(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, []byte(`{"version":1,"checks":{"courier-main":`), 0o600); err != nil {
		t.Fatal(err)
	}
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || kinds(rep) != "notice,alert" {
		t.Fatalf("notifications %q failures %v", kinds(rep), rep.Failures)
	}
	got := payloads(hook.Take())
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
	hook := testkit.NewSlack(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, testkit.NewClock())
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL})}
	rep := j.Run(context.Background(), Options{DryRun: true})
	if kinds(rep) != "alert(undelivered)" || !rep.Delivered() {
		t.Fatalf("dry run: notifications %q failures %v", kinds(rep), rep.Failures)
	}
	if len(hook.Take()) != 0 {
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
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	src := courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}")
	j := testJob(t, src, nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL})}
	j.Run(context.Background(), Options{})
	hook.Take()

	settings := testJob(t, strings.Replace(src, "    token:", "    alert: {after_failures: 2, repeat_every: 8h}\n    token:", 1), nil, clk)
	settings.Notifiers = j.Notifiers
	rep := settings.Run(context.Background(), Options{})
	if tr := rep.Tracks["courier-main"]; tr.FailuresInRow != 2 || tr.Active == nil || kinds(rep) != "" {
		t.Errorf("new alert settings: track %+v, notifications %q; want the record kept and nothing re-alerted", tr, kinds(rep))
	}

	moved := testJob(t, strings.Replace(src, api.URL, other.URL, 1), nil, clk)
	moved.Notifiers = j.Notifiers
	rep = moved.Run(context.Background(), Options{})
	if tr := rep.Tracks["courier-main"]; tr.FailuresInRow != 1 || tr.Active == nil || kinds(rep) != "notice,alert" {
		t.Errorf("new endpoint: track %+v, notifications %q; want a fresh record, the old alert closed, and a new alert", tr, kinds(rep))
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

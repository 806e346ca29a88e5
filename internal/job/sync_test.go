package job

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/alertmanager"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// fakeAlertmanager keeps every request it accepts, one line per alert
// ("TokenwatchCredentialInvalid courier-main ends +15m0s"), and answers
// 503 while down.
type fakeAlertmanager struct {
	URL   string
	now   func() time.Time
	mu    sync.Mutex
	down  bool
	posts [][]string
}

func newFakeAlertmanager(t *testing.T, now func() time.Time) *fakeAlertmanager {
	f := &fakeAlertmanager{now: now}
	f.URL = testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		var alerts []alertmanager.Alert
		if r.URL.Path != "/api/v2/alerts" || json.NewDecoder(r.Body).Decode(&alerts) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.down {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var post []string
		for _, a := range alerts {
			ends, _ := time.Parse(time.RFC3339Nano, a.EndsAt)
			post = append(post, fmt.Sprintf("%s %s ends %+v", a.Labels["alertname"], a.Labels["check"], ends.Sub(f.now())))
		}
		f.posts = append(f.posts, post)
	}).URL
	return f
}

func (f *fakeAlertmanager) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// take is what was accepted since the last take, one request per line.
func (f *fakeAlertmanager) take() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lines []string
	for _, p := range f.posts {
		lines = append(lines, strings.Join(p, ", "))
	}
	f.posts = nil
	return strings.Join(lines, "\n")
}

// Slack and Alertmanager together, each down in turn: the other still
// gets its messages in the same run, the run says it did not deliver
// everything (exit 3), and the next run delivers what was kept, to the one
// that missed it only. Alertmanager hears the active alert on every run.
func TestSlackAndAlertmanagerEachDownInTurn(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	am := newFakeAlertmanager(t, clk.Now)
	statePath := filepath.Join(t.TempDir(), "state.json")
	sections := fmt.Sprintf("slack: {webhook_url: %s}\nalertmanager: {urls: [%s], resend_window: 15m}", hook.WebhookURL("/services/T/B/x"), am.URL)
	j := testJob(t, courierConfig(api.URL, statePath, sections), nil, clk)
	j.Notifiers = []notify.Notifier{
		slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now, Retry: slack.Retry{Attempts: 1}}),
		BuildNotifiers(j.Config, nil, clk.Now)[1],
	}
	run := func() *Report {
		clk.Advance(5 * time.Minute)
		return j.Run(context.Background(), Options{})
	}

	am.setDown(true)
	rep := run()
	if rep.Delivered() || len(hook.Take()) != 1 || am.take() != "" {
		t.Fatalf("Alertmanager down: failures %v; want Slack's alert delivered and the run not delivered", rep.Failures)
	}
	if st := readState(t, statePath); len(st.Outbox("alertmanager")) != 1 || len(st.Outbox("slack")) != 0 {
		t.Fatalf("outboxes %+v: the alert must wait for Alertmanager only", st.Outboxes)
	}
	if rep.Notifiers["alertmanager"] || !rep.Notifiers["slack"] {
		t.Errorf("notifier health %v, want alertmanager down and slack up", rep.Notifiers)
	}

	am.setDown(false)
	rep = run()
	const active = "TokenwatchCredentialInvalid courier-main ends 15m0s"
	if !rep.Delivered() || len(hook.Take()) != 0 || am.take() != active+"\n"+active {
		t.Fatalf("Alertmanager back: failures %v; want the kept alert, then the sync, and nothing more to Slack", rep.Failures)
	}
	if rep = run(); !rep.Delivered() || len(hook.Take()) != 0 || am.take() != active {
		t.Fatalf("nothing new: failures %v; want only the sync of the active alert", rep.Failures)
	}

	api.status.Store(200)
	slackDown(hook)
	rep = run()
	hook.Take()
	if got := am.take(); rep.Delivered() || got != "TokenwatchCredentialInvalid courier-main ends 0s" {
		t.Fatalf("resolved while Slack is down: Alertmanager got %q, failures %v; want the alert ended now, and the run not delivered", got, rep.Failures)
	}
	hook.Accept()
	rep = run()
	if got := payloads(hook.Take()); !rep.Delivered() || len(got) != 1 || !strings.Contains(got[0], "RESOLVED") || am.take() != "" {
		t.Fatalf("Slack back: failures %v, Slack got %d messages; want the resolution once, and nothing to Alertmanager", rep.Failures, len(got))
	}
	if st := readState(t, statePath); len(st.Outbox("alertmanager"))+len(st.Outbox("slack")) != 0 {
		t.Errorf("outboxes %+v, want empty", st.Outboxes)
	}
}

// A failed sync is the notifier's failure: exit 3, counted in its health,
// and nothing kept (the next pass sends every active alert again).
func TestFailedSyncIsReportedAndRetriedByTheNextPass(t *testing.T) {
	api := newCourierAPI(t)
	clk := testkit.NewClock()
	am := newFakeAlertmanager(t, clk.Now)
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "alertmanager: {urls: ["+am.URL+"]}"), nil, clk)
	j.Notifiers = BuildNotifiers(j.Config, nil, clk.Now)
	if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
		t.Fatal(rep.Failures)
	}
	am.take()
	am.setDown(true)
	rep := j.Run(context.Background(), Options{})
	if rep.Delivered() || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "alertmanager: 1 active alerts not re-sent (the next pass sends them again)") {
		t.Fatalf("failures %q, want the failed sync", rep.Failures)
	}
	if rep.Notifiers["alertmanager"] {
		t.Error("a failed sync must mark the notifier down")
	}
	if st := readState(t, statePath); len(st.Outbox("alertmanager")) != 0 {
		t.Errorf("outbox %+v: a sync keeps nothing", st.Outbox("alertmanager"))
	}
	am.setDown(false)
	if rep = j.Run(context.Background(), Options{}); !rep.Delivered() || am.take() == "" {
		t.Fatalf("failures %v: the next pass must send the active alert again", rep.Failures)
	}
}

// In run an alert stands for the notifier's own window; in serve until
// the third scheduled pass from now, however the schedule is spaced.
func TestValidFor(t *testing.T) {
	friday := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		keep     bool
		schedule string
		want     time.Duration
	}{
		{"run: the resend window", false, "@every 2m", 0},
		{"serve: three intervals", true, "@every 2m", 6 * time.Minute},
		{"serve: cron every 5 minutes", true, "*/5 * * * *", 15 * time.Minute},
		{"serve: weekdays, from a Friday", true, "0 9 * * 1-5", (4*24 + 23) * time.Hour},
		{"serve: a time zone", true, "CRON_TZ=Europe/Moscow 0 12 * * *", (2*24 + 23) * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &Job{Keep: tt.keep}
			if got := j.validFor(config.Check{Schedule: tt.schedule}, friday); got != tt.want {
				t.Errorf("validFor %s = %s, want %s", tt.schedule, got, tt.want)
			}
		})
	}
}

// The Alertmanager section builds an Alertmanager notifier beside Slack's.
func TestBuildNotifiersWithAlertmanager(t *testing.T) {
	cfg, problems := config.Parse("config.yaml", []byte("slack: {webhook_url: https://hooks.slack.example/services/T/B/x}\nalertmanager: {urls: [http://127.0.0.1:9093]}\nchecks: [{name: c, type: courier, token: t}]\n"), config.OSEnv)
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	got := BuildNotifiers(cfg, nil, nil)
	if len(got) != 2 || got[0].Name() != "slack" || got[1].Name() != "alertmanager" {
		t.Fatalf("notifiers %v, want slack and alertmanager", got)
	}
	if _, ok := got[1].(notify.Syncer); !ok {
		t.Error("the Alertmanager notifier must be a Syncer: it is sent every active alert on every pass")
	}
}

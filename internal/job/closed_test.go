package job

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// A check whose open alert loses its record (its endpoint changed, or it
// was removed from the configuration) tells on-call once that the alert is
// closed without a resolution: otherwise it would stay open in Slack for ever.
func TestOpenAlertClosedByAConfigurationChange(t *testing.T) {
	old, moved := newCourierAPI(t), newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	slackYAML := "slack: {webhook_url: " + hook.WebhookURL("/services/T/B/x") + "}"
	pass := func(src string) []string {
		t.Helper()
		j := testJob(t, src, nil, clk)
		j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}
		clk.Advance(5 * time.Minute)
		if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
			t.Fatalf("failures %v", rep.Failures)
		}
		return payloads(hook.Take())
	}
	if got := pass(courierConfig(old.URL, statePath, slackYAML)); len(got) != 1 || !strings.Contains(got[0], "[ALERT]") {
		t.Fatalf("first run: %v, want the alert", got)
	}
	moved.status.Store(200)
	got := pass(courierConfig(moved.URL, statePath, slackYAML))
	if len(got) != 1 || !strings.Contains(got[0], "its open alert is closed by a configuration change") ||
		!strings.Contains(got[0], "its type or endpoint changed in the configuration") {
		t.Fatalf("endpoint changed: %v, want one notice that the alert is closed", got)
	}
	if got := pass(courierConfig(moved.URL, statePath, slackYAML)); len(got) != 0 {
		t.Errorf("next run: %v, want nothing: the notice is said once", got)
	}

	moved.status.Store(401)
	if got := pass(courierConfig(moved.URL, statePath, slackYAML)); len(got) != 1 || !strings.Contains(got[0], "[ALERT]") {
		t.Fatalf("failing again: %v, want the alert", got)
	}
	other := strings.Replace(courierConfig(moved.URL, statePath, slackYAML), "name: courier-main", "name: courier-other", 1)
	got = pass(other)
	if len(got) == 0 || !strings.Contains(strings.Join(got, "\n"), "courier-main's open alert") || !strings.Contains(strings.Join(got, "\n"), "it was removed from the configuration") {
		t.Fatalf("check removed: %v, want the notice about courier-main", got)
	}
}

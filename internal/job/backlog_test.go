package job

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// A backlog larger than max_messages_per_run goes out as one summary of
// every waiting message, even when they are all about one check (a claim
// takes one message per check): Slack down for 7 runs while a token
// flaps, then up, with a limit of 5, is one summary of 7, not 7
// summaries of 1.
func TestBacklogOfOneCheckIsOneSummary(t *testing.T) {
	for _, kind := range []string{"file", "postgres"} {
		t.Run(kind, func(t *testing.T) { testBacklogOfOneCheck(t, kind) })
	}
}

func testBacklogOfOneCheck(t *testing.T, kind string) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	src := courierConfig(api.URL, statePath, fmt.Sprintf("slack: {webhook_url: %s, max_messages_per_run: 5}", hook.WebhookURL("/services/T/B/x")))
	j := testJob(t, src, nil, clk)
	outbox := func() []state.Pending { return readState(t, statePath).Outbox("slack") }
	if kind == "postgres" {
		j.Store = pgStore(t, pgtest.DSN(t), clk)
		outbox = func() []state.Pending {
			st, err := j.Store.Snapshot(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return st.Outbox("slack")
		}
	}
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now,
		MaxPerRun: j.Config.Slack.MaxMessagesPerRun, Retry: slack.Retry{Attempts: 1, Backoff: time.Millisecond}})}

	slackDown(hook)
	for run := range 7 {
		api.status.Store(map[bool]int64{true: 401, false: 200}[run%2 == 0])
		j.Run(context.Background(), Options{})
		clk.Advance(time.Hour)
	}
	hook.Take()
	// From the sixth run on, the backlog is a summary that fails: its
	// messages stay, marked late.
	waiting := outbox()
	if len(waiting) != 7 {
		t.Fatalf("%d messages waiting after 7 runs with Slack down, want 7", len(waiting))
	}
	for i, p := range waiting {
		if p.Attempts == 0 {
			t.Errorf("message %d (%s) not marked late after a failed delivery", i, p.Kind)
		}
	}

	hook.Accept()
	rep := j.Run(context.Background(), Options{}) // the token still works: nothing new
	got := payloads(hook.Take())
	if len(got) != 1 || !strings.Contains(got[0], "7 notifications in one run") {
		first := ""
		if len(got) > 0 {
			first = got[0][:min(len(got[0]), 120)]
		}
		t.Fatalf("Slack received %d posts (the first begins %q); want one summary of the 7 waiting messages", len(got), first)
	}
	if !rep.Delivered() || len(rep.Notifications) != 7 {
		t.Fatalf("notifications %q, failures %v: want the 7 messages, summarized", kinds(rep), rep.Failures)
	}
	if left := outbox(); len(left) != 0 {
		t.Fatalf("outbox after the summary %+v, want empty", left)
	}
}

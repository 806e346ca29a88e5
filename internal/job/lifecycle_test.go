package job

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/alertmanager"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// lifecycleJob is a job with one courier check over https (a leaf valid
// until notAfter, signed by ca), issued_at 100 days before the clock,
// issued_at as given, rotate_after 2160h, Slack and Alertmanager.
func lifecycleJob(t *testing.T, clk *testkit.Clock, issued time.Time, base, caFile, token, statePath string, hook *testkit.Slack, am *fakeAlertmanager, logs io.Writer) *Job {
	t.Helper()
	src := fmt.Sprintf(`
slack: {webhook_url: %s}
alertmanager: {urls: [%s]}
state: {path: %s}
checks:
  - name: courier-main
    type: courier
    base_url: %s
    ca_file: %s
    token: %s
    issued_at: %s
    rotate_after: 2160h
`, hook.WebhookURL("/services/T/B/x"), am.URL, statePath, base, caFile, token, issued.Format(time.RFC3339))
	j := testJob(t, src, nil, clk)
	j.Logger = slog.New(slog.NewTextHandler(logs, nil))
	j.Notifiers = []notify.Notifier{
		slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now}),
		alertmanager.New(alertmanager.Options{URLs: j.Config.Alertmanager.URLs, ResendWindow: 15 * time.Minute, Now: clk.Now}),
	}
	return j
}

// slackKinds are the kinds of the messages a pass gave Slack.
func slackKinds(rep *Report) string {
	var out []string
	for _, n := range rep.Notifications {
		if n.Notifier == "slack" {
			k := string(n.Kind)
			if n.Lifecycle != nil && n.Kind == alert.KindResolved {
				k += ":" + string(n.Lifecycle.About)
			}
			out = append(out, k)
		}
	}
	return strings.Join(out, ",")
}

// TestLifecycleDoneWhen is issue 13's "done when", end to end through the
// real checks, state file, Slack and Alertmanager: a courier token issued
// 100 days ago with rotate_after 2160h behind a certificate 5 days from
// expiry gets one rotate and one tls_expiry message over 48 runs within
// repeat_every, while Alertmanager hears both alerts active on every run;
// at repeat_every one more rotate; a new token ends the rotate alert
// (one resolution, the alert ended now) and, under the unchanged
// issued_at, the run warns that issued_at looks stale. The check's own
// outcome track says nothing throughout: the token works.
func TestLifecycleDoneWhen(t *testing.T) {
	clk := testkit.NewClockAt(time.Now().UTC().Truncate(time.Second))
	ca := testkit.NewCA(t)
	var requests atomic.Int64
	base, _ := ca.Serve(t, clk.Now().Add(-time.Hour), clk.Now().Add(5*24*time.Hour), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	hook := testkit.NewSlack(t)
	am := newFakeAlertmanager(t, clk.Now)
	statePath := filepath.Join(t.TempDir(), "state.json")
	var logs bytes.Buffer
	issued := clk.Now().Add(-100 * 24 * time.Hour)
	j := lifecycleJob(t, clk, issued, base, ca.File, testToken, statePath, hook, am, &logs)

	var all []string
	for i := range 48 { // every 5 minutes for 3h55m
		if i > 0 {
			clk.Advance(5 * time.Minute)
		}
		rep := j.Run(context.Background(), Options{})
		if !rep.Delivered() {
			t.Fatalf("run %d: %v", i, rep.Failures)
		}
		if k := slackKinds(rep); k != "" {
			all = append(all, k)
		}
		synced := am.take()
		if !strings.Contains(synced, "TokenwatchCredentialOld courier-main ends 15m0s") || !strings.Contains(synced, "TokenwatchTLSExpiring courier-main ends 15m0s") {
			t.Fatalf("run %d: Alertmanager heard %q, want both lifecycle alerts active", i, synced)
		}
	}
	if got := strings.Join(all, " | "); got != "rotate,tls_expiry" {
		t.Fatalf("48 runs within repeat_every gave Slack %q, want one rotate and one tls_expiry", got)
	}
	if requests.Load() != 48 {
		t.Errorf("%d requests, want one per run", requests.Load())
	}
	if got := hook.Payloads(); len(got) != 2 || !strings.Contains(got[0], "the secret is 100d old") || !strings.Contains(got[1], "expires in 5 days") {
		t.Errorf("Slack payloads: %q", got)
	}

	clk.Advance(5 * time.Minute) // repeat_every after the first
	if got := slackKinds(j.Run(context.Background(), Options{})); got != "rotate" {
		t.Fatalf("at repeat_every: %q, want one more rotate", got)
	}
	am.take()

	// The token is re-issued; issued_at is left as it was.
	clk.Advance(5 * time.Minute)
	j = lifecycleJob(t, clk, issued, base, ca.File, testToken+"-new", statePath, hook, am, &logs)
	rep := j.Run(context.Background(), Options{})
	if got := slackKinds(rep); got != "resolved:rotate" || !rep.Delivered() {
		t.Fatalf("after the new token: %q (%v), want the rotate alert resolved", got, rep.Failures)
	}
	synced := am.take()
	if !strings.Contains(synced, "TokenwatchCredentialOld courier-main ends 0s") || !strings.Contains(synced, "TokenwatchTLSExpiring courier-main ends 15m0s") {
		t.Errorf("Alertmanager heard %q, want the old-credential alert ended and the TLS one still active", synced)
	}
	if !strings.Contains(logs.String(), "issued_at looks stale") {
		t.Errorf("no stale issued_at warning in the log:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), testToken) {
		t.Error("the log holds the token")
	}
	clk.Advance(5 * time.Minute)
	if got := slackKinds(j.Run(context.Background(), Options{})); got != "" {
		t.Errorf("the run after: %q, want nothing", got)
	}
	lc := j.Run(context.Background(), Options{DryRun: true}).Lifecycles["courier-main"]
	if len(lc.Certs) != 1 || lc.Certs[0].Warned != 1 || len(lc.Sightings) != 2 {
		t.Errorf("lifecycle reported %+v", lc)
	}
}

// TestLifecycleMessagesDoNotPileUp: while Slack is down for days, the
// rotate message repeated every repeat_every supersedes the one still
// waiting, so one rotate (not yet a reminder: on-call never heard the
// first) and one tls_expiry (the latest, under 72 hours) wait, whatever
// the number of runs, the newest last.
func TestLifecycleMessagesDoNotPileUp(t *testing.T) {
	clk := testkit.NewClockAt(time.Now().UTC().Truncate(time.Second))
	ca := testkit.NewCA(t)
	base, _ := ca.Serve(t, clk.Now().Add(-time.Hour), clk.Now().Add(5*24*time.Hour), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	hook := testkit.NewSlack(t)
	slackDown(hook)
	am := newFakeAlertmanager(t, clk.Now)
	j := lifecycleJob(t, clk, clk.Now().Add(-100*24*time.Hour), base, ca.File, testToken, filepath.Join(t.TempDir(), "state.json"), hook, am, io.Discard)
	j.Notifiers = j.Notifiers[:1] // Slack alone
	j.Notifiers[0] = slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now, Retry: slack.Retry{Attempts: 1, Backoff: time.Millisecond}})
	var rep *Report
	for range 20 { // every 4 hours for over three days
		rep = j.Run(context.Background(), Options{})
		clk.Advance(4 * time.Hour)
	}
	if rep.Pending != 2 {
		t.Fatalf("%d messages wait, want 2: %s", rep.Pending, kinds(rep))
	}
	hook.Accept()
	rep = j.Run(context.Background(), Options{})
	var got []string
	for _, n := range rep.Notifications {
		line := fmt.Sprintf("%s late=%v repeat=%v", n.Kind, n.Late, n.Lifecycle.Repeat)
		if n.Kind == alert.KindTLSExpiry {
			line += fmt.Sprintf(" final=%v", n.Lifecycle.FinalWarning(n.At))
		}
		got = append(got, line)
	}
	want := "tls_expiry late=true repeat=false final=true | rotate late=false repeat=false"
	if strings.Join(got, " | ") != want {
		t.Errorf("delivered %q, want %q", strings.Join(got, " | "), want)
	}
}

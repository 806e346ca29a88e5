package job

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// probeNotifier is a notifier whose Send runs a probe first (to look at the
// state file as a crash at that moment would leave it), then succeeds or
// fails as told.
type probeNotifier struct {
	mu    sync.Mutex
	probe func(m notify.Message)
	fail  error
	sent  []string
}

func (p *probeNotifier) Name() string { return "slack" }

func (p *probeNotifier) Send(_ context.Context, m notify.Message) (*notify.Thread, error) {
	if p.probe != nil {
		p.probe(m)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return nil, p.fail
	}
	p.sent = append(p.sent, string(m.Kind)+":"+m.Check)
	return nil, nil
}

func (p *probeNotifier) SendSummary(context.Context, []notify.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil {
		return p.fail
	}
	p.sent = append(p.sent, "summary")
	return nil
}

// threeCouriers is a config with three checks on one courier API.
func threeCouriers(apiURL, statePath string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state: {path: %s}\nchecks:\n", statePath)
	for _, name := range []string{"courier-a", "courier-b", "courier-c"} {
		fmt.Fprintf(&b, "  - {name: %s, type: courier, base_url: %s, token: %s-%s}\n", name, apiURL, testToken, name)
	}
	return b.String()
}

// A crash at any moment of a delivery repeats at most the message in
// flight: while a message is being sent, the state on disk already holds
// every decision and no longer holds what was delivered before it.
func TestEachDeliveryIsRecordedAsItHappens(t *testing.T) {
	api := newCourierAPI(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	n := &probeNotifier{}
	j := testJob(t, threeCouriers(api.URL, statePath), n, testkit.NewClock())
	var outboxes [][]string
	n.probe = func(notify.Message) {
		var checks []string
		for _, p := range readState(t, statePath).Outbox("slack") {
			checks = append(checks, p.Check)
		}
		outboxes = append(outboxes, checks)
	}
	rep := j.Run(context.Background(), Options{})
	if !rep.Delivered() || len(n.sent) != 3 {
		t.Fatalf("sent %v, failures %v; want three alerts delivered", n.sent, rep.Failures)
	}
	want := [][]string{
		{"courier-a", "courier-b", "courier-c"},
		{"courier-b", "courier-c"},
		{"courier-c"},
	}
	for i := range want {
		if !slices.Equal(outboxes[i], want[i]) {
			t.Fatalf("outbox on disk while sending message %d: %v, want %v (a crash then would repeat more than the message in flight)", i+1, outboxes[i], want[i])
		}
	}
	if left := readState(t, statePath).Outbox("slack"); len(left) != 0 {
		t.Fatalf("outbox after the run %+v, want empty", left)
	}
}

// A state directory that cannot be written must not silence on-call: the
// alert goes out, and the run says what it could not save (exit 3).
func TestUnwritableStateStillAlerts(t *testing.T) {
	api := newCourierAPI(t)
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-directory")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	n := &probeNotifier{}
	j := testJob(t, courierConfig(api.URL, filepath.Join(blocker, "state.json"), ""), n, testkit.NewClock())
	rep := j.Run(context.Background(), Options{})
	// The state cannot be read either, so on-call also hears that it was reset.
	if !slices.Equal(n.sent, []string{"notice:tokenwatch", "alert:courier-main"}) {
		t.Fatalf("sent %v: the alert must go out although the state cannot be saved", n.sent)
	}
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, "\n"), "state:") {
		t.Fatalf("failures %v: the run must say the state was not saved (exit 3)", rep.Failures)
	}
}

// On SIGTERM while Slack hangs, the pass stops trying after its grace
// period, keeps the message for the next run and reports it undelivered.
func TestStopWhileSlackHangs(t *testing.T) {
	api := newCourierAPI(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hung.Close() })
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hung.URL+"/services/T/B/x}"), nil, clk)
	// The defaults: 4 attempts, each bounded by a 10 s client timeout.
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}
	j.Grace = 50 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-arrived
		cancel() // SIGTERM while the first attempt hangs
	}()
	done := make(chan *Report, 1)
	go func() { done <- j.Run(ctx, Options{}) }()
	rep := testkit.Receive(t, "the pass to stop after SIGTERM while Slack hangs", done)
	if rep.Delivered() {
		t.Fatal("the alert cannot have been delivered to a hanging Slack")
	}
	st := readState(t, statePath)
	if len(st.Outbox("slack")) != 1 || st.Outbox("slack")[0].Kind != alert.KindAlert {
		t.Fatalf("outbox %+v: the alert must wait for the next run", st.Outbox("slack"))
	}
}

// Notification counts only grow across runs, so increase() works on what
// a one-shot run writes; a failed output keeps the last success where it
// was.
func TestTotalsAndLastSuccessAcrossRuns(t *testing.T) {
	api := newCourierAPI(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	n := &probeNotifier{fail: errors.New("slack: down")}
	j := testJob(t, threeCouriers(api.URL, statePath), n, clk)
	out := &failingOutput{}
	j.Outputs = []Output{out}

	count := func(rep *Report, result string) float64 {
		var sum float64
		for _, tot := range rep.Totals {
			if tot.Result == result {
				sum += tot.Value
			}
		}
		return sum
	}
	rep := j.Run(context.Background(), Options{})
	if got := count(rep, "failed"); got != 1 {
		t.Fatalf("run 1: failed total %v, want 1 (one attempt, the rest not tried)", got)
	}
	clk.Advance(time.Minute)
	rep = j.Run(context.Background(), Options{})
	if got := count(rep, "failed"); got != 2 {
		t.Fatalf("run 2: failed total %v, want 2: counts must accumulate across runs", got)
	}
	if !rep.LastSuccess.IsZero() {
		t.Fatalf("run 2: last success %v, but no run has delivered yet", rep.LastSuccess)
	}

	n.mu.Lock()
	n.fail = nil
	n.mu.Unlock()
	out.err = errors.New("push refused")
	clk.Advance(time.Minute)
	third := clk.Now()
	rep = j.Run(context.Background(), Options{})
	if got := count(rep, "sent"); got != 3 {
		t.Fatalf("run 3: sent total %v, want 3", got)
	}
	if rep.Delivered() {
		t.Fatal("run 3: the output failed, the run must not count as delivered")
	}

	out.err = nil
	clk.Advance(time.Minute)
	fourth := clk.Now()
	rep = j.Run(context.Background(), Options{})
	if !rep.LastSuccess.IsZero() {
		t.Fatalf("run 4 sees last success %v: run 3's output failed, so no run has succeeded yet", rep.LastSuccess)
	}
	if st := rep.Outputs["test-output"]; !st.LastFailure.Equal(third) {
		t.Fatalf("run 4 sees the output's last failure at %v, want run 3's start %v", st.LastFailure, third)
	}
	clk.Advance(time.Minute)
	rep = j.Run(context.Background(), Options{})
	if !rep.LastSuccess.Equal(fourth) {
		t.Fatalf("run 5 sees last success %v, want run 4's start %v", rep.LastSuccess, fourth)
	}
}

// failingOutput is an Output that fails while err is set.
type failingOutput struct{ err error }

func (f *failingOutput) Name() string                          { return "test-output" }
func (f *failingOutput) Report(context.Context, *Report) error { return f.err }

// A notice that the state was reset is kept like any other message when
// Slack is down, and delivered by the next run.
func TestStateResetNoticeIsRetried(t *testing.T) {
	api := newCourierAPI(t)
	api.status.Store(200)
	statePath := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(statePath, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &probeNotifier{fail: errors.New("slack: down")}
	j := testJob(t, courierConfig(api.URL, statePath, ""), n, testkit.NewClock())
	if rep := j.Run(context.Background(), Options{}); rep.Delivered() {
		t.Fatal("run 1: the notice was not delivered, the run must exit 3")
	}
	n.mu.Lock()
	n.fail = nil
	n.mu.Unlock()
	if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
		t.Fatalf("run 2 failures %v", rep.Failures)
	}
	if !slices.Equal(n.sent, []string{"notice:tokenwatch"}) {
		t.Fatalf("sent %v, want the state reset notice, late", n.sent)
	}
}

// A proxy that echoes only the path of a webhook or ping URL must not get
// its token into a log line: the parts are scrubbed too.
func TestSecretsIncludeTheSecretPartsOfURLs(t *testing.T) {
	cfg := &config.Config{
		Slack:     &config.Slack{WebhookURL: secret.New("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX")},
		Heartbeat: config.Heartbeat{URL: secret.New("https://user:pingpassword@hc-ping.com/0f1e2d3c-uuid")},
	}
	got := Secrets(cfg)
	for _, want := range []string{"/services/T000/B000/XXXXXXXXXXXXXXXX", "XXXXXXXXXXXXXXXX", "/0f1e2d3c-uuid", "0f1e2d3c-uuid", "pingpassword"} {
		if !slices.Contains(got, want) {
			t.Errorf("Secrets lacks %q: %q", want, got)
		}
	}
	if slices.Contains(got, "/") || slices.Contains(got, "") {
		t.Errorf("Secrets holds a part too short to be a secret: %q", got)
	}
}

// While a notifier is down for days, a check's reminders do not pile up:
// the waiting reminder is replaced by the newer one (still late), so the
// outbox holds the alert and at most one reminder per check.
func TestRemindersDoNotPileUpWhileTheNotifierIsDown(t *testing.T) {
	api := newCourierAPI(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	n := &probeNotifier{fail: errors.New("slack: down")}
	j := testJob(t, threeCouriers(api.URL, statePath), n, clk)
	for range 10 {
		j.Run(context.Background(), Options{})
		clk.Advance(4 * time.Hour) // repeat_every: a reminder is due every run
	}
	box := readState(t, statePath).Outbox("slack")
	if len(box) != 3 {
		t.Fatalf("outbox of %d messages after 10 runs, want the 3 alerts: %+v", len(box), box)
	}

	// After the alert was delivered, a reminder waits alone and is replaced.
	n.mu.Lock()
	n.fail = nil
	n.mu.Unlock()
	j.Run(context.Background(), Options{})
	n.mu.Lock()
	n.fail = errors.New("slack: down again")
	n.sent = nil
	n.mu.Unlock()
	for range 5 {
		clk.Advance(4 * time.Hour)
		j.Run(context.Background(), Options{})
	}
	box = readState(t, statePath).Outbox("slack")
	if len(box) != 3 || box[0].Kind != alert.KindReminder || box[0].Attempts == 0 || !box[0].At.Equal(clk.Now()) {
		t.Fatalf("outbox %+v: want one reminder per check, the newest, marked late", box)
	}
}

// A run stopped before its checks finished did not do its job: exit 3.
func TestInterruptedRunIsNotASuccess(t *testing.T) {
	api := newCourierAPI(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, ""), &probeNotifier{}, testkit.NewClock())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := j.Run(ctx, Options{})
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, "\n"), "1 checks were not checked") {
		t.Fatalf("failures %v: an interrupted run must exit 3", rep.Failures)
	}
}

// A notifier's health is kept with the state: down after a failed
// delivery, with the failure counted under its class, up after a good one;
// the counts only grow from run to run.
func TestNotifierHealthAcrossRuns(t *testing.T) {
	api := newCourierAPI(t)
	fake := testkit.NewSlack(t)
	statePath := filepath.Join(t.TempDir(), "state.json")
	clk := testkit.NewClock()
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+fake.WebhookURL("/services/T/B/x")+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}

	count := func(rep *Report, reason string) float64 {
		for _, e := range rep.NotifierErrors {
			if e.Notifier == "slack" && e.Reason == reason {
				return e.Value
			}
		}
		return 0
	}
	fake.Refuse(http.StatusNotFound, func(string) string { return "no_service" })
	rep := j.Run(context.Background(), Options{})
	if up, known := rep.Notifiers["slack"]; !known || up || count(rep, "permanent") != 1 {
		t.Fatalf("after a removed webhook: up %v (known %v), permanent errors %v; want down and 1", up, known, count(rep, "permanent"))
	}
	clk.Advance(time.Minute)
	rep = j.Run(context.Background(), Options{})
	if count(rep, "permanent") != 2 {
		t.Fatalf("permanent errors %v after two runs, want 2: the count is kept across runs", count(rep, "permanent"))
	}
	fake.Accept()
	clk.Advance(time.Minute)
	rep = j.Run(context.Background(), Options{})
	if up := rep.Notifiers["slack"]; !up || count(rep, "permanent") != 2 || !rep.Delivered() {
		t.Fatalf("after Slack came back: up %v, permanent %v, failures %v", up, count(rep, "permanent"), rep.Failures)
	}
	clk.Advance(time.Minute)
	if rep = j.Run(context.Background(), Options{}); !rep.Notifiers["slack"] {
		t.Fatal("a run with nothing to send must still report the last known health")
	}
}

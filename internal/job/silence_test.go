package job

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/notify"
	"github.com/tokenwatch/tokenwatch/notify/slack"
)

// silence adds a silence to the state file at path, as `tokenwatch
// silence add` does, and returns it.
func silence(t *testing.T, path string, checkNames []string, until time.Time, now time.Time) state.Silence {
	t.Helper()
	store, err := state.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	st, _, err := store.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.AddSilence(checkNames, until, "ACME maintenance", "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	return s
}

// A silence set between runs: the silenced run sends nothing though the
// check still fails (and its track moves), the report says it is silenced,
// the first run after it sends one alert that says it was silenced until
// then, and the ended silence is pruned from the state.
func TestSilenceAcrossRuns(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}
	run := func(advance time.Duration) *Report {
		t.Helper()
		clk.Advance(advance)
		rep := j.Run(context.Background(), Options{})
		if !rep.Delivered() {
			t.Fatalf("failures %v", rep.Failures)
		}
		return rep
	}

	if rep := run(5 * time.Minute); kinds(rep) != "alert" {
		t.Fatalf("first run: %q, want the alert", kinds(rep))
	}
	hook.Take()
	until := clk.Now().Add(time.Hour)
	silence(t, statePath, []string{"courier-main"}, until, clk.Now())

	for i := range 11 {
		rep := run(5 * time.Minute)
		if kinds(rep) != "" {
			t.Fatalf("silenced run %d: %q, want nothing", i, kinds(rep))
		}
		if m, ok := rep.Mutes["courier-main"]; !ok || !m.Until.Equal(until) || m.Reason != "ACME maintenance" || m.By != "alice" {
			t.Fatalf("silenced run %d: mutes %+v", i, rep.Mutes)
		}
		if tr := rep.Tracks["courier-main"]; tr.FailuresInRow != i+2 {
			t.Fatalf("silenced run %d: %d failures in a row, want %d: the track moves", i, tr.FailuresInRow, i+2)
		}
	}
	if st := readState(t, statePath); len(st.Silences) != 1 {
		t.Fatalf("silences %+v: an active silence is kept", st.Silences)
	}

	rep := run(5 * time.Minute)
	got := payloads(hook.Take())
	if kinds(rep) != "alert" || len(got) != 1 || !strings.Contains(got[0], "was silenced until "+notify.Timestamp(until)+" (ACME maintenance, by alice)") {
		t.Fatalf("after the silence: %q, Slack got %v; want one alert that says it was silenced", kinds(rep), got)
	}
	if len(rep.Mutes) != 0 {
		t.Errorf("mutes %+v after the silence", rep.Mutes)
	}
	if st := readState(t, statePath); len(st.Silences) != 0 || st.Checks["courier-main"].Silenced != nil {
		t.Errorf("silences %+v, track's silence %+v: an ended silence is pruned and forgotten", st.Silences, st.Checks["courier-main"].Silenced)
	}
}

// A maintenance window opening and closing across runs: the resolution
// inside it is sent and names it, a failure inside it opens nothing, and
// the run after it closes alerts once, saying so.
func TestMaintenanceWindowAcrossRuns(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock() // 09:00 UTC
	statePath := filepath.Join(t.TempDir(), "state.json")
	cfg := courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}") +
		"maintenance:\n  - {checks: [courier-main], schedule: \"CRON_TZ=Europe/Moscow 0 13 * * *\", duration: 1h}\n" // 10:00-11:00 UTC
	j := testJob(t, cfg, nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}
	steps := []struct {
		at     string // UTC, on the clock's day
		status int64
		want   string
		says   string
	}{
		{"09:05", 401, "alert", ""},
		{"10:00", 401, "", ""},
		{"10:10", 200, "resolved", "maintenance window until 2026-11-21 11:00 UTC (`CRON_TZ=Europe/Moscow 0 13 * * *`)"},
		{"10:15", 401, "", ""},
		{"10:55", 401, "", ""},
		{"11:00", 401, "alert", "was in a maintenance window until 2026-11-21 11:00 UTC"},
		{"11:05", 401, "", ""},
	}
	for _, st := range steps {
		clk.Advance(mustTime(t, "2026-11-21T"+st.at+":00Z").Sub(clk.Now()))
		api.status.Store(st.status)
		rep := j.Run(context.Background(), Options{})
		got := payloads(hook.Take())
		if kinds(rep) != st.want || !rep.Delivered() {
			t.Fatalf("%s: %q (failures %v), want %q", st.at, kinds(rep), rep.Failures, st.want)
		}
		if st.says != "" && (len(got) != 1 || !strings.Contains(got[0], st.says)) {
			t.Errorf("%s: Slack got %v, want it to say %q", st.at, got, st.says)
		}
		_, silenced := rep.Mutes["courier-main"]
		if want := st.at >= "10:00" && st.at < "11:00"; silenced != want {
			t.Errorf("%s: silenced %v, want %v", st.at, silenced, want)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Alertmanager hears a silenced check's alert no more (it lapses there);
// the alert sent when the silence ends fires it again.
func TestSilencedAlertIsNotSynced(t *testing.T) {
	api := newCourierAPI(t)
	clk := testkit.NewClock()
	am := newFakeAlertmanager(t, clk.Now)
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "alertmanager: {urls: ["+am.URL+"]}"), nil, clk)
	j.Notifiers = BuildNotifiers(j.Config, nil, clk.Now)
	const active = "TokenwatchCredentialInvalid courier-main ends 15m0s"
	run := func() {
		t.Helper()
		clk.Advance(5 * time.Minute)
		if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
			t.Fatal(rep.Failures)
		}
	}
	run()
	if got := am.take(); got != active+"\n"+active {
		t.Fatalf("first run: %q, want the alert and its sync", got)
	}
	silence(t, statePath, []string{"courier-main"}, clk.Now().Add(10*time.Minute), clk.Now())
	run()
	if got := am.take(); got != "" {
		t.Fatalf("silenced: Alertmanager got %q, want nothing", got)
	}
	run() // the silence ends now
	if got := am.take(); got != active+"\n"+active {
		t.Fatalf("after the silence: %q, want the alert again and its sync", got)
	}
}

// The egress rule counts no silenced check's network failure: three checks
// unreachable, one of them silenced for its maintenance, are two partners'
// outages, not our network. Without the silence they are our network.
func TestSilencedChecksAreNoEgressEvidence(t *testing.T) {
	for _, silenced := range []bool{false, true} {
		t.Run(fmt.Sprintf("silenced %v", silenced), func(t *testing.T) {
			var yaml strings.Builder
			statePath := filepath.Join(t.TempDir(), "state.json")
			if !silenced {
				yaml.WriteString("defaults: {alert: {after_outages: 1}}\n") // egress is told at its first pass
			}
			fmt.Fprintf(&yaml, "state: {path: %s}\nchecks:\n", statePath)
			for i := range 3 {
				fmt.Fprintf(&yaml, "  - {name: c%d, type: courier, base_url: %s, token: %s}\n", i, testkit.ClosedURL(t), testToken)
			}
			clk := testkit.NewClock()
			j := testJob(t, yaml.String(), nil, clk)
			j.Notifiers = []notify.Notifier{&probeNotifier{}}
			if silenced {
				silence(t, statePath, []string{"c0"}, clk.Now().Add(time.Hour), clk.Now())
			}
			clk.Advance(time.Minute)
			rep := j.Run(context.Background(), Options{})
			want := "egress"
			if silenced {
				want = ""
			}
			if got := kinds(rep); got != want {
				t.Errorf("notifications %q, want %q", got, want)
			}
		})
	}
}

// A check's mute is its silence or its open window, whichever ends later;
// the silence that ends last among several; none for a check neither
// covers; a silence of a check no longer configured mutes nothing.
func TestMutesLaterEndWins(t *testing.T) {
	now := time.Date(2026, 11, 22, 3, 10, 0, 0, time.UTC)
	w, err := config.NewMaintenance([]string{"a", "b"}, "0 3 * * *", time.Hour) // open until 04:00
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Checks: []config.Check{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}, Maintenance: []config.Maintenance{w}}
	st := state.New()
	for _, s := range []struct {
		checks []string
		until  time.Duration
	}{{[]string{"a", "b"}, 30 * time.Minute}, {[]string{"b", "gone"}, 2 * time.Hour}, {[]string{"c"}, time.Hour}, {[]string{"c"}, 20 * time.Minute}} {
		if _, err := st.AddSilence(s.checks, now.Add(s.until), "maintenance", "alice", now); err != nil {
			t.Fatal(err)
		}
	}
	got := (&Job{Config: cfg}).mutes(st, now)
	want := map[string]alert.Mute{
		"a": {Until: time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC), Reason: "0 3 * * *", Window: true},
		"b": {Until: now.Add(2 * time.Hour), Reason: "maintenance", By: "alice"},
		"c": {Until: now.Add(time.Hour), Reason: "maintenance", By: "alice"},
	}
	if len(got) != len(want) {
		t.Fatalf("mutes %+v, want %+v", got, want)
	}
	for name, m := range want {
		if g := got[name]; !g.Until.Equal(m.Until) || g.Reason != m.Reason || g.By != m.By || g.Window != m.Window {
			t.Errorf("%s: %+v, want %+v", name, g, m)
		}
	}
}

// An alert decided before the silence, still waiting because Slack was
// down, is not sent once the check is silenced: a silence means no alert.
// The alert stays open, so the silence's end says it again.
func TestWaitingAlertIsWithheldBySilence(t *testing.T) {
	api := newCourierAPI(t)
	hook := testkit.NewSlack(t)
	clk := testkit.NewClock()
	statePath := filepath.Join(t.TempDir(), "state.json")
	j := testJob(t, courierConfig(api.URL, statePath, "slack: {webhook_url: "+hook.WebhookURL("/services/T/B/x")+"}"), nil, clk)
	j.Notifiers = []notify.Notifier{slack.New(slack.Options{WebhookURL: j.Config.Slack.WebhookURL, Now: clk.Now})}

	hook.Refuse(503, func(string) string { return "down" })
	clk.Advance(5 * time.Minute)
	if rep := j.Run(context.Background(), Options{}); rep.Delivered() || readState(t, statePath).Waiting() != 1 {
		t.Fatalf("Slack down: the alert must wait (failures %v)", rep.Failures)
	}
	hook.Take()
	hook.Accept()
	until := clk.Now().Add(time.Hour)
	silence(t, statePath, []string{"courier-main"}, until, clk.Now())

	clk.Advance(5 * time.Minute)
	rep := j.Run(context.Background(), Options{})
	if got := hook.Take(); !rep.Delivered() || len(got) != 0 || readState(t, statePath).Waiting() != 0 {
		t.Fatalf("silenced: Slack got %d messages (failures %v); the waiting alert must be dropped", len(got), rep.Failures)
	}
	clk.Advance(time.Hour)
	j.Run(context.Background(), Options{})
	if got := payloads(hook.Take()); len(got) != 1 || !strings.Contains(got[0], "was silenced until") {
		t.Fatalf("after the silence: Slack got %v, want the one alert that says it was silenced", got)
	}
}

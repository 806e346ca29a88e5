package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
)

// onCallConfig is three checks, a maintenance window that is always open
// for the third (a window of 2h opening every hour), and the state beside
// it. Nothing listens at the endpoints: status and silence never connect.
func onCallConfig(t *testing.T) (cfgPath, statePath string) {
	t.Helper()
	dir := t.TempDir()
	statePath = filepath.Join(dir, "state.json")
	cfgPath = writeConfig(t, fmt.Sprintf(`state: {path: %s}
maintenance:
  - {checks: [partner-beta], schedule: "CRON_TZ=Europe/Moscow 0 * * * *", duration: 2h}
checks:
  - {name: courier-main, type: courier, base_url: "http://127.0.0.1:9", token: abcdefgh}
  - {name: partner-acme, type: partner_oauth, host: "http://127.0.0.1:9", client_id: acme, client_secret: s3cr3t-acme}
  - {name: partner-beta, type: partner_oauth, host: "http://127.0.0.1:9", client_id: beta, client_secret: s3cr3t-beta}
`, statePath))
	return cfgPath, statePath
}

// writeOnCallState saves a state in which courier-main has an active
// invalid alert and a message waiting, partner-acme is ok but flapping and
// silenced, partner-beta never ran, and an egress incident is open.
func writeOnCallState(t *testing.T, cfgPath, statePath string, now time.Time) (silenceID string) {
	t.Helper()
	cfg, problems := config.Load(cfgPath, config.OSEnv)
	if problems.HasErrors() {
		t.Fatalf("config: %v", problems)
	}
	id := func(name string) state.Identity {
		for _, c := range cfg.Checks {
			if c.Name == name {
				return state.Identity{Name: c.Name, Type: c.Type, Endpoint: c.Endpoint()}
			}
		}
		t.Fatalf("no check %s", name)
		return state.Identity{}
	}
	store, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	st, _, err := store.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	since := now.Add(-2 * time.Hour).Truncate(time.Second)
	courier := st.Record(id("courier-main"))
	courier.Track = alert.Track{Outcome: checks.Invalid, HTTPStatus: 401, Detail: "token rejected (HTTP 401)",
		FailuresInRow: 3, FailingSince: since, OutcomeSince: since, LastRun: now.Add(-time.Minute), Fingerprint: "3f2a9c1e",
		Active: &alert.Active{Outcome: checks.Invalid, Since: since, FiredAt: since, LastNotified: since.Add(time.Hour), Checks: 3}}
	// Its secret was first seen 100 days ago, after an older one.
	courier.Lifecycle = &alert.Lifecycle{Sightings: []alert.Sighting{
		{Fingerprint: "aa11bb22", FirstSeen: since.Add(-200 * 24 * time.Hour)},
		{Fingerprint: "3f2a9c1e", FirstSeen: since.Add(-100 * 24 * time.Hour)}}}
	acme := st.Record(id("partner-acme"))
	acme.Track = alert.Track{Outcome: checks.OK, OKsInRow: 1, OutcomeSince: now.Add(-5 * time.Minute).Truncate(time.Second),
		LastRun: now.Add(-time.Minute), LastOK: now.Add(-time.Minute), Fingerprint: "0badc0de", FlappingSince: since}
	st.SetOutbox("slack", []state.Pending{{Decision: alert.Decision{Kind: alert.KindReminder, Check: "courier-main",
		Outcome: checks.Invalid, Since: since, At: now.Add(-time.Minute)}, Attempts: 2, LastError: "slack: HTTP 503"}})
	s, err := st.AddSilence([]string{"partner-acme"}, now.Add(90*time.Minute), "acme maintenance", "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	st.LastSuccess = now.Add(-time.Minute)
	st.Egress = &state.Egress{Since: since, NotifiedAt: since, Checks: 3}
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	return s.ID
}

// The contract's shape of `status --output json`, decoded strictly: a key
// missing from here, or one more in the output, fails the test.
type statusJSON struct {
	Checks []struct {
		Name          string  `json:"name"`
		Type          string  `json:"type"`
		Outcome       *string `json:"outcome"`
		Since         *string `json:"since"`
		FailuresInRow int     `json:"failures_in_row"`
		Fingerprint   *string `json:"fingerprint"`
		FirstSeen     *string `json:"first_seen"`
		Alert         *struct {
			Outcome      string `json:"outcome"`
			Since        string `json:"since"`
			LastNotified string `json:"last_notified"`
		} `json:"alert"`
		SilencedUntil *string `json:"silenced_until"`
		SilenceReason *string `json:"silence_reason"`
		Flapping      bool    `json:"flapping"`
	} `json:"checks"`
	Pending []struct {
		Notifier string `json:"notifier"`
		Check    string `json:"check"`
		Kind     string `json:"kind"`
	} `json:"pending"`
	Silences []silenceJSON `json:"silences"`
}

type silenceJSON struct {
	ID     string   `json:"id"`
	Checks []string `json:"checks"`
	Until  string   `json:"until"`
	Reason string   `json:"reason"`
	By     string   `json:"by"`
}

func decodeStrict(t *testing.T, data string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("output is not the contract's JSON: %v\n%s", err, data)
	}
	if dec.More() {
		t.Fatalf("more than one JSON document:\n%s", data)
	}
}

// status --output json gives every configured check in the config's
// order, with what the state says, nulls where there is nothing, the
// silence from the state or from an open maintenance window, and the
// messages waiting and the active silences.
func TestStatusJSON(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	now := time.Now()
	id := writeOnCallState(t, cfgPath, statePath, now)
	code, stdout, stderr := run("status", "--config", cfgPath, "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got statusJSON
	decodeStrict(t, stdout, &got)
	if len(got.Checks) != 3 || got.Checks[0].Name != "courier-main" || got.Checks[1].Name != "partner-acme" || got.Checks[2].Name != "partner-beta" {
		t.Fatalf("checks not as configured: %+v", got.Checks)
	}
	rfc := func(s *string) time.Time {
		t.Helper()
		if s == nil {
			t.Fatal("a time is null")
		}
		at, err := time.Parse(time.RFC3339, *s)
		if err != nil || !strings.HasSuffix(*s, "Z") {
			t.Fatalf("%q is not RFC 3339 in UTC: %v", *s, err)
		}
		return at
	}
	since := now.Add(-2 * time.Hour).Truncate(time.Second)

	courier := got.Checks[0]
	if *courier.Outcome != "invalid" || !rfc(courier.Since).Equal(since) || courier.FailuresInRow != 3 ||
		*courier.Fingerprint != "3f2a9c1e" || courier.Flapping || courier.SilencedUntil != nil || courier.SilenceReason != nil {
		t.Errorf("courier-main: %+v", courier)
	}
	if !rfc(courier.FirstSeen).Equal(since.Add(-100 * 24 * time.Hour)) {
		t.Errorf("courier-main's secret first seen %v, want 100 days before %s", *courier.FirstSeen, since)
	}
	if a := courier.Alert; a == nil || a.Outcome != "invalid" || !rfc(&a.Since).Equal(since) || !rfc(&a.LastNotified).Equal(since.Add(time.Hour)) {
		t.Errorf("courier-main's alert: %+v", courier.Alert)
	}

	acme := got.Checks[1]
	if *acme.Outcome != "ok" || acme.Alert != nil || !acme.Flapping || *acme.SilenceReason != "acme maintenance" ||
		rfc(acme.SilencedUntil).Sub(now.Add(90*time.Minute)).Abs() > time.Second {
		t.Errorf("partner-acme: %+v", acme)
	}

	beta := got.Checks[2]
	if beta.Outcome != nil || beta.Since != nil || beta.Fingerprint != nil || beta.FirstSeen != nil || beta.Alert != nil || beta.FailuresInRow != 0 {
		t.Errorf("partner-beta never ran, yet: %+v", beta)
	}
	if beta.SilenceReason == nil || *beta.SilenceReason != "maintenance window CRON_TZ=Europe/Moscow 0 * * * *" {
		t.Errorf("partner-beta's maintenance window: %v", beta.SilenceReason)
	}
	if until := rfc(beta.SilencedUntil); !until.After(now.Add(time.Hour-time.Second)) || until.After(now.Add(2*time.Hour)) || until.Minute() != 0 {
		t.Errorf("partner-beta silenced until %s: the window opened at the last whole hour and lasts 2h", until)
	}

	if len(got.Pending) != 1 || got.Pending[0] != (struct {
		Notifier string `json:"notifier"`
		Check    string `json:"check"`
		Kind     string `json:"kind"`
	}{"slack", "courier-main", "reminder"}) {
		t.Errorf("pending: %+v", got.Pending)
	}
	if len(got.Silences) != 1 || got.Silences[0].ID != id || got.Silences[0].By != "alice" ||
		got.Silences[0].Reason != "acme maintenance" || len(got.Silences[0].Checks) != 1 || got.Silences[0].Checks[0] != "partner-acme" {
		t.Errorf("silences: %+v", got.Silences)
	}
}

// Without a state file every check shows as never run, with empty lists,
// not nulls; the file is not created.
func TestStatusWithoutState(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	code, stdout, stderr := run("status", "--output", "json", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got statusJSON
	decodeStrict(t, stdout, &got)
	if len(got.Checks) != 3 || got.Checks[0].Outcome != nil || got.Pending == nil || got.Silences == nil {
		t.Errorf("status of no state: %+v", got)
	}
	if !strings.Contains(stdout, `"pending": []`) || !strings.Contains(stdout, `"silences": []`) {
		t.Errorf("empty lists are not []:\n%s", stdout)
	}
	if _, err := os.Lstat(statePath); !os.IsNotExist(err) {
		t.Errorf("status created the state file: %v", err)
	}
}

// The text is one row per check in the config's order, then the messages
// waiting and the silences, with nothing of a secret.
func TestStatusText(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	id := writeOnCallState(t, cfgPath, statePath, time.Now())
	code, stdout, stderr := run("status", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(stdout, "\n")
	row := func(prefix string) string {
		for _, l := range lines {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return l
			}
		}
		t.Fatalf("no line starts with %q:\n%s", prefix, stdout)
		return ""
	}
	for _, want := range []struct{ prefix, has string }{
		{"State " + statePath, "last complete run"},
		{"OUR OWN NETWORK", "all 3 checks unreachable since"},
		{"CHECK", "SILENCED"},
		{"courier-main", "invalid since 2h ago, notified 1h ago"},
		{"courier-main", "3f2a9c1e"},
		{"courier-main", "100d (seen)"},
		{"CHECK", "SECRET AGE"},
		{"courier-main", "token rejected (HTTP 401)"},
		{"partner-acme", "(in 1h30m): acme maintenance"},
		{"partner-acme", "yes"},
		{"partner-beta", "never run"},
		{"partner-beta", "maintenance window CRON_TZ=Europe/Moscow 0 * * * *"},
		{"slack", "courier-main  reminder  2 failed attempts; last: slack: HTTP 503"},
		{id, "partner-acme"},
		{id, "by alice  acme maintenance"},
	} {
		if l := row(want.prefix); !strings.Contains(l, want.has) {
			t.Errorf("the %s line does not say %q:\n%s", want.prefix, want.has, l)
		}
	}
	if strings.Index(stdout, "courier-main") > strings.Index(stdout, "partner-acme") ||
		strings.Index(stdout, "partner-acme") > strings.Index(stdout, "partner-beta") {
		t.Errorf("rows not in the config's order:\n%s", stdout)
	}
	for _, s := range []string{"abcdefgh", "s3cr3t-acme", "s3cr3t-beta"} {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("a secret is shown: %s", s)
		}
	}
}

// --strict exits 1 when a check is failing, never ran or is silenced, and 0
// only when every check is ok and not silenced.
func TestStatusStrict(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	if code, _, stderr := run("status", "--strict", "--config", cfgPath); code != exitNotOK {
		t.Errorf("never run, --strict: exit %d, want 1\n%s", code, stderr)
	}
	writeOnCallState(t, cfgPath, statePath, time.Now())
	if code, _, stderr := run("status", "--config", cfgPath, "--strict"); code != exitNotOK {
		t.Errorf("failing and silenced, --strict: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, stderr := run("status", "--config", cfgPath); code != exitOK {
		t.Errorf("failing, without --strict: exit %d, want 0\n%s", code, stderr)
	}

	// One check, ok, not silenced: 0; then silenced: 1.
	dir := t.TempDir()
	okPath := writeConfig(t, fmt.Sprintf("state: {path: %s/state.json}\nchecks:\n  - {name: c, type: courier, base_url: \"http://127.0.0.1:9\", token: abcdefgh}\n", dir))
	cfg, _ := config.Load(okPath, config.OSEnv)
	store, err := state.Open(filepath.Join(dir, "state.json"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st, _, _ := store.Load(time.Now())
	rec := st.Record(state.Identity{Name: "c", Type: cfg.Checks[0].Type, Endpoint: cfg.Checks[0].Endpoint()})
	rec.Outcome, rec.OKsInRow, rec.OutcomeSince = checks.OK, 1, time.Now()
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if code, _, stderr := run("status", "--strict", "--config", okPath); code != exitOK {
		t.Errorf("every check ok, --strict: exit %d, want 0\n%s", code, stderr)
	}
	if code, _, stderr := run("silence", "add", "c", "--for", "1h", "--reason", "r", "--config", okPath); code != exitOK {
		t.Fatalf("silence add: exit %d\n%s", code, stderr)
	}
	if code, _, _ := run("status", "--strict", "--config", okPath); code != exitNotOK {
		t.Errorf("ok but silenced, --strict: exit %d, want 1", code)
	}
}

// status never waits for the lock a run holds, and changes nothing.
func TestStatusWhileStateLocked(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	writeOnCallState(t, cfgPath, statePath, time.Now())
	held, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	before, _ := os.ReadFile(statePath)
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, stdout, stderr := run("status", "--config", cfgPath, "--output", "json")
		done <- result{code, stdout, stderr}
	}()
	select {
	case r := <-done:
		if r.code != exitOK || !strings.Contains(r.stdout, `"courier-main"`) {
			t.Errorf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	case <-time.After(10 * time.Second): // a deadline, far above the milliseconds it takes
		t.Fatal("status waited for the lock another run holds")
	}
	if after, _ := os.ReadFile(statePath); !bytes.Equal(before, after) {
		t.Error("status changed the state file")
	}
}

// A state that cannot be read is exit 3 with a clear message, for status
// and for every silence subcommand; the file is left exactly as it was:
// same bytes, same time, nothing moved aside.
func TestUnreadableStateIsLeftAlone(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content, says string }{
		{"corrupt", `{"version":2,"checks":{`, "is corrupt (not valid JSON"},
		{"a bad silence", `{"version":2,"checks":{},"silences":[{"id":"XYZ","checks":["c"],"until":"2026-11-21T11:00:00Z","reason":"r","by":"b","created":"2026-11-21T09:00:00Z"}]}`, `silences[0].id`},
		{"newer format", `{"version":99,"checks":{}}`, "written by a newer tokenwatch"},
	} {
		for _, args := range [][]string{
			{"status"},
			{"status", "--output", "json"},
			{"silence", "list"},
			{"silence", "add", "courier-main", "--for", "1h", "--reason", "r"},
			{"silence", "remove", "0a1b2c3d"},
		} {
			t.Run(tc.name+"/"+strings.Join(args, " "), func(t *testing.T) {
				cfgPath, statePath := onCallConfig(t)
				if err := os.WriteFile(statePath, []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-time.Hour).Truncate(time.Second)
				if err := os.Chtimes(statePath, old, old); err != nil {
					t.Fatal(err)
				}
				code, stdout, stderr := run(append(args, "--config", cfgPath)...)
				if code != exitUndelivered || !strings.Contains(stderr, tc.says) || !strings.Contains(stderr, statePath) {
					t.Errorf("exit %d, want 3 with a message saying %q\nstderr: %s", code, tc.says, stderr)
				}
				if stdout != "" {
					t.Errorf("stdout: %s", stdout)
				}
				data, _ := os.ReadFile(statePath)
				info, err := os.Stat(statePath)
				if err != nil || string(data) != tc.content || !info.ModTime().Equal(old) {
					t.Errorf("the state file changed: %v %q %s", err, data, info.ModTime())
				}
				if aside, _ := filepath.Glob(statePath + ".*"); len(aside) > 1 || (len(aside) == 1 && aside[0] != statePath+".lock") {
					t.Errorf("files beside the state: %v", aside)
				}
			})
		}
	}
}

// Usage and configuration errors are exit 2.
func TestStatusUsage(t *testing.T) {
	t.Parallel()
	cfgPath, _ := onCallConfig(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"bad --output", []string{"status", "--output", "xml", "--config", cfgPath}},
		{"a positional", []string{"status", "courier-main", "--config", cfgPath}},
		{"config error", []string{"status", "--config", writeConfig(t, "checks: []\n")}},
		{"missing config", []string{"status", "--config", filepath.Join(t.TempDir(), "nope.yaml")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := run(tc.args...); code != exitUsage {
				t.Errorf("exit %d, want 2\n%s", code, stderr)
			}
		})
	}
}

// A server's hostile words in a record's detail reach the terminal as
// visible escapes; a secret pasted into a silence's reason is kept nowhere.
func TestStatusHostileWordsAndSecrets(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	writeOnCallState(t, cfgPath, statePath, time.Now())
	store, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := store.Load(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st.Checks["courier-main"].Detail = "denied: " + terminalAttack
	if err := store.Save(st); err != nil {
		t.Fatal(err)
	}
	store.Close()
	if code, _, stderr := run("silence", "add", "partner-acme", "--for", "1h", "--reason", "new secret s3cr3t-acme deployed", "--config", cfgPath); code != exitOK {
		t.Fatalf("silence add: exit %d\n%s", code, stderr)
	}
	var all strings.Builder
	for _, args := range [][]string{{"status"}, {"status", "--output", "json"}, {"silence", "list"}, {"silence", "list", "--output", "json"}} {
		code, stdout, stderr := run(append(args, "--config", cfgPath)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
		all.WriteString(stdout + stderr)
		if strings.ContainsAny(stdout, "\x1b\x07\u009b\u202e") {
			t.Errorf("%v: a terminal control reached stdout: %q", args, stdout)
		}
	}
	data, _ := os.ReadFile(statePath)
	all.Write(data)
	if strings.Contains(all.String(), "s3cr3t-acme") {
		t.Error("the secret pasted into --reason was kept or shown")
	}
	if !strings.Contains(all.String(), "new secret [redacted] deployed") {
		t.Errorf("the reason is not kept, scrubbed:\n%s", all.String())
	}
	// The detail is shown, its controls as visible escapes.
	if _, stdout, _ := run("status", "--config", cfgPath); !strings.Contains(lineWith(stdout, "courier-main"), `denied: \x1b[2J`) {
		t.Errorf("the detail is not shown escaped:\n%s", stdout)
	}
}

// Times in the table read at a glance: today's as a clock time, others
// with their date, each with how long ago or how soon, to the minute.
func TestWhenAndAgo(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		at   time.Time
		want string
	}{
		{now, "07:00Z (now)"},
		{now.Add(-29 * time.Second), "07:00Z (now)"},
		{now.Add(-5 * time.Minute), "06:55Z (5m ago)"},
		{now.Add(-2 * time.Hour), "05:00Z (2h ago)"},
		{now.Add(-(2*time.Hour + 5*time.Minute)), "04:55Z (2h5m ago)"},
		{now.Add(90*time.Minute - 10*time.Second), "08:30Z (in 1h30m)"},
		{now.Add(-8 * time.Hour), "2026-11-21 23:00Z (8h ago)"},
		{now.Add(51 * time.Hour), "2026-11-24 10:00Z (in 2d3h)"},
		{now.Add(30 * 24 * time.Hour), "2026-12-22 07:00Z (in 30d)"},
		{time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("MSK", 3*3600)), "06:00Z (1h ago)"},
	} {
		if got := when(tc.at, now); got != tc.want {
			t.Errorf("when(%s) = %q, want %q", tc.at, got, tc.want)
		}
	}
	if got := agoOrDash(time.Time{}, now); got != "-" {
		t.Errorf("a time that never was: %q", got)
	}
}

// A state.path that names a directory is exit 3 for status and silence,
// saying what is wrong; the directory is left as it is.
func TestStatePathNotAFile(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	if err := os.Mkdir(statePath, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"status"},
		{"silence", "list"},
		{"silence", "add", "courier-main", "--for", "1h", "--reason", "r"},
	} {
		code, _, stderr := run(append(args, "--config", cfgPath)...)
		if code != exitUndelivered || !strings.Contains(stderr, "state.path must name tokenwatch's own state file") {
			t.Errorf("%v: exit %d, want 3\n%s", args, code, stderr)
		}
	}
	if info, err := os.Stat(statePath); err != nil || !info.IsDir() {
		t.Errorf("the directory was touched: %v", err)
	}
}

// A format-1 state (the first release's) is read by status as the next run
// would migrate it, in memory only: the file stays as it is, no backup is
// written. silence add migrates it as a run does, keeping the original.
func TestStatusOfFormat1State(t *testing.T) {
	t.Parallel()
	original, err := os.ReadFile("../../internal/state/testdata/v1-state.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	if err := os.WriteFile(statePath, original, 0o600); err != nil {
		t.Fatal(err)
	}
	// The checks the fixture was written for.
	cfgPath := writeConfig(t, fmt.Sprintf(`state: {path: %s}
checks:
  - {name: courier-main, type: courier, token: abcdefgh}
  - {name: partner-acme, type: partner_oauth, host: https://partner.example.com, client_id: x, client_secret: abcdefgh}
`, statePath))
	code, stdout, stderr := run("status", "--output", "json", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var got statusJSON
	decodeStrict(t, stdout, &got)
	if c := got.Checks[0]; c.Outcome == nil || *c.Outcome != "invalid" || c.Alert == nil || *c.Fingerprint != "3f2a9c1e" {
		t.Errorf("courier-main from the format-1 state: %+v", c)
	}
	if len(got.Pending) != 1 || got.Pending[0].Kind != "reminder" {
		t.Errorf("the format-1 state's late reminder: %+v", got.Pending)
	}
	if data, _ := os.ReadFile(statePath); string(data) != string(original) {
		t.Error("status rewrote the format-1 state")
	}
	if _, err := os.Lstat(statePath + ".v1.bak"); !os.IsNotExist(err) {
		t.Errorf("status wrote a backup: %v", err)
	}

	if code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--config", cfgPath); code != exitOK {
		t.Fatalf("silence add: exit %d\n%s", code, stderr)
	}
	if kept, err := os.ReadFile(statePath + ".v1.bak"); err != nil || string(kept) != string(original) {
		t.Errorf("silence add migrated without keeping the original: %v", err)
	}
	_, stdout, _ = run("status", "--output", "json", "--config", cfgPath)
	decodeStrict(t, stdout, &got)
	if c := got.Checks[0]; c.Alert == nil || c.SilenceReason == nil || len(got.Pending) != 1 {
		t.Errorf("after silence add on a format-1 state, the alert, the reminder or the silence is gone: %+v %+v", c, got.Pending)
	}
}

// A secret file gone missing (often the incident itself) does not keep
// on-call from seeing the picture or silencing a check: a warning says
// the secrets were not read; a mistake beyond the secrets is still exit 2.
func TestStatusAndSilenceWithAMissingSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	statePath := filepath.Join(dir, "state.json")
	cfgPath := writeConfig(t, fmt.Sprintf(`state: {path: %s}
checks:
  - {name: courier-main, type: courier, base_url: "http://127.0.0.1:9", token_file: %s/gone}
`, statePath, dir))
	code, stdout, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "token file lost, re-issuing", "--config", cfgPath)
	if code != exitOK || !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, "going on without them") {
		t.Fatalf("silence add: exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = run("status", "--output", "json", "--config", cfgPath)
	if code != exitOK || !strings.Contains(stdout, `"silence_reason": "token file lost, re-issuing"`) {
		t.Errorf("status: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, _, _ := run("run", "--config", cfgPath); code != exitUsage {
		t.Errorf("run without its secret: exit %d, want %d: only status and silence go on without secrets", code, exitUsage)
	}
	broken := writeConfig(t, fmt.Sprintf("state: {path: %s}\nchecks:\n  - {name: courier-main, type: carrier}\n", statePath))
	if code, _, stderr := run("status", "--config", broken); code != exitUsage || !strings.Contains(stderr, "carrier") {
		t.Errorf("a wrong type: exit %d\n%s", code, stderr)
	}
}

// A state path no run has used (a shell without the service's
// $STATE_DIRECTORY, a typo) is said plainly: a blank picture or a silence
// nobody reads would mislead on-call.
func TestStateThatDoesNotExistIsSaid(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	code, stdout, _ := run("status", "--config", cfgPath)
	if code != exitOK || !strings.Contains(stdout, "State "+statePath+": the file does not exist: no run has used this path yet") {
		t.Errorf("status: exit %d\n%s", code, stdout)
	}
	code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--config", cfgPath)
	if code != exitOK || !strings.Contains(stderr, "warning: the state file "+statePath+" does not exist yet") {
		t.Errorf("silence add: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--config", cfgPath); code != exitOK || strings.Contains(stderr, "does not exist") {
		t.Errorf("second silence add: exit %d, warns %q though the file exists now", code, stderr)
	}
}

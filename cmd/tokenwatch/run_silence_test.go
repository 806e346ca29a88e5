package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// A check silenced with `silence add` and one in an open maintenance
// window are still checked, send nothing, and `run` says so: the JSON
// carries each one's silence (until, reason), the table flags them and
// says until when and why underneath.
func TestRunShowsSilencedChecks(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	hook := testkit.NewSlack(t)
	dir := t.TempDir()
	path := writeConfig(t, fmt.Sprintf(`slack: {webhook_url: %s}
state: {path: %s/s.json}
maintenance:
  - {checks: [b], schedule: "* * * * *", duration: 1h}
checks:
  - {name: a, type: courier, base_url: %s, token: tokenaaaa}
  - {name: b, type: courier, base_url: %s, token: tokenbbbb}
  - {name: c, type: courier, base_url: %s, token: tokencccc}
`, hook.WebhookURL("/services/T/B/x"), dir, api.URL, api.URL, api.URL))
	if code, _, stderr := run("silence", "add", "a", "--for", "2h", "--reason", "ACME maintenance", "--by", "alice", "--config", path); code != exitOK {
		t.Fatalf("silence add: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := run("run", "--config", path, "--output", "json")
	if code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	var out jsonReport
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Checks) != 3 {
		t.Fatalf("checks %+v", out.Checks)
	}
	a, b, c := out.Checks[0], out.Checks[1], out.Checks[2]
	if until, err := time.Parse(time.RFC3339, a.SilencedUntil); err != nil || time.Until(until) < 119*time.Minute || a.SilenceReason != "ACME maintenance" {
		t.Errorf("a: silenced until %q (%v), reason %q; want 2h from now, ACME maintenance", a.SilencedUntil, err, a.SilenceReason)
	}
	if b.SilencedUntil == "" || b.SilenceReason != "maintenance window * * * * *" {
		t.Errorf("b: silenced until %q, reason %q; want the window", b.SilencedUntil, b.SilenceReason)
	}
	if c.SilencedUntil != "" || c.SilenceReason != "" || a.Outcome != "forbidden" || b.Outcome != "forbidden" {
		t.Errorf("checks %+v: c is not silenced, a and b are still checked", out.Checks)
	}
	if len(out.Notifications) != 1 || out.Notifications[0].Check != "c" || len(hook.Take()) != 1 {
		t.Errorf("notifications %+v: only c alerts", out.Notifications)
	}
	if !strings.Contains(stdout, `"silenced_until"`) || !strings.Contains(stdout, `"flapping": false`) {
		t.Errorf("JSON lacks silenced_until or flapping:\n%s", stdout)
	}

	code, stdout, _ = run("run", "--config", path)
	if code != exitOK {
		t.Fatalf("run: exit %d", code)
	}
	for _, want := range []string{"NOTE", "a: silenced until ", "(ACME maintenance, by alice); its alerts and reminders wait",
		"b: maintenance window until ", "(* * * * *)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the table lacks %q:\n%s", want, stdout)
		}
	}
	if rows := strings.Split(stdout, "\n"); !strings.Contains(rows[1], "silenced") || !strings.Contains(rows[2], "silenced") || strings.Contains(rows[3], "silenced") {
		t.Errorf("NOTE column: want a and b silenced, c not:\n%s", stdout)
	}
}

// The table flags a flapping check and says since when; a silenced and
// flapping one shows both.
func TestTableShowsFlapping(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	rep := &job.Report{
		Results: []checks.Result{{Check: "a", Type: "courier", Outcome: checks.OK}, {Check: "b", Type: "courier", Outcome: checks.Invalid}},
		Tracks: map[string]alert.Track{"a": {Outcome: checks.OK, FlappingSince: at},
			"b": {Outcome: checks.Invalid, FlappingSince: at.Add(time.Minute)}},
		Mutes: map[string]alert.Mute{"b": {Until: at.Add(2 * time.Hour), Reason: "ACME maintenance", By: "alice"}},
	}
	var out bytes.Buffer
	writeTable(&out, rep)
	rows := strings.Split(out.String(), "\n")
	if !strings.Contains(rows[1], " flapping ") || !strings.Contains(rows[2], " silenced,flapping ") {
		t.Errorf("NOTE column:\n%s", out.String())
	}
	for _, want := range []string{"a: flapping since 2026-11-22 03:00 UTC; its alerts wait until one outcome holds",
		"b: silenced until 2026-11-22 05:00 UTC (ACME maintenance, by alice)", "b: flapping since 2026-11-22 03:01 UTC"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}
	var js bytes.Buffer
	writeJSON(&js, rep)
	var decoded jsonReport
	if err := json.Unmarshal(js.Bytes(), &decoded); err != nil {
		t.Fatal(err)
	}
	if !decoded.Checks[0].Flapping || decoded.Checks[1].SilencedUntil != "2026-11-22T05:00:00Z" || decoded.Checks[1].SilenceReason != "ACME maintenance" {
		t.Errorf("JSON checks %+v", decoded.Checks)
	}
}

// validate reports every mistake in the maintenance windows at its line
// (exit 2), and accepts a good window.
func TestValidateMaintenanceWindows(t *testing.T) {
	t.Parallel()
	bad := writeConfig(t, `maintenance:
  - {checks: [c, nope], schedule: "CRON_TZ=Europe/Mordor 0 2 * * 0", duration: 2h}
  - {schedule: "0 2 * * 0", duration: 0s}
  - {schedule: "@every 1h", duration: 1h}
checks:
  - {name: c, type: courier, token: abcdefgh}
`)
	code, stdout, stderr := run("validate", "--config", bad)
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q: want 2 and nothing on stdout", code, stdout)
	}
	for _, want := range []string{
		bad + `:2:18: maintenance[0].checks: no check is named "nope"`,
		bad + `:2:35: maintenance[0].schedule: "CRON_TZ=Europe/Mordor 0 2 * * 0" is not a window's schedule: unknown time zone "Europe/Mordor"`,
		bad + `:3:39: maintenance[1].duration must be positive, got "0s"`,
		bad + `:4:16: maintenance[2].schedule: "@every 1h" is not a window's schedule: @every has no fixed times`,
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	good := writeConfig(t, "maintenance:\n  - {schedule: \"CRON_TZ=Asia/Kolkata 30 1 * * *\", duration: 90m}\nchecks:\n  - {name: c, type: courier, token: abcdefgh}\n")
	if code, _, stderr := run("validate", "--config", good); code != exitOK {
		t.Errorf("a good window: exit %d\n%s", code, stderr)
	}
}

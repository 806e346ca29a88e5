package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

var silenceIDLine = regexp.MustCompile(`^[0-9a-f]{8}$`)

// add (flags after the check names), list, status, remove, list again: the
// silence is in the state between, and gone after.
func TestSilenceRoundTrip(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	writeOnCallState(t, cfgPath, statePath, time.Now())
	before := time.Now()
	code, stdout, stderr := run("silence", "add", "courier-main,partner-beta", "--for", "2h", "--reason", "courier maintenance", "--by", "bob", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("add: exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 2 || !silenceIDLine.MatchString(lines[0]) {
		t.Fatalf("add printed %q: want the id alone on the first line, then one line for a person", stdout)
	}
	id := lines[0]
	if !strings.Contains(lines[1], "courier-main, partner-beta") || !strings.Contains(lines[1], "UTC") || !strings.Contains(lines[1], "courier maintenance") {
		t.Errorf("the line for a person: %q", lines[1])
	}

	code, stdout, stderr = run("silence", "list", "--output", "json", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("list: exit %d\n%s", code, stderr)
	}
	var list struct {
		Silences []silenceJSON `json:"silences"`
	}
	decodeStrict(t, stdout, &list)
	var added *silenceJSON
	for i, s := range list.Silences {
		if s.ID == id {
			added = &list.Silences[i]
		}
	}
	if len(list.Silences) != 2 || added == nil {
		t.Fatalf("list: %+v; want the fixture's silence and %s", list.Silences, id)
	}
	until, err := time.Parse(time.RFC3339, added.Until)
	if err != nil || until.Before(before.Add(2*time.Hour).Truncate(time.Minute)) || until.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("until %q (%v), want two hours from the add", added.Until, err)
	}
	if strings.Join(added.Checks, ",") != "courier-main,partner-beta" || added.Reason != "courier maintenance" || added.By != "bob" {
		t.Errorf("listed: %+v", added)
	}

	_, stdout, _ = run("status", "--output", "json", "--config", cfgPath)
	var st statusJSON
	decodeStrict(t, stdout, &st)
	if r := st.Checks[0].SilenceReason; r == nil || *r != "courier maintenance" {
		t.Errorf("status of courier-main: silence reason %v", r)
	}

	code, stdout, stderr = run("silence", "list", "--config", cfgPath)
	if line := lineWith(stdout, id); code != exitOK || !strings.Contains(line, "by bob") || !strings.Contains(line, "courier maintenance") {
		t.Errorf("list as text: exit %d\n%s%s", code, stdout, stderr)
	}

	if code, stdout, stderr = run("silence", "remove", "--config", cfgPath, id); code != exitOK || !strings.Contains(stdout, id) {
		t.Fatalf("remove: exit %d\n%s%s", code, stdout, stderr)
	}
	f, c, err := state.Peek(statePath)
	if err != nil || c != nil || len(f.Silences) != 1 || f.Silences[0].ID == id {
		t.Errorf("after remove, the state holds %+v (%v %v)", f.Silences, c, err)
	}
	// The rest of the state is as it was: records, messages waiting.
	if f.Checks["courier-main"] == nil || f.Checks["courier-main"].Active == nil || f.Waiting() != 1 {
		t.Errorf("add or remove lost the rest of the state: %+v", f)
	}
	if code, _, stderr = run("silence", "remove", id, "--config", cfgPath); code != exitUsage || !strings.Contains(stderr, "no active silence has id") {
		t.Errorf("second remove: exit %d, want 2\n%s", code, stderr)
	}
}

// Every spelling of flags works, before the subcommand too; days count.
func TestSilenceAddFlagOrders(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	for _, args := range [][]string{
		{"silence", "add", "partner-acme", "--for", "2h", "--reason", "maintenance"},
		{"silence", "--config=" + cfgPath, "add", "--for=3d", "--reason=maintenance", "partner-acme"},
		{"silence", "add", "--reason", "maintenance", "partner-acme", "courier-main", "--for", "90m"},
	} {
		if !strings.HasPrefix(args[1], "--config") {
			args = append(args, "--config", cfgPath)
		}
		if code, stdout, stderr := run(args...); code != exitOK || !silenceIDLine.MatchString(strings.SplitN(stdout, "\n", 2)[0]) {
			t.Errorf("%q: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
	f, _, err := state.Peek(statePath)
	if err != nil || len(f.Silences) != 3 {
		t.Fatalf("silences: %+v %v", f.Silences, err)
	}
	if d := f.Silences[1].Until.Sub(f.Silences[1].Created); d > 72*time.Hour || d <= 72*time.Hour-time.Minute || f.Silences[1].Until.Second() != 0 {
		t.Errorf("--for=3d lasts %s, until %s: want 3 days, ending on the whole minute before", d, f.Silences[1].Until)
	}
	if got := strings.Join(f.Silences[2].Checks, ","); got != "courier-main,partner-acme" {
		t.Errorf("two positional names: %s", got)
	}
	if by := f.Silences[0].By; by == "" {
		t.Error("--by did not default to the user running it")
	}
}

// Bad input is exit 2 with a message naming what is wrong, before the state
// is touched: the file is not even created.
func TestSilenceBadInput(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"no reason", []string{"add", "partner-acme", "--for", "2h"}, "--reason is required"},
		{"a blank reason", []string{"add", "partner-acme", "--for", "2h", "--reason", "  "}, "--reason is required"},
		{"a reason with an escape sequence", []string{"add", "partner-acme", "--for", "2h", "--reason", "a\x1b[2Jb"}, "reason: holds a control"},
		{"an unknown check", []string{"add", "partner-acme,partner-gone", "--for", "2h", "--reason", "r"}, `has no check named "partner-gone"`},
		{"tokenwatch itself", []string{"add", "tokenwatch", "--for", "2h", "--reason", "r"}, `has no check named "tokenwatch"`},
		{"31 days", []string{"add", "partner-acme", "--for", "31d", "--reason", "r"}, "31 days is more than the 30 days a silence may last"},
		{"744 hours", []string{"add", "partner-acme", "--for", "744h", "--reason", "r"}, "31 days is more than the 30 days"},
		{"a year of days", []string{"add", "partner-acme", "--for", "99999999999999d", "--reason", "r"}, "99999999999999 days is more than the 30 days"},
		{"a negative duration", []string{"add", "partner-acme", "--for", "-1h", "--reason", "r"}, "a silence must last some time"},
		{"zero", []string{"add", "partner-acme", "--for", "0s", "--reason", "r"}, "a silence must last some time"},
		{"no duration", []string{"add", "partner-acme", "--reason", "r"}, "--for is required"},
		{"not a duration", []string{"add", "partner-acme", "--for", "soon", "--reason", "r"}, "not a duration"},
		{"no check", []string{"add", "--for", "1h", "--reason", "r"}, "name the checks"},
		{"a flag of another subcommand", []string{"add", "partner-acme", "--for", "1h", "--reason", "r", "--output", "json"}, "--output does not apply to silence add"},
		{"no subcommand", nil, "say add, list or remove"},
		{"an unknown subcommand", []string{"mute"}, "say add, list or remove"},
		{"remove without an id", []string{"remove"}, "name one silence"},
		{"list with an argument", []string{"list", "x"}, `unexpected argument "x"`},
		{"list as xml", []string{"list", "--output", "xml"}, "want text or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(append(append([]string{"silence"}, tc.args...), "--config", cfgPath)...)
			if code != exitUsage || !strings.Contains(stderr, tc.says) {
				t.Errorf("exit %d, want 2 saying %q\nstdout: %s\nstderr: %s", code, tc.says, stdout, stderr)
			}
			if strings.Contains(stderr, "\x1b") {
				t.Errorf("an escape sequence reached the terminal: %q", stderr)
			}
		})
	}
	if _, err := os.Lstat(statePath); !os.IsNotExist(err) {
		t.Errorf("bad input touched the state: %v", err)
	}
	// An unknown id is refused after reading the state, which stays as it was.
	writeOnCallState(t, cfgPath, statePath, time.Now())
	before, _ := os.ReadFile(statePath)
	if code, _, stderr := run("silence", "remove", "0000000z", "--config", cfgPath); code != exitUsage || !strings.Contains(stderr, `no active silence has id "0000000z"`) {
		t.Errorf("unknown id: exit %d\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(statePath); string(after) != string(before) {
		t.Error("a refused remove changed the state")
	}
	// A config error is exit 2 too.
	if code, _, _ := run("silence", "list", "--config", writeConfig(t, "checks: []\n")); code != exitUsage {
		t.Errorf("config error: exit %d", code)
	}
}

// add and remove wait for a run that holds the state, and give up with
// exit 3 after --wait, changing nothing.
func TestSilenceWhileStateLocked(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	writeOnCallState(t, cfgPath, statePath, time.Now())
	held, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(statePath)
	for _, args := range [][]string{
		{"silence", "add", "partner-acme", "--for", "1h", "--reason", "r", "--wait", "0s"},
		{"silence", "remove", "0a1b2c3d", "--wait", "0s"},
	} {
		start := time.Now()
		code, _, stderr := run(append(args, "--config", cfgPath)...)
		if code != exitUndelivered || !strings.Contains(stderr, "holds the state lock") {
			t.Errorf("%s: exit %d, want 3\n%s", args[1], code, stderr)
		}
		// A deadline far above the try it takes, below the store's default wait of 5s.
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("%s --wait 0s waited %s: 0s is a single try", args[1], took)
		}
	}
	if after, _ := os.ReadFile(statePath); string(after) != string(before) {
		t.Error("the state changed under another run's lock")
	}
	// list only reads: it does not wait.
	if code, stdout, _ := run("silence", "list", "--config", cfgPath); code != exitOK || !strings.Contains(stdout, "acme maintenance") {
		t.Errorf("list under the lock: exit %d\n%s", code, stdout)
	}
	held.Close()
	if code, _, stderr := run("silence", "add", "partner-acme", "--for", "1h", "--reason", "r", "--wait", "0s", "--config", cfgPath); code != exitOK {
		t.Errorf("add once the lock is free: exit %d\n%s", code, stderr)
	}
}

// An ended silence is neither listed nor removable, and the next add prunes
// it from the file.
func TestEndedSilence(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	writeOnCallState(t, cfgPath, statePath, time.Now().Add(-3*time.Hour)) // its silence ended an hour and a half ago
	ended := func() string {
		f, _, _ := state.Peek(statePath)
		if len(f.Silences) == 0 {
			return ""
		}
		return f.Silences[0].ID
	}
	id := ended()
	if code, stdout, _ := run("silence", "list", "--config", cfgPath); code != exitOK || strings.Contains(stdout, id) || !strings.Contains(stdout, "no active silence") {
		t.Errorf("list shows an ended silence: %s", stdout)
	}
	if code, _, _ := run("silence", "remove", id, "--config", cfgPath); code != exitUsage {
		t.Errorf("remove of an ended silence: exit %d, want 2", code)
	}
	if code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--config", cfgPath); code != exitOK {
		t.Fatalf("add: exit %d\n%s", code, stderr)
	}
	if f, _, _ := state.Peek(statePath); len(f.Silences) != 1 || f.Silences[0].ID == id {
		t.Errorf("the ended silence was not pruned: %+v", f.Silences)
	}
}

// lineWith is the first line of text that contains s, or "".
func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// The whole on-call story through the commands, as a CronJob lives it (each
// run a new process with only the state file): a silenced check that fails
// is checked but sends nothing, status shows it silenced; once the silence
// is removed, the next run alerts and says it was silenced.
func TestSilenceAcrossRuns(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	slack := testkit.NewSlack(t)
	dir := t.TempDir()
	cfgPath := writeConfig(t, fmt.Sprintf("slack: {webhook_url: %s}\nstate: {path: %s/state.json}\nchecks:\n  - {name: c, type: courier, base_url: %s, token: abcdefgh}\n",
		slack.WebhookURL("/services/T/B/x"), dir, api.URL))
	code, stdout, stderr := run("silence", "add", "c", "--for", "1h", "--reason", "courier maintenance", "--config", cfgPath)
	if code != exitOK {
		t.Fatalf("silence add: exit %d\n%s", code, stderr)
	}
	id := strings.SplitN(stdout, "\n", 2)[0]
	if code, _, stderr := run("run", "--config", cfgPath); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	if p := slack.Payloads(); len(p) != 0 {
		t.Errorf("a silenced check alerted: %v", p)
	}
	_, stdout, _ = run("status", "--output", "json", "--config", cfgPath)
	var st statusJSON
	decodeStrict(t, stdout, &st)
	if c := st.Checks[0]; c.Outcome == nil || *c.Outcome != "forbidden" || c.Alert != nil || c.SilenceReason == nil || *c.SilenceReason != "courier maintenance" {
		t.Errorf("status after the silenced run: %+v", c)
	}
	if code, _, stderr := run("silence", "remove", id, "--config", cfgPath); code != exitOK {
		t.Fatalf("silence remove: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := run("run", "--config", cfgPath); code != exitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	p := slack.Payloads()
	if len(p) != 1 || !strings.Contains(strings.ToLower(p[0]), "silenced") {
		t.Errorf("after the silence: %d messages, want one alert saying the check was silenced: %v", len(p), p)
	}
	_, stdout, _ = run("status", "--output", "json", "--config", cfgPath)
	decodeStrict(t, stdout, &st)
	if c := st.Checks[0]; c.Alert == nil || c.Alert.Outcome != "forbidden" || c.SilencedUntil != nil {
		t.Errorf("status after the alert: %+v", c)
	}
}

func TestSilenceEndsOnAWholeMinute(t *testing.T) {
	now := time.Date(2026, 11, 22, 7, 47, 50, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want time.Time
	}{
		{time.Hour, time.Date(2026, 11, 22, 8, 47, 0, 0, time.UTC)},
		{30 * 24 * time.Hour, time.Date(2026, 12, 22, 7, 47, 0, 0, time.UTC)},
		{5 * time.Second, now.Add(5 * time.Second)}, // no whole minute after now: as asked
	} {
		if got := silenceEnd(now, tc.d); !got.Equal(tc.want) {
			t.Errorf("silenceEnd(%s) = %s, want %s", tc.d, got, tc.want)
		}
	}
}

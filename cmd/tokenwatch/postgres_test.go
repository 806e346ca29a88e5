package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// pgConfig is the configuration at cfgPath with its state moved to the
// PostgreSQL database of dsn.
func pgConfig(t testing.TB, cfgPath, dsn string) string {
	t.Helper()
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	if !strings.HasPrefix(first, "state: {path: ") {
		t.Fatalf("the configuration does not start with its state: %q", first)
	}
	return writeConfig(t, fmt.Sprintf("state: {postgres: {dsn: %q}}\n%s", dsn, rest))
}

// closedDSN is a DSN with a password, for a server that is not there.
func closedDSN(t *testing.T, password string) string {
	return fmt.Sprintf("postgres://tw:%s@%s/tokenwatch?sslmode=disable&connect_timeout=5", password, testkit.FreeAddr(t))
}

// snapshot is what the configuration's store holds now.
func snapshot(t *testing.T, cfgPath string) *state.File {
	t.Helper()
	cfg, problems := config.Load(cfgPath, config.OSEnv)
	if problems.HasErrors() {
		t.Fatalf("config: %v", problems)
	}
	s, err := openStore(context.Background(), cfg, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// openStore builds the store the configuration names; a database it cannot
// use is an error that says neither the DSN nor its password.
func TestOpenStore(t *testing.T) {
	t.Parallel()
	cfgPath, statePath := onCallConfig(t)
	cfg, _ := config.Load(cfgPath, config.OSEnv)
	s, err := openStore(context.Background(), cfg, time.Second, nil)
	if f, ok := s.(*store.File); err != nil || !ok || f.Path != statePath || f.Wait != time.Second {
		t.Errorf("state.path: %#v, %v; want the file store on %s", s, err, statePath)
	}

	const closedPW = "cl0sed-server-pw"
	dsn := pgtest.DSN(t)
	const wrongPW = "wr0ng-pw-9f3a"
	rightDSN := pgtest.PasswordRole(t, dsn, "tw_cmd", "r1ght-pw-7c2e")
	for name, dsn := range map[string]string{
		"a closed server":  closedDSN(t, closedPW),
		"a wrong password": strings.Replace(rightDSN, "r1ght-pw-7c2e", wrongPW, 1),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := &config.Config{State: config.State{Postgres: &config.Postgres{DSN: secret.New(dsn)}}}
			s, err := openStore(context.Background(), cfg, time.Second, nil)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			for _, secret := range []string{closedPW, wrongPW, dsn} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error says a secret: %v", err)
				}
			}
		})
	}
}

// The story of a move to PostgreSQL, through the commands: a state file
// with a running incident (an active alert with its Slack thread, a
// reminder waiting, a silence) is imported; status then shows in
// PostgreSQL exactly what it showed from the file; the thread is kept; a
// second import is refused; silence add, list and remove work as on the
// file. The file is only read.
func TestStateImportThenCommandsOnPostgres(t *testing.T) {
	t.Parallel()
	fileCfg, statePath := onCallConfig(t)
	now := time.Now()
	writeOnCallState(t, fileCfg, statePath, now)
	thread := state.Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"}
	addThread(t, statePath, "courier-main", thread)
	before, _ := os.ReadFile(statePath)
	if code, fromFile, _ := run("status", "--output", "json", "--config", fileCfg); code != exitOK || !strings.Contains(fromFile, `"invalid"`) {
		t.Fatalf("status from the file: exit %d\n%s", code, fromFile)
	}
	_, fromFile, _ := run("status", "--output", "json", "--config", fileCfg)

	pgCfg := pgConfig(t, fileCfg, pgtest.DSN(t))
	code, stdout, stderr := run("state", "import", "--from", statePath, "--config", pgCfg)
	want := "2 checks, 1 active alerts, 1 threads, 1 silences, 1 undelivered messages"
	if code != exitOK || !strings.Contains(stdout, want) {
		t.Fatalf("import: exit %d, want 0 saying %q\n%s%s", code, want, stdout, stderr)
	}
	if after, _ := os.ReadFile(statePath); !bytes.Equal(before, after) {
		t.Error("import changed the file it read")
	}
	code, fromPG, stderr := run("status", "--output", "json", "--config", pgCfg)
	if code != exitOK || fromPG != fromFile {
		t.Errorf("status from PostgreSQL: exit %d\n%s%s\nwant what it said from the file:\n%s", code, fromPG, stderr, fromFile)
	}
	if got, ok := snapshot(t, pgCfg).Checks["courier-main"].Thread("slack"); !ok || got != thread {
		t.Errorf("courier-main's thread in PostgreSQL: %+v, want %+v", got, thread)
	}
	if code, stdout, _ = run("status", "--config", pgCfg); code != exitOK || !strings.HasPrefix(stdout, "State in PostgreSQL: last complete run") {
		t.Errorf("status as text: exit %d\n%s", code, stdout)
	}
	if code, _, stderr = run("state", "import", "--from", statePath, "--config", pgCfg); code != exitUsage || !strings.Contains(stderr, "already holds state") {
		t.Errorf("second import: exit %d, want 2\n%s", code, stderr)
	}

	code, stdout, stderr = run("silence", "add", "courier-main", "--for", "2h", "--reason", "courier maintenance", "--by", "bob", "--config", pgCfg)
	if code != exitOK || !silenceIDLine.MatchString(strings.SplitN(stdout, "\n", 2)[0]) {
		t.Fatalf("silence add: exit %d\n%s%s", code, stdout, stderr)
	}
	id := strings.SplitN(stdout, "\n", 2)[0]
	if code, stdout, _ = run("silence", "list", "--config", pgCfg); code != exitOK || !strings.Contains(lineWith(stdout, id), "courier maintenance") || !strings.Contains(stdout, "acme maintenance") {
		t.Errorf("silence list: exit %d\n%s", code, stdout)
	}
	var st statusJSON
	_, stdout, _ = run("status", "--output", "json", "--config", pgCfg)
	decodeStrict(t, stdout, &st)
	if r := st.Checks[0].SilenceReason; r == nil || *r != "courier maintenance" || st.Checks[0].Alert == nil || len(st.Pending) != 1 {
		t.Errorf("status after silence add: %+v", st)
	}
	if code, _, stderr = run("silence", "remove", id, "--config", pgCfg); code != exitOK {
		t.Fatalf("silence remove: exit %d\n%s", code, stderr)
	}
	f := snapshot(t, pgCfg)
	if len(f.Silences) != 1 || f.Silences[0].ID == id || f.Checks["courier-main"].Active == nil || f.Waiting() != 1 {
		t.Errorf("after remove: silences %+v, courier-main %+v, %d waiting", f.Silences, f.Checks["courier-main"], f.Waiting())
	}
	if code, _, stderr = run("silence", "remove", id, "--config", pgCfg); code != exitUsage || !strings.Contains(stderr, "no active silence has id") {
		t.Errorf("second remove: exit %d, want 2\n%s", code, stderr)
	}
}

// addThread records where check's incident lives in the state file.
func addThread(t *testing.T, statePath, check string, thread state.Thread) {
	t.Helper()
	st, err := state.Open(statePath, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f, _, err := st.Load(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.Checks[check].SetThread("slack", thread)
	if err := st.Save(f); err != nil {
		t.Fatal(err)
	}
}

// The first release's state file is imported as the file store reads it,
// migrated in memory: the incident goes on in PostgreSQL, in its thread,
// and the file is left as it is (no backup beside it).
func TestStateImportFormat1(t *testing.T) {
	t.Parallel()
	fixture, err := os.ReadFile("../../internal/state/testdata/v1-state.json")
	if err != nil {
		t.Fatal(err)
	}
	statePath := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(statePath, fixture, 0o600); err != nil {
		t.Fatal(err)
	}
	pgCfg := writeConfig(t, fmt.Sprintf(`state: {postgres: {dsn: %q}}
checks:
  - {name: courier-main, type: courier, token: y0_still-revoked}
  - {name: partner-acme, type: partner_oauth, host: "https://partner.example.com", client_id: acme, client_secret: s3cret}
`, pgtest.DSN(t)))
	if code, stdout, stderr := run("state", "import", "--from", statePath, "--config", pgCfg); code != exitOK || !strings.Contains(stdout, "1 active alerts, 1 threads") {
		t.Fatalf("import: exit %d\n%s%s", code, stdout, stderr)
	}
	if after, _ := os.ReadFile(statePath); !bytes.Equal(after, fixture) {
		t.Error("import changed the file")
	}
	if aside, _ := filepath.Glob(statePath + ".*"); len(aside) > 0 {
		t.Errorf("files beside the imported one: %v", aside)
	}
	var st statusJSON
	_, stdout, _ := run("status", "--output", "json", "--config", pgCfg)
	decodeStrict(t, stdout, &st)
	if a := st.Checks[0].Alert; a == nil || a.Outcome != "invalid" || a.Since != "2026-11-20T03:00:00Z" {
		t.Errorf("courier-main after the import: %+v", st.Checks[0])
	}
	if th, ok := snapshot(t, pgCfg).Checks["courier-main"].Thread("slack"); !ok || th.TS != "1795143600.000100" {
		t.Errorf("the thread: %+v", th)
	}
}

// What import refuses, and with which code: usage and configuration are
// exit 2; a file it cannot use or a database it cannot reach is exit 3,
// with nothing imported and no secret said.
func TestStateImportRefusals(t *testing.T) {
	t.Parallel()
	fileCfg, statePath := onCallConfig(t)
	writeOnCallState(t, fileCfg, statePath, time.Now())
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	corrupt := write("corrupt.json", `{"version":2,"checks":{`)
	newer := write("newer.json", `{"version":99,"checks":{}}`)
	const pw = "cl0sed-import-pw"
	closedCfg := pgConfig(t, fileCfg, closedDSN(t, pw))
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"help", []string{"state", "import", "--help"}, exitOK, "Exit status: 0 imported; 2 no --from"},
		{"no subcommand", []string{"state"}, exitUsage, "say import"},
		{"an unknown subcommand", []string{"state", "export"}, exitUsage, "say import"},
		{"no --from", []string{"state", "import", "--config", closedCfg}, exitUsage, "--from is required"},
		{"a positional", []string{"state", "import", "x", "--from", statePath, "--config", closedCfg}, exitUsage, `unexpected argument "x"`},
		{"a file state configured", []string{"state", "import", "--from", statePath, "--config", fileCfg}, exitUsage, "set state.postgres"},
		{"a missing file", []string{"state", "import", "--from", filepath.Join(dir, "nope.json"), "--config", closedCfg}, exitUndelivered, "no such file"},
		{"a corrupt file", []string{"state", "import", "--from", corrupt, "--config", closedCfg}, exitUndelivered, "is corrupt (not valid JSON"},
		{"a newer file", []string{"state", "import", "--from", newer, "--config", closedCfg}, exitUndelivered, "written by a newer tokenwatch"},
		{"a directory", []string{"state", "import", "--from", dir, "--config", closedCfg}, exitUndelivered, "not a regular file"},
		{"a database down", []string{"state", "import", "--from", statePath, "--config", closedCfg}, exitUndelivered, "nothing was imported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.says) {
				t.Errorf("exit %d, want %d saying %q\nstdout: %s\nstderr: %s", code, tc.code, tc.says, stdout, stderr)
			}
			if strings.Contains(stderr, pw) {
				t.Errorf("the password reached stderr: %s", stderr)
			}
		})
	}
}

// status and silence against a database that is down: exit 3, a message,
// no password.
func TestCommandsWithPostgresDown(t *testing.T) {
	t.Parallel()
	fileCfg, _ := onCallConfig(t)
	const pw = "cl0sed-status-pw"
	cfgPath := pgConfig(t, fileCfg, closedDSN(t, pw))
	for _, args := range [][]string{
		{"status"},
		{"silence", "list"},
		{"silence", "add", "courier-main", "--for", "1h", "--reason", "r"},
		{"silence", "remove", "0a1b2c3d"},
	} {
		code, stdout, stderr := run(append(args, "--config", cfgPath)...)
		if code != exitUndelivered || !strings.Contains(stderr, "connect") || strings.Contains(stderr, pw) || stdout != "" {
			t.Errorf("%q: exit %d, want 3 saying it could not connect, without the password\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
}

// doctor with state.postgres probes the database, not a file: a warn
// before the first run, ok once run has created the schema; no state
// file is created.
func TestDoctorOnPostgres(t *testing.T) {
	t.Parallel()
	fileCfg, statePath := onCallConfig(t)
	cfgPath := pgConfig(t, fileCfg, pgtest.DSN(t))
	item := func() (string, string) {
		t.Helper()
		_, stdout, stderr := run("doctor", "--output", "json", "--config", cfgPath)
		var out struct {
			Items []struct{ Name, Result, Detail string } `json:"items"`
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("doctor: %v\n%s%s", err, stdout, stderr)
		}
		for _, it := range out.Items {
			if it.Name == "state" {
				t.Errorf("doctor probed a state file: %+v", it)
			}
			if it.Name == "state postgresql" {
				return it.Result, it.Detail
			}
		}
		t.Fatalf("no state postgresql item: %s", stdout)
		return "", ""
	}
	if r, d := item(); r != "warn" || !strings.Contains(d, "no tokenwatch schema yet: run or serve creates it") {
		t.Errorf("before any run: %s %q", r, d)
	}
	snapshot(t, cfgPath) // opening the store creates the schema, as run does
	if r, d := item(); r != "ok" || !strings.Contains(d, "connected, schema") {
		t.Errorf("after: %s %q", r, d)
	}
	if _, err := os.Lstat(statePath); !os.IsNotExist(err) {
		t.Errorf("a state file appeared: %v", err)
	}
}

// config.yaml.example's commented state.postgres, uncommented in place of
// state.path, passes validate with its DSN file beside it.
func TestExamplePostgresStateIsValid(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	replaced := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case line == "  path: /var/lib/tokenwatch/state.json":
			continue
		case line == "  # postgres:" || strings.HasPrefix(line, "  #   dsn_file: "):
			line, replaced = "  "+strings.TrimPrefix(line, "  # "), true
		}
		out = append(out, line)
	}
	if !replaced {
		t.Fatal("config.yaml.example has no commented state.postgres")
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]string{"courier-token": "example-courier-token", "acme-secret": "example-acme-secret",
		"postgres-dsn": "postgres://tokenwatch:example-pw@db.internal:5432/tokenwatch?sslmode=verify-full"} {
		if err := os.WriteFile(filepath.Join(dir, "secrets", name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.Join(out, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X", "ACME_CLIENT_ID": "987"}
	cfg, problems := config.Load(cfgPath, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if problems.HasErrors() || cfg.State.Postgres == nil || cfg.State.Path != "" {
		t.Fatalf("the example with state.postgres: %v", problems)
	}
}

// While a decision holds PostgreSQL's locks, silence add waits --wait and
// exits 3 saying so, changing nothing; status and silence list, which read
// a snapshot, answer at once.
func TestSilenceWhilePostgresDecides(t *testing.T) {
	t.Parallel()
	fileCfg, _ := onCallConfig(t)
	cfgPath := pgConfig(t, fileCfg, pgtest.DSN(t))
	cfg, _ := config.Load(cfgPath, config.OSEnv)
	s, err := openStore(context.Background(), cfg, time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sess, err := s.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	deciding, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- sess.Decide(context.Background(), store.Scope{All: true}, func(*state.File) error {
			close(deciding)
			<-release
			return nil
		})
	}()
	<-deciding
	start := time.Now()
	code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--wait", "0s", "--config", cfgPath)
	if code != exitUndelivered || !strings.Contains(stderr, "holds the state lock") || !strings.Contains(stderr, "nothing was changed") {
		t.Errorf("silence add under a decision: exit %d, want 3\n%s", code, stderr)
	}
	if took := time.Since(start); took > 3*time.Second { // far above the try, below the default 5s
		t.Errorf("--wait 0s waited %s", took)
	}
	for _, args := range [][]string{{"status"}, {"silence", "list"}} {
		if code, _, stderr := run(append(args, "--config", cfgPath)...); code != exitOK {
			t.Errorf("%q under a decision: exit %d\n%s", args, code, stderr)
		}
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f := snapshot(t, cfgPath); len(f.Silences) != 0 {
		t.Errorf("a refused add left silences: %+v", f.Silences)
	}
	if code, _, stderr := run("silence", "add", "courier-main", "--for", "1h", "--reason", "r", "--wait", "0s", "--config", cfgPath); code != exitOK {
		t.Errorf("add once the decision is over: exit %d\n%s", code, stderr)
	}
}

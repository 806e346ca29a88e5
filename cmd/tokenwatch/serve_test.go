package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/promtest"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// TestMain lets the serve tests run this test binary as the real
// tokenwatch process, so that signals reach it as they would in
// production; the tests themselves get a PostgreSQL server (pgtest).
func TestMain(m *testing.M) {
	if os.Getenv("TOKENWATCH_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(pgtest.Main(m))
}

type daemon struct {
	cmd    *exec.Cmd
	url    string
	stderr *bytes.Buffer
}

func startServe(t *testing.T, configPath string) *daemon {
	t.Helper()
	addr := testkit.FreeAddr(t)
	cmd := exec.Command(os.Args[0], "serve", "--config", configPath, "--listen", addr, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "TOKENWATCH_TEST_AS_MAIN=1")
	d := &daemon{cmd: cmd, url: "http://" + addr, stderr: &bytes.Buffer{}}
	cmd.Stderr = d.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return d
}

// up reports whether the daemon answers path with 200.
func (d *daemon) up(path string) bool {
	resp, err := http.Get(d.url + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (d *daemon) series(t *testing.T) map[string]float64 {
	return promtest.Series(t, promtest.Fetch(t, d.url+"/metrics"), "tokenwatch_")
}

func (d *daemon) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

func TestServeScrapeReloadAndStop(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	okAPI := newPathRecorder(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"message":"OK"}`) })
	dir := t.TempDir()
	statePath := dir + "/state.json"
	config := func(extra string) string {
		return fmt.Sprintf("state: {path: %s}\ndefaults: {schedule: '@every 1h'}\nchecks:\n  - {name: courier-main, type: courier, base_url: %s, token: tokenaaaa}\n  - {name: courier-ok, type: courier, base_url: %s, token: tokenbbbb}\n%s",
			statePath, api.URL, okAPI.URL, extra)
	}
	path := writeConfig(t, config(""))
	d := startServe(t, path)

	testkit.WaitFor(t, "serve to answer /healthz", func() bool { return d.up("/healthz") })
	testkit.WaitFor(t, "serve to be ready after its first pass", func() bool { return d.up("/readyz") })

	s := d.series(t)
	for _, check := range []string{"courier-main", "courier-ok"} {
		for _, o := range []string{"ok", "invalid", "forbidden", "unavailable", "bad_response"} {
			if _, ok := s[fmt.Sprintf(`tokenwatch_check_outcome{check=%q,outcome=%q,type="courier"}`, check, o)]; !ok {
				t.Errorf("no outcome %s series for %s after the first pass", o, check)
			}
		}
	}
	if s[`tokenwatch_check_outcome{check="courier-main",outcome="forbidden",type="courier"}`] != 1 || s[`tokenwatch_check_up{check="courier-ok",type="courier"}`] != 1 {
		t.Errorf("first pass verdicts not exported: %v", s)
	}
	promtest.CheckMetrics(t, promtest.Fetch(t, d.url+"/metrics"))

	// A bad configuration on SIGHUP keeps the old one running.
	if err := os.WriteFile(path, []byte("checks: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.signal(t, syscall.SIGHUP)
	testkit.WaitFor(t, "the failed reload metric", func() bool { return d.series(t)["tokenwatch_config_last_reload_successful{}"] == 0 })
	if _, ok := d.series(t)[`tokenwatch_check_up{check="courier-ok",type="courier"}`]; !ok {
		t.Fatal("a bad reload dropped the running checks")
	}

	// A good one adds the new check's series. Its schedule is the real
	// cron's shortest: this is the one test that runs the scheduler of the
	// command itself.
	if err := os.WriteFile(path, []byte(config("  - {name: courier-new, type: courier, base_url: "+okAPI.URL+", token: tokencccc, schedule: '@every 1s'}\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	d.signal(t, syscall.SIGHUP)
	testkit.WaitFor(t, "the new check to run on its schedule", func() bool {
		return d.series(t)[`tokenwatch_check_up{check="courier-new",type="courier"}`] == 1
	})
	if d.series(t)["tokenwatch_config_last_reload_successful{}"] != 1 {
		t.Error("reload metric not back to 1")
	}

	d.signal(t, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	if err := testkit.Receive(t, "serve to stop after SIGTERM", done); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM:\n%s", err, d.stderr.String())
	}
	state, err := os.ReadFile(statePath)
	if err != nil || !strings.Contains(string(state), `"courier-new"`) {
		t.Errorf("state not saved by serve: %v", err)
	}
	if !strings.Contains(d.stderr.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", d.stderr.String())
	}
}

// SIGINT cancels the checks in flight; the run still prints what it has.
func TestRunInterruptedPrintsWhatItHas(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 4)
	hang := newPathRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	okAPI := newPathRecorder(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"message":"OK"}`) })
	dir := t.TempDir()
	path := writeConfig(t, fmt.Sprintf("concurrency: 1\nstate: {path: %s/s.json}\ndefaults: {timeout: 1m}\nchecks:\n  - {name: fine, type: courier, base_url: %s, token: tokenaaaa}\n  - {name: hangs, type: courier, base_url: %s, token: tokenbbbb}\n",
		dir, okAPI.URL, hang.URL))
	cmd := exec.Command(os.Args[0], "run", "--config", path, "--output", "json")
	cmd.Env = append(os.Environ(), "TOKENWATCH_TEST_AS_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.Receive(t, "the hanging endpoint to be asked", arrived)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() }) // if it never stops
	testkit.Receive(t, "run to stop on SIGINT", done)
	var out jsonReport
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("no report after SIGINT: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if len(out.Checks) != 2 || out.Checks[0].Outcome != "ok" || !out.Checks[1].Interrupted {
		t.Errorf("report after SIGINT: %+v", out.Checks)
	}
	data, err := os.ReadFile(dir + "/s.json")
	if err != nil {
		t.Fatalf("state not saved after SIGINT: %v", err)
	}
	var st struct {
		Checks map[string]struct {
			FailuresInRow int `json:"failures_in_row"`
		} `json:"checks"`
	}
	if err := json.Unmarshal(data, &st); err != nil || st.Checks["hangs"].FailuresInRow != 0 {
		t.Errorf("the interrupted check moved the alert state: %s", data)
	}
}

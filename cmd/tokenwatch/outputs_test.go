package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/promtest"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// pathRecorder is a fake peer that records the paths it is asked, in order.
type pathRecorder struct {
	*httptest.Server
	mu    sync.Mutex
	paths []string
}

func newPathRecorder(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *pathRecorder {
	p := &pathRecorder{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.paths = append(p.paths, r.URL.Path)
		p.mu.Unlock()
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pathRecorder) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// events records, across several fake peers, the order in which they were called.
type events struct {
	mu  sync.Mutex
	log []string
}

func (e *events) add(s string) { e.mu.Lock(); e.log = append(e.log, s); e.mu.Unlock() }

func (e *events) reset() { e.mu.Lock(); e.log = nil; e.mu.Unlock() }

func (e *events) String() string { e.mu.Lock(); defer e.mu.Unlock(); return strings.Join(e.log, ",") }

// forbiddenAPI answers every courier check 403: a failing credential that
// alerts at once. (A 401 would be re-checked after a second, a wait these
// tests are not about; the checks package tests the re-check.)
func forbiddenAPI(t *testing.T) *httptest.Server {
	return testkit.Server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
}

func TestHeartbeatPings(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	tests := []struct {
		name      string
		slackUp   bool
		beatUp    bool
		wantPaths string
		wantCode  int
	}{
		{"delivered", true, true, "/ping/start,/ping", exitOK},
		{"Slack down: /fail", false, true, "/ping/start,/ping/fail", exitUndelivered},
		{"heartbeat down: exit 3", true, false, "/ping/start,/ping", exitUndelivered},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			slack := testkit.NewSlack(t)
			if !tc.slackUp {
				slack.Refuse(400, func(string) string { return "invalid_payload" })
			}
			beat := newPathRecorder(t, func(w http.ResponseWriter, r *http.Request) {
				if !tc.beatUp {
					w.WriteHeader(500)
				}
			})
			dir := t.TempDir()
			path := writeConfig(t, fmt.Sprintf("slack: {webhook_url: %s}\nheartbeat: {url: %s/ping}\nstate: {path: %s/s.json}\nchecks:\n  - {name: c, type: courier, base_url: %s, token: tokenvalue}\n",
				slack.URL, beat.URL, dir, api.URL))
			code, _, stderr := run("run", "--config", path)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tc.wantCode, stderr)
			}
			if got := strings.Join(beat.seen(), ","); got != tc.wantPaths {
				t.Errorf("heartbeat saw %q, want %q", got, tc.wantPaths)
			}
		})
	}
}

// A Pushgateway that is down or hangs makes the run exit 3, after the checks
// and the Slack message, and the run still ends: the push is bounded by the
// configuration's timeout (here a short one, so the test does not wait).
func TestPushgatewayTroubleComesAfterTheAlerts(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	var order events
	slack := newPathRecorder(t, func(w http.ResponseWriter, _ *http.Request) { order.add("slack"); fmt.Fprint(w, "ok") })
	hanging := newPathRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		order.add("push")
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the client hang up
		<-r.Context().Done()               // never answers: the client's timeout must end it
	})
	down := testkit.ClosedURL(t)
	for _, tc := range []struct{ name, gateway, order string }{
		{"down", down, "slack"},
		{"hanging", hanging.URL, "slack,push"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			order.reset()
			dir := t.TempDir()
			textfile := filepath.Join(dir, "tw.prom")
			path := writeConfig(t, fmt.Sprintf("slack: {webhook_url: %s}\nstate: {path: %s/s.json}\nmetrics: {textfile: %s, pushgateway: {url: %s}}\ndefaults: {timeout: 500ms}\nchecks:\n  - {name: c, type: courier, base_url: %s, token: tokenvalue}\n",
				slack.URL, dir, textfile, tc.gateway, api.URL))
			code, _, stderr := run("run", "--config", path)
			if code != exitUndelivered || !strings.Contains(stderr, "pushgateway") {
				t.Errorf("exit %d, want 3 with a pushgateway error\n%s", code, stderr)
			}
			if _, err := os.Stat(textfile); err != nil {
				t.Errorf("the textfile was not written: %v", err)
			}
			if got := order.String(); got != tc.order {
				t.Errorf("order of calls %q, want %q: the alert goes out before the push", got, tc.order)
			}
		})
	}
}

func TestRunPushesToARealPushgateway(t *testing.T) {
	t.Parallel()
	gateway := promtest.StartPushgateway(t)
	api := forbiddenAPI(t)
	dir := t.TempDir()
	textfile := filepath.Join(dir, "tokenwatch.prom")
	path := writeConfig(t, fmt.Sprintf("state: {path: %s/s.json}\nmetrics: {textfile: %s, pushgateway: {url: %s, job: tokenwatch}}\nchecks:\n  - {name: courier-main, type: courier, base_url: %s, token: tokenvalue}\n",
		dir, textfile, gateway, api.URL))
	// A run's own success shows in the next run's push: a push cannot
	// report whether it arrived.
	for range 2 {
		if code, _, stderr := run("run", "--config", path); code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
	}
	pushed := promtest.Series(t, promtest.Fetch(t, gateway+"/metrics"), "tokenwatch_", "instance")
	for _, want := range []string{
		`tokenwatch_check_up{check="courier-main",job="tokenwatch",type="courier"}`,
		`tokenwatch_check_outcome{check="courier-main",job="tokenwatch",outcome="forbidden",type="courier"}`,
		`tokenwatch_check_http_status{check="courier-main",job="tokenwatch",type="courier"}`,
		`tokenwatch_run_last_success_timestamp_seconds{job="tokenwatch"}`,
	} {
		if _, ok := pushed[want]; !ok {
			t.Errorf("the gateway lacks %s", want)
		}
	}
	if pushed[`tokenwatch_check_outcome{check="courier-main",job="tokenwatch",outcome="forbidden",type="courier"}`] != 1 {
		t.Errorf("outcome forbidden not 1 on the gateway")
	}
	data, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	promtest.CheckMetrics(t, data)
}

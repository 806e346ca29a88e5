package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The shipped Alertmanager configuration, and tokenwatch's Alertmanager
// notifier against Debian's Alertmanager.

const shippedAlertmanager = "alertmanager/alertmanager.yml"

// requireAlertmanager finds Debian's Alertmanager and amtool: missing
// ones fail the test in CI (make check installs them) and skip it elsewhere.
func requireAlertmanager(t *testing.T) (server, amtool string) {
	t.Helper()
	server, err1 := exec.LookPath("prometheus-alertmanager")
	amtool, err2 := exec.LookPath("amtool")
	if err1 != nil || err2 != nil {
		msg := "prometheus-alertmanager (with amtool) not installed: run `bash scripts/install-deps.sh` (make check does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return server, amtool
}

// The shipped configuration passes amtool, and routes a check of team
// partners to the partners' receiver, every other alert to on-call.
func TestAlertmanagerConfigChecksAndRoutesByTeam(t *testing.T) {
	_, amtool := requireAlertmanager(t)
	if out, err := runTool(t, ".", nil, amtool, "check-config", shippedAlertmanager); err != nil {
		t.Fatalf("amtool check-config: %v\n%s", err, out)
	}
	for labels, want := range map[string]string{
		"alertname=TokenwatchCredentialInvalid check=partner-acme team=partners": "partners",
		"alertname=TokenwatchCredentialInvalid check=courier-main":               "oncall",
		"alertname=TokenwatchEndpointUnavailable check=courier-main team=other":  "oncall",
	} {
		args := append([]string{"config", "routes", "test", "--config.file=" + shippedAlertmanager}, strings.Fields(labels)...)
		out, err := runTool(t, ".", nil, amtool, args...)
		if err != nil {
			t.Fatalf("amtool config routes test %s: %v\n%s", labels, err, out)
		}
		if got := lastLine(out); got != want {
			t.Errorf("%s routes to %q, want %q", labels, got, want)
		}
	}
}

// lastLine is the last non-empty line of amtool's output (warnings come first).
func lastLine(out string) string {
	lines := strings.Fields(strings.TrimSpace(out))
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// A revoked courier token of team partners pages through a real
// Alertmanager, configured as shipped, to the partners' Slack receiver,
// while tokenwatch's own Slack gets its message; a fixed token resolves
// it. With the Alertmanager down the run exits 3, and the next run
// delivers.
func TestAlertmanagerRoutesARevokedTokenToItsTeam(t *testing.T) {
	server, _ := requireAlertmanager(t)
	dir := t.TempDir()
	partners, oncall, ownSlack := newSlackRecorder(t), newSlackRecorder(t), newSlackRecorder(t)
	am := startAlertmanager(t, server, dir, partners.URL, oncall.URL)

	courier := fakeCourier(t, "invalid")
	config := filepath.Join(dir, "tokenwatch.yaml")
	writeFile(t, config, fmt.Sprintf(`state: {path: %q}
slack: {webhook_url: %q}
alertmanager:
  urls: [%q]
  labels: {source: tokenwatch}
  resend_window: 15m
checks:
  - {name: courier-main, type: courier, base_url: %q, token: %q, team: partners, owner: "@courier-team"}
`, filepath.Join(dir, "state.json"), ownSlack.URL, am.url, courier.URL, courierToken))

	sent := time.Now()
	if code := runOnce(t, config); code != 0 {
		t.Fatalf("run exited %d, want 0", code)
	}
	a := am.active(t, "TokenwatchCredentialInvalid")
	for k, want := range map[string]string{"check": "courier-main", "type": "courier", "team": "partners", "severity": "critical", "source": "tokenwatch"} {
		if a.Labels[k] != want {
			t.Errorf("label %s = %q, want %q (labels %v)", k, a.Labels[k], want, a.Labels)
		}
	}
	if !strings.Contains(a.Annotations["summary"], "courier-main is invalid") || a.Annotations["owner"] != "@courier-team" ||
		a.Annotations["runbook_url"] != "https://github.com/tokenwatch/tokenwatch/blob/main/docs/runbooks.md#tokenwatchcredentialinvalid" {
		t.Errorf("annotations %v: want the summary, the owner and the runbook", a.Annotations)
	}
	if ends := a.EndsAt.Sub(sent); ends < 14*time.Minute || ends > 16*time.Minute {
		t.Errorf("endsAt %s is %s after the run, want about the resend window (15m)", a.EndsAt, ends)
	}
	page := partners.wait(t, "the partners' page", "TokenwatchCredentialInvalid: courier-main")
	for _, want := range []string{"courier-main is invalid", "What to do:", "Owner: @courier-team", "docs/runbooks.md#tokenwatchcredentialinvalid"} {
		if !strings.Contains(page, want) {
			t.Errorf("the partners' page lacks %q:\n%s", want, page)
		}
	}
	ownSlack.wait(t, "tokenwatch's own Slack message", "courier-main")

	courier.set("ok")
	if code := runOnce(t, config); code != 0 {
		t.Fatalf("resolving run exited %d, want 0", code)
	}
	partners.wait(t, "the partners' resolution", "[RESOLVED] TokenwatchCredentialInvalid: courier-main")
	if n := len(am.alerts(t)); n != 0 {
		t.Errorf("%d alerts still active after the resolution", n)
	}
	if got := oncall.all(); len(got) != 0 {
		t.Errorf("on-call was paged for a check of team partners: %q", got)
	}

	am.stop()
	courier.set("invalid")
	if code := runOnce(t, config); code != 3 {
		t.Fatalf("run with the Alertmanager down exited %d, want 3", code)
	}
	am.start(t)
	if code := runOnce(t, config); code != 0 {
		t.Fatalf("run after the Alertmanager came back exited %d, want 0", code)
	}
	am.active(t, "TokenwatchCredentialInvalid")
}

// alertmanagerProc is Debian's Alertmanager configured as shipped, with
// the Slack receivers pointed at recorders and the group timers shortened.
type alertmanagerProc struct {
	bin, dir, addr, url string
	proc                *process
}

func startAlertmanager(t *testing.T, bin, dir, partnersURL, oncallURL string) *alertmanagerProc {
	t.Helper()
	shipped, err := os.ReadFile(shippedAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(shipped)
	for from, to := range map[string]string{
		"/etc/alertmanager/secrets/slack-oncall-webhook":   writeSecret(t, dir, "oncall", oncallURL),
		"/etc/alertmanager/secrets/slack-partners-webhook": writeSecret(t, dir, "partners", partnersURL),
		"group_wait: 30s":    "group_wait: 0s",
		"group_interval: 5m": "group_interval: 1s",
	} {
		if !strings.Contains(cfg, from) {
			t.Fatalf("%s no longer has %q: update the test", shippedAlertmanager, from)
		}
		cfg = strings.ReplaceAll(cfg, from, to)
	}
	writeFile(t, filepath.Join(dir, "alertmanager.yml"), cfg)
	addr := freeAddr(t)
	am := &alertmanagerProc{bin: bin, dir: dir, addr: addr, url: "http://" + addr}
	am.start(t)
	return am
}

func writeSecret(t *testing.T, dir, name, content string) string {
	path := filepath.Join(dir, name+"-webhook")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func (am *alertmanagerProc) start(t *testing.T) {
	t.Helper()
	am.proc = start(t, am.dir, am.bin, "--config.file=alertmanager.yml", "--storage.path=am-data",
		"--web.listen-address="+am.addr, "--cluster.listen-address=")
	waitHTTP(t, am.url+"/-/ready")
}

func (am *alertmanagerProc) stop() { am.proc.stop() }

// activeAlert is one alert of the Alertmanager's own API.
type activeAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	EndsAt      time.Time         `json:"endsAt"`
}

func (am *alertmanagerProc) alerts(t *testing.T) []activeAlert {
	t.Helper()
	resp, err := http.Get(am.url + "/api/v2/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []activeAlert
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// active waits until the Alertmanager holds an active alert of that name.
func (am *alertmanagerProc) active(t *testing.T, name string) activeAlert {
	t.Helper()
	var got activeAlert
	if !eventually(10*time.Second, 100*time.Millisecond, func() bool {
		for _, a := range am.alerts(t) {
			if a.Labels["alertname"] == name {
				got = a
				return true
			}
		}
		return false
	}) {
		t.Fatalf("the Alertmanager has no active %s", name)
	}
	return got
}

// slackRecorder is a Slack incoming webhook that keeps every payload.
type slackRecorder struct {
	*httptest.Server
	mu       sync.Mutex
	payloads []string
}

func newSlackRecorder(t *testing.T) *slackRecorder {
	s := &slackRecorder{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.payloads = append(s.payloads, decodeSlack(body))
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

// decodeSlack is a payload's text fields, JSON escapes undone.
func decodeSlack(body []byte) string {
	var p struct {
		Text        string `json:"text"`
		Attachments []struct {
			Title     string `json:"title"`
			TitleLink string `json:"title_link"`
			Text      string `json:"text"`
		} `json:"attachments"`
	}
	if json.Unmarshal(body, &p) != nil {
		return string(body)
	}
	parts := []string{p.Text}
	for _, a := range p.Attachments {
		parts = append(parts, a.Title, a.TitleLink, a.Text)
	}
	return strings.Join(parts, "\n")
}

func (s *slackRecorder) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.payloads...)
}

// wait returns the first payload that contains want, waiting for it.
func (s *slackRecorder) wait(t *testing.T, what, want string) string {
	t.Helper()
	var got string
	if !eventually(15*time.Second, 100*time.Millisecond, func() bool {
		for _, p := range s.all() {
			if strings.Contains(p, want) {
				got = p
				return true
			}
		}
		return false
	}) {
		t.Fatalf("%s (with %q) never came; got %q", what, want, s.all())
	}
	return got
}

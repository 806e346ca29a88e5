package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

const (
	secretToken   = "y0_SCAN-courier-token-7f3a"
	secretClient  = "SCAN-client-secret-91bd"
	secretIssued  = "SCAN-issued-access-token-55"
	secretHook    = "SCANhookpath0042"
	secretBot     = "xoxb-SCAN-bot-token-13"
	partnerClient = "scan-shop"
)

// echoingAPI answers in turn with every kind of answer, quoting back
// whatever secret it was sent, as a hostile or careless server might.
type echoingAPI struct {
	*httptest.Server
	step atomic.Int64
}

func newEchoingAPI(t *testing.T) *echoingAPI {
	api := &echoingAPI{}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		sent := r.Header.Get("Authorization") + " " + r.PostForm.Get("client_secret")
		w.Header().Set("Content-Type", "application/json")
		switch api.step.Load() % 7 {
		case 0: // ok, but the partner's own API rejects the issued token
			switch r.URL.Path {
			case "/api/v1/test":
				fmt.Fprint(w, `{"message":"OK"}`)
			case "/api/orders":
				w.WriteHeader(401)
				fmt.Fprintf(w, `{"error":"invalid_token","error_description":"rejected %s"}`, sent)
			default:
				fmt.Fprintf(w, `{"access_token":%q,"expires_in":300}`, secretIssued)
			}
		case 1: // invalid
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":"invalid_client","error_description":"bad credentials: %s"}`, sent)
		case 2: // forbidden
			w.WriteHeader(403)
			fmt.Fprintf(w, `{"error":"access_denied","error_description":"%s"}`, sent)
		case 3: // unavailable
			w.WriteHeader(503)
			fmt.Fprintf(w, `[{"code":503,"description":"down, you sent %s"}]`, sent)
		case 4: // bad_response: redirect quoting the secret
			w.Header().Set("Location", "https://elsewhere.example/?t="+r.PostForm.Get("client_secret"))
			w.WriteHeader(302)
		case 5: // bad_response: 200 that is not the contract
			fmt.Fprintf(w, `{"message":"%s","access_token":""}`, sent)
		case 6: // invalid with the Yango array
			w.WriteHeader(400)
			fmt.Fprintf(w, `[{"code":400,"description":"wrong secret %s"}]`, sent)
		}
	}))
	t.Cleanup(api.Close)
	return api
}

// run calls the command as main would and returns exit code, stdout, stderr.
func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestNoSecretLeaksUnderAnyOutcome(t *testing.T) {
	// Set once for both modes, which then run side by side: each waits out
	// the courier's 401 re-check (a second, as in production) three times.
	t.Setenv("COURIER_TOKEN", secretToken)
	for _, mode := range []string{"webhook", "bot"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			api := newEchoingAPI(t)
			slack := testkit.NewSlack(t)
			dir := t.TempDir()
			slackYAML := fmt.Sprintf("slack: {webhook_url: %s}", slack.WebhookURL("/services/T/B/"+secretHook))
			if mode == "bot" {
				slackYAML = fmt.Sprintf("slack: {bot_token: %s, channel: '#c', api_url: %s}", secretBot, slack.APIURL())
			}
			cfg := fmt.Sprintf(`%s
state: {path: %s/state.json}
defaults:
  alert: {after_outages: 1, repeat_every: 1s}
checks:
  - {name: courier, type: courier, base_url: %s, token: "${COURIER_TOKEN}"}
  - {name: partner, type: partner_oauth, host: %s, client_id: %s, client_secret: %s}
  - {name: partner-basic, type: partner_oauth, host: %s, client_id: %s, client_secret: %s, auth_style: basic}
  - {name: partner-deep, type: partner_oauth, host: %s, client_id: %s, client_secret: %s, verify: {path: /api/orders}}
`, slackYAML, dir, api.URL, api.URL, partnerClient, secretClient, api.URL, partnerClient, secretClient, api.URL, partnerClient, secretClient)
			path := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			var everything strings.Builder
			seen := map[string]bool{}
			for step := 0; step < 8; step++ {
				api.step.Store(int64(step))
				for _, format := range []string{"json", "text"} {
					code, stdout, stderr := run("run", "--config", path, "--output", format, "--log-level", "debug", "--log-format", format)
					if code != exitOK {
						t.Fatalf("step %d: exit %d\n%s", step, code, stderr)
					}
					everything.WriteString(stdout + stderr)
					if format == "json" {
						var out jsonReport
						if err := json.Unmarshal([]byte(stdout), &out); err != nil {
							t.Fatalf("stdout is not the JSON report: %v", err)
						}
						for _, c := range out.Checks {
							seen[c.Outcome] = true
						}
					}
				}
				code, stdout, stderr := run("run", "--config", path, "--dry-run")
				if code != exitOK {
					t.Fatalf("dry run: exit %d", code)
				}
				everything.WriteString(stdout + stderr)
			}
			for _, o := range []string{"ok", "invalid", "forbidden", "unavailable", "bad_response"} {
				if !seen[o] {
					t.Errorf("outcome %s never happened: the scan does not cover it", o)
				}
			}
			state, err := os.ReadFile(filepath.Join(dir, "state.json"))
			if err != nil {
				t.Fatal(err)
			}
			everything.Write(state)
			payloads := slack.Payloads()
			if len(payloads) < 5 {
				t.Errorf("only %d Slack payloads: the scan saw too little", len(payloads))
			}
			for _, p := range payloads {
				everything.WriteString(p)
			}
			all := everything.String()
			for _, s := range []string{secretToken, secretClient, secretIssued, secretHook, secretBot} {
				if i := strings.Index(all, s); i >= 0 {
					t.Errorf("secret %q leaked: ...%s...", s[:8], all[max(0, i-80):min(len(all), i+40)])
				}
			}
		})
	}
}

func writeConfig(t testing.TB, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	okAPI := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"message":"OK"}`) })
	badAPI := forbiddenAPI(t)
	downSlack := testkit.NewSlack(t)
	downSlack.Refuse(404, func(string) string { return "no_service" })
	dir := t.TempDir()
	cfg := func(api, extra string) string {
		return writeConfig(t, fmt.Sprintf("%s\nstate: {path: %s/%s.json}\nchecks:\n  - {name: c, type: courier, base_url: %s, token: abcdefgh}\n", extra, dir, strings.ReplaceAll(api, "/", "_")+fmt.Sprint(len(extra)), api))
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"ok", []string{"run", "--config", cfg(okAPI.URL, "")}, exitOK},
		{"a failing check is still exit 0", []string{"run", "--config", cfg(badAPI.URL, "")}, exitOK},
		{"--strict with a failing check", []string{"run", "--strict", "--config", cfg(badAPI.URL, "")}, exitNotOK},
		{"--strict all ok", []string{"run", "--strict", "--config", cfg(okAPI.URL, "")}, exitOK},
		{"Slack refuses: exit 3", []string{"run", "--config", cfg(badAPI.URL, "slack: {webhook_url: "+downSlack.URL+"}")}, exitUndelivered},
		{"3 wins over 1", []string{"run", "--strict", "--config", cfg(badAPI.URL, "slack: {webhook_url: "+downSlack.URL+"/x}")}, exitUndelivered},
		{"config error", []string{"run", "--config", writeConfig(t, "checks: []\n")}, exitUsage},
		{"missing config", []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, exitUsage},
		{"--only unknown check", []string{"run", "--only", "nope", "--config", cfg(okAPI.URL, "")}, exitUsage},
		{"bad --output", []string{"run", "--output", "xml", "--config", cfg(okAPI.URL, "")}, exitUsage},
		{"unknown flag", []string{"run", "--frobnicate"}, exitUsage},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"version", []string{"version"}, exitOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, stderr := run(tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d\n%s", code, tc.want, stderr)
			}
		})
	}
}

func TestValidatePrintsEveryProblem(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "concurrency: 0\ndefaults:\n  timeout: soon\nchecks:\n  - name: c\n    type: courier\n")
	code, stdout, stderr := run("validate", "--config", path)
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d stdout %q: want 2 and nothing on stdout", code, stdout)
	}
	for _, want := range []string{path + ":1:14: concurrency must be at least 1", path + ":3:12: timeout:", path + ":5:5: check c has no secret"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	good := writeConfig(t, "checks:\n  - {name: c, type: courier, token: abcdefgh}\n")
	if code, _, stderr := run("validate", "--config", good); code != exitOK || !strings.Contains(stderr, "valid") {
		t.Errorf("valid config: exit %d %s", code, stderr)
	}
}

func TestRunOutputJSONAndOnly(t *testing.T) {
	t.Parallel()
	api := forbiddenAPI(t)
	dir := t.TempDir()
	path := writeConfig(t, fmt.Sprintf("state: {path: %s/s.json}\nchecks:\n  - {name: a, type: courier, base_url: %s, token: tokenaaaa}\n  - {name: b, type: courier, base_url: %s, token: tokenbbbb}\n", dir, api.URL, api.URL))
	code, stdout, _ := run("run", "--config", path, "--only", "b", "--output", "json")
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	var out jsonReport
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Checks) != 1 || out.Checks[0].Name != "b" || out.Checks[0].Outcome != "forbidden" || out.Checks[0].HTTPStatus != 403 ||
		out.Checks[0].Fingerprint != secret.Fingerprint("tokenbbbb") || out.Notifications == nil {
		t.Errorf("JSON report %+v", out)
	}
}

func TestDemoShowsVerdictsMessagesAndMetrics(t *testing.T) {
	t.Parallel() // the demo waits out its courier's 401 re-check (a second) in each of its three passes
	code, stdout, stderr := run("demo")
	if code != exitOK {
		t.Fatalf("demo exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"courier-main courier ok 200",
		"courier-backup courier invalid 401",
		"partner-acme partner_oauth invalid 400",
		"partner-initech partner_oauth ok 200",
		`partner says "client_secret is not valid for client_id demo-shop`,
		"partner-globex partner_oauth unavailable -",
		"courier-backup: credential INVALID",
		"https://oauth.yandex.com/authorize?response_type=token&client_id=0123456789abcdef0123456789abcdef",
		"partner-globex: endpoint UNAVAILABLE",
		`tokenwatch_check_outcome{check="courier-backup",outcome="invalid",type="courier"} 1`,
	} {
		if !strings.Contains(strings.Join(strings.Fields(stdout), " "), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Count(stdout, "Slack received") != 2 {
		t.Errorf("want Slack messages in runs 1 and 3 only")
	}
}

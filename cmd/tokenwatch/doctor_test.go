package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// doctorConfig writes a configuration whose Slack is the fake, whose
// Pushgateway is gateway and whose state lives at statePath.
func doctorConfig(t *testing.T, slackYAML, gateway, statePath string) string {
	t.Helper()
	api := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("doctor sent a request to a check's endpoint: %s %s", r.Method, r.URL.Path)
	})
	return writeConfig(t, fmt.Sprintf(`%s
state: {path: %s}
metrics: {pushgateway: {url: %s}}
checks:
  - {name: c, type: courier, base_url: %s, token: %s}
`, slackYAML, statePath, gateway, api.URL, secretToken))
}

// doctorOutput is the JSON shape of the contract.
type doctorOutput struct {
	Items []struct {
		Name   string `json:"name"`
		Result string `json:"result"`
		Detail string `json:"detail"`
	} `json:"items"`
}

func TestDoctor(t *testing.T) {
	gateway := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/-/ready" {
			t.Errorf("doctor pushed to the gateway: %s %s", r.Method, r.URL.Path)
		}
	})
	regular := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		bot      bool
		refuse   int    // the fake Slack's status; 0 leaves it accepting
		reason   string // and its error string
		gateway  string
		state    string
		want     int
		results  map[string]string
		contains string
	}{
		{name: "alive webhook", refuse: 400, reason: "invalid_payload", want: exitOK,
			results: map[string]string{"slack webhook": "ok", "pushgateway": "ok", "state": "ok"}, contains: "alive (400 invalid_payload"},
		{name: "dead webhook", refuse: 404, reason: "no_service", want: exitUndelivered,
			results: map[string]string{"slack webhook": "fail", "pushgateway": "ok"}, contains: "dead (404 no_service)"},
		{name: "good bot token", bot: true, want: exitOK,
			results: map[string]string{"slack bot token": "ok"}, contains: "valid"},
		{name: "bad bot token", bot: true, refuse: 200, reason: "invalid_auth", want: exitUndelivered,
			results: map[string]string{"slack bot token": "fail"}, contains: "Slack says invalid_auth"},
		{name: "gateway down", refuse: 400, reason: "no_text", gateway: testkit.ClosedURL(t), want: exitUndelivered,
			results: map[string]string{"slack webhook": "ok", "pushgateway": "fail"}, contains: "unreachable"},
		{name: "state unwritable", refuse: 400, reason: "invalid_payload", state: filepath.Join(regular, "state.json"), want: exitUndelivered,
			results: map[string]string{"state": "fail"}, contains: "cannot "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slack := testkit.NewSlack(t)
			if tc.refuse != 0 {
				slack.Refuse(tc.refuse, func(string) string { return tc.reason })
			}
			slackYAML := fmt.Sprintf("slack: {webhook_url: %s}", slack.WebhookURL("/services/T/B/"+secretHook))
			if tc.bot {
				slackYAML = fmt.Sprintf("slack: {bot_token: %s, channel: '#c', api_url: %s}", secretBot, slack.APIURL())
			}
			gw, statePath := tc.gateway, tc.state
			if gw == "" {
				gw = gateway.URL
			}
			if statePath == "" {
				statePath = filepath.Join(t.TempDir(), "state.json")
			}
			path := doctorConfig(t, slackYAML, gw, statePath)

			code, stdout, stderr := run("doctor", "--config", path, "--output", "json")
			if code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.want, stdout, stderr)
			}
			var out doctorOutput
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Fatalf("stdout is not {\"items\": [...]}: %v\n%s", err, stdout)
			}
			got := map[string]string{}
			for _, it := range out.Items {
				if it.Name == "" || it.Detail == "" {
					t.Errorf("an item without a name or a detail: %+v", it)
				}
				got[it.Name] = it.Result
			}
			for name, want := range tc.results {
				if got[name] != want {
					t.Errorf("%s: %q, want %q\n%s", name, got[name], want, stdout)
				}
			}
			if !strings.Contains(stdout, tc.contains) {
				t.Errorf("stdout does not say %q:\n%s", tc.contains, stdout)
			}

			textCode, text, textErr := run("doctor", "--config", path)
			if textCode != code || len(strings.Split(strings.TrimSpace(text), "\n")) != len(out.Items) {
				t.Errorf("text: exit %d, want %d, and one line per item:\n%s", textCode, code, text)
			}
			assertNoSecret(t, stdout+stderr+text+textErr)
			assertNoMessage(t, slack)
		})
	}
}

func assertNoSecret(t *testing.T, all string) {
	t.Helper()
	for _, s := range []string{secretHook, secretBot, secretToken} {
		if strings.Contains(all, s) {
			t.Errorf("secret %q... is in the output:\n%s", s[:8], all)
		}
	}
}

// assertNoMessage fails when the fake Slack got anything that could be a
// message: a text, blocks, or a Web API post.
func assertNoMessage(t *testing.T, slack *testkit.Slack) {
	t.Helper()
	calls := slack.Calls()
	if len(calls) == 0 {
		t.Fatal("doctor never asked Slack")
	}
	for _, c := range calls {
		if strings.HasPrefix(c.Path, "/api/chat.") || strings.Contains(c.Payload, "text") || strings.Contains(c.Payload, "blocks") {
			t.Errorf("a message reached Slack: %s %q", c.Path, c.Payload)
		}
	}
}

func TestDoctorUsage(t *testing.T) {
	path := writeConfig(t, fmt.Sprintf("state: {path: %s/state.json}\nchecks:\n  - {name: c, type: courier, base_url: http://127.0.0.1:1, token: abcdefgh}\n", t.TempDir()))
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"nothing but a state and a loopback endpoint", []string{"doctor", "--config", path}, exitOK},
		{"flags after the command's own", []string{"doctor", "--output", "json", "--config", path}, exitOK},
		{"bad --output", []string{"doctor", "--output", "xml", "--config", path}, exitUsage},
		{"config error", []string{"doctor", "--config", writeConfig(t, "checks: []\n")}, exitUsage},
		{"missing config", []string{"doctor", "--config", filepath.Join(t.TempDir(), "nope.yaml")}, exitUsage},
		{"unexpected argument", []string{"doctor", "--config", path, "extra"}, exitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, stdout, stderr := run(tc.args...); code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.want, stdout, stderr)
			}
		})
	}
}

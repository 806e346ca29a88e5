package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

func env(vars map[string]string) Env {
	return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
}

const courierCheck = `
checks:
  - name: courier-main
    type: courier
    token: y0_tokenvalue
`

func TestValidConfigMergesDefaults(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "acme"), []byte("  s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
concurrency: 4
defaults:
  timeout: 3s
  alert: {after_outages: 5, repeat_every: 0}
checks:
  - name: courier-main
    type: courier
    token: ${COURIER_TOKEN}
  - name: partner-acme
    type: partner_oauth
    host: https://partner.example.com
    client_id: "987"
    client_secret_file: acme
    timeout: 7s
    alert: {resolve_after: 2}
`
	cfg, problems := Parse(filepath.Join(dir, "c.yaml"), []byte(src), env(map[string]string{"COURIER_TOKEN": "y0_abc$def"}))
	if problems.HasErrors() {
		t.Fatalf("unexpected problems: %v", problems)
	}
	if cfg.Concurrency != 4 || len(cfg.Checks) != 2 {
		t.Fatalf("concurrency %d, %d checks", cfg.Concurrency, len(cfg.Checks))
	}
	courier, partner := cfg.Checks[0], cfg.Checks[1]
	courierSpec, partnerSpec := courier.Spec.(checks.CourierSpec), partner.Spec.(checks.PartnerSpec)
	if courierSpec.Token.Reveal() != "y0_abc$def" || courierSpec.BaseURL != checks.DefaultCourierBaseURL || courier.Timeout != 3*time.Second {
		t.Errorf("courier check %+v", courier)
	}
	wantCourierAlert := Alert{AfterFailures: 1, AfterOutages: 5, ResolveAfter: 1, RepeatEvery: 0, SendResolved: true, FlapChanges: 4, FlapWindow: time.Hour}
	if courier.Alert != wantCourierAlert {
		t.Errorf("courier alert %+v, want %+v", courier.Alert, wantCourierAlert)
	}
	wantPartnerAlert := wantCourierAlert
	wantPartnerAlert.ResolveAfter = 2
	if partner.Alert != wantPartnerAlert || partner.Timeout != 7*time.Second {
		t.Errorf("partner alert %+v timeout %s", partner.Alert, partner.Timeout)
	}
	if partnerSpec.ClientSecret.Reveal() != "s3cret-from-file" || partnerSpec.Scope != "read write" || partnerSpec.AuthStyle != "form" || partner.Schedule != "@every 5m" {
		t.Errorf("partner check %+v", partner)
	}
	if cfg.State.Path != DefaultStateFallback || cfg.Slack != nil {
		t.Errorf("state %q, slack %v", cfg.State.Path, cfg.Slack)
	}
}

// YAML anchors, aliases and merge keys work as YAML says: a key written in
// the mapping wins over a merged one.
func TestAnchorsAndMergeKeys(t *testing.T) {
	src := `
checks:
  - &partner
    name: partner-a
    type: partner_oauth
    host: https://partner.example.com
    client_id: a
    client_secret: secret-aaaa
    timeout: 3s
    alert: &quiet {after_outages: 6, repeat_every: 12h}
  - <<: *partner
    name: partner-b
    host: https://b.example.com
    client_id: b
    client_secret: secret-bbbb
  - name: courier
    type: courier
    token: y0_tokenvalue
    alert: *quiet
`
	cfg, problems := Parse("c.yaml", []byte(src), env(nil))
	if len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	b, courier := cfg.Checks[1], cfg.Checks[2]
	quiet := DefaultAlert
	quiet.AfterOutages, quiet.RepeatEvery = 6, 12*time.Hour
	bSpec, _ := b.Spec.(checks.PartnerSpec)
	if b.Name != "partner-b" || b.Type != "partner_oauth" || bSpec.Host != "https://b.example.com" || b.Timeout != 3*time.Second ||
		bSpec.ClientSecret.Reveal() != "secret-bbbb" || b.Alert != quiet {
		t.Errorf("merged check %+v", b)
	}
	if courier.Alert != quiet {
		t.Errorf("aliased alert %+v", courier.Alert)
	}
	_, problems = Parse("c.yaml", []byte("checks:\n  - <<: [1]\n    name: c\n    type: courier\n    token: abcdefgh\n"), env(nil))
	if len(problems) != 1 || !strings.Contains(problems[0].String(), "c.yaml:2:10: checks[0]: << merges mappings only") {
		t.Errorf("merging a scalar: %v", problems)
	}
}

func TestStatePathFollowsSystemd(t *testing.T) {
	cfg, problems := Parse("c.yaml", []byte(courierCheck), env(map[string]string{"STATE_DIRECTORY": "/var/lib/tokenwatch:/var/lib/other"}))
	if problems.HasErrors() || cfg.State.Path != "/var/lib/tokenwatch/state.json" {
		t.Fatalf("state path %q, problems %v", cfg.State.Path, problems)
	}
}

// Every malformed configuration is reported at FILE:LINE:COL, all at once.
func TestProblemsArePositioned(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		{"unknown key", "concurency: 3\n" + courierCheck, nil,
			[]string{`c.yaml:1:1: configuration: unknown key "concurency" (did you mean "concurrency"?)`}},
		{"unknown check key", courierCheck + "    tokn_file: x\n", nil,
			[]string{`c.yaml:6:5: checks[0]: unknown key "tokn_file" (did you mean "token_file"?)`}},
		{"duplicate name at its second occurrence", courierCheck + "  - name: courier-main\n    type: courier\n    token: abcdef\n", nil,
			[]string{`c.yaml:6:11: check name "courier-main" is used twice: names must be unique`}},
		{"malformed name", "checks:\n  - name: Courier Main\n    type: courier\n    token: abcdef\n", nil,
			[]string{`c.yaml:2:11: check name "Courier Main": use 1 to 63 characters of a-z, 0-9, _ and -`}},
		{"bad URL", "checks:\n  - name: c\n    type: courier\n    token: abcdef\n    base_url: courier.yandex.ru\n", nil,
			[]string{`c.yaml:5:15: base_url: want an absolute http:// or https:// URL`}},
		{"bad duration", "defaults:\n  timeout: 10\n" + courierCheck, nil,
			[]string{`c.yaml:2:12: timeout: "10" is not a duration (write it like 90s, 10m or 4h)`}},
		{"non-positive threshold", "defaults:\n  alert:\n    after_outages: 0\n" + courierCheck, nil,
			[]string{`c.yaml:3:20: alert.after_outages must be at least 1, got 0`}},
		{"invalid cron spec", "defaults:\n  schedule: \"61 * * * *\"\n" + courierCheck, nil,
			[]string{`c.yaml:2:13: schedule: "61 * * * *" is not a cron spec`}},
		{"cron spec that panics robfig/cron", "defaults:\n  schedule: \"TZ=UTC\"\n" + courierCheck, nil,
			[]string{`c.yaml:2:13: schedule: "TZ=UTC" is not a cron spec`}},
		{"check with no secret", "checks:\n  - name: c\n    type: courier\n", nil,
			[]string{`c.yaml:2:5: check c has no secret: set token or token_file`}},
		{"unset variable", "checks:\n  - name: c\n    type: courier\n    token: ${COURIER_TOKEN}\n", nil,
			[]string{`c.yaml:4:12: token: environment variable COURIER_TOKEN is not set`}},
		{"empty variable", "checks:\n  - name: c\n    type: courier\n    token: ${COURIER_TOKEN}\n", map[string]string{"COURIER_TOKEN": ""},
			[]string{`c.yaml:4:12: token: environment variable COURIER_TOKEN is empty`}},
		{"missing secret file", "checks:\n  - name: c\n    type: courier\n    token_file: /nonexistent/token\n", nil,
			[]string{`c.yaml:4:17: token_file: cannot read the secret`}},
		{"partner without host and client_id", "checks:\n  - name: p\n    type: partner_oauth\n    client_secret: abcdef\n", nil,
			[]string{`c.yaml:2:5: check p has no host`, `c.yaml:2:5: check p has no client_id`}},
		{"key of the other type", "checks:\n  - name: c\n    type: courier\n    token: abcdef\n    host: https://x.example\n", nil,
			[]string{`c.yaml:5:5: check c: host is not a key of a courier check`}},
		{"unknown type", "checks:\n  - name: c\n    type: carrier\n", nil,
			[]string{`c.yaml:3:11: check c: unknown type "carrier": courier or partner_oauth`}},
		{"no checks", "concurrency: 2\n", nil, []string{`c.yaml:1:1: no checks`}},
		{"YAML syntax", "concurrency: 2\n state: x\n" + courierCheck, nil, []string{`c.yaml:2:2: YAML syntax: mapping values are not allowed in this context`}},
		{"unreadable ca_file", courierCheck + "    ca_file: /nonexistent/ca.pem\n", nil,
			[]string{`c.yaml:6:14: ca_file: open /nonexistent/ca.pem: no such file or directory`}},
		{"token with white space inside", "checks:\n  - name: c\n    type: courier\n    token: \"y0_abc def\"\n", nil,
			[]string{`c.yaml:4:12: check c: the token contains white space or control characters`}},
		{"textfile without .prom", "metrics:\n  textfile: /tmp/tw.txt\n" + courierCheck, nil,
			[]string{`c.yaml:2:13: metrics.textfile: node_exporter reads only files ending in .prom`}},
		{"slack with both modes", "slack:\n  webhook_url: https://hooks.slack.com/x\n  bot_token: xoxb-1\n  channel: c\n" + courierCheck, nil,
			[]string{`c.yaml:2:3: slack: set webhook_url or bot_token, not both`}},
		{"bot without channel", "slack:\n  bot_token: xoxb-123\n" + courierCheck, nil,
			[]string{`c.yaml:2:3: slack: bot_token needs a channel`}},
		{"all problems at once", "concurrency: 0\ndefaults:\n  timeout: soon\n" + courierCheck + "  - name: BAD\n    type: courier\n", nil,
			[]string{`c.yaml:1:14: concurrency must be at least 1`, `c.yaml:3:12: timeout: "soon"`, `c.yaml:9:11: check name "BAD"`, `c.yaml:9:5: checks[1] has no secret`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src), env(tc.env))
			if !problems.HasErrors() {
				t.Fatalf("no error reported")
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			for _, want := range tc.want {
				if !strings.Contains(all, want) {
					t.Errorf("problems\n%s\ndo not include\n%s", all, want)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	src := `
checks:
  - name: p
    type: partner_oauth
    host: http://203.0.113.7
    client_id: "1"
    client_secret: abcdef
    insecure_skip_verify: true
`
	_, problems := Parse("c.yaml", []byte(src), env(nil))
	if problems.HasErrors() {
		t.Fatalf("warnings only expected, got %v", problems)
	}
	want := []string{
		"c.yaml:5:11: warning: host uses http:// to 203.0.113.7: the secret would travel in clear text",
		"c.yaml:5:11: warning: check p: host is an IP address; the Yango Deli pull method accepts domain names only",
		"c.yaml:8:27: warning: check p: insecure_skip_verify turns TLS certificate verification off",
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("warnings\n%s\ndo not include\n%s", all, w)
		}
	}
	_, problems = Parse("c.yaml", []byte(strings.Replace(src, "http://203.0.113.7", "http://127.0.0.1:8080", 1)), env(nil))
	if len(problems) != 1 {
		t.Errorf("a loopback test endpoint should only warn about insecure_skip_verify, got %v", problems)
	}
}

func TestExpand(t *testing.T) {
	vars := env(map[string]string{"A": "alpha", "NESTED": "${A}", "DOLLAR": "p$ss"})
	tests := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${A}", "alpha", ""},
		{"x-${A}-y", "x-alpha-y", ""},
		{"$$", "$", ""},
		{"$${A}", "${A}", ""},
		{"cost $5", "cost $5", ""},
		{"${NESTED}", "${A}", ""}, // expanded once
		{"${DOLLAR}", "p$ss", ""},
		{"trailing $", "trailing $", ""},
		{"${MISSING}", "", "MISSING is not set"},
		{"${A", "", "unclosed"},
		{"${1A}", "", "not a valid"},
	}
	for _, tc := range tests {
		got, err := Expand(tc.in, vars)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Expand(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Expand(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// A secret that contains YAML syntax cannot change the configuration's structure.
func TestExpansionCannotInjectStructure(t *testing.T) {
	src := "checks:\n  - name: p\n    type: partner_oauth\n    host: https://partner.example.com\n    client_id: \"1\"\n    client_secret: ${S}\n"
	evil := "x\n    host: http://evil.example\n    auth_style: basic"
	cfg, problems := Parse("c.yaml", []byte(src), env(map[string]string{"S": evil}))
	if problems.HasErrors() {
		t.Fatal(problems)
	}
	c := cfg.Checks[0].Spec.(checks.PartnerSpec)
	if c.Host != "https://partner.example.com" || c.AuthStyle != "form" || c.ClientSecret.Reveal() != evil {
		t.Errorf("the variable changed the structure: host %q, auth_style %q", c.Host, c.AuthStyle)
	}
}

func TestNoSecretInProblems(t *testing.T) {
	src := "slack:\n  webhook_url: ${HOOK}\nchecks:\n  - name: c\n    type: courier\n    token: ${T}\n    timeout: ${T}\n"
	_, problems := Parse("c.yaml", []byte(src), env(map[string]string{"HOOK": "not-a-url-SECRETHOOK", "T": "y0_SECRETTOKEN"}))
	for _, p := range problems {
		if strings.Contains(p.String(), "SECRET") {
			t.Errorf("problem reveals a secret: %s", p)
		}
	}
	if !problems.HasErrors() {
		t.Error("a bad webhook URL and timeout should be errors")
	}
}

func TestExampleConfigIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"courier-token", "acme-secret"} {
		if err := os.WriteFile(filepath.Join(dir, "secrets", f), []byte("example-secret-"+f+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, problems := Load(path, env(map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X", "ACME_CLIENT_ID": "987"}))
	if len(problems) > 0 {
		t.Fatalf("config.yaml.example has problems:\n%v", problems)
	}
	if len(cfg.Checks) != 2 || cfg.Slack == nil {
		t.Fatalf("example config: %d checks, slack %v", len(cfg.Checks), cfg.Slack)
	}
}

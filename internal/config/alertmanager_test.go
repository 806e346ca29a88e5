package config

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const oneCheck = "checks: [{name: c, type: courier, token: abcdefgh}]\n"

// The alertmanager section is read as written, with the default window.
func TestAlertmanagerSection(t *testing.T) {
	tests := []struct {
		name, src string
		want      Alertmanager
	}{
		{"one URL, defaults", "alertmanager: {urls: [http://alertmanager:9093]}\n",
			Alertmanager{URLs: []string{"http://alertmanager:9093"}, ResendWindow: 15 * time.Minute}},
		{"replicas, labels, window", "alertmanager:\n  urls: [http://am-0:9093/, 'https://am-1.example/am']\n  labels: {source: tokenwatch, env: prod}\n  resend_window: 30m\n",
			Alertmanager{URLs: []string{"http://am-0:9093", "https://am-1.example/am"}, Labels: map[string]string{"source": "tokenwatch", "env": "prod"}, ResendWindow: 30 * time.Minute}},
		{"from the environment", "alertmanager: {urls: ['${AM_URL}']}\n",
			Alertmanager{URLs: []string{"http://am.monitoring:9093"}, ResendWindow: 15 * time.Minute}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := Parse("c.yaml", []byte(tc.src+oneCheck), env(map[string]string{"AM_URL": "http://am.monitoring:9093"}))
			if len(problems) > 0 {
				t.Fatalf("problems %v", problems)
			}
			got := cfg.Alertmanager
			if got == nil || !slices.Equal(got.URLs, tc.want.URLs) || got.ResendWindow != tc.want.ResendWindow || len(got.Labels) != len(tc.want.Labels) || !maps.Equal(got.Labels, tc.want.Labels) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	cfg, _ := Parse("c.yaml", []byte(oneCheck), env(nil))
	if cfg.Alertmanager != nil {
		t.Errorf("no section: %+v, want nil", cfg.Alertmanager)
	}
}

// Every mistake is reported at its line and column, and a URL with
// credentials is refused without being quoted.
func TestAlertmanagerProblems(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		{"no urls", "alertmanager: {labels: {a: b}}\n", `c.yaml:1:15: alertmanager: set urls`},
		{"empty section", "alertmanager:\n", `c.yaml:1:14: alertmanager: set urls`},
		{"empty list", "alertmanager: {urls: []}\n", `c.yaml:1:22: alertmanager.urls must be a list of at least one URL`},
		{"a string, not a list", "alertmanager: {urls: http://am:9093}\n", `c.yaml:1:22: alertmanager.urls must be a list`},
		{"not http", "alertmanager:\n  urls: [http://am:9093, 'ftp://am']\n", `c.yaml:2:26: alertmanager.urls: want an absolute http:// or https:// URL`},
		{"credentials in the URL", "alertmanager: {urls: ['http://tw:S3CRETPW@am:9093']}\n", `c.yaml:1:23: alertmanager.urls: do not put credentials in the URL`},
		{"the API path", "alertmanager: {urls: [http://am:9093/api/v2/alerts]}\n", `c.yaml:1:23: alertmanager.urls: give the Alertmanager's base URL`},
		{"twice", "alertmanager: {urls: [http://am:9093, http://am:9093/]}\n", `c.yaml:1:39: alertmanager.urls: "http://am:9093/" is listed twice`},
		{"reserved label", "alertmanager:\n  urls: [http://am:9093]\n  labels: {severity: page}\n", `c.yaml:3:12: alertmanager.labels: severity is set by tokenwatch`},
		{"team label", "alertmanager:\n  urls: [http://am:9093]\n  labels: {team: x}\n", `c.yaml:3:12: alertmanager.labels: team is set by tokenwatch`},
		{"bad label name", "alertmanager:\n  urls: [http://am:9093]\n  labels: {my-label: x}\n", `c.yaml:3:12: alertmanager.labels: "my-label" is not a label name`},
		{"reserved prefix", "alertmanager:\n  urls: [http://am:9093]\n  labels: {__name__: x}\n", `c.yaml:3:12: alertmanager.labels: "__name__" is not a label name`},
		{"empty label", "alertmanager:\n  urls: [http://am:9093]\n  labels: {env: ''}\n", `c.yaml:3:17: alertmanager.labels.env is empty`},
		{"bad window", "alertmanager:\n  urls: [http://am:9093]\n  resend_window: soon\n", `c.yaml:3:18: alertmanager.resend_window: "soon" is not a duration`},
		{"zero window", "alertmanager:\n  urls: [http://am:9093]\n  resend_window: 0s\n", `c.yaml:3:18: alertmanager.resend_window must be positive`},
		{"unknown key", "alertmanager:\n  url: http://am:9093\n", `c.yaml:2:3: alertmanager: unknown key "url" (did you mean "urls"?)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src+oneCheck), env(nil))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			if !problems.HasErrors() || !strings.Contains(all, tc.want) {
				t.Fatalf("problems\n%s\ndo not include\n%s", all, tc.want)
			}
			if strings.Contains(all, "S3CRETPW") {
				t.Errorf("a problem reveals the password in the URL:\n%s", all)
			}
		})
	}
}

// The commented alertmanager section of config.yaml.example is valid once
// uncommented.
func TestExampleAlertmanagerSectionIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	var section []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# alertmanager:" {
			section = []string{"alertmanager:"}
		} else if section != nil && strings.HasPrefix(line, "#   ") {
			section = append(section, strings.TrimPrefix(line, "#"))
		} else if section != nil {
			break
		}
	}
	cfg, problems := Parse("c.yaml", []byte(strings.Join(section, "\n")+"\n"+oneCheck), env(nil))
	if len(problems) > 0 || cfg.Alertmanager == nil || len(cfg.Alertmanager.URLs) != 2 || cfg.Alertmanager.Labels["source"] != "tokenwatch" {
		t.Fatalf("the example's alertmanager section %q: problems %v, read %+v", section, problems, cfg.Alertmanager)
	}
}

package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// systemd-analyze verify accepts the units with no output at all: it exits
// 0 on an unknown key and only warns, so any output is a failure. It needs
// ExecStart's binary to exist, so the units are verified with the path of
// the binary built for this test in place of /usr/local/bin/tokenwatch.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze := tool(t, "systemd-analyze")
	dir := t.TempDir()
	units := []string{"tokenwatch.service", "tokenwatch.timer", "tokenwatch-serve.service"}
	for _, u := range units {
		data, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "/usr/local/bin/tokenwatch", binary)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runTool(t, dir, []string{"SYSTEMD_LOG_LEVEL=notice"}, analyze, append([]string{"verify"}, units...)...)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestSystemdUnitsSayWhatTheyMust(t *testing.T) {
	want := map[string][]string{
		"tokenwatch.service": {"Type=oneshot", "DynamicUser=yes", "StateDirectory=tokenwatch", "LoadCredential=courier-token:",
			"Environment=TOKENWATCH_SECRETS=%d", "NoNewPrivileges=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n"},
		"tokenwatch.timer":         {"OnCalendar=", "Persistent=true", "RandomizedDelaySec=", "WantedBy=timers.target"},
		"tokenwatch-serve.service": {"ExecStart=/usr/local/bin/tokenwatch serve", "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "StateDirectory=tokenwatch", "LoadCredential="},
	}
	for unit, keys := range want {
		data, err := os.ReadFile(filepath.Join("systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if !strings.Contains(string(data), k) {
				t.Errorf("%s lacks %q", unit, k)
			}
		}
	}
}

// The systemd configuration passes validate with the credentials in place.
func TestSystemdConfigPassesValidate(t *testing.T) {
	creds := t.TempDir()
	for _, name := range []string{"courier-token", "acme-client-secret", "slack-webhook-url"} {
		value := "example-" + name
		if name == "slack-webhook-url" {
			value = "https://hooks.slack.com/services/T/B/X"
		}
		if err := os.WriteFile(filepath.Join(creds, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	validate(t, "systemd/config.yaml", "TOKENWATCH_SECRETS="+creds, "STATE_DIRECTORY="+t.TempDir())
}

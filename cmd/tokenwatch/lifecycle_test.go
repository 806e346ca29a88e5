package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// TestRunAnnouncesAnOldTokenAndAnExpiringCertificate: `tokenwatch run`, as
// a CronJob runs it, against a courier over https whose certificate (from
// a private CA) expires in 5 days and whose token was issued 100 days ago
// with rotate_after 2160h: the first run sends one rotate and one
// tls_expiry message, the next runs none, and the textfile carries the
// lifecycle series and the counts by kind.
func TestRunAnnouncesAnOldTokenAndAnExpiringCertificate(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t)
	now := time.Now()
	api, _ := ca.Serve(t, now.Add(-time.Hour), now.Add(5*24*time.Hour), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	}))
	hook := testkit.NewSlack(t)
	dir := t.TempDir()
	textfile := filepath.Join(dir, "tokenwatch.prom")
	path := writeConfig(t, fmt.Sprintf(`slack: {webhook_url: %s}
state: {path: %s}
metrics: {textfile: %s}
checks:
  - name: courier-main
    type: courier
    base_url: %s
    ca_file: %s
    token: %s
    issued_at: %s
    rotate_after: 2160h
`, hook.WebhookURL("/services/T/B/x"), filepath.Join(dir, "state.json"), textfile, api, ca.File, secretToken,
		now.Add(-100*24*time.Hour).UTC().Format(time.DateOnly)))

	var kinds []string
	for i := range 3 {
		code, stdout, stderr := run("run", "--config", path, "--output", "json")
		if code != exitOK {
			t.Fatalf("run %d: exit %d\n%s", i, code, stderr)
		}
		var out jsonReport
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Checks) != 1 || out.Checks[0].Outcome != "ok" {
			t.Fatalf("run %d: checks %+v", i, out.Checks)
		}
		var these []string
		for _, n := range out.Notifications {
			if !n.Delivered {
				t.Errorf("run %d: %s not delivered", i, n.Kind)
			}
			these = append(these, n.Kind)
		}
		kinds = append(kinds, strings.Join(these, ","))
		if strings.Contains(stdout+stderr, secretToken) {
			t.Error("the token is in the output")
		}
	}
	if got := strings.Join(kinds, " | "); got != "rotate,tls_expiry |  | " {
		t.Errorf("notifications per run %q, want rotate and tls_expiry in the first run only", got)
	}
	if payloads := hook.Payloads(); len(payloads) != 2 || !strings.Contains(payloads[1], "the TLS certificate of localhost expires in") {
		t.Errorf("Slack got %d messages: %q", len(payloads), payloads)
	}
	data, err := os.ReadFile(textfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`tokenwatch_tls_cert_not_after_timestamp_seconds{check="courier-main",type="courier"}`,
		`tokenwatch_credential_issued_timestamp_seconds{check="courier-main",type="courier"}`,
		`tokenwatch_credential_rotate_after_seconds{check="courier-main",type="courier"} 7.776e+06`,
		`tokenwatch_notifications_total{kind="rotate",notifier="slack",result="sent"} 1`,
		`tokenwatch_notifications_total{kind="tls_expiry",notifier="slack",result="sent"} 1`,
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the textfile lacks %s", want)
		}
	}
}

func TestValidateRefusesAFutureIssuedAt(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "checks:\n  - name: c\n    type: courier\n    token: abcdefgh\n    issued_at: 2999-01-01\n    rotate_after: 0s\n")
	code, _, stderr := run("validate", "--config", path)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	for _, want := range []string{path + `:5:16: check c: issued_at: "2999-01-01" is in the future`, path + ":6:19: rotate_after must be positive"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

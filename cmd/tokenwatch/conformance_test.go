package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// conformingPartner follows the Yango document, except that it quotes
// back whatever secret or token it was sent, as a careless server might.
// acceptAny makes it issue a token to any secret.
func conformingPartner(t *testing.T, acceptAny bool, probes *atomic.Int64) string {
	srv := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/orders" {
			if r.Header.Get("Authorization") != "Bearer "+secretIssued {
				w.WriteHeader(401)
			}
			fmt.Fprintf(w, `{"seen":%q}`, r.Header.Get("Authorization"))
			return
		}
		_ = r.ParseForm()
		switch {
		case r.PostForm.Get("grant_type") == "":
			w.WriteHeader(400)
			fmt.Fprintf(w, `[{"code":400,"description":"no grant_type for %s"}]`, r.PostForm.Get("client_secret"))
		case r.PostForm.Get("client_secret") != secretClient && !acceptAny:
			w.WriteHeader(400)
			fmt.Fprint(w, `[{"code":400,"description":"wrong client_secret"}]`)
		default:
			fmt.Fprintf(w, `{"access_token":%q,"expires_in":300}`, secretIssued)
		}
	})
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

func courierAPI(t *testing.T) string {
	return testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "OAuth "+secretToken {
			w.WriteHeader(401)
			fmt.Fprintf(w, "unknown %s", r.Header.Get("Authorization"))
			return
		}
		fmt.Fprint(w, `{"message":"OK"}`)
	}).URL
}

func conformanceConfig(t *testing.T, partnerHost, courierURL string) string {
	return writeConfig(t, fmt.Sprintf(`state: {path: %s/state.json}
checks:
  - {name: partner-acme, type: partner_oauth, host: %s, client_id: %s, client_secret: %s, verify: {path: "/api/v1/orders?limit=1"}}
  - {name: courier-main, type: courier, base_url: %s, token: %s}
`, t.TempDir(), partnerHost, partnerClient, secretClient, courierURL, secretToken))
}

func TestConformanceCommand(t *testing.T) {
	var good, loose atomic.Int64
	goodCfg := conformanceConfig(t, conformingPartner(t, false, &good), courierAPI(t))
	looseCfg := conformanceConfig(t, conformingPartner(t, true, &loose), courierAPI(t))

	t.Run("text, everything passes or warns: exit 0", func(t *testing.T) {
		code, stdout, stderr := run("conformance", "--config", goodCfg, "partner-acme", "courier-main")
		if code != exitOK {
			t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
		}
		for _, want := range []string{"partner-acme (partner_oauth, http://localhost:", "courier-main (courier, http://127.0.0.1:",
			"1  pass  token_request", "5  warn  host", "7  pass  verify", "2  pass  wrong_token", "0 failed, 2 warned, 7 passed"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("stdout does not say %q:\n%s", want, stdout)
			}
		}
		assertNoScanSecret(t, stdout+stderr)
	})
	if n := good.Load(); n != 5 {
		t.Errorf("the partner got %d probes, want 5 (3 token requests, 2 API requests)", n)
	}

	t.Run("json", func(t *testing.T) {
		code, stdout, _ := run("conformance", "partner-acme", "--config", looseCfg, "--output", "json") // flags after the check, too
		if code != exitNotOK {
			t.Errorf("exit %d, want 1: a wrong secret is accepted", code)
		}
		var out struct {
			Checks []struct {
				Name, Type string
				Items      []struct{ Name, Result, Detail string }
			}
		}
		if err := json.Unmarshal([]byte(stdout), &out); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout)
		}
		if len(out.Checks) != 1 || out.Checks[0].Name != "partner-acme" || out.Checks[0].Type != "partner_oauth" || len(out.Checks[0].Items) != 7 {
			t.Fatalf("report %+v", out)
		}
		if it := out.Checks[0].Items[2]; it.Name != "wrong_secret" || it.Result != "fail" {
			t.Errorf("item 3 %+v", it)
		}
		assertNoScanSecret(t, stdout)
	})

	t.Run("junit", func(t *testing.T) {
		code, stdout, _ := run("conformance", "--output", "junit", "--config", looseCfg, "partner-acme", "courier-main")
		if code != exitNotOK {
			t.Errorf("exit %d, want 1", code)
		}
		var suites struct {
			Failures int `xml:"failures,attr"`
			Suites   []struct {
				Name  string `xml:"name,attr"`
				Cases []struct {
					Name    string `xml:"name,attr"`
					Failure *struct {
						Message string `xml:"message,attr"`
					} `xml:"failure"`
					SystemOut string `xml:"system-out"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(stdout), &suites); err != nil {
			t.Fatalf("not XML: %v\n%s", err, stdout)
		}
		if len(suites.Suites) != 2 || len(suites.Suites[0].Cases) != 7 || len(suites.Suites[1].Cases) != 2 {
			t.Fatalf("suites %+v", suites)
		}
		// Accepting any secret breaks item 3.
		if suites.Failures != 1 || suites.Suites[0].Cases[2].Failure == nil || !strings.Contains(suites.Suites[0].Cases[4].SystemOut, "warn: ") {
			t.Errorf("suites %+v", suites)
		}
		assertNoScanSecret(t, stdout)
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no check given", []string{"conformance", "--config", goodCfg}, "name the checks to report on"},
		{"unknown check", []string{"conformance", "--config", goodCfg, "partner-acme", "nope"}, `unknown check "nope"`},
		{"bad --output", []string{"conformance", "--config", goodCfg, "--output", "xml", "partner-acme"}, `--output "xml": want text, json or junit`},
		{"config error", []string{"conformance", "--config", writeConfig(t, "checks: []\n"), "partner-acme"}, "checks is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(tc.args...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 saying %q", code, stdout, stderr, tc.want)
			}
		})
	}
}

// assertNoScanSecret fails when a secret of the command tests appears in text.
func assertNoScanSecret(t *testing.T, text string) {
	t.Helper()
	for _, s := range []string{secretToken, secretClient, secretIssued} {
		if i := strings.Index(text, s); i >= 0 {
			t.Errorf("secret %q leaked: ...%s...", s[:8], text[max(0, i-80):min(len(text), i+40)])
		}
	}
}

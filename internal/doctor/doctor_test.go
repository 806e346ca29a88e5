package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

const (
	hookPath = "/services/T0/B0/DOCTORhooksecret42"
	botToken = "xoxb-DOCTOR-bot-token-77"
)

func TestWebhookVerdict(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   Result
		says   string
	}{
		{400, "invalid_payload", OK, "alive (400 invalid_payload"},
		{400, "no_text\n", OK, "alive (400 no_text"},
		{404, "no_service", Fail, "dead (404 no_service): the webhook was removed"},
		{404, "channel_not_found", Fail, "dead (404 channel_not_found)"},
		{403, "invalid_token", Fail, "dead (403 invalid_token)"},
		{403, "action_prohibited", Fail, "ask them"},
		{410, "channel_is_archived", Fail, "unarchive it"},
		{200, "ok", Warn, "accepted an empty message"},
		{302, "", Fail, "redirects are not followed"},
		{503, "", Fail, "unreachable: HTTP 503"},
		{500, "rollup_error", Fail, "unreachable"},
		{429, "", Warn, "rate limited"},
		{400, "user_not_found", Fail, "dead (400 user_not_found)"},
		{400, "something_new", Fail, "400 something_new"},
		{200, "<html>hello</html>", Fail, "not Slack's"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.body), func(t *testing.T) {
			r, detail := webhookVerdict(tc.status, []byte(tc.body))
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
		})
	}
}

func TestAuthVerdict(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Result
		says   string
	}{
		{"valid, named", 200, `{"ok":true,"team":"Acme","user":"tokenwatch"}`, OK, `valid for team "Acme" as "tokenwatch"`},
		{"valid, unnamed", 200, `{"ok":true}`, OK, "valid (auth.test"},
		{"a name with control characters", 200, "{\"ok\":true,\"team\":\"A\\u001b[2Jcme\"}", OK, `team "A [2Jcme"`},
		{"invalid_auth", 200, `{"ok":false,"error":"invalid_auth"}`, Fail, "Slack says invalid_auth: the bot token is not valid"},
		{"token_revoked", 200, `{"ok":false,"error":"token_revoked"}`, Fail, "reinstall the Slack app"},
		{"account_inactive", 200, `{"ok":false,"error":"account_inactive"}`, Fail, "update slack.bot_token"},
		{"not_authed", 200, `{"ok":false,"error":"not_authed"}`, Fail, "not_authed"},
		{"ratelimited", 200, `{"ok":false,"error":"ratelimited"}`, Warn, "rate limited"},
		{"internal_error", 200, `{"ok":false,"error":"internal_error"}`, Fail, "Slack failed (internal_error)"},
		{"no reason", 200, `{"ok":false}`, Fail, "without saying why"},
		{"not JSON", 200, `<html>`, Fail, "not Slack's Web API"},
		{"404", 404, `nope`, Fail, "check slack.api_url"},
		{"redirect", 301, ``, Fail, "redirects are not followed: check slack.api_url"},
		{"outage", 502, ``, Fail, "unreachable: HTTP 502"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := authVerdict(tc.status, []byte(tc.body))
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
		})
	}
}

// assertNothingPosted fails the test when the fake Slack received anything
// that could become a message: a text, blocks, or a Web API post.
func assertNothingPosted(t *testing.T, slack *testkit.Slack) {
	t.Helper()
	calls := slack.Calls()
	if len(calls) == 0 {
		t.Fatal("the fake Slack was never asked: the probe proves nothing")
	}
	for _, c := range calls {
		if strings.HasPrefix(c.Path, "/api/chat.") {
			t.Errorf("a message was posted: %s", c.Path)
		}
		if c.Form != nil {
			if c.Form.Has("text") || c.Form.Has("blocks") {
				t.Errorf("a message was sent: %v", c.Form)
			}
			continue
		}
		var payload map[string]any
		if err := json.Unmarshal([]byte(c.Payload), &payload); err != nil {
			t.Fatalf("the webhook got something that is not JSON: %q", c.Payload)
		}
		if _, ok := payload["text"]; ok {
			t.Errorf("the webhook got a text: %q", c.Payload)
		}
		if _, ok := payload["blocks"]; ok {
			t.Errorf("the webhook got blocks: %q", c.Payload)
		}
	}
}

func TestWebhookAgainstFakeSlack(t *testing.T) {
	tests := []struct {
		name   string
		status int
		reason string // "" leaves the fake accepting, as a non-Slack server might
		want   Result
		says   string
	}{
		{"alive", 400, "invalid_payload", OK, "alive (400 invalid_payload: Slack answers, the webhook exists)"},
		{"dead", 404, "no_service", Fail, "dead (404 no_service)"},
		{"archived", 410, "channel_is_archived", Fail, "dead (410 channel_is_archived)"},
		{"accepts anything", 0, "", Warn, "HTTP 200 ok to an empty payload"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slack := testkit.NewSlack(t)
			if tc.reason != "" {
				slack.Refuse(tc.status, func(string) string { return tc.reason })
			}
			r, detail := Webhook(context.Background(), version.Client(Timeout), slack.WebhookURL(hookPath))
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
			if strings.Contains(detail, "DOCTORhooksecret42") || strings.Contains(detail, slack.URL) {
				t.Errorf("the detail names the webhook: %q", detail)
			}
			assertNothingPosted(t, slack)
		})
	}
}

func TestWebhookUnreachableNamesNoURL(t *testing.T) {
	closed := testkit.ClosedURL(t)
	r, detail := Webhook(context.Background(), version.Client(Timeout), closed+hookPath)
	if r != Fail || !strings.HasPrefix(detail, "unreachable: dial: ") {
		t.Errorf("got %s %q, want a fail saying it is unreachable", r, detail)
	}
	if strings.Contains(detail, "DOCTORhooksecret42") || strings.Contains(detail, "services") {
		t.Errorf("the detail names the webhook: %q", detail)
	}
}

func TestBotTokenAgainstFakeSlack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse string
		want   Result
		says   string
	}{
		{"good", "", OK, "valid"},
		{"bad", "invalid_auth", Fail, "Slack says invalid_auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			slack := testkit.NewSlack(t)
			if tc.refuse != "" {
				slack.Refuse(200, func(string) string { return tc.refuse })
			}
			r, detail := BotToken(context.Background(), version.Client(Timeout), slack.APIURL(), botToken)
			if r != tc.want || !strings.Contains(detail, tc.says) || strings.Contains(detail, botToken) {
				t.Errorf("got %s %q, want %s containing %q and no token", r, detail, tc.want, tc.says)
			}
			if calls := slack.Calls(); len(calls) != 1 || calls[0].Path != "/api/auth.test" {
				t.Errorf("calls %+v, want one auth.test", calls)
			}
			assertNothingPosted(t, slack)
		})
	}
}

func TestBotTokenIsSentAsSlackGoSendsIt(t *testing.T) {
	var got string
	srv := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got = r.PostForm.Get("token")
		fmt.Fprint(w, `{"ok":true,"team":"Acme","user":"tw"}`)
	})
	if r, _ := BotToken(context.Background(), version.Client(Timeout), srv.URL+"/api/", botToken); r != OK || got != botToken {
		t.Errorf("result %s, token sent %q", r, got)
	}
}

func TestPushgateway(t *testing.T) {
	var pushed atomic.Int64
	up := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/-/ready" {
			pushed.Add(1)
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprint(w, "Pushgateway is Ready.\n")
	})
	notReady := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	tests := []struct {
		name string
		url  string
		want Result
		says string
	}{
		{"up", up.URL + "/", OK, "ready"},
		{"not ready", notReady.URL, Fail, "answered HTTP 503"},
		{"down", testkit.ClosedURL(t), Fail, "unreachable: dial: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := Pushgateway(context.Background(), version.Client(Timeout), tc.url)
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
		})
	}
	if pushed.Load() != 0 {
		t.Error("something other than GET /-/ready reached the gateway")
	}
}

func TestState(t *testing.T) {
	regular := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(body string) string {
		path := filepath.Join(t.TempDir(), "state.json")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	locked := filepath.Join(t.TempDir(), "state.json")
	holder, err := state.Open(locked, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	tests := []struct {
		name string
		path string
		want Result
		says string
	}{
		{"fresh directory", filepath.Join(t.TempDir(), "sub", "state.json"), OK, "directory created, writable, lock free, 0 checks recorded"},
		{"existing state", write(`{"version":2,"checks":{}}`), OK, "writable, lock free, 0 checks recorded"},
		{"under a regular file", filepath.Join(regular, "state.json"), Fail, "cannot "},
		{"locked by another run", locked, Warn, "another run holds it now"},
		{"newer format", write(`{"version":99}`), Fail, "written by a newer tokenwatch"},
		{"corrupt", write(`{"version":2,`), Fail, "corrupt ("},
		{"a directory in its place", t.TempDir(), Fail, "state.path must name tokenwatch's own state file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := State(tc.path)
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
			if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(tc.path), ".tokenwatch-doctor-*")); len(leftovers) > 0 {
				t.Errorf("test files left behind: %v", leftovers)
			}
		})
	}
	// The lock is really free again after the probe: a run can take it.
	path := filepath.Join(t.TempDir(), "state.json")
	if r, _ := State(path); r != OK {
		t.Fatal("setup: want ok")
	}
	store, err := state.Open(path, 0)
	if err != nil {
		t.Fatalf("the probe kept the lock: %v", err)
	}
	store.Close()
}

func TestTextfileDir(t *testing.T) {
	dir := t.TempDir()
	prom := filepath.Join(dir, "tokenwatch.prom")
	const metrics = "tokenwatch_up 1\n"
	if err := os.WriteFile(prom, []byte(metrics), 0o644); err != nil {
		t.Fatal(err)
	}
	regular := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want Result
		says string
	}{
		{"writable", prom, OK, "is writable"},
		{"missing directory", filepath.Join(dir, "nope", "tokenwatch.prom"), Fail, "does not exist"},
		{"a file where the directory should be", filepath.Join(regular, "tokenwatch.prom"), Fail, "is not a directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := TextfileDir(tc.path)
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
		})
	}
	if got, _ := os.ReadFile(prom); string(got) != metrics {
		t.Errorf("the .prom file was touched: %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the directory holds %d entries, want the .prom file alone", len(entries))
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); err == nil {
		t.Error("the missing directory was created")
	}
}

// pki is a test CA and the means to start TLS servers with its certificates.
type pki struct {
	ca     *x509.Certificate
	key    *ecdsa.PrivateKey
	caFile string
}

func newPKI(t *testing.T, now time.Time) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "doctor test CA"},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &pki{ca: ca, key: key, caFile: caFile}
}

// serve starts a TLS server whose certificate, signed by the CA, is valid
// from notBefore to notAfter for names (localhost and 127.0.0.1 when none).
// It counts the HTTP requests it gets: a probe must send none.
func (p *pki) serve(t *testing.T, notBefore, notAfter time.Time, requests *atomic.Int64, names ...string) *url.URL {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: notBefore, NotAfter: notAfter,
		DNSNames: names, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if len(names) == 0 {
		tmpl.DNSNames, tmpl.IPAddresses = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return u
}

func TestCheckHostCertificates(t *testing.T) {
	clock := testkit.NewClock()
	now := clock.Now()
	p := newPKI(t, now)
	var requests atomic.Int64
	day := 24 * time.Hour
	valid := p.serve(t, now.Add(-30*day), now.Add(90*day), &requests)
	soon := p.serve(t, now.Add(-30*day), now.Add(5*day+time.Hour), &requests)
	expired := p.serve(t, now.Add(-30*day), now.Add(-2*day-time.Hour), &requests)
	future := p.serve(t, now.Add(3*day), now.Add(90*day), &requests)
	onLocalhost := *valid
	onLocalhost.Host = "localhost:" + valid.Port()
	tests := []struct {
		name     string
		url      *url.URL
		caFile   string
		insecure bool
		warn     time.Duration // the checks' tls_warn_before; 0: the default
		want     Result
		says     string
	}{
		{"valid", valid, p.caFile, false, 0, OK, "an IP address; TLS ok, certificate valid until 2027-02-19 (90 days left)"},
		{"valid, by name", &onLocalhost, p.caFile, false, 0, OK, "resolves ("},
		{"5 days left", soon, p.caFile, false, 0, Warn, "the certificate expires 2026-11-26, in 5 days: renew it"},
		{"expired", expired, p.caFile, false, 0, Fail, "certificate expired on 2026-11-19 (2 days ago)"},
		{"not yet valid", future, p.caFile, false, 0, Fail, "not valid before 2026-11-24"},
		{"untrusted without the check's ca_file", valid, "", false, 0, Fail, "certificate not trusted: x509: "},
		{"insecure_skip_verify", valid, "", true, 0, Warn, "not verified (insecure_skip_verify); expires 2027-02-19, 90 days left"},
		{"expired even when not verified", expired, "", true, 0, Fail, "expired"},
		{"5 days left under a tls_warn_before of 72h", soon, p.caFile, false, 72 * time.Hour, OK, "TLS ok, certificate valid until 2026-11-26"},
		{"90 days left under a tls_warn_before of 100 days", valid, p.caFile, false, 2400 * time.Hour, Warn, "in 90 days: renew it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := CheckHost(context.Background(), Host{URL: tc.url, CAFile: tc.caFile, InsecureSkipVerify: tc.insecure, Now: clock.Now, WarnBefore: tc.warn})
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d HTTP requests reached the endpoints: a probe must send nothing", n)
	}
}

func TestCheckHostWrongHost(t *testing.T) {
	clock := testkit.NewClock()
	p := newPKI(t, clock.Now())
	var requests atomic.Int64
	u := p.serve(t, clock.Now().Add(-time.Hour), clock.Now().Add(90*24*time.Hour), &requests, "other.example")
	r, detail := CheckHost(context.Background(), Host{URL: u, CAFile: p.caFile, Now: clock.Now})
	if r != Fail || !strings.Contains(detail, "certificate not trusted: x509: cannot validate certificate for 127.0.0.1") {
		t.Errorf("got %s %q, want a fail", r, detail)
	}
}

func TestCheckHostPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want Result
	}{
		{"http://127.0.0.1:1", OK},
		{"http://192.0.2.1:1", Warn}, // TEST-NET-1: an IP, so no lookup and no connection
	} {
		u, _ := url.Parse(tc.url)
		if r, detail := CheckHost(context.Background(), Host{URL: u, Now: time.Now}); r != tc.want {
			t.Errorf("%s: got %s %q, want %s", tc.url, r, detail, tc.want)
		}
	}
}

func TestRunBoundsEveryProbe(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	probes := []Probe{
		{"ignores its context", func(context.Context) (Result, string) { <-hang; return OK, "" }},
		{"quick", func(context.Context) (Result, string) { return Warn, "fine" }},
	}
	items := Run(context.Background(), probes, 50*time.Millisecond)
	want := []Item{
		{"ignores its context", Fail, "no answer within 50ms"},
		{"quick", Warn, "fine"},
	}
	for i := range want {
		if items[i] != want[i] {
			t.Errorf("item %d: %+v, want %+v", i, items[i], want[i])
		}
	}
	if !Failed(items) || Failed(items[1:]) {
		t.Error("Failed does not follow the items")
	}
}

func TestRunBoundsAHangingPeer(t *testing.T) {
	release := make(chan struct{})
	hung := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	t.Cleanup(func() { close(release) })
	probes := []Probe{
		{"slack webhook", func(ctx context.Context) (Result, string) {
			return Webhook(ctx, version.Client(Timeout), hung.URL+hookPath)
		}},
		{"pushgateway", func(ctx context.Context) (Result, string) { return Pushgateway(ctx, version.Client(Timeout), hung.URL) }},
	}
	for _, it := range Run(context.Background(), probes, 100*time.Millisecond) {
		if it.Result != Fail || strings.Contains(it.Detail, "DOCTOR") {
			t.Errorf("%+v: want a fail that names no URL", it)
		}
	}
}

func TestPlan(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	body := fmt.Sprintf(`slack: {webhook_url: "https://hooks.slack.example%s"}
state: {path: %s/state.json}
metrics: {textfile: %s/tokenwatch.prom, pushgateway: {url: "http://127.0.0.1:9091"}}
heartbeat: {url: "https://hc-ping.example/uuid-secret"}
alertmanager: {urls: ["http://127.0.0.1:9093", "http://127.0.0.1:9094"]}
checks:
  - {name: a, type: courier, base_url: "https://api.example", token: abcdefgh}
  - {name: b, type: courier, base_url: "https://api.example", token: abcdefgi}
  - {name: c, type: partner_oauth, host: "https://partner.example:8443", client_id: x, client_secret: y}
  - {name: d, type: partner_oauth, host: "https://partner.example:8443", client_id: x, client_secret: y, insecure_skip_verify: true,
     slack: {webhook_url: "https://hooks.slack.example/services/T/B/own-hook"}}
`, hookPath, dir, dir)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, problems := config.Load(path, func(string) (string, bool) { return "", false })
	if problems.HasErrors() {
		t.Fatalf("config: %v", problems)
	}
	var names []string
	for _, p := range Plan(cfg, Options{}) {
		names = append(names, p.Name)
	}
	want := []string{"slack webhook", "slack webhook of d", "alertmanager http://127.0.0.1:9093", "alertmanager http://127.0.0.1:9094", "pushgateway", "heartbeat", "state", "textfile",
		"endpoint https://api.example", "endpoint https://partner.example:8443", "endpoint https://partner.example:8443 (insecure_skip_verify)"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Errorf("probes %q, want %q", names, want)
	}
}

// An Alertmanager replica is asked only whether it is ready: no alert is
// posted, and a redirect names the key to fix.
func TestAlertmanager(t *testing.T) {
	var posted atomic.Int64
	ready := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/-/ready" {
			posted.Add(1)
		}
		fmt.Fprint(w, "OK")
	})
	moved := testkit.Server(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:1/", http.StatusFound)
	})
	if r, detail := Alertmanager(context.Background(), version.Client(Timeout), ready.URL); r != OK {
		t.Errorf("ready Alertmanager: %s %s", r, detail)
	}
	if r, detail := Alertmanager(context.Background(), version.Client(Timeout), moved.URL); r != Fail || !strings.Contains(detail, "alertmanager.urls") {
		t.Errorf("redirecting Alertmanager: %s %s", r, detail)
	}
	if n := posted.Load(); n != 0 {
		t.Errorf("%d requests other than GET /-/ready", n)
	}
}

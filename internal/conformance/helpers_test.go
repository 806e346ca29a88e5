package conformance

import (
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	testClientID = "partner-client-987"
	testSecret   = "g8bKdBiIR9MutCObuexDm7nsgkaXU"
	testIssued   = "CObuexDm7nsgkaXUg8bKdBiIR9Mut"
	testCourier  = "y0_AgAAAAB3courierTOKENsecret"
)

// assertNoSecret fails when a secret of the tests appears in text.
func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{testSecret, testIssued, testCourier} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains a secret: %q", where, text)
		}
	}
}

// serveHTTP starts h over plain http, closed when the test ends.
func serveHTTP(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// onLocalhost is a server's URL with its host name instead of its IP.
func onLocalhost(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
}

// target is a check's HTTP side, trusting caFile (none when empty).
func target(t *testing.T, caFile string) checks.Target {
	t.Helper()
	rt, err := checks.NewTransport(checks.TLSOptions{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.CloseIdleConnections)
	return checks.Target{Name: "partner-acme", Client: checks.NewClient(rt), Timeout: 5 * time.Second, UserAgent: "tokenwatch/test"}
}

func partnerCheck(t *testing.T, host, caFile string, verify *checks.Verify) *checks.Partner {
	return &checks.Partner{Target: target(t, caFile), Host: host, ClientID: testClientID,
		ClientSecret: secret.New(testSecret), Scope: checks.DefaultScope, AuthStyle: checks.AuthForm, Verify: verify}
}

// probeLog counts the requests a fake received, by what they were.
type probeLog struct {
	mu   sync.Mutex
	seen map[string]int
}

func (l *probeLog) add(kind string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]int{}
	}
	l.seen[kind]++
}

func (l *probeLog) counts() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for k, v := range l.seen {
		out[k] = v
	}
	return out
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it after review):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

package checks

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

const (
	testToken        = "y0_AgAAAAB3courierTOKENsecret"
	testClientID     = "partner-client-987"
	testClientSecret = "g8bKdBiIR9MutCObuexDm7nsgkaXU"
	testUserAgent    = "tokenwatch/test"
)

// seenRequest is what a fake endpoint received.
type seenRequest struct {
	Method, Path string
	Header       http.Header
	Body         string
}

// recorder wraps a handler and keeps every request it saw.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (rec *recorder) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.seen = append(rec.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
		rec.mu.Unlock()
		h(w, r)
	}
}

func (rec *recorder) requests() []seenRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]seenRequest(nil), rec.seen...)
}

func testTarget(t testing.TB, timeout time.Duration) Target {
	t.Helper()
	rt, err := NewTransport(TLSOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.CloseIdleConnections)
	return Target{Name: "test", Client: NewClient(rt), Timeout: timeout, UserAgent: testUserAgent}
}

func newCourier(t testing.TB, baseURL string) *Courier {
	return &Courier{Target: testTarget(t, 2*time.Second), BaseURL: baseURL, Token: secret.New(testToken), RecheckDelay: 20 * time.Millisecond}
}

func newPartner(t testing.TB, host string) *Partner {
	return &Partner{Target: testTarget(t, 2*time.Second), Host: host, ClientID: testClientID,
		ClientSecret: secret.New(testClientSecret), Scope: DefaultScope, AuthStyle: AuthForm}
}

// serve starts a recorded httptest server for one test.
func serve(t testing.TB, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(h))
	t.Cleanup(srv.Close)
	return srv, rec
}

// reply answers with a status, a content type (none when empty) and a body.
func reply(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil // no header at all: net/http would sniff one
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// assertNoSecret fails when any secret of the tests appears in text.
func assertNoSecret(t *testing.T, where, text string) {
	t.Helper()
	for _, s := range []string{testToken, testClientSecret, url.QueryEscape(testClientSecret), "CObuexDm7nsgkaXUg8bKdBiIR9Mut"} {
		if strings.Contains(text, s) {
			t.Errorf("%s contains a secret: %q", where, text)
		}
	}
}

// dnsFailure is a dialer that fails as a resolver does for an unknown name,
// so the test needs no DNS server (no network beyond loopback in tests).
func dnsFailure(_ context.Context, _, addr string) (net.Conn, error) {
	host, _, _ := net.SplitHostPort(addr)
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string { return testkit.FreeAddr(t) }

func newSecret(s string) secret.Value { return secret.New(s) }

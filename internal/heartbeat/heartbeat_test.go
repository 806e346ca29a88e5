package heartbeat

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// pingPath is the secret part of a healthchecks.io ping URL.
const pingPath = "/ping/9f1c2b7e-secret-uuid"

// A redirect is a failed ping, said plainly: following it would hand the
// ping URL (a capability) to another host in the Referer, and the request
// itself to whoever the Location names.
func TestPingDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()

	p := &Pinger{URL: secret.New(srv.URL + pingPath)}
	err := p.Report(context.Background(), &job.Report{})
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
	if err == nil || !strings.Contains(err.Error(), "redirect (HTTP 307)") || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("error %v: want a failed ping that names the redirect", err)
	}
}

// Whatever goes wrong, the error names the failure, never the URL.
func TestPingErrorsNeverQuoteTheURL(t *testing.T) {
	closed := testkit.ClosedURL(t)
	tests := []struct {
		name string
		url  func(t *testing.T) string
		want string
	}{
		{"error status", func(t *testing.T) string { return serve(t, http.StatusInternalServerError) + pingPath }, "HTTP 500"},
		{"not found", func(t *testing.T) string { return serve(t, http.StatusNotFound) + pingPath }, "HTTP 404"},
		{"redirect", func(t *testing.T) string { return serve(t, http.StatusFound) + pingPath }, "redirect (HTTP 302)"},
		{"unreachable", func(*testing.T) string { return closed + pingPath }, "connection refused"},
		{"not a URL", func(*testing.T) string { return "http://[::1" + pingPath }, "not valid"},
		{"unsupported scheme", func(*testing.T) string { return "ftp://hc.example" + pingPath }, "unsupported protocol scheme"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Pinger{URL: secret.New(tc.url(t))}
			err := p.Report(context.Background(), &job.Report{Failures: []string{"slack: down"}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v: want one that says %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret-uuid") {
				t.Errorf("the error quotes the ping URL: %v", err)
			}
		})
	}
}

// A heartbeat service that answers an endless body cannot hold the run:
// the ping reads a few KiB of it and hangs up.
func TestPingReadsABoundedBody(t *testing.T) {
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 1 << 12 { // 128 MiB at most
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	p := &Pinger{URL: secret.New(srv.URL + pingPath)}
	done := make(chan error, 1)
	go func() { done <- p.Report(context.Background(), &job.Report{}) }()
	if err := testkit.Receive(t, "the ping to stop reading an endless body", done); err != nil {
		t.Fatalf("a 200 is a delivered ping: %v", err)
	}
	srv.CloseClientConnections()
	if n := written.Load(); n >= 128<<20 {
		t.Errorf("the ping read the whole %d-byte body", n)
	}
}

func serve(t *testing.T, status int) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "http://elsewhere.invalid/")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tokenwatch/tokenwatch/internal/job"
)

func pushRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "tokenwatch_test_gauge", Help: "A gauge to push."})
	g.Set(1)
	reg.MustRegister(g)
	return reg
}

// A Pushgateway that redirects is a failed push: the metrics (and any
// credentials in the URL) must not go to the host the Location names.
func TestPushgatewayDoesNotFollowRedirects(t *testing.T) {
	var reached atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer other.Close()
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer gw.Close()

	p := &Pushgateway{URL: gw.URL, Job: "tokenwatch", Gatherer: pushRegistry()}
	err := p.Report(context.Background(), &job.Report{})
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect target received %d requests", n)
	}
	if err == nil || !strings.Contains(err.Error(), "redirect (HTTP 307)") || !strings.Contains(err.Error(), "not followed") {
		t.Errorf("error %v: want a failed push that names the redirect", err)
	}
}

// The gateway's error answer is quoted for on-call, but only a bounded,
// printable excerpt of it, and never the password of the URL.
func TestPushgatewayErrorIsBoundedAndPrintable(t *testing.T) {
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte("pushed metrics are invalid \x1b[2J\x1b]0;pwned\x07\n" + strings.Repeat("A", 1<<20)))
	}))
	defer gw.Close()

	url := strings.Replace(gw.URL, "http://", "http://pusher:gw-password@", 1)
	p := &Pushgateway{URL: url, Job: "tokenwatch", Gatherer: pushRegistry()}
	err := p.Report(context.Background(), &job.Report{})
	if err == nil {
		t.Fatal("a 400 is a failed push")
	}
	msg := err.Error()
	if !strings.Contains(msg, "HTTP 400") || !strings.Contains(msg, "pushed metrics are invalid") {
		t.Errorf("error %q: want the status and the gateway's words", msg)
	}
	if len(msg) > 1024 {
		t.Errorf("error of %d bytes: the body was quoted whole", len(msg))
	}
	if strings.Contains(msg, "gw-password") {
		t.Errorf("error quotes the URL's password: %q", msg)
	}
	for _, r := range msg {
		if !unicode.IsGraphic(r) {
			t.Fatalf("error carries the control character %U: %q", r, msg)
		}
	}
}

// A gateway that never answers fails the push after Timeout, so the run
// ends: well before the default bound would end it.
func TestPushgatewayTimeoutEndsAHangingPush(t *testing.T) {
	hung := make(chan struct{})
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // the client hung up
		case <-hung:
		}
	}))
	defer gw.Close()
	defer close(hung)

	p := &Pushgateway{URL: gw.URL, Job: "tokenwatch", Gatherer: pushRegistry(), Timeout: 50 * time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- p.Report(context.Background(), &job.Report{}) }()
	select {
	case err := <-done:
		var netErr net.Error
		if !errors.As(err, &netErr) || !netErr.Timeout() {
			t.Errorf("error %v: want a push that timed out", err)
		}
	case <-time.After(DefaultPushTimeout / 2): // a bound far from both: 50 ms set, 10 s default
		t.Fatal("the push ignored its Timeout")
	}
}

package checks

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A failure is a network failure only when nothing answered: DNS, connect,
// TLS, timeout, for both kinds of check. An endpoint that answered 429 or
// 503 is reachable, and an interrupted check says nothing about the network.
func TestNetworkFailureIsANoAnswerOutage(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(reply(200, "application/json", `{"message":"OK"}`))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain, _ := serve(t, reply(200, "application/json", `{"message":"OK"}`))
	hang, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	busy, _ := serve(t, reply(503, "", "maintenance"))
	limited, _ := serve(t, reply(429, "", ""))
	withDNSFailure := func(tg *Target) {
		rt, _ := NewTransport(TLSOptions{})
		rt.DialContext = dnsFailure
		tg.Client = NewClient(rt)
	}
	tests := []struct {
		name  string
		url   string
		setup func(tg *Target)
		want  bool
	}{
		{"connection refused", "http://" + closedAddr(t), nil, true},
		{"DNS failure", "https://endpoint.invalid", withDNSFailure, true},
		{"TLS unknown authority", tlsSrv.URL, nil, true},
		{"TLS to a plain HTTP port", strings.Replace(plain.URL, "http://", "https://", 1), nil, true},
		{"timeout", hang.URL, func(tg *Target) { tg.Timeout = 100 * time.Millisecond }, true},
		{"HTTP 503", busy.URL, nil, false},
		{"HTTP 429", limited.URL, nil, false},
	}
	for _, tc := range tests {
		for _, kind := range []string{TypeCourier, TypePartner} {
			t.Run(tc.name+"/"+kind, func(t *testing.T) {
				var got Result
				if kind == TypeCourier {
					c := newCourier(t, tc.url)
					if tc.setup != nil {
						tc.setup(&c.Target)
					}
					got = c.Run(context.Background())
				} else {
					p := newPartner(t, tc.url)
					if tc.setup != nil {
						tc.setup(&p.Target)
					}
					got = p.Run(context.Background())
				}
				if got.Outcome != Unavailable {
					t.Fatalf("outcome %s %q, want unavailable", got.Outcome, got.Detail)
				}
				if got.NetworkFailure() != tc.want {
					t.Errorf("NetworkFailure() = %v for %q (HTTP %d), want %v", got.NetworkFailure(), got.Detail, got.HTTPStatus, tc.want)
				}
			})
		}
	}
}

// Only an unavailable result without an answer that was not interrupted
// is a network failure.
func TestNetworkFailureTable(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		want bool
	}{
		{"no answer", Result{Outcome: Unavailable}, true},
		{"answered 503", Result{Outcome: Unavailable, HTTPStatus: 503}, false},
		{"interrupted", Result{Outcome: Unavailable, Interrupted: true}, false},
		{"bad_response without an answer (request not built)", Result{Outcome: BadResponse}, false},
		{"ok", Result{Outcome: OK, HTTPStatus: 200}, false},
		{"invalid", Result{Outcome: Invalid, HTTPStatus: 401}, false},
	}
	for _, tc := range tests {
		if got := tc.r.NetworkFailure(); got != tc.want {
			t.Errorf("%s: NetworkFailure() = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// An interrupted run is never a network failure, even with no answer.
func TestInterruptedIsNotANetworkFailure(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := newPartner(t, srv.URL).Run(ctx); got.NetworkFailure() {
		t.Errorf("interrupted result %+v is a network failure", got)
	}
}

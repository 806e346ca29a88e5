package checks

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCourierOutcomes(t *testing.T) {
	big := `{"message":"OK","pad":"` + strings.Repeat("x", ReadCap) + `"}`
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		want       Outcome
		wantStatus int
		wantDetail string // a part of the detail
		wantAsks   int    // requests the endpoint should see
	}{
		{"200 message OK", reply(200, "application/json", `{"message":"OK"}`), OK, 200, "token accepted", 1},
		{"200 OK whatever the content type", reply(200, "text/plain", `{"message":"OK"}`), OK, 200, "token accepted", 1},
		{"200 message other than OK", reply(200, "application/json", `{"message":"Maintenance"}`), BadResponse, 200, `message is "Maintenance"`, 1},
		{"200 without message", reply(200, "application/json", `{"status":"ok"}`), BadResponse, 200, `no "message"`, 1},
		{"200 HTML page", reply(200, "text/html", `<!DOCTYPE html><html><head><title>Yandex Login</title></head></html>`), BadResponse, 200, `HTML page titled "Yandex Login"`, 1},
		{"200 empty body", reply(200, "application/json", ``), BadResponse, 200, "an empty body", 1},
		{"200 truncated JSON", reply(200, "application/json", `{"message":"O`), BadResponse, 200, `not a JSON object: "{\"message\":\"O"`, 1},
		{"200 JSON array", reply(200, "application/json", `["OK"]`), BadResponse, 200, "not a JSON object", 1},
		{"200 body over the read cap", reply(200, "application/json", big), BadResponse, 200, "larger than 64 KiB", 1},
		{"401 twice", reply(401, "application/json", `{"error":"unauthorized"}`), Invalid, 401, "token rejected (HTTP 401) twice", 2},
		{"403 not an administrator", reply(403, "application/json", `{"message":"Company apikey is unknown or banned"}`), Forbidden, 403, "Company apikey is unknown or banned", 1},
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
		}, Unavailable, 429, "rate limited (HTTP 429, Retry-After 30)", 1},
		{"500", reply(500, "text/html", `<html><title>500</title></html>`), Unavailable, 500, "server error (HTTP 500)", 1},
		{"502", reply(502, "", ``), Unavailable, 502, "HTTP 502", 1},
		{"503", reply(503, "", ``), Unavailable, 503, "HTTP 503", 1},
		{"302 to another host, not followed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://attacker.example/steal")
			w.WriteHeader(302)
		}, BadResponse, 302, "redirect (HTTP 302) to attacker.example, not followed", 1},
		{"301 without Location", reply(301, "", ``), BadResponse, 301, "no Location", 1},
		{"404", reply(404, "text/plain", "not found"), BadResponse, 404, `unexpected HTTP 404: "not found"`, 1},
		{"405", reply(405, "", ""), BadResponse, 405, "unexpected HTTP 405", 1},
		{"400", reply(400, "application/json", `{"message":"bad"}`), BadResponse, 400, "unexpected HTTP 400", 1},
		{"200 message twice, the last OK", reply(200, "application/json", `{"message":"Error","message":"OK"}`), BadResponse, 200, `the key "message" twice`, 1},
		{"200 message OK twice", reply(200, "application/json", `{"message":"OK","message":"OK"}`), BadResponse, 200, `the key "message" twice`, 1},
		{"200 MESSAGE in capitals", reply(200, "application/json", `{"MESSAGE":"OK"}`), BadResponse, 200, `no "message"`, 1},
		{"200 message escaped is still message", reply(200, "application/json", `{"mess\u0061ge":"OK"}`), OK, 200, "token accepted", 1},
		{"200 message null", reply(200, "application/json", `{"message":null}`), BadResponse, 200, `no "message"`, 1},
		{"200 message not a string", reply(200, "application/json", `{"message":1}`), BadResponse, 200, `message is "1", want "OK"`, 1},
		{"200 trailing comma", reply(200, "application/json", `{"message":"OK",}`), BadResponse, 200, "not a JSON object", 1},
		{"200 two objects", reply(200, "application/json", `{"message":"OK"}{"message":"OK"}`), BadResponse, 200, "not a JSON object", 1},
		{"200 body with a token field", reply(200, "text/plain", `oops access_token=CObuexDm7nsgkaXUg8bKdBiIR9Mut`), BadResponse, 200, "access_token=[redacted]", 1},
		{"token echoed back is scrubbed", reply(200, "application/json", `{"message":"bad token OAuth `+testToken+`"}`), BadResponse, 200, "[redacted]", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := serve(t, tc.handler)
			got := newCourier(t, srv.URL).Run(context.Background())
			if got.Outcome != tc.want || got.HTTPStatus != tc.wantStatus {
				t.Errorf("outcome %s (HTTP %d), want %s (HTTP %d); detail %q", got.Outcome, got.HTTPStatus, tc.want, tc.wantStatus, got.Detail)
			}
			if !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not contain %q", got.Detail, tc.wantDetail)
			}
			assertNoSecret(t, "detail", got.Detail)
			if strings.ContainsAny(got.Detail, "\n\r") || len(got.Detail) > 400 {
				t.Errorf("detail is not one short line: %q", got.Detail)
			}
			seen := rec.requests()
			if len(seen) != tc.wantAsks {
				t.Fatalf("endpoint saw %d requests, want %d", len(seen), tc.wantAsks)
			}
			for _, req := range seen {
				assertCourierRequest(t, req)
			}
		})
	}
}

// assertCourierRequest checks the request is exactly what the Yandex document shows.
func assertCourierRequest(t *testing.T, req seenRequest) {
	t.Helper()
	if req.Method != http.MethodGet || req.Path != "/api/v1/test" {
		t.Errorf("request %s %s, want GET /api/v1/test", req.Method, req.Path)
	}
	if got := req.Header.Get("Authorization"); got != "OAuth "+testToken {
		t.Errorf("Authorization header is not %q", "OAuth <token>")
	}
	if got := req.Header.Get("User-Agent"); got != testUserAgent {
		t.Errorf("User-Agent %q, want %q", got, testUserAgent)
	}
	if req.Body != "" {
		t.Errorf("GET carried a body: %q", req.Body)
	}
}

func TestCourierFlaky401IsRecheckedAndOK(t *testing.T) {
	calls := 0
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.WriteHeader(401)
			return
		}
		_, _ = io.WriteString(w, `{"message":"OK"}`)
	})
	got := newCourier(t, srv.URL).Run(context.Background())
	if got.Outcome != OK || len(rec.requests()) != 2 {
		t.Fatalf("outcome %s after %d requests, want ok after 2", got.Outcome, len(rec.requests()))
	}
}

func TestCourierRedirectNeverReachesTheOtherHost(t *testing.T) {
	other, otherRec := serve(t, reply(200, "application/json", `{"message":"OK"}`))
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/api/v1/test", http.StatusTemporaryRedirect)
	})
	got := newCourier(t, srv.URL).Run(context.Background())
	if got.Outcome != BadResponse {
		t.Errorf("outcome %s, want bad_response", got.Outcome)
	}
	if n := len(otherRec.requests()); n != 0 {
		t.Errorf("the redirect target saw %d requests: the token left for another host", n)
	}
}

func TestCourierTransportFailures(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(reply(200, "application/json", `{"message":"OK"}`))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain, _ := serve(t, reply(200, "application/json", `{"message":"OK"}`))
	hang, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	tests := []struct {
		name       string
		baseURL    string
		setup      func(c *Courier)
		wantDetail string
	}{
		{"connection refused", "http://" + closedAddr(t), nil, "connection refused"},
		{"DNS failure", "https://courier.invalid", func(c *Courier) {
			rt, _ := NewTransport(TLSOptions{})
			rt.DialContext = dnsFailure
			c.Client = NewClient(rt)
		}, "DNS: host courier.invalid not found"},
		{"TLS unknown authority", tlsSrv.URL, nil, "unknown authority"},
		{"TLS to a plain HTTP port", strings.Replace(plain.URL, "http://", "https://", 1), nil, "does not speak TLS"},
		{"timeout", hang.URL, func(c *Courier) { c.Timeout = 100 * time.Millisecond }, "no answer within 100ms (timeout)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCourier(t, tc.baseURL)
			if tc.setup != nil {
				tc.setup(c)
			}
			got := c.Run(context.Background())
			if got.Outcome != Unavailable || got.HTTPStatus != 0 {
				t.Errorf("outcome %s (HTTP %d), want unavailable (HTTP 0)", got.Outcome, got.HTTPStatus)
			}
			if !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not contain %q", got.Detail, tc.wantDetail)
			}
			assertNoSecret(t, "detail", got.Detail)
		})
	}
}

func TestEndlessBodyIsCutAtTheReadCap(t *testing.T) {
	written := make(chan int64, 1)
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		chunk := []byte(strings.Repeat("{", 4096))
		var n int64
		defer func() { written <- n }()
		for i := 0; i < 1<<16; i++ { // at most 256 MiB, if the client kept reading
			k, err := w.Write(chunk)
			n += int64(k)
			if err != nil {
				return
			}
		}
	})
	got := newCourier(t, srv.URL).Run(context.Background())
	if got.Outcome != BadResponse || !strings.Contains(got.Detail, "larger than 64 KiB") {
		t.Fatalf("outcome %s %q, want bad_response about the size", got.Outcome, got.Detail)
	}
	// The client stops reading at the cap and drops the connection; the
	// server can only have pushed what the socket buffers held.
	if n := <-written; n > 64<<20 {
		t.Errorf("server wrote %d bytes before the client hung up: the body was drained", n)
	}
}

func TestInterruptedRunIsMarked(t *testing.T) {
	srv, _ := serve(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	got := newCourier(t, srv.URL).Run(ctx)
	if !got.Interrupted || got.Outcome != Unavailable {
		t.Errorf("interrupted=%v outcome=%s, want an interrupted unavailable result", got.Interrupted, got.Outcome)
	}
}

type panicking struct {
	Courier
	value any
}

func (p *panicking) Run(context.Context) Result { panic(p.value) }

func TestRunAllSurvivesAPanickingCheck(t *testing.T) {
	srv, _ := serve(t, reply(200, "application/json", `{"message":"OK"}`))
	good := newCourier(t, srv.URL)
	bad := &panicking{Courier: *newCourier(t, srv.URL), value: "boom"}
	results := RunAll(context.Background(), []Check{bad, good}, 2)
	if !results[0].Interrupted || !strings.Contains(results[0].Detail, "panicked: boom") {
		t.Errorf("panicking check: %+v", results[0])
	}
	if results[1].Outcome != OK {
		t.Errorf("the other check: %s", results[1].Outcome)
	}
}

// A panic value may hold whatever text was being handled: the detail
// stays one printable line.
func TestRunAllPanicDetailIsOneLine(t *testing.T) {
	for _, h := range hostile {
		bad := &panicking{Courier: *newCourier(t, "http://"+closedAddr(t)), value: h}
		results := RunAll(context.Background(), []Check{bad}, 1)
		assertPrintableLine(t, "panic detail", results[0].Detail)
	}
}

func TestCAFileTrustsAPrivateCA(t *testing.T) {
	srv := httptest.NewTLSServer(reply(200, "application/json", `{"message":"OK"}`))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	rt, err := NewTransport(TLSOptions{CAFile: ca})
	if err != nil {
		t.Fatal(err)
	}
	c := newCourier(t, srv.URL)
	c.Client = NewClient(rt)
	if got := c.Run(context.Background()); got.Outcome != OK {
		t.Errorf("with ca_file: %s %q, want ok", got.Outcome, got.Detail)
	}
	if _, err := NewTransport(TLSOptions{CAFile: filepath.Join(t.TempDir(), "missing.pem")}); err == nil {
		t.Error("a missing ca_file must be an error")
	}
}

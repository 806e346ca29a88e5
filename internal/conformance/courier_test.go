package conformance

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

func courierCheck(t *testing.T, baseURL string) *checks.Courier {
	return &checks.Courier{Target: target(t, ""), BaseURL: baseURL, Token: secret.New(testCourier)}
}

func TestCourierReport(t *testing.T) {
	// courierAPI answers the token with good, any other token with wrong.
	courierAPI := func(good, wrong http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/test" {
				w.WriteHeader(http.StatusTeapot)
				return
			}
			if r.Header.Get("Authorization") == "OAuth "+testCourier {
				good(w, r)
				return
			}
			wrong(w, r)
		}
	}
	tests := []struct {
		name                 string
		api                  http.HandlerFunc
		wantToken, wantWrong Result
		words                string
	}{
		{"follows the document", courierAPI(reply(200, "application/json", `{"message":"OK"}`), reply(401, "", ``)), Pass, Pass,
			`a wrong token gets 401 (HTTP 401, no Content-Type, an empty body)`},
		{"accepts any token", courierAPI(reply(200, "application/json", `{"message":"OK"}`), reply(200, "application/json", `{"message":"OK"}`)), Pass, Fail,
			"a wrong token was accepted: a revoked token could not be told from a working one"},
		{"refuses the token, echoing it", courierAPI(reply(401, "text/plain", "bad token "+testCourier), reply(401, "", ``)), Fail, Pass,
			"the token is not accepted (invalid): token rejected (HTTP 401)"},
		{"a wrong token is 403", courierAPI(reply(200, "application/json", `{"message":"OK"}`), reply(403, "", ``)), Pass, Fail,
			"a wrong token got no 401"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var probes atomic.Int64
			srv := serveHTTP(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				probes.Add(1)
				tt.api(w, r)
			}))
			r, err := Run(t.Context(), []checks.Check{courierCheck(t, srv.URL)}, Options{Now: time.Now})
			if err != nil {
				t.Fatal(err)
			}
			items := r.Checks[0].Items
			if len(items) != 2 || items[0].Name != "token" || items[1].Name != "wrong_token" {
				t.Fatalf("items %+v", items)
			}
			if items[0].Result != tt.wantToken || items[1].Result != tt.wantWrong {
				t.Errorf("token %s, wrong_token %s; want %s, %s: %+v", items[0].Result, items[1].Result, tt.wantToken, tt.wantWrong, items)
			}
			all := items[0].Detail + "\n" + items[1].Detail
			if !strings.Contains(all, tt.words) {
				t.Errorf("details\n%s\ndo not say %q", all, tt.words)
			}
			assertNoSecret(t, "details", all)
			if n := probes.Load(); n != 2 {
				t.Errorf("%d probes, want 2: no 401 re-check in a report", n)
			}
		})
	}
}

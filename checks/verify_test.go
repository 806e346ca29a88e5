package checks

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

const issuedToken = "CObuexDm7nsgkaXUg8bKdBiIR9Mut"

// deepPartner serves a token endpoint that issues issuedToken and an API
// at /api/v1/orders that answers with api.
func deepPartner(t *testing.T, api http.HandlerFunc) (*Partner, *recorder) {
	t.Helper()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/security/oauth/token" {
			reply(200, "application/json", `{"access_token":"`+issuedToken+`","expires_in":300}`)(w, r)
			return
		}
		api(w, r)
	})
	p := newPartner(t, srv.URL)
	p.Verify = &Verify{Path: "/api/v1/orders?limit=1", Method: http.MethodGet}
	return p, rec
}

func TestDeepCheckOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		api        http.HandlerFunc
		want       Outcome
		wantStatus int
		wantDetail string
	}{
		{"200 keeps ok", reply(200, "application/json", `{"orders":[]}`), OK, 200, "token issued, expires in 300s; GET /api/v1/orders accepted it (HTTP 200)"},
		{"204 keeps ok", reply(204, "", ``), OK, 204, "accepted it (HTTP 204)"},
		{"401 is a broken contract", reply(401, "application/json", `{"error":"invalid_token"}`), BadResponse, 401,
			`the endpoint issues tokens that its own API rejects: GET /api/v1/orders answered HTTP 401 to the issued token; server says "{\"error\":\"invalid_token\"}"`},
		{"403 is a broken contract", reply(403, "", ``), BadResponse, 403, "its own API rejects: GET /api/v1/orders answered HTTP 403"},
		{"500 is an outage", reply(500, "text/plain", `db down`), Unavailable, 500, `token issued, but GET /api/v1/orders answered HTTP 500, which says nothing about the token; server says "db down"`},
		{"404 is an outage", reply(404, "", ``), Unavailable, 404, "answered HTTP 404"},
		{"429 is an outage", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(429)
		}, Unavailable, 429, "rate limited (HTTP 429, Retry-After 30)"},
		{"302 is an outage, not followed", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "https://sso.partner.example/login")
			w.WriteHeader(302)
		}, Unavailable, 302, "redirect (HTTP 302) to sso.partner.example, not followed"},
		// The API echoes what it was sent: the token must not come back.
		{"401 echoing the token", reply(401, "text/plain", `bad token Bearer `+issuedToken), BadResponse, 401, `server says "bad token Bearer [redacted]"`},
		{"500 echoing the token as JSON", reply(500, "application/json", `{"access_token":"`+issuedToken+`"}`), Unavailable, 500, `[redacted]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, rec := deepPartner(t, tt.api)
			res := p.Run(t.Context())
			if res.Outcome != tt.want || res.HTTPStatus != tt.wantStatus || !strings.Contains(res.Detail, tt.wantDetail) {
				t.Errorf("got %s, HTTP %d, %q; want %s, HTTP %d, detail containing %q", res.Outcome, res.HTTPStatus, res.Detail, tt.want, tt.wantStatus, tt.wantDetail)
			}
			if res.ExpiresIn == nil || *res.ExpiresIn != 300 {
				t.Errorf("ExpiresIn = %v: the issued token's lifetime is kept whatever the API says", res.ExpiresIn)
			}
			assertNoSecret(t, "detail", res.Detail)
			seen := rec.requests()
			if len(seen) != 2 {
				t.Fatalf("%d requests, want the token request and one API request", len(seen))
			}
			api := seen[1]
			if api.Method != http.MethodGet || api.Path != "/api/v1/orders" || api.Header.Get("Authorization") != "Bearer "+issuedToken {
				t.Errorf("API request %s %s with Authorization %q", api.Method, api.Path, api.Header.Get("Authorization"))
			}
			if api.Header.Get("User-Agent") != testUserAgent {
				t.Errorf("User-Agent %q", api.Header.Get("User-Agent"))
			}
		})
	}
}

// Without a token there is nothing to verify: the token endpoint's verdict
// stands and the API hears nothing.
func TestDeepCheckOnlyAfterAToken(t *testing.T) {
	srv, rec := serve(t, reply(400, "application/json", `[{"code":400,"description":"unknown client"}]`))
	p := newPartner(t, srv.URL)
	p.Verify = &Verify{Path: "/api/v1/orders", Method: http.MethodGet}
	if res := p.Run(t.Context()); res.Outcome != Invalid {
		t.Errorf("outcome %s, want invalid", res.Outcome)
	}
	if n := len(rec.requests()); n != 1 {
		t.Errorf("%d requests, want the token request only", n)
	}
}

func TestDeepCheckUnreachable(t *testing.T) {
	srv, _ := serve(t, reply(200, "application/json", `{"access_token":"`+issuedToken+`"}`))
	p := newPartner(t, srv.URL)
	p.Verify = &Verify{Path: "/api", Method: http.MethodHead}
	p.Client = NewClient(&oneThenRefuse{rt: p.Client.Transport})
	res := p.Run(t.Context())
	if res.Outcome != Unavailable || res.HTTPStatus != 0 || !strings.Contains(res.Detail, "token issued, but HEAD /api got no answer") {
		t.Errorf("got %s, HTTP %d, %q", res.Outcome, res.HTTPStatus, res.Detail)
	}
	assertNoSecret(t, "detail", res.Detail)
}

// oneThenRefuse lets the first request through and fails every other, as
// an API behind another, broken route would.
type oneThenRefuse struct {
	rt   http.RoundTripper
	done bool
}

func (o *oneThenRefuse) RoundTrip(r *http.Request) (*http.Response, error) {
	if !o.done {
		o.done = true
		return o.rt.RoundTrip(r)
	}
	return nil, errors.New("connection refused")
}

func TestVerifyPathProblems(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/api/v1/orders?limit=1", ""},
		{"/", ""},
		{"api/v1/orders", `must start with "/"`},
		{"https://evil.example/api", `must start with "/"`},
		{"//evil.example/api", `must not start with "//"`},
		{"/api#top", "fragment"},
		{"/api v1", "white space"},
		{"/api\x00", "control characters"},
		{"/api/%zz", "not a valid request path"},
	}
	for _, tt := range tests {
		got := verifyPathProblem(tt.path)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("verifyPathProblem(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

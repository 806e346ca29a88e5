package checks

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestPartnerOutcomes(t *testing.T) {
	const issued = `"access_token":"CObuexDm7nsgkaXUg8bKdBiIR9Mut"`
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		want       Outcome
		wantDetail string
		wantExpiry int64 // -1: none
	}{
		// ok
		{"200 token with expires_in", reply(200, "application/json", `{`+issued+`,"expires_in":300}`), OK, "token issued, expires in 300s", 300},
		{"200 charset parameter", reply(200, "application/json;charset=UTF-8", `{`+issued+`,"expires_in":3600}`), OK, "expires in 3600s", 3600},
		{"200 +json media type", reply(200, "application/vnd.partner+json", `{`+issued+`}`), OK, "token issued", -1},
		{"200 expires_in absent", reply(200, "application/json", `{`+issued+`}`), OK, "token issued", -1},
		{"200 expires_in null", reply(200, "application/json", `{`+issued+`,"expires_in":null}`), OK, "token issued", -1},
		{"200 expires_in 300.0", reply(200, "application/json", `{`+issued+`,"expires_in":300.0}`), OK, "expires in 300s", 300},
		// invalid
		{"400 Yango array", reply(400, "application/json", `[{"code":400,"description":"Unknown client 987"}]`), Invalid, `partner says "Unknown client 987"`, -1},
		{"400 invalid_client", reply(400, "application/json", `{"error":"invalid_client","error_description":"Client authentication failed"}`), Invalid, `partner says "invalid_client: Client authentication failed"`, -1},
		{"401 invalid_client", reply(401, "application/json", `{"error":"invalid_client"}`), Invalid, `(HTTP 401): partner says "invalid_client"`, -1},
		{"400 invalid_grant", reply(400, "application/json", `{"error":"invalid_grant"}`), Invalid, "credentials rejected", -1},
		{"401 without a body", reply(401, "", ``), Invalid, "credentials rejected (HTTP 401)", -1},
		{"401 with an unknown code", reply(401, "application/json", `{"error":"access_denied"}`), Invalid, `partner says "access_denied"`, -1},
		// forbidden
		{"403", reply(403, "application/json", `{"error":"access_denied","error_description":"IP not allowed"}`), Forbidden, `partner says "access_denied: IP not allowed"`, -1},
		{"400 unauthorized_client", reply(400, "application/json", `{"error":"unauthorized_client"}`), Forbidden, "not allowed this grant or scope", -1},
		{"401 invalid_scope", reply(401, "application/json", `{"error":"invalid_scope"}`), Forbidden, `"invalid_scope"`, -1},
		// unavailable
		{"429 with Retry-After", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		}, Unavailable, "rate limited (HTTP 429, Retry-After 120)", -1},
		{"500 Yango array", reply(500, "application/json", `[{"code":500,"description":"database is down"}]`), Unavailable, `server error (HTTP 500): partner says "database is down"`, -1},
		{"503 HTML", reply(503, "text/html", `<html><title>Bad gateway</title></html>`), Unavailable, "server error (HTTP 503)", -1},
		// bad_response
		{"200 HTML page", reply(200, "text/html; charset=utf-8", `<!doctype html><html><title>Login</title></html>`), BadResponse, `Content-Type is "text/html; charset=utf-8"`, -1},
		{"200 without Content-Type", reply(200, "", `{`+issued+`}`), BadResponse, "no Content-Type", -1},
		{"200 JSON without access_token", reply(200, "application/json", `{"token":"x"}`), BadResponse, "no access_token", -1},
		{"200 empty access_token", reply(200, "application/json", `{"access_token":"","expires_in":300}`), BadResponse, "no access_token", -1},
		{"200 expires_in as a string", reply(200, "application/json", `{`+issued+`,"expires_in":"300"}`), BadResponse, `expires_in is "\"300\""`, -1},
		{"200 expires_in fractional", reply(200, "application/json", `{`+issued+`,"expires_in":299.5}`), BadResponse, "not a whole number", -1},
		{"200 empty body", reply(200, "application/json", ``), BadResponse, "an empty body", -1},
		{"200 truncated JSON", reply(200, "application/json", `{"access_tok`), BadResponse, "not a JSON object", -1},
		{"200 over the read cap", reply(200, "application/json", `{`+issued+`,"pad":"`+strings.Repeat("x", ReadCap)+`"}`), BadResponse, "larger than 64 KiB", -1},
		{"302 with a Location", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://login.partner.example/sso")
			w.WriteHeader(302)
		}, BadResponse, "redirect (HTTP 302) to login.partner.example, not followed", -1},
		{"400 invalid_request", reply(400, "application/json", `{"error":"invalid_request","error_description":"scope required"}`), BadResponse, "refuses the documented request", -1},
		{"401 unsupported_grant_type", reply(401, "application/json", `{"error":"unsupported_grant_type"}`), BadResponse, "unsupported_grant_type", -1},
		{"400 with another code", reply(400, "application/json", `{"error":"slow_down"}`), BadResponse, "unknown error code", -1},
		{"400 without a body", reply(400, "", ``), BadResponse, "without an error code: an empty body", -1},
		{"404", reply(404, "text/html", `<html><title>Not Found</title></html>`), BadResponse, `unexpected HTTP 404: an HTML page titled "Not Found"`, -1},
		{"405", reply(405, "", ``), BadResponse, "unexpected HTTP 405", -1},
		{"secret echoed back is scrubbed", reply(400, "application/json", `[{"code":400,"description":"bad secret `+testClientSecret+`"}]`), Invalid, "bad secret [redacted]", -1},
		// the issued token is a secret even in a body that does not parse
		{"200 malformed JSON carrying the issued token", reply(200, "application/json", `{`+issued+`,"expires_in":300`), BadResponse, `not a JSON object: "{\"access_token\":\"[redacted]\",\"expires_in\":300"`, -1},
		{"200 malformed JSON quoting the issued token twice", reply(200, "application/json", `{`+issued+`,"echo":"CObuexDm7nsgkaXUg8bKdBiIR9Mut"`), BadResponse, "not a JSON object", -1},
		{"200 form-encoded token", reply(200, "application/json", `access_token=CObuexDm7nsgkaXUg8bKdBiIR9Mut&token_type=bearer`), BadResponse, `access_token=[redacted]&token_type=bearer`, -1},
		// keys match exactly, once
		{"200 ACCESS_TOKEN in capitals", reply(200, "application/json", `{"ACCESS_TOKEN":"CObuexDm7nsgkaXUg8bKdBiIR9Mut"}`), BadResponse, "no access_token", -1},
		{"200 access_token twice", reply(200, "application/json", `{"access_token":"","access_token":"CObuexDm7nsgkaXUg8bKdBiIR9Mut"}`), BadResponse, `the key "access_token" twice`, -1},
		{"200 expires_in twice", reply(200, "application/json", `{`+issued+`,"expires_in":300,"expires_in":"x"}`), BadResponse, `the key "expires_in" twice`, -1},
		{"200 Expires_In is not expires_in", reply(200, "application/json", `{`+issued+`,"Expires_In":"x"}`), OK, "token issued", -1},
		{"200 expires_in negative", reply(200, "application/json", `{`+issued+`,"expires_in":-300}`), BadResponse, "expires_in is \"-300\", not a positive number of seconds", -1},
		{"200 expires_in zero", reply(200, "application/json", `{`+issued+`,"expires_in":0}`), BadResponse, "not a positive number of seconds", -1},
		{"400 ERROR in capitals is no error code", reply(400, "application/json", `{"ERROR":"invalid_client"}`), BadResponse, "without an error code", -1},
		{"400 error twice", reply(400, "application/json", `{"error":"invalid_request","error":"invalid_client"}`), BadResponse, `the key "error" twice`, -1},
		{"401 error twice", reply(401, "application/json", `{"error":"invalid_client","error":"invalid_scope"}`), BadResponse, `the key "error" twice`, -1},
		{"400 Yango DESCRIPTION in capitals is not quoted", reply(400, "application/json", `[{"code":400,"DESCRIPTION":"Unknown client"}]`), Invalid, "partner says nothing", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := serve(t, tc.handler)
			got := newPartner(t, srv.URL).Run(context.Background())
			if got.Outcome != tc.want {
				t.Errorf("outcome %s, want %s; detail %q", got.Outcome, tc.want, got.Detail)
			}
			if !strings.Contains(got.Detail, tc.wantDetail) {
				t.Errorf("detail %q does not contain %q", got.Detail, tc.wantDetail)
			}
			switch {
			case tc.wantExpiry < 0 && got.ExpiresIn != nil:
				t.Errorf("expires_in %d, want none", *got.ExpiresIn)
			case tc.wantExpiry >= 0 && (got.ExpiresIn == nil || *got.ExpiresIn != tc.wantExpiry):
				t.Errorf("expires_in %v, want %d", got.ExpiresIn, tc.wantExpiry)
			}
			assertNoSecret(t, "detail", got.Detail)
			seen := rec.requests()
			if len(seen) != 1 {
				t.Fatalf("endpoint saw %d requests, want 1", len(seen))
			}
			assertPartnerFormRequest(t, seen[0])
		})
	}
}

// assertPartnerFormRequest checks the request is exactly the Yango document's.
func assertPartnerFormRequest(t *testing.T, req seenRequest) {
	t.Helper()
	if req.Method != http.MethodPost || req.Path != "/security/oauth/token" {
		t.Errorf("request %s %s, want POST /security/oauth/token", req.Method, req.Path)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q, want application/x-www-form-urlencoded", ct)
	}
	if req.Header.Get("Authorization") != "" {
		t.Errorf("form style sent an Authorization header")
	}
	form, err := url.ParseQuery(req.Body)
	if err != nil {
		t.Fatalf("body is not a form: %v", err)
	}
	want := url.Values{"client_id": {testClientID}, "client_secret": {testClientSecret},
		"grant_type": {"client_credentials"}, "scope": {"read write"}}
	if !reflect.DeepEqual(form, want) {
		t.Errorf("form fields %v, want exactly client_id, client_secret, grant_type=client_credentials, scope=read write", keys(form))
	}
	if got := req.Header.Get("User-Agent"); got != testUserAgent {
		t.Errorf("User-Agent %q, want %q", got, testUserAgent)
	}
}

func keys(v url.Values) []string {
	var out []string
	for k := range v {
		out = append(out, k+"="+strings.Repeat("*", len(v.Get(k))))
	}
	return out
}

func TestPartnerBasicAuthStyle(t *testing.T) {
	const id, sec = "client id:1", "s3cret/+&=value"
	srv, rec := serve(t, reply(200, "application/json", `{"access_token":"abcdEFGH1234"}`))
	p := newPartner(t, srv.URL)
	p.ClientID, p.AuthStyle = id, AuthBasic
	p.ClientSecret = newSecret(sec)
	if got := p.Run(context.Background()); got.Outcome != OK {
		t.Fatalf("outcome %s %q, want ok", got.Outcome, got.Detail)
	}
	req := rec.requests()[0]
	// RFC 6749 2.3.1: form-urlencode id and secret, then Base64 "id:secret".
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(sec)))
	if req.Header.Get("Authorization") != wantAuth {
		t.Errorf("Authorization is not RFC 6749's Basic encoding")
	}
	form, _ := url.ParseQuery(req.Body)
	want := url.Values{"grant_type": {"client_credentials"}, "scope": {"read write"}}
	if !reflect.DeepEqual(form, want) {
		t.Errorf("basic style form %v, want only grant_type and scope", keys(form))
	}
}

func TestPartnerConnectionRefused(t *testing.T) {
	got := newPartner(t, "http://"+closedAddr(t)).Run(context.Background())
	if got.Outcome != Unavailable || !strings.Contains(got.Detail, "connection refused") {
		t.Errorf("outcome %s %q, want unavailable: connection refused", got.Outcome, got.Detail)
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json": true, "application/json;charset=UTF-8": true, "Application/JSON; charset=utf-8": true,
		"application/problem+json": true, "text/json": false, "text/plain": false, "": false, "application/jsonp": false,
		"application/json; charset": false,
	} {
		if got := isJSON(ct); got != want {
			t.Errorf("isJSON(%q) = %v, want %v", ct, got, want)
		}
	}
}

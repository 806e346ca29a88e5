package conformance

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// partnerFake answers each kind of probe as one partner might, and counts
// the probes it got.
type partnerFake struct {
	token, wrongSecret, noGrant, api http.HandlerFunc
	log                              probeLog
}

func (f *partnerFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/security/oauth/token" {
		if r.Header.Get("Authorization") == "Bearer "+testIssued {
			f.log.add("api with the issued token")
		} else {
			f.log.add("api with another token")
		}
		f.api(w, r)
		return
	}
	_ = r.ParseForm()
	// The documented request, field by field; anything else is a teapot,
	// so that a report that sent something else fails its test.
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.PostForm.Get("client_id") != testClientID ||
		r.PostForm.Get("scope") != "read write" || r.Header.Get("Authorization") != "" {
		w.WriteHeader(http.StatusTeapot)
		return
	}
	switch {
	case r.PostForm.Get("grant_type") == "":
		f.log.add("no grant_type")
		f.noGrant(w, r)
	case r.PostForm.Get("grant_type") != "client_credentials":
		w.WriteHeader(http.StatusTeapot)
	case r.PostForm.Get("client_secret") != testSecret:
		f.log.add("wrong secret")
		f.wrongSecret(w, r)
	default:
		f.log.add("documented")
		f.token(w, r)
	}
}

func reply(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		} else {
			w.Header()["Content-Type"] = nil
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

var (
	yangoToken = reply(200, "application/json", `{"access_token":"`+testIssued+`","expires_in":300}`)
	yangoError = reply(400, "application/json", `[{"code":400,"description":"client_secret is wrong"}]`)
	// bearerAPI accepts the issued token only.
	bearerAPI = func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer "+testIssued {
			reply(200, "application/json", `{"orders":[]}`)(w, r)
			return
		}
		reply(401, "application/json", `[{"code":401,"description":"unknown token"}]`)(w, r)
	}
	// echoingAPI rejects every token, quoting what it was sent.
	echoingAPI = func(w http.ResponseWriter, r *http.Request) {
		reply(401, "text/plain", "token rejected: "+r.Header.Get("Authorization"))(w, r)
	}
)

func yangoFake() *partnerFake {
	return &partnerFake{token: yangoToken, wrongSecret: yangoError, noGrant: yangoError, api: bearerAPI}
}

var ordersAPI = &checks.Verify{Path: "/api/v1/orders?limit=1", Method: http.MethodGet}

func TestPartnerReport(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	ca := testkit.NewCA(t)
	long, short := now.Add(400*24*time.Hour), now.Add(5*24*time.Hour)
	type want map[string]Result
	tests := []struct {
		name   string
		fake   *partnerFake
		host   func(*testing.T, http.Handler) string
		caFile string
		verify *checks.Verify
		want   want
		// words are what some details must say.
		words map[string]string
	}{
		{"follows the Yango document", yangoFake(), httpsLocalhost(ca, long), ca.File, ordersAPI,
			want{itemTokenRequest: Pass, itemMediaType: Pass, itemWrongSecret: Pass, itemMissingGrantType: Pass, itemHost: Pass, itemTLS: Pass, itemVerify: Pass},
			map[string]string{
				itemTokenRequest: `token issued, expires_in 300 s (HTTP 200, application/json, body "{\"access_token\":\"[redacted]\",\"expires_in\":300}")`,
				itemWrongSecret:  `400 with the error array, as the document says (HTTP 400, application/json, body "[{\"code\":400,\"description\":\"client_secret is wrong\"}]")`,
				itemHost:         "localhost is a domain name, over https",
				itemTLS:          "valid for the host until " + now.Add(400*24*time.Hour).UTC().Format(time.DateOnly) + ", 400 days left",
				itemVerify:       "GET /api/v1/orders accepted the issued token (HTTP 200, application/json, body \"{\\\"orders\\\":[]}\"); a wrong token is refused (HTTP 401",
			}},
		{"follows RFC 6749 instead", &partnerFake{
			token:       reply(200, "application/json;charset=UTF-8", `{"access_token":"`+testIssued+`","token_type":"bearer"}`),
			wrongSecret: reply(401, "application/json;charset=UTF-8", `{"error":"invalid_client","error_description":"Bad client credentials"}`),
			// A careless server quotes the secret it was sent.
			noGrant: reply(400, "application/json", `{"error":"invalid_request","error_description":"grant_type missing for secret `+testSecret+`"}`),
			api:     bearerAPI,
		}, httpsLocalhost(ca, long), ca.File, nil,
			want{itemTokenRequest: Warn, itemMediaType: Pass, itemWrongSecret: Warn, itemMissingGrantType: Pass, itemHost: Pass, itemTLS: Pass, itemVerify: Warn},
			map[string]string{
				itemTokenRequest:     "token issued without expires_in",
				itemWrongSecret:      "RFC 6749 invalid_client instead of the document's 400 with the error array [{code, description}] (HTTP 401",
				itemMissingGrantType: `grant_type missing for secret [redacted]`,
				itemVerify:           "not tested: the check has no verify",
			}},
		{"accepts any secret", &partnerFake{token: yangoToken, wrongSecret: yangoToken, noGrant: yangoToken, api: bearerAPI},
			httpLocalhost, "", ordersAPI,
			want{itemTokenRequest: Pass, itemMediaType: Pass, itemWrongSecret: Fail, itemMissingGrantType: Fail, itemHost: Warn, itemTLS: Warn, itemVerify: Pass},
			map[string]string{
				itemWrongSecret:      "a wrong secret was accepted: the endpoint does not check client_secret (HTTP 200",
				itemMissingGrantType: "the endpoint does not check grant_type",
				itemHost:             "localhost is a domain name, but over http: fine for a test on this machine, the partner must use https",
				itemTLS:              "no TLS: the host uses http",
			}},
		{"answers text/plain", &partnerFake{
			token:       reply(200, "text/plain", `{"access_token":"`+testIssued+`","expires_in":300}`),
			wrongSecret: reply(400, "text/plain", `[{"code":400,"description":"client_secret is wrong"}]`),
			noGrant:     reply(500, "text/plain", `NullPointerException`),
			api:         bearerAPI,
		}, httpsLocalhost(ca, long), ca.File, ordersAPI,
			want{itemTokenRequest: Fail, itemMediaType: Fail, itemWrongSecret: Warn, itemMissingGrantType: Fail, itemHost: Pass, itemTLS: Pass, itemVerify: Warn},
			map[string]string{
				itemTokenRequest:     `the documented request got no token (bad_response): HTTP 200 but Content-Type is "text/plain", not application/json`,
				itemMediaType:        "the answer is text/plain, not JSON: the document requires application/json",
				itemWrongSecret:      "but as text/plain, not application/json",
				itemMissingGrantType: `got a server error: it wants a 4xx (HTTP 500, text/plain, body "NullPointerException")`,
				itemVerify:           "not tested: the documented request got no usable token",
			}},
		{"on an IP address", yangoFake(), httpsIP(ca, long), ca.File, ordersAPI,
			want{itemTokenRequest: Pass, itemMediaType: Pass, itemWrongSecret: Pass, itemMissingGrantType: Pass, itemHost: Fail, itemTLS: Pass, itemVerify: Pass},
			map[string]string{itemHost: "host 127.0.0.1 is an IP address: the Yango document supports domain names only"}},
		{"certificate 5 days from expiry", yangoFake(), httpsLocalhost(ca, short), ca.File, ordersAPI,
			want{itemTokenRequest: Pass, itemMediaType: Pass, itemWrongSecret: Pass, itemMissingGrantType: Pass, itemHost: Pass, itemTLS: Warn, itemVerify: Pass},
			map[string]string{itemTLS: "expires " + now.Add(5*24*time.Hour).UTC().Format(time.DateOnly) + ", in 5 days (under tls_warn_before, 14 days): renew it"}},
		{"expired certificate", yangoFake(), httpsLocalhost(ca, now.Add(-time.Minute)), ca.File, ordersAPI,
			want{itemTokenRequest: Fail, itemMediaType: Warn, itemWrongSecret: Fail, itemMissingGrantType: Fail, itemHost: Pass, itemTLS: Fail, itemVerify: Warn},
			map[string]string{itemTLS: "the TLS handshake of the documented request failed: TLS: invalid certificate: x509: certificate has expired",
				itemMediaType: "not tested: the documented request got no answer (see token_request)"}},
		{"certificate of an unknown authority", yangoFake(), httpsLocalhost(ca, long), "", ordersAPI,
			want{itemTokenRequest: Fail, itemMediaType: Warn, itemWrongSecret: Fail, itemMissingGrantType: Fail, itemHost: Pass, itemTLS: Fail, itemVerify: Warn},
			map[string]string{itemTLS: "TLS: certificate signed by an unknown authority"}},
		{"API rejects the tokens it issues", &partnerFake{
			token: reply(200, "application/vnd.partner+json", `{"access_token":"`+testIssued+`","expires_in":3600}`), wrongSecret: yangoError, noGrant: yangoError, api: echoingAPI,
		}, httpsLocalhost(ca, long), ca.File, ordersAPI,
			want{itemTokenRequest: Pass, itemMediaType: Warn, itemWrongSecret: Pass, itemMissingGrantType: Pass, itemHost: Pass, itemTLS: Pass, itemVerify: Fail},
			map[string]string{
				itemMediaType: "the answer is application/vnd.partner+json, a JSON type but not the application/json the document names",
				itemVerify:    `the endpoint issues tokens that its own API rejects: GET /api/v1/orders refused the issued token (HTTP 401, text/plain, body "token rejected: Bearer [redacted]")`,
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := tt.host(t, tt.fake)
			r, err := Run(t.Context(), []checks.Check{partnerCheck(t, host, tt.caFile, tt.verify)}, Options{Now: func() time.Time { return now }})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Checks) != 1 || r.Checks[0].Name != "partner-acme" || r.Checks[0].Type != "partner_oauth" {
				t.Fatalf("report %+v", r)
			}
			items := r.Checks[0].Items
			var names []string
			for _, it := range items {
				names = append(names, it.Name)
				if it.Result != tt.want[it.Name] {
					t.Errorf("%s: %s, want %s: %s", it.Name, it.Result, tt.want[it.Name], it.Detail)
				}
				if w, ok := tt.words[it.Name]; ok && !strings.Contains(it.Detail, w) {
					t.Errorf("%s: detail %q\ndoes not say %q", it.Name, it.Detail, w)
				}
				assertNoSecret(t, it.Name, it.Detail)
			}
			if got := strings.Join(names, " "); got != "token_request media_type wrong_secret missing_grant_type host tls verify" {
				t.Errorf("items %s", got)
			}
			if r.Failed() != (strings.Contains(fmt.Sprint(tt.want), "fail")) {
				t.Errorf("Failed() = %v", r.Failed())
			}
		})
	}
}

// Each probe is sent exactly once: the token endpoint gets three, the API
// two (the issued token and a wrong one).
func TestPartnerProbesAreSentOnce(t *testing.T) {
	fake := yangoFake()
	host := httpLocalhost(t, fake)
	if _, err := Run(t.Context(), []checks.Check{partnerCheck(t, host, "", ordersAPI)}, Options{}); err != nil {
		t.Fatal(err)
	}
	got := fake.log.counts()
	want := map[string]int{"documented": 1, "wrong secret": 1, "no grant_type": 1, "api with the issued token": 1, "api with another token": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("probes %v, want %v", got, want)
	}
}

// An endpoint that is not there: every item is a classified fail, and the
// report still has all seven.
func TestPartnerUnreachable(t *testing.T) {
	r, err := Run(t.Context(), []checks.Check{partnerCheck(t, testkit.ClosedURL(t), "", ordersAPI)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Each probe that got no answer fails; an item that only judges the
	// documented request's answer is not tested: one cause, one failure.
	notTested := map[string]bool{itemMediaType: true, itemVerify: true}
	for _, it := range r.Checks[0].Items {
		if want := map[bool]Result{true: Warn, false: Fail}[notTested[it.Name]]; it.Result != want {
			t.Errorf("%s: %s, want %s: %s", it.Name, it.Result, want, it.Detail)
		}
	}
	if d := r.Checks[0].Items[0].Detail; !strings.Contains(d, "the documented request got no answer: connection refused") {
		t.Errorf("token_request: %q", d)
	}
}

// The text report of a real run, with the fake's port replaced: what a
// partner-integration engineer reads.
func TestPartnerTextReportGolden(t *testing.T) {
	fake := &partnerFake{
		token:       reply(200, "application/json;charset=UTF-8", `{"access_token":"`+testIssued+`","token_type":"bearer"}`),
		wrongSecret: reply(401, "application/json", `{"error":"invalid_client","error_description":"Bad client credentials"}`),
		noGrant:     reply(400, "application/json", `{"error":"invalid_request","error_description":"Missing grant type"}`),
		api:         echoingAPI,
	}
	srv := serveHTTP(t, fake)
	host := onLocalhost(srv)
	r, err := Run(t.Context(), []checks.Check{partnerCheck(t, host, "", ordersAPI)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "partner-rfc6749.txt", strings.ReplaceAll(b.String(), strings.TrimPrefix(host, "http://localhost"), ":PORT"))
}

// Hosts for the fakes: each starts the fake and returns the check's host;
// over https, with a leaf of ca's that expires at notAfter.
func httpsLocalhost(ca *testkit.CA, notAfter time.Time) func(*testing.T, http.Handler) string {
	return func(t *testing.T, h http.Handler) string {
		url, _ := ca.Serve(t, time.Now().Add(-time.Hour), notAfter, h)
		return url
	}
}

func httpsIP(ca *testkit.CA, notAfter time.Time) func(*testing.T, http.Handler) string {
	return func(t *testing.T, h http.Handler) string {
		return strings.Replace(httpsLocalhost(ca, notAfter)(t, h), "localhost", "127.0.0.1", 1)
	}
}

func httpLocalhost(t *testing.T, h http.Handler) string { return onLocalhost(serveHTTP(t, h)) }

// A host Go cannot make a request of is a classified fail, never a panic.
func TestPartnerHostThatCannotBeRequested(t *testing.T) {
	r, err := Run(t.Context(), []checks.Check{partnerCheck(t, "https://partner.example.com/%zz", "", ordersAPI)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	items := r.Checks[0].Items
	if items[0].Result != Fail || !strings.Contains(items[0].Detail, "the documented request got no answer: request failed: invalid URL escape") {
		t.Errorf("token_request %+v", items[0])
	}
}

// Every token any answer carries is a secret for the rest of the report:
// the one issued to a wrong secret, echoed by a later answer in plain
// text, and one in a body that does not parse.
func TestEveryIssuedTokenIsScrubbed(t *testing.T) {
	const other, malformed = "OTHERtokenIssuedToAWrongSecret", "MALFORMEDtokenInBrokenJSON"
	fake := &partnerFake{
		token:       reply(200, "application/json", `{"access_token":"`+malformed+`","expires_in":`),
		wrongSecret: reply(200, "application/json", `{"access_token":"`+other+`"}`),
		noGrant:     reply(400, "text/plain", "last tokens: "+other+" and "+malformed),
		api:         bearerAPI,
	}
	r, err := Run(t.Context(), []checks.Check{partnerCheck(t, httpLocalhost(t, fake), "", ordersAPI)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), other) || strings.Contains(b.String(), malformed) {
		t.Errorf("an issued token leaked:\n%s", b.String())
	}
	if !strings.Contains(b.String(), `body "last tokens: [redacted] and [redacted]"`) {
		t.Errorf("the echo is not shown scrubbed:\n%s", b.String())
	}
}

// With insecure_skip_verify the handshake verified nothing: the report
// says so rather than vouching for the certificate.
func TestPartnerCertificateNotVerified(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	host := httpsLocalhost(testkit.NewCA(t), now.Add(400*24*time.Hour))(t, yangoFake())
	c := partnerCheck(t, host, "", ordersAPI)
	rt, err := checks.NewTransport(checks.TLSOptions{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.CloseIdleConnections)
	c.Client = checks.NewClient(rt)
	r, err := Run(t.Context(), []checks.Check{c}, Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if it := r.Checks[0].Items[5]; it.Result != Warn || !strings.Contains(it.Detail, "not verified (insecure_skip_verify)") || !strings.Contains(it.Detail, "400 days left") {
		t.Errorf("tls %+v", it)
	}
}

// A partner that quotes the request back in JSON escapes it: PHP writes
// "/" as "\/", Go writes "&" as "\u0026". The echo of the client secret
// and of the issued token is scrubbed in every format all the same.
func TestEscapedEchoesAreScrubbed(t *testing.T) {
	const clientSecret = "s3cr/et&PART+ner=X9"
	const issued = "iss/ued&TOKEN+9Zq"
	php := func(s string) string { return strings.ReplaceAll(s, "/", `\/`) }
	goJSON := func(s string) string { return strings.ReplaceAll(s, "&", `\u0026`) }
	fake := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.URL.Path != "/security/oauth/token" {
			reply(401, "application/json", `{"error":"rejected `+php(goJSON(r.Header.Get("Authorization")))+`"}`)(w, r)
			return
		}
		sent := r.PostForm.Get("client_secret")
		if sent == clientSecret && r.PostForm.Get("grant_type") != "" {
			reply(200, "application/json", `{"access_token":"`+php(issued)+`","expires_in":300,"debug":"`+goJSON(sent)+`"}`)(w, r)
			return
		}
		reply(400, "application/json", `{"debug":"secret `+php(goJSON(sent))+` and `+php(clientSecret)+`"}`)(w, r)
	})
	c := partnerCheck(t, httpLocalhost(t, fake), "", ordersAPI)
	c.ClientSecret = secret.New(clientSecret)
	r, err := Run(t.Context(), []checks.Check{c}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for name, write := range map[string]func(io.Writer, Report) error{"text": WriteText, "json": WriteJSON, "junit": WriteJUnit} {
		var b bytes.Buffer
		if err := write(&b, r); err != nil {
			t.Fatal(err)
		}
		for _, part := range []string{"PART", "TOKEN"} {
			if strings.Contains(b.String(), part) {
				t.Errorf("%s report shows a secret (%s):\n%s", name, part, b.String())
			}
		}
	}
}

package checks

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestRedactTokenFields(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"access_token":"abc123","expires_in":300}`, `{"access_token":"[redacted]","expires_in":300}`},
		{`{"access_token":"abc123","expires_in":300`, `{"access_token":"[redacted]","expires_in":300`},
		{`{"access_token":"abc123`, `{"access_token":"[redacted]`},
		{`{"access_token" : "abc\"123", "x":1}`, `{"access_token" : "[redacted]", "x":1}`},
		{`{"ACCESS_TOKEN":"abc123"}`, `{"ACCESS_TOKEN":"[redacted]"}`},
		{`{"access_token":abc123}`, `{"access_token":[redacted]}`},
		{`{'access_token': 'abc123'}`, `{'access_token': '[redacted]'}`},
		{`access_token=abc123&token_type=bearer`, `access_token=[redacted]&token_type=bearer`},
		{`token_type=bearer&access_token=abc123`, `token_type=bearer&access_token=[redacted]`},
		{`{"refresh_token":"r1","id_token":"i1","access_token":"a1"}`, `{"refresh_token":"[redacted]","id_token":"[redacted]","access_token":"[redacted]"}`},
		{`{\"access_token\":\"abc123\"}`, `{\"access_token\":\"[redacted]\"}`},
		{`access_token: abc123 then words`, `access_token: [redacted] then words`},
		{`access_token=abc123; Path=/`, `access_token=[redacted]; Path=/`},
		// hostile tester's bypasses: a key spelled with escapes, a token in a list
		{`{"acc\u0065ss_token":"ISSUEDUNI_v4","expires_in":300`, `{"access_token":"[redacted]","expires_in":300`},
		{`{"access_token":["ISSUEDARR_v24"],`, `{"access_token":[redacted],`},
		{`{"access_token":{"v":"ISSUEDOBJ"}}`, `{"access_token":[redacted]}`},
		{`{"access_token":["ISSUEDCUT`, `{"access_token":[redacted]`},
		// not a token field: nothing to redact
		{`invalid_token: expired`, `invalid_token: expired`},
		{`no access_token in the answer`, `no access_token in the answer`},
		{`access_token:`, `access_token:`},
		{`access_tokens=3`, `access_tokens=3`},
		{``, ``},
	}
	for _, tc := range tests {
		if got := redactTokenFields(tc.in); got != tc.want {
			t.Errorf("redactTokenFields(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestIssuedTokens(t *testing.T) {
	tests := []struct {
		body string
		want []string
	}{
		{`{"access_token":"abc123","expires_in":300}`, []string{"abc123"}},
		{`{"access_token":"abc123","expires_in":300`, []string{"abc123"}},
		{`{"access_token":"a\/b","refresh_token":"r1"}`, []string{"a/b", `a\/b`, "r1"}},
		{`access_token=abc123&x=1`, []string{"abc123"}},
		{`{"error":"invalid_client"}`, nil},
	}
	for _, tc := range tests {
		got := issuedTokens([]byte(tc.body))
		for _, w := range tc.want {
			if !contains(got, w) {
				t.Errorf("issuedTokens(%q) = %q, missing %q", tc.body, got, w)
			}
		}
		if len(tc.want) == 0 && len(got) != 0 {
			t.Errorf("issuedTokens(%q) = %q, want none", tc.body, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"plain words", 40, "plain words"},
		{"line1\nline2", 40, "line1 line2"},
		{"line1\r\n\r\nline2", 40, "line1 line2"},
		{"\x1b[2J\x1b]0;pwned\x07", 40, "[2J ]0;pwned"},
		{"a\u0085b\u009bc", 40, "a b c"},                     // C1 controls (NEL, CSI)
		{"safe\u202etxt.exe\u202c", 40, "safetxt.exe"},       // bidi override
		{"a\u2066b\u2069c\u200fd\u200be\ufeff", 40, "abcde"}, // isolates, marks, zero width, BOM
		{"para\u2029graph\u2028line", 40, "para graph line"},
		{"tab\there\u00a0nbsp", 40, "tab here nbsp"},
		{"  trimmed  ", 40, "trimmed"},
		{"abcdefghij", 4, "abcd…"},
		{"ж" + strings.Repeat("я", 10), 3, "жяя…"},
		{"bad \xff utf8", 40, "bad \ufffd utf8"},
	}
	for _, tc := range tests {
		if got := oneLine(tc.in, tc.limit); got != tc.want {
			t.Errorf("oneLine(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

// hostile are strings a hostile endpoint may put wherever tokenwatch
// quotes it: terminal escapes, line breaks, C1 and bidi controls, sheer size.
var hostile = []string{
	"\x1b[2J\x1b]0;pwned\x07",
	"line1\nline2",
	"line1\r\nSet-Cookie: x",
	"\u009b31mred\u0085next",
	"innocent\u202egnp.exe\u2066x\u2069",
	"zero\u200bwidth\ufeff\u2028sep",
	strings.Repeat("\x1bA", 5000),
	strings.Repeat("ж\u200b", 5000),
	strings.Repeat(`"\`, 5000), // every rune escaped by the quoting
}

// TestDetailsAreOnePrintableLine puts each hostile string at every place
// where server text reaches a detail and checks the detail stays one short
// printable line.
func TestDetailsAreOnePrintableLine(t *testing.T) {
	type point struct {
		name  string
		check func(h string) Verdict
	}
	jsonString := func(h string) string { b, _ := json.Marshal(h); return string(b) }
	withHeader := func(status int, key, value, body string) Answer {
		return Answer{Status: status, Header: http.Header{key: {value}}, Body: []byte(body)}
	}
	jsonAnswer := func(status int, body string) Answer {
		return withHeader(status, "Content-Type", "application/json", body)
	}
	courier := func(a Answer) Verdict { return ClassifyCourier(a, noScrub) }
	partner := func(a Answer) Verdict { return ClassifyPartner(a, noScrub) }
	points := []point{
		{"courier 200 message", func(h string) Verdict { return courier(jsonAnswer(200, `{"message":`+jsonString(h)+`}`)) }},
		{"courier 200 body", func(h string) Verdict { return courier(jsonAnswer(200, h)) }},
		{"courier 200 HTML title", func(h string) Verdict { return courier(jsonAnswer(200, "<html><title>"+h+"</title></html>")) }},
		{"courier 403 body", func(h string) Verdict { return courier(jsonAnswer(403, `{"message":`+jsonString(h)+`}`)) }},
		{"courier 404 body", func(h string) Verdict { return courier(jsonAnswer(404, h)) }},
		{"courier 429 Retry-After", func(h string) Verdict { return courier(withHeader(429, "Retry-After", h, "")) }},
		{"courier 503 Retry-After", func(h string) Verdict { return courier(withHeader(503, "Retry-After", h, "")) }},
		{"courier 302 Location host", func(h string) Verdict { return courier(withHeader(302, "Location", "https://"+h+"/x", "")) }},
		{"partner 200 Content-Type", func(h string) Verdict { return partner(withHeader(200, "Content-Type", h, "{}")) }},
		{"partner 200 body", func(h string) Verdict { return partner(jsonAnswer(200, h)) }},
		{"partner 200 expires_in", func(h string) Verdict {
			return partner(jsonAnswer(200, `{"access_token":"abcd","expires_in":`+jsonString(h)+`}`))
		}},
		{"partner 400 error", func(h string) Verdict { return partner(jsonAnswer(400, `{"error":`+jsonString(h)+`}`)) }},
		{"partner 401 error_description", func(h string) Verdict {
			return partner(jsonAnswer(401, `{"error":"invalid_client","error_description":`+jsonString(h)+`}`))
		}},
		{"partner 400 Yango description", func(h string) Verdict {
			return partner(jsonAnswer(400, `[{"code":400,"description":`+jsonString(h)+`}]`))
		}},
		{"partner 400 body", func(h string) Verdict { return partner(jsonAnswer(400, h)) }},
		{"partner 403 error_description", func(h string) Verdict {
			return partner(jsonAnswer(403, `{"error":"access_denied","error_description":`+jsonString(h)+`}`))
		}},
		{"partner 500 Yango description", func(h string) Verdict {
			return partner(jsonAnswer(500, `[{"code":500,"description":`+jsonString(h)+`}]`))
		}},
		{"partner 429 Retry-After", func(h string) Verdict { return partner(withHeader(429, "Retry-After", h, "")) }},
		{"partner 302 Location host", func(h string) Verdict { return partner(withHeader(302, "Location", "https://"+h+"/x", "")) }},
		{"partner 404 body", func(h string) Verdict { return partner(jsonAnswer(404, h)) }},
		{"TLS certificate names", func(h string) Verdict {
			err := x509.HostnameError{Certificate: &x509.Certificate{DNSNames: []string{h}}, Host: "partner.example"}
			return ClassifyError(err, time.Second)
		}},
		{"request error", func(h string) Verdict { return ClassifyError(errors.New(h), time.Second) }},
	}
	for _, p := range points {
		for _, h := range hostile {
			v := p.check(h)
			assertPrintableLine(t, p.name, v.Detail)
		}
	}
}

// maxDetailRunes bounds a whole detail: fixed words (at most about 160
// runes) plus at most one excerpt of server text (160 runes, each escaped
// to at most two by the quoting).
const maxDetailRunes = 512

func assertPrintableLine(t *testing.T, where, detail string) {
	t.Helper()
	if !utf8.ValidString(detail) {
		t.Errorf("%s: detail is not valid UTF-8: %q", where, detail)
	}
	for _, r := range detail {
		if !unicode.IsPrint(r) {
			t.Errorf("%s: detail holds %U: %q", where, r, truncate(detail))
			return
		}
	}
	if n := utf8.RuneCountInString(detail); n > maxDetailRunes {
		t.Errorf("%s: detail is %d runes long, want at most %d: %q", where, n, maxDetailRunes, truncate(detail))
	}
}

func truncate(s string) string {
	if r := []rune(s); len(r) > 120 {
		return string(r[:120]) + "..."
	}
	return s
}

func noScrub(s string) string { return s }

// TestDetailsNeverQuoteAnIssuedToken feeds token-bearing bodies to every
// place that quotes a body and checks the token never comes back.
func TestDetailsNeverQuoteAnIssuedToken(t *testing.T) {
	const tok = "ISSUEDdeadbeef0123456789"
	bodies := []string{
		`{"access_token":"` + tok + `","expires_in":300`,
		`{"access_token":"` + tok + `","note":"` + tok + `"`,
		`{"refresh_token":"` + tok + `"`,
		`{"id_token":"` + tok + `"`,
		`access_token=` + tok + `&token_type=bearer`,
		`<html><title>access_token=` + tok + `</title></html>`,
		`{"acc\u0065ss_token":"` + tok + `","expires_in":300`,
		`{"access_token":["` + tok + `"],`,
	}
	for _, body := range bodies {
		for _, status := range []int{200, 400, 403, 404, 500} {
			a := Answer{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
			for name, v := range map[string]Verdict{
				"courier": ClassifyCourier(a, noScrub),
				"partner": ClassifyPartner(a, scrubber(issuedTokens(a.Body)...)),
			} {
				if strings.Contains(v.Detail, tok) || strings.Contains(v.Detail, tok[:12]) {
					t.Errorf("%s HTTP %d %q: detail quotes the token: %q", name, status, body, v.Detail)
				}
			}
		}
	}
	// An error description that spells a token out is scrubbed too.
	a := Answer{Status: 400, Body: []byte(`{"error":"invalid_request","error_description":"got access_token=` + tok + `"}`)}
	if v := ClassifyPartner(a, noScrub); strings.Contains(v.Detail, tok) {
		t.Errorf("error_description: detail quotes the token: %q", v.Detail)
	}
}

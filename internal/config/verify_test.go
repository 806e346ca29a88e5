package config

import (
	"strings"
	"testing"

	"github.com/tokenwatch/tokenwatch/checks"
)

const partnerCheck = "checks:\n  - name: p\n    type: partner_oauth\n    host: https://partner.example.com\n    client_id: \"987\"\n    client_secret: abcdef\n"

func TestVerifyIsDecodedByThePartnerKind(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want *checks.Verify
	}{
		{"none", partnerCheck, nil},
		{"path only: GET", partnerCheck + "    verify: {path: \"/api/v1/orders?limit=1\"}\n", &checks.Verify{Path: "/api/v1/orders?limit=1", Method: "GET"}},
		{"method", partnerCheck + "    verify:\n      path: /api/ping\n      method: HEAD\n", &checks.Verify{Path: "/api/ping", Method: "HEAD"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := Parse("c.yaml", []byte(tc.src), env(nil))
			if problems.HasErrors() {
				t.Fatalf("problems: %v", problems)
			}
			got := cfg.Checks[0].Spec.(checks.PartnerSpec).Verify
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("verify = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestVerifyProblemsArePositioned(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"URL instead of a path", "    verify: {path: \"https://evil.example/api\"}\n",
			`c.yaml:7:20: check p: verify: path must start with "/": a path on the check's host, with no scheme or host`},
		{"another host", "    verify:\n      path: //evil.example/api\n",
			`c.yaml:8:13: check p: verify: path must not start with "//"`},
		{"no path", "    verify: {method: GET}\n", `c.yaml:7:13: check p: verify has no path`},
		{"unknown method", "    verify: {path: /api, method: DELETE}\n",
			`c.yaml:7:34: check p: verify: method "DELETE": GET (the default), HEAD or POST`},
		{"unknown key", "    verify: {path: /api, metod: GET}\n",
			`c.yaml:7:26: check p: verify: unknown key "metod" (did you mean "method"?)`},
		{"not a mapping", "    verify: /api\n", `c.yaml:7:13: check p: verify must be a mapping of keys to values`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(partnerCheck+tc.src), env(nil))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if all := strings.Join(got, "\n"); !strings.Contains(all, tc.want) {
				t.Errorf("problems\n%s\ndo not include\n%s", all, tc.want)
			}
		})
	}
}

// verify is a key of partner checks only.
func TestVerifyIsNotACourierKey(t *testing.T) {
	src := "checks:\n  - name: c\n    type: courier\n    token: abcdef\n    verify: {path: /api}\n"
	_, problems := Parse("c.yaml", []byte(src), env(nil))
	if want := "c.yaml:5:5: check c: verify is not a key of a courier check"; !strings.Contains(problems.Err().Error(), want) {
		t.Errorf("problems %v do not include %s", problems, want)
	}
}

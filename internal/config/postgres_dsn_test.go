package config

import (
	"strings"
	"testing"
)

// A DSN that pgx cannot parse fails validate, at the DSN's line, saying
// why without the DSN or its password; DSNs the store reads pass.
func TestStatePostgresDSNIsParsed(t *testing.T) {
	const pw = "p@ss:w/o rd?#"
	tests := []struct{ name, dsn, want string }{
		{"an unencoded password in a URL", "postgres://tw:" + pw + "@db:5432/tw",
			"c.yaml:3:10: state.postgres: the DSN cannot be parsed: failed to parse as URL (percent-encode the special characters"},
		{"a trailing key without a value", "host=db dbname=tw password=hunter22 bogus_key",
			"c.yaml:3:10: state.postgres: the DSN cannot be parsed: failed to parse as keyword/value"},
		{"connect_timeout not a number", "host=db dbname=tw password=hunter22 connect_timeout=abc",
			"the DSN cannot be parsed: invalid connect_timeout (invalid syntax) (the DSN is not shown: it is a secret)"},
		{"an unclosed IPv6 host", "postgres://tw:hunter22@[::1:5432/tw", "the DSN cannot be parsed: failed to parse as URL"},
		{"a pool setting that is not a number", "host=db dbname=tw password=hunter22 pool_max_conns=many", "cannot parse pool_max_conns"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := "state:\n  postgres:\n    dsn: ${DSN}\n"
			_, problems := Parse("c.yaml", []byte(src+courierCheck), env(map[string]string{"DSN": tc.dsn}))
			var all string
			if err := problems.Err(); err != nil {
				all = err.Error()
			}
			if !problems.HasErrors() || !strings.Contains(all, tc.want) {
				t.Fatalf("problems %q, want %q", all, tc.want)
			}
			for _, secret := range []string{pw, "hunter22", "w/o rd", tc.dsn} {
				if strings.Contains(all, secret) {
					t.Errorf("a problem shows the DSN or its password: %q", all)
				}
			}
		})
	}
	for _, dsn := range []string{
		"postgres://tw:p%40ss%3Aw%2Fo%20rd%3F%23@db:5432/tw?sslmode=verify-full",
		"host=/run/postgresql dbname=tw user=tw pool_max_conns=8 connect_timeout=5",
	} {
		src := "state:\n  postgres:\n    dsn: ${DSN}\n"
		if _, problems := Parse("c.yaml", []byte(src+courierCheck), env(map[string]string{"DSN": dsn})); problems.HasErrors() {
			t.Errorf("%s: %v", dsn, problems.Err())
		}
	}
}

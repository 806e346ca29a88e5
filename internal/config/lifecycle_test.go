package config

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

var lifecycleNow = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func parseAt(t *testing.T, src string) (*Config, Problems) {
	t.Helper()
	return Parse("c.yaml", []byte(src), env(map[string]string{"ISSUED": "2026-10-01", "EMPTY": ""}), WithNow(func() time.Time { return lifecycleNow }))
}

func TestLifecycleKeys(t *testing.T) {
	cfg, problems := parseAt(t, `
defaults:
  tls_warn_before: 720h
  alert: {repeat_every: 24h}
checks:
  - name: dated
    type: courier
    token: a
    issued_at: 2026-09-01
    rotate_after: 2160h
  - name: timed
    type: courier
    token: b
    issued_at: "2026-11-21T12:00:00+03:00"
    tls_warn_before: 48h
  - name: from-env
    type: courier
    token: c
    issued_at: ${ISSUED}
  - name: plain
    type: courier
    token: d
`)
	if problems.HasErrors() {
		t.Fatal(problems)
	}
	want := []alert.LifecycleSettings{
		{IssuedAt: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), RotateAfter: 2160 * time.Hour, RepeatEvery: 24 * time.Hour, TLSWarnBefore: 720 * time.Hour},
		{IssuedAt: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC), RepeatEvery: 24 * time.Hour, TLSWarnBefore: 48 * time.Hour},
		{IssuedAt: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), RepeatEvery: 24 * time.Hour, TLSWarnBefore: 720 * time.Hour},
		{RepeatEvery: 24 * time.Hour, TLSWarnBefore: 720 * time.Hour},
	}
	for i, c := range cfg.Checks {
		if got := c.Lifecycle(); got != want[i] {
			t.Errorf("%s: %+v, want %+v", c.Name, got, want[i])
		}
	}
	cfg, problems = parseAt(t, courierCheck)
	if problems.HasErrors() || cfg.Checks[0].TLSWarnBefore != 336*time.Hour || cfg.Checks[0].RotateAfter != 0 || !cfg.Checks[0].IssuedAt.IsZero() {
		t.Errorf("defaults: %v %+v", problems, cfg.Checks[0].Lifecycle())
	}
}

// TestLifecycleProblems: every bad value is reported at its own line and
// column, as every configuration error is.
func TestLifecycleProblems(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"issued_at in the future", "    issued_at: 2026-11-23\n", `c.yaml:6:16: check c: issued_at: "2026-11-23" is in the future`},
		{"issued_at not a date", "    issued_at: last tuesday\n", `c.yaml:6:16: check c: issued_at: "last tuesday" is not a date (write it like 2026-09-01`},
		{"issued_at empty", "    issued_at: \"\"\n", `c.yaml:6:16: check c: issued_at: empty; leave the key out when unknown`},
		{"issued_at null", "    issued_at: ~\n", `c.yaml:6:16: check c: issued_at: empty; leave the key out when unknown`},
		{"issued_at without a value", "    issued_at:\n", `c.yaml:6:15: check c: issued_at: empty; leave the key out when unknown`},
		{"issued_at a variable that is empty", "    issued_at: ${EMPTY}\n", `c.yaml:6:16: issued_at: environment variable EMPTY is empty`},
		{"issued_at the zero time", "    issued_at: 0001-01-01\n", `c.yaml:6:16: check c: issued_at: "0001-01-01" is before 1970`},
		{"issued_at before 1970", "    issued_at: 1969-12-31T23:59:59Z\n", `c.yaml:6:16: check c: issued_at: "1969-12-31T23:59:59Z" is before 1970`},
		{"issued_at a list", "    issued_at: [2026-09-01]\n", `c.yaml:6:16: issued_at must be a single value`},
		{"rotate_after zero", "    rotate_after: 0s\n", `c.yaml:6:19: rotate_after must be positive`},
		{"rotate_after not a duration", "    rotate_after: 90d\n", `c.yaml:6:19: rotate_after: "90d" is not a duration`},
		{"tls_warn_before negative", "    tls_warn_before: -1h\n", `c.yaml:6:22: tls_warn_before must be positive`},
		{"a typo", "    rotate_afer: 90h\n", `c.yaml:6:5: checks[0]: unknown key "rotate_afer"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := parseAt(t, "checks:\n  - name: c\n    type: courier\n    token: a\n\n"+tc.src)
			if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tc.want) {
				t.Errorf("problems %v, want one starting %q", problems, tc.want)
			}
		})
	}
	_, problems := parseAt(t, "defaults:\n  tls_warn_before: soon\n"+courierCheck)
	if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), `c.yaml:2:20: defaults.tls_warn_before: "soon" is not a duration`) {
		t.Errorf("defaults: %v", problems)
	}
}

package slack

import (
	"strings"
	"testing"
	"time"
)

// Retry-After comes as delta-seconds or as an HTTP-date (RFC 9110 section
// 10.2.3); a date counts from the injected now.
func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 10, 21, 7, 27, 0, 0, time.UTC)
	tests := []struct {
		value string
		wait  time.Duration
		ok    bool
	}{
		{"120", 2 * time.Minute, true},
		{" 5 ", 5 * time.Second, true},
		{"0", 0, true},
		{"Wed, 21 Oct 2026 07:28:00 GMT", time.Minute, true},
		{"Wednesday, 21-Oct-26 07:27:10 GMT", 10 * time.Second, true}, // RFC 850, obsolete but allowed
		{"Wed Oct 21 07:27:05 2026", 5 * time.Second, true},           // asctime
		{"Wed, 21 Oct 2026 07:00:00 GMT", 0, true},                    // already past: no wait
		{"", 0, false},
		{"-5", 0, false},
		{"+5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{"99999999999999999999", 0, false},
		{"2026-10-21T07:28:00Z", 0, false},
	}
	for _, tc := range tests {
		wait, ok := retryAfter(tc.value, now)
		if wait != tc.wait || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %v, %v; want %v, %v", tc.value, wait, ok, tc.wait, tc.ok)
		}
	}
}

// Text Slack sends reaches the terminal table and the logs: it comes out
// as one short line of printable characters.
func TestSanitize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no_service", "no_service"},
		{"\x1b[2J\x1b]0;pwned\x07", "[2J ]0;pwned"},
		{"line one\r\nFAKE level=ERROR msg=forged", "line one FAKE level=ERROR msg=forged"},
		{"\u202eevil\u202c text\u0085next", "evil text next"}, // bidi override, C1 next-line
		{"  padded\t\t", "padded"},
		{strings.Repeat("é", 150), strings.Repeat("é", 100) + "…"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := sanitize(tc.in); got != tc.want {
			t.Errorf("sanitize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

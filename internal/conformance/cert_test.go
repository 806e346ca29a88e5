package conformance

import (
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// certItem is a pure function of the connection state and the clock.
func TestCertItem(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	state := func(notAfter time.Time, verified bool) *tls.ConnectionState {
		leaf := &x509.Certificate{NotAfter: notAfter}
		s := &tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}}
		if verified {
			s.VerifiedChains = [][]*x509.Certificate{{leaf}}
		}
		return s
	}
	tests := []struct {
		name       string
		state      *tls.ConnectionState
		warnBefore time.Duration
		want       Result
		words      string
	}{
		{"400 days", state(now.Add(400*24*time.Hour), true), 0, Pass, "valid for the host until 2027-12-26, 400 days left"},
		{"15 days", state(now.Add(15*24*time.Hour), true), 0, Pass, "15 days left"},
		{"13 days: under the default 336h", state(now.Add(13*24*time.Hour), true), 0, Warn, "expires 2026-12-04, in 13 days (under tls_warn_before, 14 days): renew it"},
		{"20 days under a 720h threshold", state(now.Add(20*24*time.Hour), true), 720 * time.Hour, Warn, "in 20 days (under tls_warn_before, 30 days)"},
		{"not verified", state(now.Add(400*24*time.Hour), false), 0, Warn, "not verified (insecure_skip_verify); it expires 2027-12-26, 400 days left"},
		{"expired and not verified", state(now.Add(-time.Hour), false), 0, Fail, "the certificate expired on 2026-11-21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			warn := Options{WarnBefore: map[string]time.Duration{"partner-acme": tt.warnBefore}}.warnBefore("partner-acme")
			got := certItem(tt.state, now, warn)
			if got.Name != "tls" || got.Result != tt.want || !strings.Contains(got.Detail, tt.words) {
				t.Errorf("got %+v, want %s saying %q", got, tt.want, tt.words)
			}
		})
	}
}

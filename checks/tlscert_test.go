package checks

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// trusting is a target that trusts ca.
func trusting(t *testing.T, ca *testkit.CA) Target {
	t.Helper()
	rt, err := NewTransport(TLSOptions{CAFile: ca.File})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.CloseIdleConnections)
	return Target{Name: "test", Client: NewClient(rt), Timeout: 2 * time.Second, UserAgent: testUserAgent}
}

func certFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	return hex.EncodeToString(sum[:])[:8]
}

// TestLeafCertificateIsRecorded: every https check records the leaf it
// was shown (host, not_after, fingerprint) whatever the outcome: a
// working courier token behind a leaf valid 5 days, a partner rejecting
// its credentials behind one valid 400 days, and an expired leaf whose
// handshake fails; plain http records none.
func TestLeafCertificateIsRecorded(t *testing.T) {
	ca := testkit.NewCA(t)
	now := time.Now()
	soonURL, soon := ca.Serve(t, now.Add(-time.Hour), now.Add(5*24*time.Hour), reply(200, "application/json", `{"message":"OK"}`))
	lateURL, late := ca.Serve(t, now.Add(-time.Hour), now.Add(400*24*time.Hour),
		reply(401, "application/json", `{"error":"invalid_client","error_description":"unknown client"}`))
	expiredURL, expired := ca.Serve(t, now.Add(-30*24*time.Hour), now.Add(-24*time.Hour), reply(200, "application/json", `{"message":"OK"}`))
	plain, _ := serve(t, reply(200, "application/json", `{"message":"OK"}`))

	courier := func(base string) Result {
		c := newCourier(t, base)
		c.Target = trusting(t, ca)
		return c.Run(context.Background())
	}
	partner := newPartner(t, lateURL)
	partner.Target = trusting(t, ca)

	tests := []struct {
		name    string
		result  Result
		outcome Outcome
		leaf    *x509.Certificate
	}{
		{"courier ok, leaf valid 5 days", courier(soonURL), OK, soon},
		{"partner rejected (401), leaf valid 400 days", partner.Run(context.Background()), Invalid, late},
		{"expired leaf: the handshake fails, the leaf is still seen", courier(expiredURL), Unavailable, expired},
		{"plain http: no certificate", courier(plain.URL), OK, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.result
			if r.Outcome != tt.outcome {
				t.Fatalf("outcome %s (%s), want %s", r.Outcome, r.Detail, tt.outcome)
			}
			if tt.leaf == nil {
				if r.TLS.Seen() || r.TLS != (TLSCert{}) {
					t.Errorf("TLS %+v, want none over http", r.TLS)
				}
				return
			}
			want := TLSCert{Host: "localhost", NotAfter: tt.leaf.NotAfter.UTC(), Fingerprint: certFingerprint(tt.leaf)}
			if r.TLS != want {
				t.Errorf("TLS %+v, want %+v", r.TLS, want)
			}
		})
	}
	if d := time.Until(soon.NotAfter); d < 4*24*time.Hour || d > 5*24*time.Hour {
		t.Errorf("the 5-day leaf ends in %s", d)
	}
}

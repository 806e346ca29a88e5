package checks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA is a private CA the test makes, and its file for ca_file.
type testCA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	caFile string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tokenwatch test CA"},
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(5, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, caFile: file}
}

// serveTLS starts h on loopback with a leaf for localhost signed by the
// CA, valid from notBefore to notAfter; it returns the server's URL (with
// the host name localhost) and the leaf.
func (ca *testCA) serveTLS(t *testing.T, notBefore, notAfter time.Time, h http.HandlerFunc) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the expired leaf's refused handshake is expected
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "https://localhost:" + port, leaf
}

// trusting is a target that trusts the CA.
func (ca *testCA) trusting(t *testing.T) Target {
	t.Helper()
	rt, err := NewTransport(TLSOptions{CAFile: ca.caFile})
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
	ca := newTestCA(t)
	now := time.Now()
	soonURL, soon := ca.serveTLS(t, now.Add(-time.Hour), now.Add(5*24*time.Hour), reply(200, "application/json", `{"message":"OK"}`))
	lateURL, late := ca.serveTLS(t, now.Add(-time.Hour), now.Add(400*24*time.Hour),
		reply(401, "application/json", `{"error":"invalid_client","error_description":"unknown client"}`))
	expiredURL, expired := ca.serveTLS(t, now.Add(-30*24*time.Hour), now.Add(-24*time.Hour), reply(200, "application/json", `{"message":"OK"}`))
	plain, _ := serve(t, reply(200, "application/json", `{"message":"OK"}`))

	courier := func(base string) Result {
		c := newCourier(t, base)
		c.Target = ca.trusting(t)
		return c.Run(context.Background())
	}
	partner := newPartner(t, lateURL)
	partner.Target = ca.trusting(t)

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

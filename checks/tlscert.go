package checks

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/http"
	"time"
)

// TLSCert is the leaf certificate an https endpoint showed: when it
// expires, which certificate it is, and for which host it was asked. The
// zero value means none was seen (plain http, or no TLS handshake got as
// far as a certificate).
type TLSCert struct {
	// Host is the host name the check connected to.
	Host string
	// NotAfter is the end of the certificate's validity.
	NotAfter time.Time
	// Fingerprint is the first 8 hex digits of the SHA-256 of the
	// certificate (DER): a renewed certificate has another one.
	Fingerprint string
}

// Seen reports whether a certificate was seen.
func (c TLSCert) Seen() bool { return c.Fingerprint != "" }

// leafOf is the certificate of a TLS connection that answered.
func leafOf(host string, state *tls.ConnectionState) TLSCert {
	if state == nil || len(state.PeerCertificates) == 0 {
		return TLSCert{}
	}
	return certInfo(host, state.PeerCertificates[0])
}

// leafOfError is the certificate a failed handshake was shown: an
// expired or untrusted certificate is exactly what must still be
// recorded ("whatever the outcome").
func leafOfError(host string, err error) TLSCert {
	var verr *tls.CertificateVerificationError
	if errors.As(err, &verr) && len(verr.UnverifiedCertificates) > 0 {
		return certInfo(host, verr.UnverifiedCertificates[0])
	}
	return TLSCert{}
}

func certInfo(host string, c *x509.Certificate) TLSCert {
	sum := sha256.Sum256(c.Raw)
	return TLSCert{Host: host, NotAfter: c.NotAfter.UTC(), Fingerprint: hex.EncodeToString(sum[:])[:8]}
}

// requestHost is the host name a request goes to, without the port.
func requestHost(req *http.Request) string { return req.URL.Hostname() }

package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/checks"
)

// Pushgateway asks the gateway whether it is ready (GET /-/ready), which
// pushes nothing.
func Pushgateway(ctx context.Context, client *http.Client, gatewayURL string) (Result, string) {
	return ready(ctx, client, gatewayURL, "metrics.pushgateway.url")
}

// Alertmanager tests one Alertmanager replica: GET /-/ready, which sends
// no alert.
func Alertmanager(ctx context.Context, client *http.Client, base string) (Result, string) {
	return ready(ctx, client, base, "alertmanager.urls")
}

// ready asks a Prometheus-style server whether it is ready; setting names
// the configuration key to check when it is not.
func ready(ctx context.Context, client *http.Client, base, setting string) (Result, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/-/ready", nil)
	if err != nil {
		return Fail, setting + " is not a URL Go can request"
	}
	status, _, err := exchange(client, req)
	switch {
	case err != nil:
		return Fail, "unreachable: " + describe(err)
	case status == http.StatusOK:
		return OK, "ready (GET /-/ready: 200)"
	case status >= 300 && status < 400:
		return Fail, fmt.Sprintf("answered a redirect (HTTP %d), and redirects are not followed: check %s", status, setting)
	}
	return Fail, fmt.Sprintf("not ready: GET /-/ready answered HTTP %d", status)
}

// Host says how to test one server without sending it anything: its name
// is resolved and, for https, a TLS handshake shows its certificate.
type Host struct {
	// URL is the server's scheme and host (any path is ignored).
	URL *url.URL
	// CAFile and InsecureSkipVerify are the trust of the checks that use
	// the host, so the verdict is the one they get.
	CAFile             string
	InsecureSkipVerify bool
	// Now is the clock certificates are judged by.
	Now func() time.Time
	// WarnBefore is the tls_warn_before of the checks that use the host
	// (the longest, when they differ); 0 means CertWarnBefore.
	WarnBefore time.Duration
}

// CertWarnBefore is how close to its expiry a certificate gets a warn
// when no tls_warn_before says otherwise (its default).
const CertWarnBefore = 14 * 24 * time.Hour

// CheckHost resolves h and, for https, reads and judges its certificate.
// Nothing is sent over the connection: it closes after the handshake.
func CheckHost(ctx context.Context, h Host) (Result, string) {
	name := h.URL.Hostname()
	resolved := "an IP address"
	if net.ParseIP(name) == nil {
		addrs, err := net.DefaultResolver.LookupHost(ctx, name)
		if err != nil {
			return Fail, "DNS: " + describe(err)
		}
		resolved = fmt.Sprintf("resolves (%d addresses)", len(addrs))
	}
	if h.URL.Scheme != "https" {
		if checks.IsLoopback(name) {
			return OK, resolved + "; plain http on loopback, no TLS to check"
		}
		return Warn, resolved + "; plain http: what is sent crosses the network unencrypted"
	}
	leaf, intermediates, err := handshake(ctx, h.URL)
	if err != nil {
		return Fail, resolved + "; TLS handshake failed: " + describe(err)
	}
	var roots *x509.CertPool
	if h.CAFile != "" {
		tr, err := checks.NewTransport(checks.TLSOptions{CAFile: h.CAFile})
		if err != nil {
			return Fail, resolved + "; " + err.Error()
		}
		roots = tr.TLSClientConfig.RootCAs
	}
	warn := h.WarnBefore
	if warn <= 0 {
		warn = CertWarnBefore
	}
	r, detail := certVerdict(leaf, x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: intermediates}, h.InsecureSkipVerify, h.Now(), warn)
	return r, resolved + "; " + detail
}

// handshake connects to u and returns the certificate chain it shows. It
// verifies nothing itself: certVerdict does, to say precisely what is wrong.
func handshake(ctx context.Context, u *url.URL) (*x509.Certificate, *x509.CertPool, error) {
	port := u.Port()
	if port == "" {
		port = "443"
	}
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, nil, err
	}
	defer raw.Close()
	conn := tls.Client(raw, &tls.Config{
		ServerName:         u.Hostname(),
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // verified by certVerdict, against the check's own roots
	})
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, nil, err
	}
	chain := conn.ConnectionState().PeerCertificates
	if len(chain) == 0 {
		return nil, nil, errors.New("the server showed no certificate")
	}
	intermediates := x509.NewCertPool()
	for _, c := range chain[1:] {
		intermediates.AddCert(c)
	}
	return chain[0], intermediates, nil
}

// certVerdict judges a leaf certificate at now: expired or not yet valid,
// untrusted or for another host is a fail; under warnBefore left (the
// checks' tls_warn_before), or not verified at all (insecure_skip_verify),
// a warn.
func certVerdict(leaf *x509.Certificate, opts x509.VerifyOptions, insecure bool, now time.Time, warnBefore time.Duration) (Result, string) {
	expiry := leaf.NotAfter.UTC().Format(time.DateOnly)
	left := leaf.NotAfter.Sub(now)
	switch {
	case left <= 0:
		return Fail, fmt.Sprintf("certificate expired on %s (%d days ago): renew it", expiry, int(-left.Hours()/24))
	case now.Before(leaf.NotBefore):
		return Fail, fmt.Sprintf("certificate not valid before %s: check the server's clock or certificate", leaf.NotBefore.UTC().Format(time.DateOnly))
	case insecure:
		return Warn, fmt.Sprintf("certificate not verified (insecure_skip_verify); expires %s, %d days left", expiry, days(left))
	}
	opts.CurrentTime = now
	if _, err := leaf.Verify(opts); err != nil {
		return Fail, "certificate not trusted: " + sanitize(err.Error())
	}
	if left < warnBefore {
		return Warn, fmt.Sprintf("TLS ok, but the certificate expires %s, in %d days: renew it", expiry, days(left))
	}
	return OK, fmt.Sprintf("TLS ok, certificate valid until %s (%d days left)", expiry, days(left))
}

func days(d time.Duration) int { return int(d.Hours() / 24) }

// describe says what went wrong with a network call without the URL that
// net/http puts in its errors (a webhook URL is a secret).
func describe(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return "no answer in time"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("no such host %s", dnsErr.Name)
		}
		return sanitize(dnsErr.Error())
	case errors.As(err, &opErr):
		return opErr.Op + ": " + sanitize(opErr.Err.Error())
	}
	return sanitize(err.Error())
}

// sanitize makes text a server chose fit for one line of a terminal:
// printable characters only, at most 100 of them.
func sanitize(text string) string {
	var b strings.Builder
	n := 0
	for _, r := range text {
		if n == 100 {
			b.WriteString("…")
			break
		}
		if unicode.IsSpace(r) || !unicode.IsGraphic(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

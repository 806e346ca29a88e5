package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// ReadCap is the most of a response body a check reads. A hostile or broken
// endpoint cannot make tokenwatch buffer more; the rest is never read.
const ReadCap = 64 << 10

// TLSOptions are the per-check TLS settings.
type TLSOptions struct {
	// CAFile is a PEM bundle trusted in addition to the system roots.
	CAFile string
	// InsecureSkipVerify turns certificate verification off (a warning in validate).
	InsecureSkipVerify bool
}

// NewTransport returns the transport checks share: keep-alive with enough
// idle connections per host for a whole run, proxies from the environment
// (HTTPS_PROXY, NO_PROXY), TLS verification on unless opts say otherwise.
func NewTransport(opts TLSOptions) (*http.Transport, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		// A CA bundle is a few hundred KiB at most; a device or a FIFO at
		// this path would exhaust memory or block the run forever.
		pem, err := safefile.Read(opts.CAFile, safefile.MaxConfig)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s: no PEM certificate found", opts.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	tlsConfig.InsecureSkipVerify = opts.InsecureSkipVerify
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConfig,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}, nil
}

// NewClient returns an HTTP client that never follows redirects: a
// redirect would carry the Authorization header or the client secret to a
// host nobody configured. Timeouts come from each request's context.
func NewClient(rt http.RoundTripper) *http.Client {
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Target is what every kind of check shares: a name, an HTTP client, a
// per-request timeout and the User-Agent to send.
type Target struct {
	Name      string
	Client    *http.Client
	Timeout   time.Duration
	UserAgent string
}

// exchange sends req and reads at most ReadCap bytes of the answer. A nil
// error means an HTTP answer arrived, whatever its status.
func (t Target) exchange(ctx context.Context, req *http.Request) (Answer, error) {
	if t.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.Timeout)
		defer cancel()
	}
	req = req.WithContext(ctx)
	req.Header.Set("User-Agent", t.UserAgent)
	resp, err := t.Client.Do(req)
	if err != nil {
		return Answer{TLS: leafOfError(requestHost(req), err)}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, ReadCap+1))
	a := Answer{Status: resp.StatusCode, Header: resp.Header, Body: body, TLS: leafOf(requestHost(req), resp.TLS)}
	if len(body) > ReadCap {
		// Closing without draining drops the connection instead of reading
		// an endless body to keep it alive.
		a.Body, a.Truncated = body[:ReadCap], true
	}
	if err != nil && !a.Truncated {
		return a, fmt.Errorf("read body: %w", err)
	}
	return a, nil
}

package checks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// ClassifyError turns a failed exchange (no HTTP answer) into a verdict.
// Every such failure is Unavailable: nothing was learnt about the credential.
// The detail is one printable line: error texts carry what the endpoint
// sent, such as the names in its certificate.
func ClassifyError(err error, timeout time.Duration) Verdict {
	return Verdict{Outcome: Unavailable, Detail: oneLine(describeError(err, timeout), maxDetail)}
}

// NetworkFailure reports whether r is an outage with no HTTP answer at
// all: DNS, connect, TLS or a timeout (what ClassifyError describes). An
// endpoint that answered, even 429 or 5xx, is reachable: it is not one. A
// result that was interrupted is no verdict on the network either. When
// every endpoint fails like this at once, our own network is the suspect.
// It is read from the result rather than carried by it because every
// outage without an HTTP status comes from ClassifyError: a check that
// could not build its request says bad_response, and one cancelled before
// an answer is interrupted.
func (r Result) NetworkFailure() bool {
	return r.Outcome == Unavailable && r.HTTPStatus == 0 && !r.Interrupted
}

func describeError(err error, timeout time.Duration) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	var alert tls.AlertError
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return fmt.Sprintf("no answer within %s (timeout)", timeout)
	case errors.Is(err, context.Canceled):
		return "cancelled before an answer arrived"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("DNS: host %s not found", dnsErr.Name)
		}
		return fmt.Sprintf("DNS lookup of %s failed: %s", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &hostErr):
		return "TLS: certificate is not valid for this host: " + hostErr.Error()
	case errors.As(err, &unknownCA):
		return "TLS: certificate signed by an unknown authority (set ca_file if the endpoint uses a private CA)"
	case errors.As(err, &invalidCert):
		return "TLS: invalid certificate: " + invalidCert.Error()
	case errors.As(err, &certErr):
		return "TLS: certificate verification failed: " + certErr.Err.Error()
	case errors.As(err, &recordErr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS: the endpoint does not speak TLS on this port"
	case errors.As(err, &alert):
		return "TLS handshake failed: " + alert.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the endpoint"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before a complete answer"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // the URL is in the check's endpoint already
	}
	return "request failed: " + err.Error()
}

// maxDetail bounds a verdict's detail: one readable line in a table or an alert.
const maxDetail = 240

// oneLine makes text safe to show on one line of a terminal, a log or a
// chat message, and cuts it to at most limit runes. Each run of white space
// and control characters (C0 such as ESC and BEL, DEL, C1, line and
// paragraph separators) becomes one space, so that text cannot move a
// terminal's cursor or forge a line; invisible format characters (bidi
// overrides and isolates, zero-width characters, BOM) and any other
// unprintable rune are dropped, so that text cannot reorder what a reader
// sees.
func oneLine(s string, limit int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			space = true
			continue
		}
		if !unicode.IsPrint(r) {
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= limit {
			return strings.TrimSpace(b.String()) + "…"
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// serverWords is server text made fit for a detail: any token field's value
// and known secrets removed, then one printable line of at most limit
// runes. Every piece of server text in a detail goes through it.
func serverWords(s string, limit int, scrub func(string) string) string {
	return oneLine(scrub(redactTokenFields(s)), limit)
}

// quote shows server text inside a detail: one line, cut short, secrets
// scrubbed, in Go quotes (only '"' and '\' are escaped: serverWords left
// nothing else unprintable).
func quote(s string, scrub func(string) string) string {
	return strconv.Quote(serverWords(s, 160, scrub))
}

// describeBody is a short description of a body that was not what was
// expected: an HTML page by its title, anything else by its first bytes.
func describeBody(a Answer, scrub func(string) string) string {
	// A token the body carries may appear again under another name.
	if tokens := issuedTokens(a.Body); len(tokens) > 0 {
		scrubTokens, scrubKnown := scrubber(tokens...), scrub
		scrub = func(s string) string { return scrubTokens(scrubKnown(s)) }
	}
	body := strings.TrimSpace(string(a.Body))
	switch {
	case body == "":
		return "an empty body"
	case a.Truncated:
		return fmt.Sprintf("a body larger than %d KiB", ReadCap>>10)
	case looksLikeHTML(body):
		if title := htmlTitle(body); title != "" {
			return "an HTML page titled " + quote(title, scrub)
		}
		return "an HTML page"
	}
	return quote(body, scrub)
}

func looksLikeHTML(body string) bool {
	head := strings.ToLower(body[:min(len(body), 512)])
	return strings.HasPrefix(head, "<!doctype html") || strings.Contains(head, "<html")
}

func htmlTitle(body string) string {
	lower := strings.ToLower(body)
	start := strings.Index(lower, "<title>")
	if start < 0 {
		return ""
	}
	start += len("<title>")
	end := strings.Index(lower[start:], "</title>")
	if end < 0 {
		return ""
	}
	return strings.TrimSpace(body[start : start+end])
}

// redirectTarget names where a 3xx answer pointed, without following it.
func redirectTarget(a Answer, scrub func(string) string) string {
	loc := a.Header.Get("Location")
	if loc == "" {
		return "nowhere (no Location header)"
	}
	u, err := url.Parse(loc)
	switch {
	case err != nil:
		return "an unreadable Location"
	case u.Host == "":
		return "a path on the same host"
	}
	// A host may hold percent-encoded or raw Unicode, bidi controls included.
	if host := serverWords(u.Host, 100, scrub); host != "" {
		return host
	}
	return "a host that cannot be shown"
}

// retryAfter is the Retry-After header of a 429 or 503, for the detail.
func retryAfter(a Answer, scrub func(string) string) string {
	if ra := serverWords(a.Header.Get("Retry-After"), 40, scrub); ra != "" {
		return ", Retry-After " + ra
	}
	return ""
}

// scrubber returns a function that removes the given secrets from text.
func scrubber(secrets ...string) func(string) string {
	// Built on first use: most answers (a working credential) quote no
	// server text, and a scrubber per request was a measurable part of a
	// check's cost at 10,000 checks.
	var (
		once sync.Once
		s    secret.Scrubber
	)
	return func(text string) string {
		once.Do(func() { s.Add(secrets...) })
		return s.Scrub(text)
	}
}

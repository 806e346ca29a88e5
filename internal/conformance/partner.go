package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// The partner items, in the order of the contract's list.
const (
	itemTokenRequest     = "token_request"
	itemMediaType        = "media_type"
	itemWrongSecret      = "wrong_secret"
	itemMissingGrantType = "missing_grant_type"
	itemHost             = "host"
	itemTLS              = "tls"
	itemVerify           = "verify"
)

// Values no partner issued: a wrong secret must be refused, a wrong token
// too. They are not secrets, and say where they came from in a partner's log.
const (
	wrongSecret = "tokenwatch-conformance-wrong-secret"
	wrongToken  = "tokenwatch-conformance-wrong-token"
)

// partnerItems probes a partner's token endpoint (and, with verify, its
// API) once per probe and judges the seven items.
func partnerItems(ctx context.Context, c *checks.Partner, o Options) []Item {
	secretValue := c.ClientSecret.Reveal()
	p := newProber(c.Target, secretValue, url.QueryEscape(secretValue))
	documented := p.send(ctx, tokenRequest(c, secretValue, true))
	token := ""
	// Only a token Yango Deli could read (item 1) goes on to the API.
	if documented.Err == nil && checks.ClassifyPartner(documented.Answer, p.scrub.Scrub).Outcome == checks.OK {
		token = checks.AccessToken(documented.Body)
	}
	wrong := p.send(ctx, tokenRequest(c, wrongSecret, true))
	noGrant := p.send(ctx, tokenRequest(c, secretValue, false))
	host := hostItem(c.Host)
	return []Item{
		tokenItem(p, documented),
		mediaTypeItem(p, documented),
		wrongSecretItem(p, wrong),
		missingGrantItem(p, noGrant),
		host,
		tlsItem(p, c.Host, documented, host.Result, o.now(), o.warnBefore(c.Name())),
		verifyItem(ctx, p, c, token),
	}
}

// tokenRequest is the documented request: a form body with client_id,
// client_secret, grant_type=client_credentials and the scope. The report
// always sends the form body the Yango document specifies, whatever the
// check's auth_style: Yango Deli sends nothing else.
func tokenRequest(c *checks.Partner, clientSecret string, withGrant bool) probe {
	scope := c.Scope
	if scope == "" {
		scope = checks.DefaultScope
	}
	form := url.Values{"client_id": {c.ClientID}, "client_secret": {clientSecret}, "scope": {scope}}
	if withGrant {
		form.Set("grant_type", "client_credentials")
	}
	return probe{method: http.MethodPost, url: strings.TrimRight(c.Host, "/") + "/security/oauth/token", form: form}
}

// tokenItem (1): the documented request gets a token, as ok is defined for
// a partner check, with expires_in a positive whole number (warn when absent).
func tokenItem(p *prober, a answer) Item {
	if a.Err != nil {
		return item(itemTokenRequest, Fail, "the documented request got no answer:", p.failure(a))
	}
	v := checks.ClassifyPartner(a.Answer, p.scrub.Scrub)
	switch {
	case v.Outcome != checks.OK:
		return item(itemTokenRequest, Fail, fmt.Sprintf("the documented request got no token (%s): %s", v.Outcome, v.Detail), p.evidence(a))
	case v.ExpiresIn == nil:
		return item(itemTokenRequest, Warn, "token issued without expires_in: Yango Deli then assumes the document's defaults (300 s for nomenclature, 3600 s for orders)", p.evidence(a))
	}
	return item(itemTokenRequest, Pass, fmt.Sprintf("token issued, expires_in %d s", *v.ExpiresIn), p.evidence(a))
}

// mediaTypeItem (2): the document names application/json exactly; another
// JSON type is read by most clients, anything else is not JSON.
func mediaTypeItem(p *prober, a answer) Item {
	if a.Err != nil {
		// token_request fails already: one cause is one failed item.
		return item(itemMediaType, Warn, "not tested: the documented request got no answer (see token_request)", "")
	}
	ct := a.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case ct == "":
		return item(itemMediaType, Fail, "the answer has no Content-Type: the document requires application/json", p.evidence(a))
	case err != nil || !checks.IsJSON(ct):
		return item(itemMediaType, Fail, fmt.Sprintf("the answer is %s, not JSON: the document requires application/json", mediaType(a)), p.evidence(a))
	case mt != "application/json":
		return item(itemMediaType, Warn, fmt.Sprintf("the answer is %s, a JSON type but not the application/json the document names", mt), p.evidence(a))
	}
	return item(itemMediaType, Pass, "the answer is application/json", p.evidence(a))
}

// wrongSecretItem (3): the real client_id with a wrong secret gets the
// document's 400 and error array; RFC 6749's invalid_client is a warn.
func wrongSecretItem(p *prober, a answer) Item {
	if a.Err != nil {
		return item(itemWrongSecret, Fail, "a wrong secret got no answer:", p.failure(a))
	}
	e := checks.ParseTokenError(a.Body)
	s := a.Status
	switch {
	case s >= 200 && s < 300:
		return item(itemWrongSecret, Fail, "a wrong secret was accepted: the endpoint does not check client_secret", p.evidence(a))
	case s >= 500:
		return item(itemWrongSecret, Fail, "a wrong secret got a server error: the document wants 400 with the error array", p.evidence(a))
	case s == http.StatusBadRequest && e.Yango && checks.IsJSON(a.Header.Get("Content-Type")):
		return item(itemWrongSecret, Pass, "a wrong secret got 400 with the error array, as the document says", p.evidence(a))
	case s == http.StatusBadRequest && e.Yango:
		return item(itemWrongSecret, Warn, fmt.Sprintf("a wrong secret got 400 with the error array, but as %s, not application/json", mediaType(a)), p.evidence(a))
	case (s == http.StatusBadRequest || s == http.StatusUnauthorized) && e.Code == "invalid_client":
		return item(itemWrongSecret, Warn, "a wrong secret got RFC 6749 invalid_client instead of the document's 400 with the error array [{code, description}]", p.evidence(a))
	}
	return item(itemWrongSecret, Fail, "a wrong secret got no 400 with the error array: the document wants 400 with [{code, description}]", p.evidence(a))
}

// missingGrantItem (4): a request without grant_type is the client's
// mistake: a 4xx, never a token or a server error.
func missingGrantItem(p *prober, a answer) Item {
	if a.Err != nil {
		return item(itemMissingGrantType, Fail, "a request without grant_type got no answer:", p.failure(a))
	}
	s := a.Status
	switch {
	case s >= 400 && s < 500:
		return item(itemMissingGrantType, Pass, "a request without grant_type is refused with a 4xx", p.evidence(a))
	case s >= 200 && s < 300:
		return item(itemMissingGrantType, Fail, "a request without grant_type was answered with a success: the endpoint does not check grant_type", p.evidence(a))
	case s >= 500:
		return item(itemMissingGrantType, Fail, "a request without grant_type got a server error: it wants a 4xx", p.evidence(a))
	}
	return item(itemMissingGrantType, Fail, "a request without grant_type got no 4xx: it wants one", p.evidence(a))
}

// hostItem (5): the Yango document takes a domain name (localhost counts
// as one), never an IP address, and https: the client secret crosses the
// network. Plain http fails, except on this machine, where a test fake
// may sit and the secret does not leave it: there it warns.
func hostItem(raw string) Item {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return item(itemHost, Fail, "host is not a URL with a host name", "")
	}
	name := u.Hostname()
	switch {
	case net.ParseIP(name) != nil:
		return item(itemHost, Fail, fmt.Sprintf("host %s is an IP address: the Yango document supports domain names only", name), "")
	case u.Scheme != "https" && checks.IsLoopback(name):
		return item(itemHost, Warn, fmt.Sprintf("%s is a domain name, but over %s: fine for a test on this machine, the partner must use https", name, u.Scheme), "")
	case u.Scheme != "https":
		return item(itemHost, Fail, fmt.Sprintf("%s is a domain name, but over %s: the client secret and the tokens would cross the network unencrypted; the partner must use https", name, u.Scheme), "")
	}
	return item(itemHost, Pass, name+" is a domain name, over https", "")
}

// tlsItem (6): the certificate the documented request met: valid for the
// host (the client verified it in the handshake), and days left, a warn
// under the check's tls_warn_before. Without https there is none: the verdict of item 5.
func tlsItem(p *prober, raw string, a answer, hostResult Result, now time.Time, warnBefore time.Duration) Item {
	if u, err := url.Parse(raw); err != nil || u.Scheme != "https" {
		return item(itemTLS, hostResult, "no TLS: the host uses http, so no certificate protects the secret", "")
	}
	if a.Err != nil {
		why := p.failure(a)
		if strings.HasPrefix(why, "TLS") {
			// The certificate was checked, and refused: this item's own failure.
			return item(itemTLS, Fail, "the TLS handshake of the documented request failed:", why)
		}
		return item(itemTLS, Warn, "not tested: the documented request got no answer (see token_request):", why)
	}
	if a.TLS == nil || len(a.TLS.PeerCertificates) == 0 {
		return item(itemTLS, Fail, "the answer came without a TLS certificate", "")
	}
	return certItem(a.TLS, now, warnBefore)
}

// certItem judges the leaf certificate of a connection at now: a warn
// with less than warnBefore left.
func certItem(state *tls.ConnectionState, now time.Time, warnBefore time.Duration) Item {
	leaf := state.PeerCertificates[0]
	expiry := leaf.NotAfter.UTC().Format(time.DateOnly)
	left := leaf.NotAfter.Sub(now)
	days := int(left.Hours() / 24)
	switch {
	case left <= 0:
		return item(itemTLS, Fail, fmt.Sprintf("the certificate expired on %s", expiry), "")
	case len(state.VerifiedChains) == 0:
		return item(itemTLS, Warn, fmt.Sprintf("the certificate was not verified (insecure_skip_verify); it expires %s, %d days left", expiry, days), "")
	case left < warnBefore:
		return item(itemTLS, Warn, fmt.Sprintf("the certificate is valid for the host but expires %s, in %d days (under tls_warn_before, %s): renew it", expiry, days, inDays(warnBefore)), "")
	}
	return item(itemTLS, Pass, fmt.Sprintf("the certificate is valid for the host until %s, %d days left", expiry, days), "")
}

// verifyItem (7): with verify, the issued token is accepted by the
// partner's API and a wrong token is refused: one probe each.
func verifyItem(ctx context.Context, p *prober, c *checks.Partner, token string) Item {
	switch {
	case c.Verify == nil:
		return item(itemVerify, Warn, "not tested: the check has no verify; set verify: {path: ...} to a path of the partner's API to test the tokens it issues", "")
	case token == "":
		return item(itemVerify, Warn, "not tested: the documented request got no usable token (see token_request)", "")
	}
	target := c.Verify.Target()
	issued := p.send(ctx, apiRequest(c, token))
	wrong := p.send(ctx, apiRequest(c, wrongToken))
	r1, why1 := judgeIssued(issued, target)
	r2, why2 := judgeWrong(wrong, target)
	return item(itemVerify, worst(r1, r2), why1+" "+p.evidence(issued)+"; "+why2, p.evidence(wrong))
}

func apiRequest(c *checks.Partner, token string) probe {
	return probe{method: c.Verify.Method, url: strings.TrimRight(c.Host, "/") + c.Verify.Path, authorization: "Bearer " + token}
}

func judgeIssued(a answer, target string) (Result, string) {
	switch s := a.Status; {
	case a.Err != nil:
		return Fail, target + " with the issued token got no answer"
	case s >= 200 && s < 300:
		return Pass, target + " accepted the issued token"
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return Fail, "the endpoint issues tokens that its own API rejects: " + target + " refused the issued token"
	default:
		return Fail, target + " did not answer the issued token with a 2xx"
	}
}

func judgeWrong(a answer, target string) (Result, string) {
	switch s := a.Status; {
	case a.Err != nil:
		return Fail, "a wrong token got no answer"
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return Pass, "a wrong token is refused"
	case s >= 200 && s < 300:
		return Fail, target + " accepted a wrong token: the API does not check tokens"
	default:
		return Warn, "a wrong token got neither 401 nor 403"
	}
}

// inDays is a threshold as people set it: "14 days", or the duration
// when it is not whole days.
func inDays(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

package checks

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// TypePartner is the configuration's name for a Partner check.
const TypePartner = "partner_oauth"

// DefaultScope is the scope the Yango Deli pull method asks for.
const DefaultScope = "read write"

// AuthStyle says where a partner check puts the client credentials.
type AuthStyle string

const (
	// AuthForm sends client_id and client_secret in the form body, as the Yango document specifies.
	AuthForm AuthStyle = "form"
	// AuthBasic sends them in an HTTP Basic Authorization header (RFC 6749 section 2.3.1).
	AuthBasic AuthStyle = "basic"
)

// Partner checks that a partner's token endpoint still issues tokens:
// POST {Host}/security/oauth/token with grant_type=client_credentials.
type Partner struct {
	Target
	Host         string
	ClientID     string
	ClientSecret secret.Value
	Scope        string
	AuthStyle    AuthStyle
	// Verify, when set, sends the issued token once to the partner's own API.
	Verify *Verify
}

var _ Check = (*Partner)(nil)

// Name implements Check.
func (p *Partner) Name() string { return p.Target.Name }

// Type implements Check.
func (p *Partner) Type() string { return TypePartner }

// Endpoint implements Check.
func (p *Partner) Endpoint() string { return baseOf(p.Host) }

// Fingerprint implements Check.
func (p *Partner) Fingerprint() string { return p.ClientSecret.Fingerprint() }

// Run implements Check.
func (p *Partner) Run(ctx context.Context) Result {
	res := Result{Check: p.Name(), Type: TypePartner, Endpoint: p.Endpoint(), Fingerprint: p.Fingerprint(), Started: time.Now()}
	v, a, token := p.ask(ctx)
	status := a.Status
	if v.Outcome == OK && p.Verify != nil {
		v, status = p.deepen(ctx, v, token)
	}
	res.Outcome, res.Detail, res.HTTPStatus, res.ExpiresIn, res.TLS = v.Outcome, v.Detail, status, v.ExpiresIn, a.TLS
	res.Duration = time.Since(res.Started)
	res.Interrupted = ctx.Err() != nil && status == 0
	return res
}

// ask sends the token request once: the verdict, the answer it read (its
// status and certificate), and the token issued when the verdict is OK.
func (p *Partner) ask(ctx context.Context) (v Verdict, a Answer, token string) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {p.scope()}}
	basic := p.basicCredentials()
	if p.AuthStyle != AuthBasic {
		form.Set("client_id", p.ClientID)
		form.Set("client_secret", p.ClientSecret.Reveal())
	}
	secrets := []string{p.ClientSecret.Reveal(), url.QueryEscape(p.ClientSecret.Reveal()), basic}
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(p.Host, "/")+"/security/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return Verdict{Outcome: BadResponse, Detail: "cannot build the request: " + scrubber(secrets...)(err.Error())}, Answer{}, ""
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if p.AuthStyle == AuthBasic {
		req.Header.Set("Authorization", "Basic "+basic)
	}
	a, err = p.exchange(ctx, req)
	if err != nil {
		v := ClassifyError(err, p.Timeout)
		v.Detail = scrubber(secrets...)(v.Detail)
		return v, a, ""
	}
	// The token the partner issued is a secret too: it must not be quoted
	// back, even from a body that does not parse.
	secrets = append(secrets, issuedTokens(a.Body)...)
	v = ClassifyPartner(a, scrubber(secrets...))
	if v.Outcome == OK {
		token = AccessToken(a.Body)
	}
	return v, a, token
}

func (p *Partner) scope() string {
	if p.Scope == "" {
		return DefaultScope
	}
	return p.Scope
}

func (p *Partner) basicCredentials() string {
	pair := url.QueryEscape(p.ClientID) + ":" + url.QueryEscape(p.ClientSecret.Reveal())
	return base64.StdEncoding.EncodeToString([]byte(pair))
}

// errorAnswer holds either error shape a partner may send: RFC 6749's
// {"error", "error_description"} or Yango's [{"code", "description"}].
type errorAnswer struct {
	Code        string // RFC 6749 error code
	Description string // RFC 6749 error_description, or the Yango descriptions
	Yango       bool   // the body is the Yango array
	// Duplicate is a key the body holds twice: the answer says two things.
	Duplicate string
}

// RFC 6749 section 5.2 error codes, and what each says about the credential.
var oauthErrorOutcomes = map[string]Outcome{
	"invalid_client":         Invalid,
	"invalid_grant":          Invalid,
	"unauthorized_client":    Forbidden,
	"invalid_scope":          Forbidden,
	"invalid_request":        BadResponse, // the endpoint refuses the documented request
	"unsupported_grant_type": BadResponse,
}

// ClassifyPartner says what an answer of POST /security/oauth/token means.
// 400 and 401 answers are classified by their RFC 6749 error code first; a
// 400 with the Yango array is Invalid; a 401 with no known code is Invalid.
// scrub removes secrets from quoted server text.
func ClassifyPartner(a Answer, scrub func(string) string) Verdict {
	s := a.Status
	switch {
	case s == http.StatusOK:
		return classifyToken(a, scrub)
	case s == http.StatusBadRequest || s == http.StatusUnauthorized:
		e := parseError(a.Body)
		if e.Duplicate != "" {
			return Verdict{Outcome: BadResponse, Detail: fmt.Sprintf("HTTP %d but the error body has the key %s twice", s, quote(e.Duplicate, scrub))}
		}
		words := e.words(scrub)
		if outcome, known := oauthErrorOutcomes[e.Code]; known {
			return Verdict{Outcome: outcome, Detail: fmt.Sprintf("%s (HTTP %d): partner says %s", meaning(outcome), s, words)}
		}
		switch {
		case e.Yango:
			return Verdict{Outcome: Invalid, Detail: fmt.Sprintf("credentials rejected (HTTP %d): partner says %s", s, words)}
		case s == http.StatusUnauthorized:
			return Verdict{Outcome: Invalid, Detail: "credentials rejected (HTTP 401)" + saying(words)}
		case e.Code != "":
			return Verdict{Outcome: BadResponse, Detail: fmt.Sprintf("HTTP 400 with an unknown error code: partner says %s", words)}
		}
		return Verdict{Outcome: BadResponse, Detail: "HTTP 400 without an error code: " + describeBody(a, scrub)}
	case s == http.StatusForbidden:
		return Verdict{Outcome: Forbidden, Detail: "client not allowed (HTTP 403)" + saying(parseError(a.Body).words(scrub))}
	case s == http.StatusTooManyRequests:
		return Verdict{Outcome: Unavailable, Detail: "rate limited (HTTP 429" + retryAfter(a, scrub) + ")"}
	case s >= 500:
		return Verdict{Outcome: Unavailable, Detail: fmt.Sprintf("server error (HTTP %d%s)", s, retryAfter(a, scrub)) + saying(parseError(a.Body).words(scrub))}
	case s >= 300 && s < 400:
		return Verdict{Outcome: BadResponse, Detail: fmt.Sprintf("redirect (HTTP %d) to %s, not followed", s, redirectTarget(a, scrub))}
	}
	return Verdict{Outcome: BadResponse, Detail: fmt.Sprintf("unexpected HTTP %d: %s", s, describeBody(a, scrub))}
}

func classifyToken(a Answer, scrub func(string) string) Verdict {
	bad := func(why string) Verdict { return Verdict{Outcome: BadResponse, Detail: "HTTP 200 but " + why} }
	if !isJSON(a.Header.Get("Content-Type")) {
		ct := a.Header.Get("Content-Type")
		if ct == "" {
			return bad("no Content-Type (the spec requires application/json)")
		}
		return bad(fmt.Sprintf("Content-Type is %s, not application/json", quote(ct, scrub)))
	}
	if a.Truncated {
		return bad("the body is not a JSON object: " + describeBody(a, scrub))
	}
	body, err := parseObject(a.Body)
	if err != nil {
		return bad(notAnObject(err, a, scrub))
	}
	if token, _ := stringMember(body, "access_token"); token == "" {
		return bad("no access_token in the answer")
	}
	v := Verdict{Outcome: OK, Detail: "token issued"}
	if raw, found := body["expires_in"]; found && !isNull(raw) {
		secs, problem := lifetime(raw)
		if problem != "" {
			return bad(fmt.Sprintf("expires_in is %s, %s", quote(string(raw), scrub), problem))
		}
		v.ExpiresIn = &secs
		v.Detail = fmt.Sprintf("token issued, expires in %ds", secs)
	}
	return v
}

// lifetime reads expires_in: a whole number of seconds (300 or 300.0, as
// JSON allows), and positive, since a token that expires as it is issued or
// before is no working credential. problem says what is wrong, if anything.
func lifetime(raw json.RawMessage) (secs int64, problem string) {
	var n float64
	if json.Unmarshal(raw, &n) != nil || n != math.Trunc(n) || math.Abs(n) > 1<<53 {
		return 0, "not a whole number of seconds"
	}
	if n <= 0 {
		return 0, "not a positive number of seconds"
	}
	return int64(n), ""
}

// isJSON reports whether a Content-Type is application/json or any +json type.
func isJSON(contentType string) bool {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mediaType == "application/json" || (strings.HasPrefix(mediaType, "application/") && strings.HasSuffix(mediaType, "+json"))
}

// parseError reads an error body of either shape. Keys match exactly and
// once, as in a 200 answer: {"ERROR": ...} names no code, and a body with
// two "error" keys names no single one.
func parseError(body []byte) errorAnswer {
	trimmed := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(trimmed, []byte("{")):
		return parseRFCError(trimmed)
	case bytes.HasPrefix(trimmed, []byte("[")):
		return parseYangoError(trimmed)
	}
	return errorAnswer{}
}

// parseRFCError reads RFC 6749's {"error": "...", "error_description": "..."}.
func parseRFCError(body []byte) errorAnswer {
	obj, err := parseObject(body)
	var dup *duplicateKeyError
	if errors.As(err, &dup) {
		return errorAnswer{Duplicate: dup.Key}
	}
	code, _ := stringMember(obj, "error")
	if err != nil || code == "" {
		return errorAnswer{}
	}
	description, _ := stringMember(obj, "error_description")
	return errorAnswer{Code: code, Description: description}
}

// parseYangoError reads Yango's [{"code": 400, "description": "..."}]: a
// non-empty array of objects whose description, when present, is a string.
func parseYangoError(body []byte) errorAnswer {
	var items []json.RawMessage
	if json.Unmarshal(body, &items) != nil || len(items) == 0 {
		return errorAnswer{}
	}
	var descs []string
	for _, item := range items {
		obj, err := parseObject(item)
		var dup *duplicateKeyError
		if errors.As(err, &dup) {
			return errorAnswer{Duplicate: dup.Key}
		}
		if err != nil {
			return errorAnswer{}
		}
		description, isString := stringMember(obj, "description")
		if raw, found := obj["description"]; found && !isNull(raw) && !isString {
			return errorAnswer{}
		}
		if description != "" {
			descs = append(descs, description)
		}
	}
	return errorAnswer{Description: strings.Join(descs, "; "), Yango: true}
}

// words is the partner's own explanation, quoted for a detail; empty when it gave none.
func (e errorAnswer) words(scrub func(string) string) string {
	switch {
	case e.Code != "" && e.Description != "":
		return quote(e.Code+": "+e.Description, scrub)
	case e.Code != "":
		return quote(e.Code, scrub)
	case e.Description != "":
		return quote(e.Description, scrub)
	case e.Yango:
		return "nothing (empty description)"
	}
	return ""
}

func saying(words string) string {
	if words == "" {
		return ""
	}
	return ": partner says " + words
}

func meaning(o Outcome) string {
	switch o {
	case Invalid:
		return "credentials rejected"
	case Forbidden:
		return "client not allowed this grant or scope"
	}
	return "the endpoint refuses the documented request"
}

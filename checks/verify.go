package checks

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Verify is a partner check's deep check: the token just issued is sent
// once to the partner's own API, as Yango Deli uses it
// (Authorization: Bearer). A token endpoint that keeps issuing tokens the
// API rejects breaks the integration as surely as a rejected secret.
type Verify struct {
	// Path is a path on the check's host, with its query: it starts with "/".
	Path string
	// Method is GET, HEAD or POST (with an empty body).
	Method string
}

// verifyMethods are the methods a deep check may use: requests that read,
// or a POST the partner's API documents as harmless with an empty body.
var verifyMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// decodeVerify reads a partner check's verify mapping: {path, method}.
func decodeVerify(f Fields) *Verify {
	sec, ok := f.Section("verify", "path", "method")
	if !ok {
		return nil
	}
	v := &Verify{
		Path:   sec.Required("path", "a path of the partner's API to call with the issued token, like /api/v1/orders?limit=1"),
		Method: sec.Enum("method", http.MethodGet, "GET (the default), HEAD or POST", verifyMethods...),
	}
	if problem := verifyPathProblem(v.Path); v.Path != "" && problem != "" {
		sec.Errorf("path", "%s", problem)
	}
	return v
}

// verifyPathProblem says what is wrong with a verify path, or "". The path
// is appended to the check's host: anything that could name another host
// or is not one request target is refused, so that the issued token goes
// nowhere but the partner's own API.
func verifyPathProblem(path string) string {
	switch {
	case !strings.HasPrefix(path, "/"):
		return `path must start with "/": a path on the check's host, with no scheme or host (like /api/v1/orders?limit=1)`
	case strings.HasPrefix(path, "//"):
		return `path must not start with "//", which names another host`
	case strings.ContainsRune(path, '#'):
		return "path must not hold a fragment (#): it is never sent"
	case strings.IndexFunc(path, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "path must not contain white space or control characters (percent-encode them)"
	}
	if _, err := url.ParseRequestURI(path); err != nil {
		return "path is not a valid request path: percent-encode its special characters"
	}
	return ""
}

// Target is how a verdict names the request: method and path, without the
// query (which may carry what only the partner should read).
func (v Verify) Target() string {
	path := v.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return v.Method + " " + path
}

// deepen sends the issued token to the partner's API and says what its
// answer makes of the token verdict issued.
func (p *Partner) deepen(ctx context.Context, issued Verdict, token string) (Verdict, int) {
	scrub := scrubber(p.ClientSecret.Reveal(), url.QueryEscape(p.ClientSecret.Reveal()), token, url.QueryEscape(token))
	req, err := http.NewRequest(p.Verify.Method, strings.TrimRight(p.Host, "/")+p.Verify.Path, nil)
	if err != nil {
		return Verdict{Outcome: BadResponse, Detail: "cannot build the verify request: " + scrub(err.Error())}, 0
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	a, err := p.exchange(ctx, req)
	if err != nil {
		v := ClassifyError(err, p.Timeout)
		v.Detail = fmt.Sprintf("token issued, but %s got no answer: %s", p.Verify.Target(), scrub(v.Detail))
		v.ExpiresIn = issued.ExpiresIn
		return v, a.Status
	}
	v := ClassifyVerify(*p.Verify, a, scrub)
	if v.Outcome == OK {
		v.Detail = issued.Detail + "; " + v.Detail
	}
	v.ExpiresIn = issued.ExpiresIn
	return v, a.Status
}

// ClassifyVerify says what the partner API's answer to an issued token
// means. A 2xx keeps the check ok; a 401 or 403 is a broken contract (the
// endpoint issues tokens its own API rejects); anything else says nothing
// about the token and counts as an outage. scrub removes secrets, the
// issued token included, from quoted server text.
func ClassifyVerify(v Verify, a Answer, scrub func(string) string) Verdict {
	s := a.Status
	switch {
	case s >= 200 && s < 300:
		return Verdict{Outcome: OK, Detail: fmt.Sprintf("%s accepted it (HTTP %d)", v.Target(), s)}
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return Verdict{Outcome: BadResponse, Detail: fmt.Sprintf("the endpoint issues tokens that its own API rejects: %s answered HTTP %d to the issued token", v.Target(), s) + serverSays(a, scrub)}
	case s == http.StatusTooManyRequests:
		return Verdict{Outcome: Unavailable, Detail: fmt.Sprintf("token issued, but %s is rate limited (HTTP 429%s)", v.Target(), retryAfter(a, scrub))}
	case s >= 300 && s < 400:
		return Verdict{Outcome: Unavailable, Detail: fmt.Sprintf("token issued, but %s answered a redirect (HTTP %d) to %s, not followed", v.Target(), s, redirectTarget(a, scrub))}
	}
	return Verdict{Outcome: Unavailable, Detail: fmt.Sprintf("token issued, but %s answered HTTP %d, which says nothing about the token", v.Target(), s) + serverSays(a, scrub)}
}

// AccessToken is the access_token of a token answer's body, "" when it has
// none. The value is a secret: it may be sent to the partner, never shown.
func AccessToken(body []byte) string {
	obj, err := parseObject(body)
	if err != nil {
		return ""
	}
	token, _ := stringMember(obj, "access_token")
	return token
}

package checks

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// TypeCourier is the configuration's name for a Courier check.
const TypeCourier = "courier"

// DefaultCourierBaseURL is where the Yandex Courier API lives.
const DefaultCourierBaseURL = "https://courier.yandex.ru"

// DefaultRecheckDelay is how long a courier check waits before asking again
// after a 401: Yandex has been seen to answer a working token with an
// occasional 401, so one 401 alone does not make a token invalid.
const DefaultRecheckDelay = time.Second

// Courier checks a Yandex Courier (Track & Trace) OAuth token with
// GET {BaseURL}/api/v1/test and Authorization: OAuth <token>.
type Courier struct {
	Target
	BaseURL string
	Token   secret.Value
	// ClientID is the OAuth app's ClientID, for the re-issue link; may be empty.
	ClientID string
	// RecheckDelay is the pause before the 401 re-check; zero means DefaultRecheckDelay.
	RecheckDelay time.Duration
}

var _ Check = (*Courier)(nil)

// Name implements Check.
func (c *Courier) Name() string { return c.Target.Name }

// Type implements Check.
func (c *Courier) Type() string { return TypeCourier }

// Endpoint implements Check.
func (c *Courier) Endpoint() string { return baseOf(c.BaseURL) }

// Fingerprint implements Check.
func (c *Courier) Fingerprint() string { return c.Token.Fingerprint() }

// Run implements Check.
func (c *Courier) Run(ctx context.Context) Result {
	res := Result{Check: c.Name(), Type: TypeCourier, Endpoint: c.Endpoint(), Fingerprint: c.Fingerprint(), Started: time.Now()}
	v, a := c.ask(ctx)
	status := a.Status
	if status == http.StatusUnauthorized && ctx.Err() == nil {
		delay := c.RecheckDelay
		if delay == 0 {
			delay = DefaultRecheckDelay
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
			v, a = c.ask(ctx)
			status = a.Status
			if status == http.StatusUnauthorized {
				v.Detail += fmt.Sprintf(" twice, %s apart", delay)
			}
		case <-ctx.Done():
			t.Stop()
			res.Interrupted = true // one 401 is not a verdict
			v.Detail += ", re-check interrupted"
		}
	}
	res.Outcome, res.Detail, res.HTTPStatus = v.Outcome, v.Detail, status
	res.ClientID, res.TLS = c.ClientID, a.TLS
	res.Duration = time.Since(res.Started)
	if ctx.Err() != nil && status == 0 {
		res.Interrupted = true
	}
	return res
}

// ask sends the test request once: the verdict, and the answer it read
// (its status and certificate).
func (c *Courier) ask(ctx context.Context) (Verdict, Answer) {
	scrub := scrubber(c.Token.Reveal())
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(c.BaseURL, "/")+"/api/v1/test", nil)
	if err != nil {
		return Verdict{Outcome: BadResponse, Detail: "cannot build the request: " + scrub(err.Error())}, Answer{}
	}
	req.Header.Set("Authorization", "OAuth "+c.Token.Reveal())
	req.Header.Set("Accept", "application/json")
	a, err := c.exchange(ctx, req)
	if err != nil {
		v := ClassifyError(err, c.Timeout)
		v.Detail = scrub(v.Detail)
		return v, a
	}
	return ClassifyCourier(a, scrub), a
}

// ClassifyCourier says what an answer of GET /api/v1/test means. The
// courier document names no content type, so the body is parsed as JSON
// whatever the header says. scrub removes secrets from quoted server text.
func ClassifyCourier(a Answer, scrub func(string) string) Verdict {
	s := a.Status
	switch {
	case s == http.StatusOK:
		return classifyCourierOK(a, scrub)
	case s == http.StatusUnauthorized:
		return Verdict{Invalid, "token rejected (HTTP 401)", nil}
	case s == http.StatusForbidden:
		return Verdict{Forbidden, "token accepted but not allowed (HTTP 403): the account is not a company administrator, or the company key is unknown or banned" + serverSays(a, scrub), nil}
	case s == http.StatusTooManyRequests:
		return Verdict{Unavailable, "rate limited (HTTP 429" + retryAfter(a, scrub) + ")", nil}
	case s >= 500:
		return Verdict{Unavailable, fmt.Sprintf("server error (HTTP %d%s)", s, retryAfter(a, scrub)), nil}
	case s >= 300 && s < 400:
		return Verdict{BadResponse, fmt.Sprintf("redirect (HTTP %d) to %s, not followed", s, redirectTarget(a, scrub)), nil}
	default:
		return Verdict{BadResponse, fmt.Sprintf("unexpected HTTP %d: %s", s, describeBody(a, scrub)), nil}
	}
}

// classifyCourierOK reads a 200 answer: exactly one "message" key, exactly
// "OK". The key must match exactly and appear once, so that no other
// spelling or a second "message" decides the verdict.
func classifyCourierOK(a Answer, scrub func(string) string) Verdict {
	bad := func(why string) Verdict { return Verdict{Outcome: BadResponse, Detail: "HTTP 200 but " + why} }
	if a.Truncated {
		return bad("the body is not a JSON object: " + describeBody(a, scrub))
	}
	body, err := parseObject(a.Body)
	if err != nil {
		return bad(notAnObject(err, a, scrub))
	}
	raw, found := body["message"]
	if !found || isNull(raw) {
		return bad("the body has no \"message\": " + describeBody(a, scrub))
	}
	message, isString := stringMember(body, "message")
	if !isString {
		message = string(raw) // quoted as sent: a number, an object
	}
	if message != "OK" {
		return bad(fmt.Sprintf("message is %s, want \"OK\"", quote(message, scrub)))
	}
	return Verdict{Outcome: OK, Detail: "token accepted"}
}

// serverSays appends the server's words, when it sent any, to a detail.
func serverSays(a Answer, scrub func(string) string) string {
	if len(strings.TrimSpace(string(a.Body))) == 0 {
		return ""
	}
	return "; server says " + describeBody(a, scrub)
}

// baseOf is the scheme and host of a URL: where a check goes, for humans.
func baseOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

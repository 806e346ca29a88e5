package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenwatch/tokenwatch/checks"
)

// The courier items.
const (
	itemToken      = "token"
	itemWrongToken = "wrong_token"
)

// courierItems asks the courier API once with the token and once with a
// wrong one. There is no 401 re-check: each probe is sent once, and a
// failed item is worth running the report again.
func courierItems(ctx context.Context, c *checks.Courier) []Item {
	token := c.Token.Reveal()
	p := newProber(c.Target, token, url.QueryEscape(token))
	good := p.send(ctx, courierRequest(c, token))
	wrong := p.send(ctx, courierRequest(c, wrongToken))
	return []Item{courierTokenItem(p, good), courierWrongItem(p, wrong)}
}

func courierRequest(c *checks.Courier, token string) probe {
	return probe{method: http.MethodGet, url: strings.TrimRight(c.BaseURL, "/") + "/api/v1/test", authorization: "OAuth " + token}
}

// courierTokenItem: the token gets 200 {"message":"OK"}.
func courierTokenItem(p *prober, a answer) Item {
	if a.Err != nil {
		return item(itemToken, Fail, "the token got no answer:", p.failure(a))
	}
	v := checks.ClassifyCourier(a.Answer, p.scrub.Scrub)
	if v.Outcome != checks.OK {
		return item(itemToken, Fail, fmt.Sprintf("the token is not accepted (%s): %s", v.Outcome, v.Detail), p.evidence(a))
	}
	return item(itemToken, Pass, `the token gets 200 {"message":"OK"}`, p.evidence(a))
}

// courierWrongItem: a wrong token gets 401, which is what tells a revoked
// token apart from everything else.
func courierWrongItem(p *prober, a answer) Item {
	if a.Err != nil {
		return item(itemWrongToken, Fail, "a wrong token got no answer:", p.failure(a))
	}
	switch s := a.Status; {
	case s == http.StatusUnauthorized:
		return item(itemWrongToken, Pass, "a wrong token gets 401", p.evidence(a))
	case s >= 200 && s < 300:
		return item(itemWrongToken, Fail, "a wrong token was accepted: a revoked token could not be told from a working one", p.evidence(a))
	default:
		return item(itemWrongToken, Fail, "a wrong token got no 401: a revoked token would not be classified invalid", p.evidence(a))
	}
}

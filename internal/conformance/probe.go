package conformance

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// answer is what one probe got: an HTTP answer and the TLS connection it
// came over, or the error that stood for one.
type answer struct {
	checks.Answer
	// TLS is the connection's state; nil for http or when there was no answer.
	TLS *tls.ConnectionState
	// Err is set when no HTTP answer arrived; then only Err counts.
	Err error
}

// prober sends one check's probes with the check's own client, timeout and
// User-Agent, and scrubs what it quotes with every secret it has seen.
type prober struct {
	target checks.Target
	scrub  *secret.Scrubber
}

func newProber(t checks.Target, secrets ...string) *prober {
	p := &prober{target: t, scrub: &secret.Scrubber{}}
	p.scrub.Add(secrets...)
	return p
}

// probe is one request to send.
type probe struct {
	method, url string
	// form is the body, form-encoded; nil for none.
	form url.Values
	// authorization is the Authorization header; "" for none.
	authorization string
}

// send sends one probe and reads at most checks.ReadCap bytes of its
// answer. It reads the connection state itself, since the conformance
// report judges the certificate the probe actually met.
func (p *prober) send(ctx context.Context, pr probe) answer {
	if p.target.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.target.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, pr.method, pr.url, strings.NewReader(pr.form.Encode()))
	if err != nil {
		return answer{Err: fmt.Errorf("build the request: %w", err)}
	}
	if pr.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if pr.authorization != "" {
		req.Header.Set("Authorization", pr.authorization)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", p.target.UserAgent)
	resp, err := p.target.Client.Do(req)
	if err != nil {
		return answer{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, checks.ReadCap+1))
	a := answer{Answer: checks.Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, TLS: resp.TLS}
	if len(body) > checks.ReadCap {
		a.Body, a.Truncated = body[:checks.ReadCap], true
	} else if err != nil {
		return answer{Err: fmt.Errorf("read body: %w", err)}
	}
	// Any token an answer carries (an endpoint that accepts a wrong secret
	// issues one too) is a secret for the rest of the report, wherever
	// another answer echoes it.
	for _, token := range checks.IssuedTokens(a.Body) {
		p.scrub.Add(token, url.QueryEscape(token))
	}
	return a
}

// failure says why a probe got no answer, on one line, scrubbed.
func (p *prober) failure(a answer) string {
	return p.scrub.Scrub(checks.ClassifyError(a.Err, p.target.Timeout).Detail)
}

// evidence is what an answer showed: status, media type and a scrubbed
// excerpt of the body, in parentheses to follow a verdict.
func (p *prober) evidence(a answer) string {
	if a.Err != nil {
		return "(no answer: " + p.failure(a) + ")"
	}
	excerpt := a.Excerpt(p.scrub.Scrub)
	if strings.HasPrefix(excerpt, `"`) {
		excerpt = "body " + excerpt // quoted text; else a description ("an empty body")
	}
	return fmt.Sprintf("(HTTP %d, %s, %s)", a.Status, mediaType(a), excerpt)
}

// mediaType names an answer's Content-Type for evidence.
func mediaType(a answer) string {
	ct := a.Header.Get("Content-Type")
	if ct == "" {
		return "no Content-Type"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Sprintf("an unreadable Content-Type %q", oneLine(ct))
	}
	return mt
}

// oneLine keeps header text a server chose to printable ASCII, at most 60
// characters: it goes into a terminal line and an XML attribute.
func oneLine(s string) string {
	b := make([]byte, 0, min(len(s), 60))
	for i := 0; i < len(s) && len(b) < 60; i++ {
		if c := s[i]; c >= ' ' && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// item is an Item whose detail is a verdict followed by its evidence.
func item(name string, r Result, why, evidence string) Item {
	if evidence != "" {
		why += " " + evidence
	}
	return Item{Name: name, Result: r, Detail: why}
}

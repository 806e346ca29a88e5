// Package heartbeat pings a healthchecks.io-style dead man's switch:
// URL/start when a pass starts, URL when it delivered everything, URL/fail
// when it could not. A job that stops running stops pinging, and the
// service notices what no alert from the job itself could say.
package heartbeat

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

// Timeout bounds each ping: a slow heartbeat service must not hold up a run.
const Timeout = 5 * time.Second

// Pinger is a job.Output (and job.Starter) that pings the heartbeat URL.
type Pinger struct {
	// URL is the ping URL; it is a capability, so it is kept secret.
	URL secret.Value
	// Client is the HTTP client; nil means one with Timeout.
	Client *http.Client
	Logger *slog.Logger
}

var (
	_ job.Output  = (*Pinger)(nil)
	_ job.Starter = (*Pinger)(nil)
)

// Name implements job.Output.
func (p *Pinger) Name() string { return "heartbeat" }

// Start implements job.Starter: URL/start. A failure is only logged: the
// ping at the end is the one that counts.
func (p *Pinger) Start(ctx context.Context) {
	if err := p.ping(ctx, "/start", ""); err != nil && p.Logger != nil {
		p.Logger.Warn("heartbeat start ping failed", "error", err.Error())
	}
}

// Report implements job.Output: URL when the pass delivered everything,
// URL/fail when it did not (and then the pass exits 3 anyway).
func (p *Pinger) Report(ctx context.Context, rep *job.Report) error {
	notOK := 0
	for _, r := range rep.Results {
		if r.Outcome != checks.OK {
			notOK++
		}
	}
	body := fmt.Sprintf("tokenwatch: %d checks, %d not ok, %d notifications", len(rep.Results), notOK, len(rep.Notifications))
	if !rep.Delivered() {
		body += "\nnot delivered:\n" + strings.Join(rep.Failures, "\n")
		return p.ping(ctx, "/fail", body)
	}
	return p.ping(ctx, "", body)
}

// maxAnswer bounds what is read of the service's answer: only the status
// matters, and reading a little lets the connection be reused.
const maxAnswer = 4 << 10

// ping posts body to URL+suffix. The client (version.Client unless a test
// injects one) follows no redirect, so the URL goes nowhere but its own
// host; and no error quotes it, since whoever has it can ping.
func (p *Pinger) ping(ctx context.Context, suffix, body string) error {
	client := p.Client
	if client == nil {
		client = version.Client(Timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	url := strings.TrimRight(p.URL.Reveal(), "/") + suffix
	what := strings.TrimSpace("ping " + suffix) // "ping", "ping /start", "ping /fail"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: the URL is not valid", what)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		// The error quotes the URL, which is secret: say what happened instead.
		return fmt.Errorf("%s failed: %s", what, p.describe(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("%s: the heartbeat service answered a redirect (HTTP %d); redirects are not followed: check heartbeat.url", what, resp.StatusCode)
	case resp.StatusCode >= 300:
		return fmt.Errorf("%s: HTTP %d", what, resp.StatusCode)
	}
	return nil
}

// describe says why no answer came. The URL is scrubbed as well, in case a
// transport error the classifier does not know quotes it.
func (p *Pinger) describe(err error) string {
	var scrub secret.Scrubber
	scrub.Add(p.URL.Reveal())
	return scrub.Scrub(checks.ClassifyError(err, Timeout).Detail)
}

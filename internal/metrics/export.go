package metrics

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

// Textfile writes the registry for node_exporter's textfile collector,
// atomically (a temp file renamed into place), after every pass.
type Textfile struct {
	Path     string
	Gatherer prometheus.Gatherer
}

var _ job.Output = (*Textfile)(nil)

// Name implements job.Output.
func (t *Textfile) Name() string { return "textfile" }

// Report implements job.Output.
func (t *Textfile) Report(context.Context, *job.Report) error {
	if err := prometheus.WriteToTextfile(t.Path, t.Gatherer); err != nil {
		return fmt.Errorf("write %s: %w", t.Path, err)
	}
	return nil
}

// Pushgateway pushes the registry after every pass with POST (Add): series
// this push lacks are kept, so a failed run does not erase the last
// success timestamp. The grouping key is the job alone: no instance or pod
// label, so a CronJob's pods all update one group.
type Pushgateway struct {
	URL      string
	Job      string
	Gatherer prometheus.Gatherer
	// Timeout bounds the push, so a slow gateway cannot hang the run; 0
	// means DefaultPushTimeout.
	Timeout time.Duration
	// Client is the HTTP client; nil means one with Timeout.
	Client *http.Client
}

// DefaultPushTimeout bounds a push when nothing else is said.
const DefaultPushTimeout = 10 * time.Second

var _ job.Output = (*Pushgateway)(nil)

// Name implements job.Output.
func (p *Pushgateway) Name() string { return "pushgateway" }

// Report implements job.Output.
func (p *Pushgateway) Report(ctx context.Context, _ *job.Report) error {
	client := p.Client
	if client == nil {
		client = version.Client(cmp.Or(p.Timeout, DefaultPushTimeout))
	}
	if err := push.New(p.URL, p.Job).Gatherer(p.Gatherer).Client(gatewayClient{client}).AddContext(ctx); err != nil {
		return fmt.Errorf("push to %s: %w", redactURL(p.URL), err)
	}
	return nil
}

// maxGatewayAnswer bounds what is read of an error answer: the gateway says
// why in a line; a longer body is not worth the memory.
const maxGatewayAnswer = 4 << 10

// maxGatewayExcerpt bounds the gateway's words quoted in an error.
const maxGatewayExcerpt = 200

// gatewayClient answers the push library's requests with an error of its
// own for anything but a success: the library would read an error body
// whole and quote it raw, URL included, and would call a redirect (which
// the client does not follow, so credentials stay on the configured
// host) an unexpected status.
type gatewayClient struct{ c *http.Client }

// Do implements push.HTTPDoer.
func (g gatewayClient) Do(req *http.Request) (*http.Response, error) {
	resp, err := g.c.Do(req)
	if err != nil || resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusAccepted {
		return resp, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, fmt.Errorf("the Pushgateway answered a redirect (HTTP %d); redirects are not followed: check metrics.pushgateway.url", resp.StatusCode)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxGatewayAnswer)) // a short body is still worth quoting
	return nil, fmt.Errorf("the Pushgateway answered HTTP %d: %s", resp.StatusCode, excerpt(string(body)))
}

// excerpt quotes the start of s as one printable line, so a hostile answer
// cannot drive the terminal or forge log lines.
func excerpt(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxGatewayExcerpt {
		s = strings.ToValidUTF8(s[:maxGatewayExcerpt], "") + "…"
	}
	return strconv.QuoteToGraphic(s)
}

// redactURL is u without the password it may carry for Basic auth.
func redactURL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		return "the configured URL"
	}
	return parsed.Redacted()
}

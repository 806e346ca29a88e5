package metrics

import (
	"context"
	"fmt"
	"net/http"
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
	// Client is the HTTP client; nil means one with a 10s timeout, so a
	// slow gateway cannot hang the run.
	Client *http.Client
}

var _ job.Output = (*Pushgateway)(nil)

// Name implements job.Output.
func (p *Pushgateway) Name() string { return "pushgateway" }

// Report implements job.Output.
func (p *Pushgateway) Report(ctx context.Context, _ *job.Report) error {
	client := p.Client
	if client == nil {
		client = version.Client(10 * time.Second)
	}
	if err := push.New(p.URL, p.Job).Gatherer(p.Gatherer).Client(client).AddContext(ctx); err != nil {
		return fmt.Errorf("push to %s: %w", p.URL, err)
	}
	return nil
}

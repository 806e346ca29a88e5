package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
)

// Options tune the demo.
type Options struct {
	// Passes is how many scheduled runs to simulate; outages alert on the third.
	Passes int
	// Interval is the simulated time between passes.
	Interval time.Duration
	// Report prints a pass's verdicts; the command supplies its table.
	Report func(w io.Writer, rep *job.Report)
}

const demoConfig = `# The demo's configuration: the real loader reads it.
slack:
  webhook_url: %s
state:
  path: %s
checks:
  - name: courier-main
    type: courier
    base_url: %s
    token: %s
    rotate_after: 2160h%s
  - name: courier-backup
    type: courier
    base_url: %s
    token: %s
    client_id: 0123456789abcdef0123456789abcdef%s
  - name: partner-acme
    type: partner_oauth
    host: %s
    client_id: %s
    client_secret: %s
  - name: partner-initech
    type: partner_oauth
    host: %s
    client_id: %s
    client_secret: %s
  - name: partner-globex
    type: partner_oauth
    host: %s
    client_id: globex-shop
    client_secret: demo-globex-secret
    timeout: 2s
`

// demoConfiguration reads the demo's configuration, pointed at the given
// fake Slack and endpoints, through the real loader. courierCA is the
// courier's certificate file; "" for none.
func demoConfiguration(dir, webhookURL, courierURL, courierCA, partnerURL, partnerDownURL string) (*config.Config, error) {
	trust := ""
	if courierCA != "" {
		trust = "\n    ca_file: " + courierCA
	}
	src := fmt.Sprintf(demoConfig, webhookURL, filepath.Join(dir, "state.json"),
		courierURL, GoodToken, trust, courierURL, RevokedToken, trust,
		partnerURL, PartnerID, RejectedSecret, partnerURL, PartnerID, PartnerSecret, partnerDownURL)
	cfg, problems := config.Parse(filepath.Join(dir, "config.yaml"), []byte(src), config.OSEnv)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Secrets is every secret of the demo's checks, as their kinds list them,
// for the command's scrubber, which exists before the demo starts its fake
// endpoints (whose loopback addresses are no secret).
func Secrets() ([]string, error) {
	const nowhere = "http://127.0.0.1:1"
	cfg, err := demoConfiguration(os.TempDir(), nowhere, nowhere, "", nowhere, nowhere)
	if err != nil {
		return nil, err
	}
	return job.Secrets(cfg), nil
}

// Run runs the demo and writes what it shows to w.
func Run(ctx context.Context, w io.Writer, logger *slog.Logger, o Options) error {
	if o.Passes == 0 {
		o.Passes = 3
	}
	if o.Interval == 0 {
		o.Interval = 5 * time.Minute
	}
	eps, err := StartEndpoints()
	if err != nil {
		return fmt.Errorf("start fake endpoints: %w", err)
	}
	defer eps.Close()
	fake := StartFakeSlack()
	defer fake.Close()
	dir, err := os.MkdirTemp("", "tokenwatch-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	courierCA := filepath.Join(dir, "courier-ca.pem")
	if err := eps.WriteCourierCA(courierCA); err != nil {
		return fmt.Errorf("write the fake courier's certificate: %w", err)
	}
	cfg, err := demoConfiguration(dir, fake.WebhookURL(), eps.Courier.URL, courierCA, eps.PartnerReject.URL, eps.PartnerDownURL)
	if err != nil {
		return err
	}
	list, err := job.BuildChecks(cfg.Checks)
	if err != nil {
		return err
	}
	clock := time.Now().UTC().Truncate(time.Minute)
	m := metrics.New(cfg.Checks)
	now := func() time.Time { return clock }
	j := &job.Job{
		Config: cfg, Checks: list, Logger: logger, Outputs: []job.Output{m},
		Now: now, Notifiers: job.BuildNotifiers(cfg, logger, now),
	}

	fmt.Fprintf(w, "tokenwatch demo: five checks against fake endpoints on 127.0.0.1, alerts into a fake Slack:\n")
	fmt.Fprintf(w, "a healthy courier token, a revoked one, a partner that rejects our credentials, a healthy partner, a partner that is down.\n")
	fmt.Fprintf(w, "Nothing leaves this machine. Simulating %d scheduled runs, %s apart.\n", o.Passes, o.Interval)
	for pass := 1; pass <= o.Passes; pass++ {
		fmt.Fprintf(w, "\n══ run %d of %d (%s) %s\n\n", pass, o.Passes, clock.Format("15:04 UTC"), strings.Repeat("═", 40))
		rep := j.Run(ctx, job.Options{})
		if o.Report != nil {
			o.Report(w, rep)
		}
		msgs := fake.Take()
		if len(msgs) == 0 {
			fmt.Fprintf(w, "\nSlack: nothing sent this run")
			if pass < 3 {
				fmt.Fprintf(w, " (partner-globex is down, but an outage alerts only after 3 failures in a row)")
			}
			fmt.Fprintln(w)
		} else {
			fmt.Fprintf(w, "\nSlack received %d message(s):\n", len(msgs))
			for _, m := range msgs {
				fmt.Fprint(w, RenderPayload(m))
			}
		}
		if !rep.Delivered() {
			return fmt.Errorf("run %d could not deliver: %s", pass, strings.Join(rep.Failures, "; "))
		}
		clock = clock.Add(o.Interval)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	fmt.Fprintf(w, "\n══ metrics after the last run (what /metrics, the textfile and the Pushgateway carry) %s\n\n", strings.Repeat("═", 5))
	return writeMetrics(w, m)
}

// writeMetrics prints the registry in the Prometheus text format.
func writeMetrics(w io.Writer, m *metrics.Metrics) error {
	families, err := m.Registry.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

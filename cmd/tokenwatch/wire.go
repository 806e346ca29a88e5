package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/heartbeat"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// newLogger returns the command's logger, scrubbing every secret of cfg.
func newLogger(cfg *config.Config, common *commonFlags, stderr io.Writer) (*slog.Logger, *secret.Scrubber, error) {
	scrub := &secret.Scrubber{}
	if cfg != nil {
		scrub.Add(job.Secrets(cfg)...)
	}
	logger, err := common.logger(stderr, scrub)
	return logger, scrub, err
}

// buildJob wires a job: the checks, the configured store, the configured
// notifiers, and the outputs every pass reports to. oneShot adds the
// textfile and the Pushgateway, which only `run` writes (serve is scraped
// instead). The caller closes the job's Store.
func buildJob(cfg *config.Config, st store.Store, m *metrics.Metrics, logger *slog.Logger, oneShot bool) (*job.Job, error) {
	list, err := job.BuildChecks(cfg.Checks)
	if err != nil {
		return nil, err
	}
	j := &job.Job{Config: cfg, Checks: list, Store: st, Logger: logger, Outputs: []job.Output{m}, Notifiers: job.BuildNotifiers(cfg, logger, nil)}
	names := make([]string, len(j.Notifiers))
	for i, n := range j.Notifiers {
		names[i] = n.Name()
	}
	m.SetNotifiers(names)
	if oneShot && cfg.Metrics.Textfile != "" {
		j.Outputs = append(j.Outputs, &metrics.Textfile{Path: cfg.Metrics.Textfile, Gatherer: m.Registry})
	}
	if oneShot && cfg.Metrics.Pushgateway.URL != "" {
		j.Outputs = append(j.Outputs, &metrics.Pushgateway{URL: cfg.Metrics.Pushgateway.URL, Job: cfg.Metrics.Pushgateway.Job,
			Gatherer: m.Registry, Timeout: longestTimeout(cfg.Checks)})
	}
	// The heartbeat goes last: it says whether everything before it was delivered.
	if !cfg.Heartbeat.URL.Empty() {
		j.Outputs = append(j.Outputs, &heartbeat.Pinger{URL: cfg.Heartbeat.URL, Logger: logger})
	}
	return j, nil
}

// jobStore is the configured store for run and serve. One that cannot be
// opened (PostgreSQL down) does not stop the checks: every pass tries it
// again, and meanwhile decides in memory, alerts, and exits 3 saying the
// state was not recorded.
func jobStore(ctx context.Context, cfg *config.Config, wait time.Duration, logger *slog.Logger) store.Store {
	ctx, cancel := context.WithTimeout(ctx, storeOpenTimeout)
	defer cancel()
	st, err := openStore(ctx, cfg, wait, nil)
	if err == nil {
		return st
	}
	logger.Error("the state cannot be opened; checking and alerting anyway, without recording", "error", err.Error())
	return store.Lazy(func(ctx context.Context) (store.Store, error) { return openStore(ctx, cfg, wait, nil) })
}

// storeOpenTimeout bounds the first open of the store in run and serve:
// a PostgreSQL that does not answer must not keep the checks from
// running; the job's later calls have their own deadlines.
const storeOpenTimeout = 20 * time.Second

// longestTimeout bounds the push as the configuration bounds the requests
// of its checks (defaults.timeout, or the longest override): a run then
// ends within the bounds it was given, however the gateway behaves.
func longestTimeout(list []config.Check) time.Duration {
	var longest time.Duration
	for _, c := range list {
		longest = max(longest, c.Timeout)
	}
	return longest
}

func unknownChecks(list []config.Check, names []string) []string {
	var unknown []string
	for _, n := range names {
		if !slices.ContainsFunc(list, func(c config.Check) bool { return c.Name == n }) {
			unknown = append(unknown, n)
		}
	}
	return unknown
}

func fail(stderr io.Writer, scrub *secret.Scrubber, format string, args ...any) {
	fmt.Fprintf(stderr, "tokenwatch: %s\n", scrub.Scrub(fmt.Sprintf(format, args...)))
}

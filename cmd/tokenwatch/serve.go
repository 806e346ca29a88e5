package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
	"github.com/tokenwatch/tokenwatch/internal/serve"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// stateWaitServe is how long a scheduled pass waits for the state's lock
// (each read or write of the file; PostgreSQL's decisions): longer than
// run's, since passes of different checks, `tokenwatch silence` and other
// replicas take turns with it.
const stateWaitServe = 60 * time.Second

func cmdServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	listen := fs.String("listen", "", "address of /metrics, /healthz and /readyz (default: metrics.listen, else :9464)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, logger, scrub, ok := common.setup("serve", loadConfig, stderr)
	if !ok {
		return exitUsage
	}
	if *listen == "" {
		*listen = cfg.Metrics.Listen
	}
	// One store for every configuration serve runs: a reload keeps it.
	// The state file is locked only inside each read or write, so that
	// `tokenwatch silence` and `status` work while serve runs.
	st := jobStore(ctx, cfg, stateWaitServe, logger)
	defer st.Close()
	if f, ok := st.(*store.File); ok {
		f.LockPerCall = true
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	first := true
	s := &serve.Server{
		Listen:  *listen,
		Metrics: metrics.NewServe(nil),
		Logger:  logger,
		Reload:  hup,
		Shared:  cfg.State.Postgres != nil,
		Load: func() (*config.Config, error) {
			if first {
				first = false
				return cfg, nil
			}
			next, problems := config.Load(common.config, config.OSEnv)
			if err := problems.Err(); err != nil {
				return nil, err
			}
			scrub.Add(job.Secrets(next)...)
			logWarnings(logger, problems)
			if !sameState(cfg.State, next.State) {
				logger.Warn("state changed in the configuration: restart tokenwatch to move to it; the state opened at start is kept")
			}
			return next, nil
		},
		Build: func(cfg *config.Config, m *metrics.Metrics) (*job.Job, error) {
			j, err := buildJob(cfg, st, m, logger, false)
			if j != nil {
				j.StateWait = stateWaitServe
			}
			return j, err
		},
	}
	if err := s.Run(ctx); err != nil {
		logger.Error("serve failed", "error", err.Error())
		var cfgErr *config.Error
		if errors.As(err, &cfgErr) {
			return exitUsage
		}
		return exitServeFailed
	}
	return exitOK
}

// sameState reports whether two configurations name the same state: one
// serve keeps the store it opened at start across reloads.
func sameState(a, b config.State) bool {
	if (a.Postgres == nil) != (b.Postgres == nil) {
		return false
	}
	if a.Postgres != nil {
		return a.Postgres.DSN.Reveal() == b.Postgres.DSN.Reveal()
	}
	return a.Path == b.Path
}

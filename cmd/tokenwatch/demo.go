package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/tokenwatch/tokenwatch/internal/demo"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	common.logLevel = "warn"
	passes := fs.Int("passes", 3, "scheduled runs to simulate (an outage alerts on the third)")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	secrets, err := demo.Secrets()
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch demo: %v\n", err)
		return exitUndelivered
	}
	scrub := &secret.Scrubber{}
	scrub.Add(secrets...)
	logger, err := common.logger(stderr, scrub)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch demo: %v\n", err)
		return exitUsage
	}
	opts := demo.Options{Passes: *passes, Report: writeTable}
	if err := demo.Run(ctx, stdout, logger, opts); err != nil {
		fmt.Fprintf(stderr, "tokenwatch demo: %s\n", scrub.Scrub(err.Error()))
		return exitUndelivered
	}
	return exitOK
}

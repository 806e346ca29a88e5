package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/conformance"
	"github.com/tokenwatch/tokenwatch/internal/job"
)

// conformanceWriters are the report's formats, by --output value.
var conformanceWriters = map[string]func(io.Writer, conformance.Report) error{
	"text":  conformance.WriteText,
	"json":  conformance.WriteJSON,
	"junit": conformance.WriteJUnit,
}

// cmdConformance probes the named checks' endpoints against their
// documents and prints the onboarding report; exit 1 when an item fails.
func cmdConformance(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("conformance", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	output := fs.String("output", "text", "report format on stdout: text, json or junit (JUnit XML for a CI's test report)")
	positional, code, ok := parseArgs(fs, args, stderr)
	if !ok {
		return code
	}
	write, known := conformanceWriters[*output]
	if !known {
		fmt.Fprintf(stderr, "tokenwatch conformance: --output %q: want text, json or junit\n", *output)
		return exitUsage
	}
	names := distinct(positional)
	if len(names) == 0 {
		fmt.Fprintln(stderr, "tokenwatch conformance: name the checks to report on, like: tokenwatch conformance partner-acme")
		return exitUsage
	}
	cfg, _, scrub, ok := common.setup("conformance", loadConfig, stderr)
	if !ok {
		return exitUsage
	}
	if unknown := unknownChecks(cfg.Checks, names); len(unknown) > 0 {
		fmt.Fprintf(stderr, "tokenwatch conformance: unknown check %q: the configuration has no check of that name\n", unknown[0])
		return exitUsage
	}
	list, err := job.BuildChecks(selectChecks(cfg.Checks, names))
	if err != nil {
		fail(stderr, scrub, "conformance: %v", err)
		return exitUsage
	}
	warnBefore := map[string]time.Duration{}
	for _, c := range cfg.Checks {
		warnBefore[c.Name] = c.TLSWarnBefore
	}
	report, err := conformance.Run(ctx, list, conformance.Options{WarnBefore: warnBefore})
	if err != nil {
		fail(stderr, scrub, "conformance: %v", err)
		return exitUsage
	}
	// The report quotes no secret; scrubbing is the second line, against a
	// server that echoes one in a shape the first did not expect.
	for i := range report.Checks {
		for j := range report.Checks[i].Items {
			it := &report.Checks[i].Items[j]
			it.Detail = scrub.Scrub(it.Detail)
		}
	}
	if err := write(stdout, report); err != nil {
		fail(stderr, scrub, "conformance: write the report: %v", err)
		return exitUsage
	}
	if report.Failed() {
		return exitNotOK
	}
	return exitOK
}

// selectChecks is the configured checks of the given names, in the order
// of names.
func selectChecks(list []config.Check, names []string) []config.Check {
	out := make([]config.Check, 0, len(names))
	for _, n := range names {
		i := slices.IndexFunc(list, func(c config.Check) bool { return c.Name == n })
		out = append(out, list[i])
	}
	return out
}

// distinct is names without repeats, in order: a check named twice is
// still probed once.
func distinct(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

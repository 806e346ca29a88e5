package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/version"
)

func cmdValidate(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	cfg, problems := config.Load(common.config, config.OSEnv)
	for _, p := range problems {
		fmt.Fprintln(stderr, p.String())
	}
	if problems.HasErrors() {
		return exitUsage
	}
	fmt.Fprintf(stderr, "%s: valid, %d checks (%d warnings)\n", cfg.File, len(cfg.Checks), len(problems))
	return exitOK
}

func cmdVersion(stdout io.Writer) int {
	fmt.Fprintf(stdout, "tokenwatch %s (commit %s, %s)\n", version.Version, version.Commit(), version.GoVersion())
	return exitOK
}

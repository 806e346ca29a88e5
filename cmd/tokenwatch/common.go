package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// commonFlags are the flags every command that reads a configuration takes.
type commonFlags struct {
	config    string
	logFormat string
	logLevel  string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", config.DefaultPath(os.Getenv), "configuration file ($TOKENWATCH_CONFIG, else config.yaml)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
}

// logger writes to stderr, scrubbing every known secret.
func (c *commonFlags) logger(stderr io.Writer, scrub *secret.Scrubber) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch c.logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, opts)
	case "json":
		h = slog.NewJSONHandler(stderr, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", c.logFormat)
	}
	return slog.New(secret.NewLogHandler(h, scrub)), nil
}

// parseFlags parses args, reporting usage errors on stderr. ok is false
// when the command should exit (with code).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "tokenwatch %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}

// loadConfig loads and validates the configuration. When it has errors it
// prints every problem to stderr, as validate does, and returns nil; its
// warnings are returned for the command's logger.
func loadConfig(path string, stderr io.Writer) (*config.Config, config.Problems) {
	cfg, problems := config.Load(path, config.OSEnv)
	if problems.HasErrors() {
		for _, p := range problems {
			fmt.Fprintln(stderr, p.String())
		}
		return nil, problems
	}
	return cfg, problems
}

// logWarnings logs a configuration's warnings, every run: they are risks
// someone chose (an http:// endpoint, TLS verification off) and should keep
// seeing.
func logWarnings(logger *slog.Logger, problems config.Problems) {
	for _, p := range problems {
		if p.Warning {
			logger.Warn("configuration warning", "file", p.File, "line", p.Line, "column", p.Col, "warning", p.Message)
		}
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

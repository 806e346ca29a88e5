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

// parseFlags parses args of a command that takes no positional argument,
// reporting usage errors on stderr. ok is false when the command should
// exit (with code).
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	positional, code, ok := parseArgs(fs, args, stderr)
	if ok && len(positional) > 0 {
		fmt.Fprintf(stderr, "tokenwatch %s: unexpected argument %q\n", fs.Name(), positional[0])
		return exitUsage, false
	}
	return code, ok
}

// parseArgs parses args with flags before, between and after the positional
// arguments, which it returns in order. Go's flag package stops at the first
// positional argument, so `silence add partner-acme --for 2h` would leave
// --for unparsed: the flags are moved in front first. "--" ends the flags.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer) (positional []string, code int, ok bool) {
	fs.SetOutput(stderr)
	flags, positional := splitArgs(fs, args)
	if err := fs.Parse(flags); err != nil {
		if err == flag.ErrHelp {
			return nil, exitOK, false
		}
		return nil, exitUsage, false
	}
	return positional, 0, true
}

// splitArgs separates flags (each with its value, when the value is the
// next argument) from positional arguments, keeping the order of each. An
// argument that looks like a flag but that fs does not define stays with
// the flags, for fs.Parse to report.
func splitArgs(fs *flag.FlagSet, args []string) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return flags, append(positional, args[i+1:]...)
		case len(arg) < 2 || arg[0] != '-':
			positional = append(positional, arg)
			continue
		}
		flags = append(flags, arg)
		name := strings.TrimLeft(arg, "-")
		if strings.Contains(name, "=") || !takesValue(fs, name) || i+1 == len(args) {
			continue
		}
		i++
		flags = append(flags, args[i])
	}
	return flags, positional
}

// takesValue reports whether the flag is defined and needs a value: every
// flag but a boolean one (which takes --flag=false, never a separate value).
func takesValue(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, isBool := f.Value.(interface{ IsBoolFlag() bool })
	return !isBool || !b.IsBoolFlag()
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

// loadStateConfig loads the configuration for the commands that need only
// the checks and the state (status, silence). A secret that cannot be read
// (a missing file, an unset variable: often the incident itself) must not
// keep on-call from seeing the picture or silencing a check: the
// configuration is then read without its secrets, and a warning says so.
// Secrets that can be read are read, so that a secret pasted into a
// silence's reason is still scrubbed.
func loadStateConfig(path string, stderr io.Writer) (*config.Config, config.Problems) {
	cfg, problems := config.Load(path, config.OSEnv)
	if !problems.HasErrors() {
		return cfg, problems
	}
	bare, bareProblems := config.Load(path, config.OSEnv, config.WithoutSecrets())
	if bareProblems.HasErrors() || bare.State.Postgres != nil {
		// A mistake beyond the secrets, or a state whose address is itself
		// a secret (the DSN): say all of it.
		return loadConfig(path, stderr)
	}
	for _, p := range problems {
		if !p.Warning {
			fmt.Fprintf(stderr, "warning: %s (secrets are not needed here: going on without them)\n", p.String())
		}
	}
	return bare, bareProblems
}

// configLoader loads a command's configuration: loadConfig, or
// loadStateConfig for the commands that go on without secrets.
type configLoader func(path string, stderr io.Writer) (*config.Config, config.Problems)

// setup is the start of every command that reads a configuration: it loads
// the configuration with load, builds the logger that scrubs its secrets,
// and logs its warnings. ok is false when the command should exit with
// exitUsage, the problem already said on stderr ("tokenwatch <name>: ...").
func (c *commonFlags) setup(name string, load configLoader, stderr io.Writer) (cfg *config.Config, logger *slog.Logger, scrub *secret.Scrubber, ok bool) {
	cfg, problems := load(c.config, stderr)
	if cfg == nil {
		return nil, nil, nil, false
	}
	logger, scrub, err := newLogger(cfg, c, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch %s: %v\n", name, err)
		return nil, nil, nil, false
	}
	logWarnings(logger, problems)
	return cfg, logger, scrub, true
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

// Command tokenwatch checks the credentials a delivery business lives on
// (Yandex Courier OAuth tokens, partner OAuth token endpoints), tells a
// revoked credential from an outage and from a broken contract, alerts
// on-call in Slack and exports Prometheus metrics.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit statuses of ../shared/CONTRACT.md.
const (
	exitOK          = 0 // finished, everything delivered
	exitNotOK       = 1 // --strict: some check is not ok; conformance: an item failed
	exitUsage       = 2 // configuration or usage error: nothing was checked
	exitUndelivered = 3 // something could not be delivered or saved

	// exitServeFailed: serve could not start (the listen address is taken).
	exitServeFailed = 1
)

const usage = `tokenwatch: health checks and alerts for courier API tokens and partner OAuth endpoints.

Usage:
  tokenwatch run      [--config F] [--only a,b] [--dry-run] [--output text|json] [--strict]
  tokenwatch serve    [--config F] [--listen ADDR]
  tokenwatch validate [--config F]
  tokenwatch doctor   [--config F] [--output text|json]
  tokenwatch status   [--config F] [--output text|json] [--strict]
  tokenwatch silence add CHECK[,CHECK...] --for DURATION --reason TEXT [--by NAME] [--wait 30s] [--config F]
  tokenwatch silence list [--config F] [--output text|json]
  tokenwatch silence remove ID [--wait 30s] [--config F]
  tokenwatch state import --from FILE [--config F]
  tokenwatch conformance [--config F] [--output text|json|junit] CHECK...
  tokenwatch demo
  tokenwatch version

Common flags: --log-format text|json, --log-level debug|info|warn|error.
--config defaults to $TOKENWATCH_CONFIG, else config.yaml.
Flags may stand before or after the other arguments; "--" ends them.
Run "tokenwatch COMMAND --help" for a command's flags.
`

func main() {
	ctx := context.Background()
	if len(os.Args) > 1 && catchesSignals[os.Args[1]] {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		// The first signal starts a graceful stop; a second one kills, as
		// the default handling does.
		context.AfterFunc(ctx, stop)
	}
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// catchesSignals are the commands that stop gracefully on SIGTERM/SIGINT
// (deliver or keep what was decided, save, report). Every other command
// has nothing to keep, and dies at once as a signal's default says.
var catchesSignals = map[string]bool{"run": true, "serve": true, "demo": true}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "serve":
		return cmdServe(ctx, rest, stderr)
	case "validate":
		return cmdValidate(rest, stderr)
	case "demo":
		return cmdDemo(ctx, rest, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "silence":
		return cmdSilence(ctx, rest, stdout, stderr)
	case "state":
		return cmdState(ctx, rest, stdout, stderr)
	case "conformance":
		return cmdConformance(ctx, rest, stdout, stderr)
	case "version", "--version":
		return cmdVersion(stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "tokenwatch: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

const stateUsage = `Usage:
  tokenwatch state import --from FILE [--config F]

Copies the state file FILE (any format tokenwatch reads) into the
PostgreSQL database of the configuration's state.postgres: records, active
alerts and their threads, silences, undelivered messages and totals, so
that no incident is announced again. FILE is only read.

Exit status: 0 imported; 2 no --from, the configuration's state is not
PostgreSQL, or the database already holds state for a configured check;
3 FILE is corrupt, newer or unreadable, or the database cannot be used.
Nothing is imported unless the exit status is 0.
`

// importWait is how long an import waits for a run that is deciding: it
// copies everything in one transaction, under the decisions' lock.
const importWait = 30 * time.Second

// cmdState runs the state subcommands; import is the only one.
func cmdState(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("state", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	from := fs.String("from", "", "import: the state file to copy in (required)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), stateUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	positional, code, ok := parseArgs(fs, args, stderr)
	if !ok {
		return code
	}
	switch {
	case len(positional) == 0 || positional[0] != "import":
		fmt.Fprint(stderr, "tokenwatch state: say import\n\n"+stateUsage)
		return exitUsage
	case len(positional) > 1:
		fmt.Fprintf(stderr, "tokenwatch state import: unexpected argument %q\n", positional[1])
		return exitUsage
	case *from == "":
		fmt.Fprint(stderr, "tokenwatch state import: --from is required: the state file to copy into PostgreSQL\n")
		return exitUsage
	}
	cfg, _, scrub, ok := common.setup("state", loadConfig, stderr)
	if !ok {
		return exitUsage
	}
	if cfg.State.Postgres == nil {
		fmt.Fprintf(stderr, "tokenwatch state import: %s keeps the state in the file %s: import copies a file into PostgreSQL, so set state.postgres there first\n", cfg.File, cfg.State.Path)
		return exitUsage
	}
	f, err := readImport(*from)
	if err != nil {
		fail(stderr, scrub, "state import: %v; nothing was imported", err)
		return exitUndelivered
	}
	s, err := openStore(ctx, cfg, importWait, nil)
	if err != nil {
		fail(stderr, scrub, "state import: %v; nothing was imported", err)
		return exitUndelivered
	}
	defer s.Close()
	err = s.Import(ctx, f, configuredNames(cfg))
	switch {
	case errors.Is(err, store.ErrNotEmpty):
		fail(stderr, scrub, "state import: %v: the database is in use already; nothing was imported", err)
		return exitUsage
	case err != nil:
		fail(stderr, scrub, "state import: %v; nothing was imported", err)
		return exitUndelivered
	}
	fmt.Fprintf(stdout, "imported %s into PostgreSQL: %s\n", *from, importCounts(f))
	return exitOK
}

// readImport reads the file to import as the file store would (a format-1
// file migrated in memory: the file itself is left as it is). A missing
// or corrupt file is an error: importing it as an empty state would
// announce every running incident again.
func readImport(path string) (*state.File, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read state file: %w", err)
	}
	f, corrupt, err := state.Peek(path)
	switch {
	case err != nil:
		return nil, err
	case corrupt != nil:
		return nil, fmt.Errorf("state file %s is corrupt (%s)", path, corrupt.Reason)
	}
	return f, nil
}

// configuredNames are the configuration's check names.
func configuredNames(cfg *config.Config) []string {
	names := make([]string, len(cfg.Checks))
	for i, c := range cfg.Checks {
		names[i] = c.Name
	}
	return names
}

// importCounts says what an import copied, for the person who ran it.
func importCounts(f *state.File) string {
	alerts, threads := 0, 0
	for _, rec := range f.Checks {
		if rec.Active != nil {
			alerts++
		}
		threads += len(rec.Threads)
	}
	return fmt.Sprintf("%d checks, %d active alerts, %d threads, %d silences, %d undelivered messages",
		len(f.Checks), alerts, threads, len(f.Silences), f.Waiting())
}

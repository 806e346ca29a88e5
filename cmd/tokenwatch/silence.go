package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

const silenceUsage = `Usage:
  tokenwatch silence add CHECK[,CHECK...] --for DURATION --reason TEXT [--by NAME] [--wait 30s] [--config F]
  tokenwatch silence list [--output text|json] [--config F]
  tokenwatch silence remove ID [--wait 30s] [--config F]

DURATION is a Go duration (90m, 2h) or whole days (3d), at most 30 days.
Flags may stand before or after the other arguments.
`

// silenceFlags are every flag of the silence subcommands: one flag set for
// all of them, so that flags may come before the subcommand's name too; a
// flag that does not apply to the subcommand is refused after parsing.
type silenceFlags struct {
	common                    commonFlags
	duration, reason, by, out string
	wait                      time.Duration
}

// silenceOnly lists the flags that belong to one subcommand; the common
// flags belong to each.
var silenceOnly = map[string][]string{
	"add":    {"for", "reason", "by", "wait"},
	"list":   {"output"},
	"remove": {"wait"},
}

// cmdSilence adds, lists and removes silences: kept in the state (the file
// or PostgreSQL), so that a CronJob's next run and every serve replica
// find them, and the checks they name are still checked but send no alert
// or reminder until they end.
func cmdSilence(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("silence", flag.ContinueOnError)
	var f silenceFlags
	f.common.register(fs)
	fs.StringVar(&f.duration, "for", "", "add: how long the silence lasts: 90m, 2h, 3d (at most 30 days)")
	fs.StringVar(&f.reason, "reason", "", "add: why, shown in status and in the alert when it ends (required)")
	fs.StringVar(&f.by, "by", "", "add: who set it (default: the user running tokenwatch)")
	fs.StringVar(&f.out, "output", "text", "list: format on stdout: text or json")
	// A run's pass takes seconds, and on-call would rather wait than retry by hand.
	fs.DurationVar(&f.wait, "wait", 30*time.Second, "add, remove: how long to wait for a run that holds the state")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), silenceUsage+"\nFlags:\n")
		fs.PrintDefaults()
	}
	positional, code, ok := parseArgs(fs, args, stderr)
	if !ok {
		return code
	}
	if len(positional) == 0 || silenceOnly[positional[0]] == nil {
		fmt.Fprint(stderr, "tokenwatch silence: say add, list or remove\n\n"+silenceUsage)
		return exitUsage
	}
	sub, rest := positional[0], positional[1:]
	if err := flagsApply(fs, sub); err != nil {
		fmt.Fprintf(stderr, "tokenwatch silence %s: %v\n", sub, err)
		return exitUsage
	}
	cfg, _, scrub, ok := f.common.setup("silence", loadStateConfig, stderr)
	if !ok {
		return exitUsage
	}
	switch sub {
	case "add":
		return silenceAdd(ctx, cfg, f, rest, stdout, stderr, scrub)
	case "list":
		return silenceList(ctx, cfg, f.out, rest, stdout, stderr, scrub)
	}
	return silenceRemove(ctx, cfg, f.wait, rest, stdout, stderr, scrub)
}

// flagsApply refuses a flag set on the command line that sub does not take:
// --output on add would otherwise be ignored without a word.
func flagsApply(fs *flag.FlagSet, sub string) error {
	var err error
	fs.Visit(func(fl *flag.Flag) {
		ownFlag := false
		for _, own := range silenceOnly {
			ownFlag = ownFlag || slices.Contains(own, fl.Name)
		}
		if ownFlag && !slices.Contains(silenceOnly[sub], fl.Name) && err == nil {
			err = fmt.Errorf("--%s does not apply to silence %s", fl.Name, sub)
		}
	})
	return err
}

// silenceAdd checks what it is asked before it takes the lock, so a typo
// costs no wait: every check configured, a duration from a minute's
// fraction to 30 days, a reason.
func silenceAdd(ctx context.Context, cfg *config.Config, f silenceFlags, args []string, stdout, stderr io.Writer, scrub *secret.Scrubber) int {
	names := splitList(strings.Join(args, ","))
	if len(names) == 0 {
		fmt.Fprint(stderr, "tokenwatch silence add: name the checks to silence: tokenwatch silence add CHECK[,CHECK...] --for 2h --reason TEXT\n")
		return exitUsage
	}
	if unknown := unknownChecks(cfg.Checks, names); len(unknown) > 0 {
		fmt.Fprintf(stderr, "tokenwatch silence add: %s has no check named %s\n", cfg.File, strings.Join(quoteAll(unknown), ", "))
		return exitUsage
	}
	d, err := silenceDuration(f.duration)
	if err != nil {
		fmt.Fprintf(stderr, "tokenwatch silence add: %v\n", err)
		return exitUsage
	}
	if strings.TrimSpace(f.reason) == "" {
		fmt.Fprint(stderr, "tokenwatch silence add: --reason is required: say why (it is shown in status, and in the alert when the silence ends)\n")
		return exitUsage
	}
	by := f.by
	if by == "" {
		by = currentUser()
	}
	var added state.Silence
	code := changeState(ctx, cfg, f.wait, "silence add", stderr, scrub, func(st *state.File, now time.Time) (int, error) {
		st.PruneSilences(now)
		// A secret pasted into the reason is not kept: the state holds none.
		s, err := st.AddSilence(names, silenceEnd(now, d), scrub.Scrub(f.reason), scrub.Scrub(by), now)
		if err != nil {
			return exitUsage, err
		}
		added = s
		return exitOK, nil
	})
	if code != exitOK {
		return code
	}
	// The id alone on the first line, for scripts: id=$(tokenwatch silence add ... | head -1).
	fmt.Fprintln(stdout, added.ID)
	until := added.Until
	fmt.Fprintf(stdout, "silenced %s for %s, until %s (%s local): %s\n", strings.Join(added.Checks, ", "),
		notify.Printable(f.duration), until.Format("2006-01-02 15:04 UTC"),
		until.Local().Format("2006-01-02 15:04 MST"), notify.Printable(added.Reason))
	return exitOK
}

// silenceRemove ends one silence early.
func silenceRemove(ctx context.Context, cfg *config.Config, wait time.Duration, args []string, stdout, stderr io.Writer, scrub *secret.Scrubber) int {
	if len(args) != 1 {
		fmt.Fprint(stderr, "tokenwatch silence remove: name one silence by its id (tokenwatch silence list shows them)\n")
		return exitUsage
	}
	id := args[0]
	code := changeState(ctx, cfg, wait, "silence remove", stderr, scrub, func(st *state.File, now time.Time) (int, error) {
		st.PruneSilences(now) // one that has ended is no longer there to remove
		if !st.RemoveSilence(id) {
			return exitUsage, fmt.Errorf("no active silence has id %q (tokenwatch silence list shows them)", notify.Printable(id))
		}
		return exitOK, nil
	})
	if code == exitOK {
		fmt.Fprintf(stdout, "removed silence %s\n", id)
	}
	return code
}

// changeState changes the file-level fields of the state (its silences)
// in one session's Update: under the file's lock, waiting up to wait for
// a run that holds it, or in one short PostgreSQL transaction. A state it
// cannot read (corrupt, newer, not a file, a database it cannot reach) is
// left exactly as it is, with exit 3: adding a silence must never reset
// the state and with it every alert on-call was told about. change
// returns the exit code for its own refusal, with the error to print.
func changeState(ctx context.Context, cfg *config.Config, wait time.Duration, what string, stderr io.Writer, scrub *secret.Scrubber, change func(*state.File, time.Time) (int, error)) int {
	// Peeked first: opening the file store would move a corrupt file aside.
	if cfg.State.Postgres == nil {
		if _, err := os.Stat(cfg.State.Path); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "warning: the state file %s does not exist yet: no run has used this path; check that the runs' state.path is the same (under systemd: $STATE_DIRECTORY), or they will never see this\n", notify.Printable(cfg.State.Path))
		}
		if _, err := peekState(cfg.State.Path); err != nil {
			fail(stderr, scrub, "%s: %v; nothing was changed", what, err)
			return exitUndelivered
		}
	}
	sess, closeAll, err := openSession(ctx, cfg, wait)
	if err != nil {
		fail(stderr, scrub, "%s: %v; nothing was changed", what, err)
		return exitUndelivered
	}
	defer closeAll()
	if c := sess.Info().Corruption; c != nil { // changed by something that is not tokenwatch since the peek
		fail(stderr, scrub, "%s: state file %s became corrupt (%s): it was moved aside; nothing was changed", what, cfg.State.Path, c.Reason)
		return exitUndelivered
	}
	var refused error
	code := exitOK
	err = sess.Update(ctx, func(st *state.File) error {
		code, refused = change(st, time.Now())
		return refused
	})
	switch {
	case refused != nil:
		fmt.Fprintf(stderr, "tokenwatch %s: %s\n", what, notify.Printable(scrub.Scrub(refused.Error())))
		return code
	case err != nil:
		fail(stderr, scrub, "%s: %v; nothing was changed", what, lockHint(err))
		return exitUndelivered
	}
	return exitOK
}

// openSession opens the configured store and a session on it; closeAll
// ends both.
func openSession(ctx context.Context, cfg *config.Config, wait time.Duration) (store.Session, func(), error) {
	s, err := openStore(ctx, cfg, wait, time.Now)
	if err != nil {
		return nil, nil, err
	}
	sess, err := s.Open(ctx)
	if err != nil {
		if sess != nil { // the file can be read but not saved
			sess.Close()
		}
		s.Close()
		return nil, nil, lockHint(err)
	}
	return sess, func() { sess.Close(); s.Close() }, nil
}

// lockHint adds to a lock held longer than --wait (the file's, when the
// session opens; PostgreSQL's, when it writes) what on-call should look for.
func lockHint(err error) error {
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w; a run or a serve pass may be stuck", err)
	}
	return err
}

// silenceList prints the active silences.
func silenceList(ctx context.Context, cfg *config.Config, output string, args []string, stdout, stderr io.Writer, scrub *secret.Scrubber) int {
	if len(args) > 0 {
		fmt.Fprintf(stderr, "tokenwatch silence list: unexpected argument %q\n", args[0])
		return exitUsage
	}
	if output != "text" && output != "json" {
		fmt.Fprintf(stderr, "tokenwatch silence list: --output %q: want text or json\n", output)
		return exitUsage
	}
	st, err := readState(ctx, cfg)
	if err != nil {
		fail(stderr, scrub, "silence list: %v", err)
		return exitUndelivered
	}
	now := time.Now()
	list := []silenceStatus{}
	for _, s := range st.ActiveSilences(now) {
		list = append(list, silenceOf(s, scrub))
	}
	if output == "json" {
		data, _ := json.MarshalIndent(struct {
			Silences []silenceStatus `json:"silences"`
		}{list}, "", "  ")
		_, _ = stdout.Write(append(terminalSafeJSON(data), '\n'))
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "no active silence")
		return exitOK
	}
	writeSilenceRows(stdout, list, now)
	return exitOK
}

// silenceDuration reads --for: a Go duration, or whole days ("3d"), which
// Go's durations lack and maintenance is announced in.
func silenceDuration(s string) (time.Duration, error) {
	const day = 24 * time.Hour
	tooLong := func(what string) error {
		return fmt.Errorf("--for %s: %s is more than the %s a silence may last", s, what, state.Days(state.MaxSilence))
	}
	if s == "" {
		return 0, errors.New("--for is required: how long, such as 2h or 3d (at most 30 days)")
	}
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		n, convErr := strconv.Atoi(days)
		switch {
		case convErr != nil:
		case n > int(state.MaxSilence/day): // before the multiplication, which could overflow
			return 0, tooLong(fmt.Sprintf("%d days", n))
		default:
			d, err = time.Duration(n)*day, nil
		}
	}
	switch {
	case err != nil:
		return 0, fmt.Errorf("--for %q: not a duration such as 90m, 2h or 3d", s)
	case d <= 0:
		return 0, fmt.Errorf("--for %s: a silence must last some time", s)
	case d > state.MaxSilence:
		return 0, tooLong(state.Days(d))
	}
	return d, nil
}

// currentUser is who runs the command, for a silence's "by".
func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return name
	}
	return "unknown"
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// silenceEnd is when a silence for d from now ends: on a whole minute (a
// few seconds early), so that every place that shows it to the minute,
// status and the messages alike, shows the same time.
func silenceEnd(now time.Time, d time.Duration) time.Time {
	until := now.Add(d)
	if whole := until.Truncate(time.Minute); whole.After(now) {
		return whole
	}
	return until
}

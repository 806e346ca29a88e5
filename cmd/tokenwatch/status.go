package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// cmdStatus shows what the state says of every configured check, without
// checking anything: it reads a snapshot (the file with state.Peek, or
// one read-only transaction in PostgreSQL), so it never waits for a run's
// lock, never writes and never moves a corrupt file aside.
func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	output := fs.String("output", "text", "result format on stdout: text or json")
	strict := fs.Bool("strict", false, "exit 1 when a check is not ok (never run included) or is silenced")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "tokenwatch status: --output %q: want text or json\n", *output)
		return exitUsage
	}
	cfg, _, scrub, ok := common.setup("status", loadStateConfig, stderr)
	if !ok {
		return exitUsage
	}
	st, err := readState(ctx, cfg)
	if err != nil {
		fail(stderr, scrub, "status: %v", err)
		return exitUndelivered
	}
	now := time.Now()
	view := buildStatus(cfg, st, now, scrub)
	if cfg.State.Postgres == nil {
		_, err := os.Stat(cfg.State.Path)
		view.noFile = errors.Is(err, os.ErrNotExist)
	}
	if *output == "json" {
		writeStatusJSON(stdout, view)
	} else {
		writeStatusText(stdout, view, stateName(cfg), now)
	}
	if *strict && !view.allOK() {
		return exitNotOK
	}
	return exitOK
}

// readState reads the whole state for a command that only looks (status,
// silence list): a snapshot of the configured store.
func readState(ctx context.Context, cfg *config.Config) (*state.File, error) {
	if cfg.State.Postgres == nil {
		// The file store's snapshot, with a message for a corrupt file
		// that says what the next run will do about it.
		return peekState(cfg.State.Path)
	}
	s, err := openReader(ctx, cfg.State.Postgres)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Snapshot(ctx)
}

// stateName is where the state is, for a person: the file's path, or
// PostgreSQL (the DSN is a secret: it is never shown).
func stateName(cfg *config.Config) string {
	if cfg.State.Postgres != nil {
		return "in PostgreSQL"
	}
	return cfg.State.Path
}

// peekState reads the state file for a command that only looks. A corrupt
// file is an error here, not an empty state: showing "never run" for
// every check would hide that the next run alerts afresh.
func peekState(path string) (*state.File, error) {
	st, corrupt, err := state.Peek(path)
	switch {
	case err != nil:
		return nil, err
	case corrupt != nil:
		return nil, fmt.Errorf("state file %s is corrupt (%s): the next run moves it aside and starts afresh, alerting on whatever fails then", path, corrupt.Reason)
	}
	return st, nil
}

// statusView is what status shows; its JSON is the contract's shape.
type statusView struct {
	Checks   []checkStatus   `json:"checks"`
	Pending  []pendingStatus `json:"pending"`
	Silences []silenceStatus `json:"silences"`

	// For the text only.
	lastSuccess time.Time
	noFile      bool // the state file does not exist (no run has used its path)
	egress      *state.Egress
}

// checkStatus is one configured check. A nil pointer is JSON null: the
// check never ran, has no alert, or is not silenced.
type checkStatus struct {
	Name          string       `json:"name"`
	Type          string       `json:"type"`
	Outcome       *string      `json:"outcome"`
	Since         *string      `json:"since"`
	FailuresInRow int          `json:"failures_in_row"`
	Fingerprint   *string      `json:"fingerprint"`
	FirstSeen     *string      `json:"first_seen"`
	Alert         *alertStatus `json:"alert"`
	SilencedUntil *string      `json:"silenced_until"`
	SilenceReason *string      `json:"silence_reason"`
	Flapping      bool         `json:"flapping"`

	// For the text only.
	since, lastRun, silencedUntil time.Time
	issued                        time.Time // issued_at, or the secret's first sighting
	issuedConfigured              bool      // issued is the configured issued_at
	alertSince, alertNotified     time.Time
	httpStatus                    int
	detail                        string
}

type alertStatus struct {
	Outcome      string `json:"outcome"`
	Since        string `json:"since"`
	LastNotified string `json:"last_notified"`
}

type pendingStatus struct {
	Notifier string `json:"notifier"`
	Check    string `json:"check"`
	Kind     string `json:"kind"`

	attempts  int
	lastError string
}

type silenceStatus struct {
	ID     string   `json:"id"`
	Checks []string `json:"checks"`
	Until  string   `json:"until"`
	Reason string   `json:"reason"`
	By     string   `json:"by"`

	until time.Time
}

// buildStatus reads the state as the next run would: records that belong to
// another credential (a changed type or endpoint) are history the run will
// drop, so such a check shows as never run.
func buildStatus(cfg *config.Config, st *state.File, now time.Time, scrub *secret.Scrubber) statusView {
	ids := make([]state.Identity, len(cfg.Checks))
	for i, c := range cfg.Checks {
		ids[i] = state.Identity{Name: c.Name, Type: c.Type, Endpoint: c.Endpoint(), V1Key: state.V1Key(c.Name, c.Type, c.Endpoint(), c.Alert)}
	}
	st.Prune(ids) // in memory only: nothing is saved
	view := statusView{Checks: []checkStatus{}, Pending: []pendingStatus{}, Silences: []silenceStatus{},
		lastSuccess: st.LastSuccess, egress: st.Egress}
	mutes := job.Mutes(cfg, st, now)
	for _, c := range cfg.Checks {
		view.Checks = append(view.Checks, checkOf(st, mutes, c, scrub))
	}
	for _, notifier := range slices.Sorted(maps.Keys(st.Outboxes)) {
		for _, p := range st.Outbox(notifier) {
			view.Pending = append(view.Pending, pendingStatus{Notifier: notifier, Check: p.Check, Kind: string(p.Kind),
				attempts: p.Attempts, lastError: scrub.Scrub(p.LastError)})
		}
	}
	for _, s := range st.ActiveSilences(now) {
		view.Silences = append(view.Silences, silenceOf(s, scrub))
	}
	return view
}

// silenceOf is a silence as status and silence list show it. Its words were
// typed by a person; one who pasted a secret into --reason does not see it
// shown back.
func silenceOf(s state.Silence, scrub *secret.Scrubber) silenceStatus {
	return silenceStatus{ID: s.ID, Checks: s.Checks, Until: stamp(s.Until), Reason: scrub.Scrub(s.Reason), By: scrub.Scrub(s.By), until: s.Until}
}

// checkOf is one check's line of the picture.
func checkOf(st *state.File, mutes map[string]alert.Mute, c config.Check, scrub *secret.Scrubber) checkStatus {
	cs := checkStatus{Name: c.Name, Type: c.Type}
	if rec, ok := st.Checks[c.Name]; ok && rec.Outcome != "" {
		cs.Outcome = ptr(string(rec.Outcome))
		cs.since = rec.OutcomeSince
		cs.Since = optStamp(rec.OutcomeSince)
		cs.FailuresInRow = rec.FailuresInRow
		if rec.Fingerprint != "" {
			cs.Fingerprint = ptr(rec.Fingerprint)
		}
		if l := rec.Lifecycle; l != nil && rec.Fingerprint != "" {
			cs.FirstSeen = optStamp(l.FirstSeen(rec.Fingerprint))
			cs.issued, cs.issuedConfigured = l.Issued(rec.Fingerprint)
		}
		cs.Flapping = rec.Flapping()
		cs.lastRun, cs.httpStatus, cs.detail = rec.LastRun, rec.HTTPStatus, scrub.Scrub(rec.Detail)
		if a := rec.Active; a != nil {
			cs.Alert = &alertStatus{Outcome: string(a.Outcome), Since: stamp(a.Since), LastNotified: stamp(a.LastNotified)}
			cs.alertSince, cs.alertNotified = a.Since, a.LastNotified
		}
	}
	if m, ok := mutes[c.Name]; ok {
		// Words a person typed: one who pasted a secret into --reason
		// does not see it shown back.
		cs.silencedUntil = m.Until
		cs.SilencedUntil, cs.SilenceReason = ptr(stamp(m.Until)), ptr(scrub.Scrub(m.Why()))
	}
	return cs
}

// allOK is what --strict asks: every check ran, is ok and is not silenced.
// A check that never ran counts as not ok: nothing says its credential
// works, and a script gating on --strict wants that said.
func (v statusView) allOK() bool {
	return !slices.ContainsFunc(v.Checks, func(c checkStatus) bool {
		return c.Outcome == nil || *c.Outcome != string(checks.OK) || c.SilencedUntil != nil
	})
}

func writeStatusJSON(w io.Writer, v statusView) {
	// Every field is a string, a number or a bool: encoding cannot fail.
	data, _ := json.MarshalIndent(v, "", "  ")
	_, _ = w.Write(append(terminalSafeJSON(data), '\n'))
}

// maxCell bounds a free-text cell of the table (a detail, a reason), so a
// long one does not push every other row off the screen; the silence list
// below the table gives reasons whole.
const maxCell = 60

// writeStatusText prints the picture for a tired engineer at a terminal:
// one row per check in the configuration's order, then what waits for the
// next run, then the active silences. Every string from the state or a
// server goes through notify.Printable.
func writeStatusText(w io.Writer, v statusView, where string, now time.Time) {
	p := notify.Printable
	switch {
	case v.noFile:
		fmt.Fprintf(w, "State %s: the file does not exist: no run has used this path yet. If runs do, check that this is their state.path (under systemd: $STATE_DIRECTORY).\n", p(where))
	case v.lastSuccess.IsZero():
		fmt.Fprintf(w, "State %s: no run has completed yet.\n", p(where))
	default:
		fmt.Fprintf(w, "State %s: last complete run %s.\n", p(where), when(v.lastSuccess, now))
	}
	if v.egress != nil {
		fmt.Fprintf(w, "OUR OWN NETWORK: all %d checks unreachable since %s: suspect our egress, DNS or proxy.\n", v.egress.Checks, when(v.egress.Since, now))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tTYPE\tOUTCOME\tSINCE\tIN ROW\tALERT\tSILENCED\tFLAPPING\tFINGERPRINT\tSECRET AGE\tLAST RUN\tDETAIL")
	for _, c := range v.Checks {
		fmt.Fprintln(tw, strings.Join(statusRow(c, now), "\t"))
	}
	_ = tw.Flush()
	if len(v.Pending) > 0 {
		fmt.Fprintf(w, "\nWaiting for the next run (%d):\n", len(v.Pending))
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, m := range v.Pending {
			late := "not tried yet"
			if m.attempts > 0 {
				late = fmt.Sprintf("%d failed attempts; last: %s", m.attempts, shorten(m.lastError, 2*maxCell))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", p(m.Notifier), p(m.Check), p(m.Kind), p(late))
		}
		_ = tw.Flush()
	}
	if len(v.Silences) > 0 {
		fmt.Fprintf(w, "\nActive silences (%d; end one early with: tokenwatch silence remove ID):\n", len(v.Silences))
		writeSilenceRows(w, v.Silences, now)
	}
}

// statusRow is one check's cells; "-" stands for nothing to say.
func statusRow(c checkStatus, now time.Time) []string {
	p := notify.Printable
	if c.Outcome == nil {
		row := []string{p(c.Name), p(c.Type), "never run", "-", "-", "-", "-", "-", "-", "-", "-", "-"}
		if c.SilencedUntil != nil {
			row[6] = silenceCell(c, now)
		}
		return row
	}
	row := []string{p(c.Name), p(c.Type), p(*c.Outcome), agoOrDash(c.since, now), fmt.Sprint(c.FailuresInRow), "-", "-", "-", "-", secretAge(c, now), agoOrDash(c.lastRun, now), "-"}
	if c.Alert != nil {
		row[5] = fmt.Sprintf("%s since %s, notified %s", p(c.Alert.Outcome), ago(c.alertSince, now), ago(c.alertNotified, now))
	}
	if c.SilencedUntil != nil {
		row[6] = silenceCell(c, now)
	}
	if c.Flapping {
		row[7] = "yes"
	}
	if c.Fingerprint != nil {
		row[8] = p(*c.Fingerprint)
	}
	if c.detail != "" {
		row[11] = p(shorten(c.detail, maxCell))
	}
	if c.httpStatus != 0 && !strings.Contains(c.detail, fmt.Sprint(c.httpStatus)) {
		row[11] = fmt.Sprintf("HTTP %d: %s", c.httpStatus, row[11])
	}
	return row
}

// secretAge is how old the check's current secret is: from its issued_at
// when that belongs to it, else from tokenwatch's first sighting of it
// ("seen" says so: the secret may be older).
func secretAge(c checkStatus, now time.Time) string {
	if c.issued.IsZero() {
		return "-"
	}
	age := now.Sub(c.issued)
	text := fmt.Sprintf("%dd", int(age/(24*time.Hour)))
	if age < 24*time.Hour {
		text = roughly(max(age.Round(time.Minute), time.Minute))
	}
	if !c.issuedConfigured {
		text += " (seen)"
	}
	return text
}

func silenceCell(c checkStatus, now time.Time) string {
	return fmt.Sprintf("until %s: %s", when(c.silencedUntil, now), notify.Printable(shorten(*c.SilenceReason, maxCell)))
}

// writeSilenceRows prints one aligned line per silence, its reason whole.
func writeSilenceRows(w io.Writer, silences []silenceStatus, now time.Time) {
	p := notify.Printable
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range silences {
		fmt.Fprintf(tw, "  %s\t%s\tuntil %s\tby %s\t%s\n", s.ID, p(strings.Join(s.Checks, ",")), when(s.until, now), p(s.By), p(s.Reason))
	}
	_ = tw.Flush()
}

// stamp is a time as the JSON gives every time: RFC 3339, in UTC, to the second.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func optStamp(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	return ptr(stamp(t))
}

func ptr[T any](v T) *T { return &v }

// when is a time for a person: in UTC to the minute (the date only when it
// is not today's), and how long ago or how soon, so nobody does the
// arithmetic at 3 a.m.
func when(t, now time.Time) string {
	shown := t.UTC().Round(time.Minute) // as ago rounds: 06:59:31 is 07:00, "now"
	layout := "15:04Z"
	if shown.Format(time.DateOnly) != now.UTC().Format(time.DateOnly) {
		layout = "2006-01-02 15:04Z"
	}
	return shown.Format(layout) + " (" + ago(t, now) + ")"
}

// agoOrDash is ago, or "-" for a time that never was.
func agoOrDash(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return ago(t, now)
}

// ago is how far t is from now, to the nearest minute: "5m ago", "in 1h55m", "2d3h ago".
func ago(t, now time.Time) string {
	switch d := now.Sub(t).Round(time.Minute); {
	case d < 0:
		return "in " + roughly(-d)
	case d == 0:
		return "now"
	default:
		return roughly(d) + " ago"
	}
}

// roughly is a duration in at most two units, the second left out when it
// is zero: "45m", "3h5m", "2h", "2d3h".
func roughly(d time.Duration) string {
	const day = 24 * time.Hour
	big, small, bigUnit, smallUnit := d/time.Minute, time.Duration(0), "m", ""
	switch {
	case d >= day:
		big, small, bigUnit, smallUnit = d/day, (d%day)/time.Hour, "d", "h"
	case d >= time.Hour:
		big, small, bigUnit, smallUnit = d/time.Hour, (d%time.Hour)/time.Minute, "h", "m"
	}
	if small == 0 {
		return fmt.Sprintf("%d%s", big, bigUnit)
	}
	return fmt.Sprintf("%d%s%d%s", big, bigUnit, small, smallUnit)
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/job"
	"github.com/tokenwatch/tokenwatch/internal/metrics"
	"github.com/tokenwatch/tokenwatch/notify"
)

// stateWaitRun is how long a run waits for another run's hold on the
// state (the file's lock, PostgreSQL's decision lock) before it exits 3.
const stateWaitRun = 5 * time.Second

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var common commonFlags
	common.register(fs)
	only := fs.String("only", "", "comma-separated names of the checks to run (default: all)")
	dryRun := fs.Bool("dry-run", false, "check and print what would be sent, but send, push and write nothing")
	output := fs.String("output", "text", "result format on stdout: text or json")
	strict := fs.Bool("strict", false, "exit 1 when any check is not ok")
	if code, ok := parseFlags(fs, args, stderr); !ok {
		return code
	}
	if *output != "text" && *output != "json" {
		fmt.Fprintf(stderr, "tokenwatch run: --output %q: want text or json\n", *output)
		return exitUsage
	}
	cfg, logger, scrub, ok := common.setup("run", loadConfig, stderr)
	if !ok {
		return exitUsage
	}
	names := splitList(*only)
	if unknown := unknownChecks(cfg.Checks, names); len(unknown) > 0 {
		fmt.Fprintf(stderr, "tokenwatch run: --only names checks that are not in %s: %v\n", cfg.File, unknown)
		return exitUsage
	}
	st := jobStore(ctx, cfg, stateWaitRun, logger)
	defer st.Close()
	j, err := buildJob(cfg, st, metrics.New(cfg.Checks), logger, true)
	if err != nil {
		fail(stderr, scrub, "%v", err)
		return exitUsage
	}
	rep := j.Run(ctx, job.Options{Only: names, DryRun: *dryRun})
	if *output == "json" {
		writeJSON(stdout, rep)
	} else {
		writeTable(stdout, rep)
	}
	return exitCode(rep, *strict)
}

// exitCode follows the contract: 3 when something was not delivered or
// saved, then 1 under --strict when a check is not ok, else 0.
func exitCode(rep *job.Report, strict bool) int {
	if !rep.Delivered() {
		return exitUndelivered
	}
	if strict {
		for _, r := range rep.Results {
			if r.Outcome != checks.OK {
				return exitNotOK
			}
		}
	}
	return exitOK
}

type jsonCheck struct {
	Name            string  `json:"name"`
	Type            string  `json:"type"`
	Outcome         string  `json:"outcome"`
	HTTPStatus      int     `json:"http_status"`
	Detail          string  `json:"detail"`
	DurationSeconds float64 `json:"duration_seconds"`
	Fingerprint     string  `json:"fingerprint"`
	ExpiresIn       *int64  `json:"expires_in,omitempty"`
	Interrupted     bool    `json:"interrupted,omitempty"`
	// SilencedUntil and SilenceReason are set while the check is silenced
	// (as status says them); Flapping while its outcome keeps changing.
	SilencedUntil string `json:"silenced_until,omitempty"`
	SilenceReason string `json:"silence_reason,omitempty"`
	Flapping      bool   `json:"flapping"`
}

type jsonNotification struct {
	Check     string `json:"check"`
	Kind      string `json:"kind"`
	Notifier  string `json:"notifier"`
	Delivered bool   `json:"delivered"`
	Late      bool   `json:"late,omitempty"`
	Summary   bool   `json:"summarized,omitempty"`
	Error     string `json:"error,omitempty"`
	// Text is the message's one-line text, in dry runs, to see what would be sent.
	Text string `json:"text,omitempty"`
}

type jsonReport struct {
	Checks        []jsonCheck        `json:"checks"`
	Notifications []jsonNotification `json:"notifications"`
	Failures      []string           `json:"failures,omitempty"`
}

func writeJSON(w io.Writer, rep *job.Report) {
	out := jsonReport{Checks: []jsonCheck{}, Notifications: []jsonNotification{}, Failures: rep.Failures}
	for _, r := range rep.Results {
		jc := jsonCheck{
			Name: r.Check, Type: r.Type, Outcome: string(r.Outcome), HTTPStatus: r.HTTPStatus,
			Detail: r.Detail, DurationSeconds: round3(r.Duration.Seconds()), Fingerprint: r.Fingerprint,
			ExpiresIn: r.ExpiresIn, Interrupted: r.Interrupted, Flapping: rep.Tracks[r.Check].Flapping(),
		}
		if m, ok := rep.Mutes[r.Check]; ok {
			jc.SilencedUntil, jc.SilenceReason = m.Until.UTC().Format(time.RFC3339), m.Why()
		}
		out.Checks = append(out.Checks, jc)
	}
	for _, n := range rep.Notifications {
		jn := jsonNotification{
			Check: n.Check, Kind: string(n.Kind), Notifier: n.Notifier, Delivered: n.Delivered, Late: n.Late,
			Summary: n.Summarized, Error: n.Error,
		}
		if rep.DryRun {
			jn.Text = notify.PlainLine(notify.Compose(n.Message, rep.Started).Summary)
		}
		out.Notifications = append(out.Notifications, jn)
	}
	// Written element by element, as json.Encoder with a two-space indent
	// would write the whole: at 10,000 checks, one buffer of the whole
	// report (and its copies) was a large part of a run's peak memory.
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	bw.WriteString("{\n")
	writeJSONArray(bw, "checks", out.Checks, true)
	writeJSONArray(bw, "notifications", out.Notifications, len(out.Failures) > 0)
	if len(out.Failures) > 0 {
		writeJSONArray(bw, "failures", out.Failures, false)
	}
	bw.WriteString("}\n")
}

// writeJSONArray writes `  "key": [...]` indented as in writeJSON, each
// element escaped for a terminal, and a comma after it when more follows.
func writeJSONArray[T any](bw *bufio.Writer, key string, items []T, more bool) {
	fmt.Fprintf(bw, "  %q: [", key)
	for i, item := range items {
		if i > 0 {
			bw.WriteByte(',')
		}
		data, _ := json.MarshalIndent(item, "    ", "  ")
		bw.WriteString("\n    ")
		bw.Write(terminalSafeJSON(data))
	}
	if len(items) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteByte(']')
	if more {
		bw.WriteByte(',')
	}
	bw.WriteByte('\n')
}

// terminalSafeJSON writes as \u escapes the characters encoding/json leaves
// raw but a terminal acts on: DEL, C1 controls (U+009B is a CSI to some
// terminals) and format characters such as the bidi override U+202E. The
// JSON is often read on a terminal, and server words reach it (details,
// Slack's errors); escaping instead of replacing keeps the decoded strings
// exactly what they were, for the scripts that read them. encoding/json has
// escaped C0 controls, U+2028 and U+2029 already, and these characters can
// only stand inside strings, so the document stays valid.
func terminalSafeJSON(b []byte) []byte {
	s := string(b)
	if !strings.ContainsFunc(s, jsonUnsafe) {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if !jsonUnsafe(r) {
			out.WriteRune(r)
			continue
		}
		if r1, r2 := utf16.EncodeRune(r); r1 != utf8.RuneError {
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		} else {
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return []byte(out.String())
}

// jsonUnsafe is a character past ASCII's printable range that a terminal may
// act on; the C0 controls of encoding/json's own layout (newlines) are not.
func jsonUnsafe(r rune) bool {
	return r >= 0x7f && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp))
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// writeTable prints the report for a person at a terminal. Every string
// goes through notify.Printable: details quote servers, errors quote Slack,
// and neither may move the cursor, retitle the window or reorder the text.
func writeTable(w io.Writer, rep *job.Report) {
	p := notify.Printable
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tOUTCOME\tHTTP\tDURATION\tNOTE\tDETAIL")
	for _, r := range rep.Results {
		status := "-"
		if r.HTTPStatus != 0 {
			status = fmt.Sprint(r.HTTPStatus)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p(r.Check), p(r.Type), p(string(r.Outcome)), status, r.Duration.Round(time.Millisecond),
			noteOf(rep, r.Check), p(r.Detail))
	}
	_ = tw.Flush()
	writeNotes(w, rep)
	if len(rep.Notifications) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "NOTIFY\tCHECK\tKIND\tDELIVERED")
		for _, n := range rep.Notifications {
			state := "yes"
			switch {
			case !n.Delivered && n.Error == "":
				state = "no (dry run)"
			case !n.Delivered:
				state = "no: " + n.Error
			case n.Late:
				state = "yes (late)"
			}
			if n.Summarized && n.Delivered {
				state += ", in one summary"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p(n.Notifier), p(n.Check), p(string(n.Kind)), p(state))
		}
		_ = tw.Flush()
	}
	if rep.DryRun && len(rep.Notifications) > 0 {
		fmt.Fprintf(w, "\nDry run: these messages would be sent (nothing was sent, pushed or saved):\n")
		for _, n := range rep.Notifications {
			fmt.Fprint(w, notify.Text(notify.Compose(n.Message, rep.Started)))
		}
	}
	for _, f := range rep.Failures {
		fmt.Fprintf(w, "\nnot delivered: %s\n", p(f))
	}
}

// noteOf is the NOTE column: what holds a check's messages back, if anything.
func noteOf(rep *job.Report, check string) string {
	var notes []string
	if _, ok := rep.Mutes[check]; ok {
		notes = append(notes, "silenced")
	}
	if rep.Tracks[check].Flapping() {
		notes = append(notes, "flapping")
	}
	if notes == nil {
		return "-"
	}
	return strings.Join(notes, ",")
}

// writeNotes explains the NOTE column under the table, one line per check
// of the pass that is silenced (until when, why) or flapping (since when).
func writeNotes(w io.Writer, rep *job.Report) {
	var lines []string
	for _, r := range rep.Results {
		if m, ok := rep.Mutes[r.Check]; ok {
			said := notify.PlainLine(notify.Silenced(alert.Decision{Silence: &m}))
			lines = append(lines, fmt.Sprintf("%s: %s; its alerts and reminders wait, a resolution is still sent", notify.Printable(r.Check), said))
		}
		if tr := rep.Tracks[r.Check]; tr.Flapping() {
			lines = append(lines, fmt.Sprintf("%s: flapping since %s; its alerts wait until one outcome holds", notify.Printable(r.Check), notify.Timestamp(tr.FlappingSince)))
		}
	}
	if lines != nil {
		fmt.Fprintf(w, "\n%s\n", strings.Join(lines, "\n"))
	}
}

package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// maxDepth bounds how deeply the file may nest. The format nests four
// levels (file, checks, record, active); the bound only keeps a file of
// millions of '[' from costing a stack frame each before the strict decode
// would refuse it.
const maxDepth = 16

// decode parses the bytes of a state file. A non-empty reason says why they
// are not a state file tokenwatch can act on, naming the field: the caller
// treats the file as corrupt. An error means a newer tokenwatch wrote it.
// A File returned with neither has passed validate, so every record and
// message in it can be used as is; from is the format it was migrated
// from, 0 when none.
func decode(data []byte) (f *File, from int, reason string, err error) {
	raw, reason := checkStructure(data)
	if reason != "" {
		return nil, 0, reason, nil
	}
	// The version is read first, so that a file of another format is
	// reported as such rather than by the first field it does not share.
	var version *int
	if raw != nil && json.Unmarshal(raw, &version) != nil {
		return nil, 0, "version: not a whole number", nil
	}
	switch v := version; {
	case v == nil:
		return nil, 0, "version: missing", nil
	case *v > FormatVersion:
		return nil, 0, "", fmt.Errorf("%w (format %d; this one reads formats 1 to %d)", ErrNewerFormat, *v, FormatVersion)
	case *v == 1:
		old, reason := decodeV1(data)
		if reason != "" {
			return nil, 0, reason, nil
		}
		f, from = migrateV1(old), 1
	case *v == FormatVersion:
		f = &File{}
		if reason := strict(data, f); reason != "" {
			return nil, 0, reason, nil
		}
	default:
		return nil, 0, fmt.Sprintf("format version %d was never written by tokenwatch", *v), nil
	}
	if f.Checks == nil {
		f.Checks = map[string]*Record{}
	}
	if reason := f.validate(); reason != "" {
		return nil, 0, reason, nil
	}
	return f, from, "", nil
}

// strict decodes data into v, refusing fields v does not have.
func strict(data []byte, v any) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return "does not match the state format: " + err.Error()
	}
	return ""
}

// encode is the file's bytes as Save writes them.
func encode(f *File) ([]byte, error) {
	var b bytes.Buffer
	err := encodeTo(&b, f)
	return b.Bytes(), err
}

// encodeTo writes the state as JSON with one line per record and per
// waiting message (grep finds a check's line), in a stable order, without
// building the whole document in memory: at 10,000 checks that buffer and
// its indented copy were a large part of a run's peak memory.
func encodeTo(w io.Writer, f *File) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "{\"version\":%d,\n\"checks\":{", f.Version)
	for i, name := range slices.Sorted(maps.Keys(f.Checks)) {
		if i > 0 {
			ew.write(",")
		}
		ew.line(name, f.Checks[name])
	}
	ew.write("\n}")
	if len(f.Outboxes) > 0 {
		ew.write(",\n\"outboxes\":{")
		for i, notifier := range slices.Sorted(maps.Keys(f.Outboxes)) {
			if i > 0 {
				ew.write(",")
			}
			key, _ := json.Marshal(notifier)
			ew.write("\n" + string(key) + ":[")
			for k, p := range f.Outboxes[notifier] {
				if k > 0 {
					ew.write(",")
				}
				ew.line("", p)
			}
			ew.write("\n]")
		}
		ew.write("\n}")
	}
	rest, err := json.Marshal(fileRest{File: f})
	if err != nil {
		return err
	}
	if len(rest) > 2 { // more than {}
		ew.write(",\n" + string(rest[1:len(rest)-1]))
	}
	ew.write("\n}\n")
	return ew.err
}

// fileRest is every field of File but those encodeTo writes line by line:
// those three are shadowed by empty fields of the same JSON names (which
// omitempty drops), so a field added to File is written without a second
// list to keep in step.
type fileRest struct {
	*File
	Version  int                  `json:"version,omitempty"`
	Checks   map[string]*Record   `json:"checks,omitempty"`
	Outboxes map[string][]Pending `json:"outboxes,omitempty"`
}

// errWriter keeps the first write error, so encodeTo reads straight.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) write(s string) { _, _ = io.WriteString(e, s) }

// line writes a newline, then "key":value (or value alone when key is "").
func (e *errWriter) line(key string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		if e.err == nil {
			e.err = err
		}
		return
	}
	e.write("\n")
	if key != "" {
		k, _ := json.Marshal(key)
		e.write(string(k) + ":")
	}
	_, _ = e.Write(data)
}

// checkStructure scans the document once, byte by byte: it must be valid
// JSON, one object and nothing after it, nested no deeper than maxDepth,
// with no key twice in one object. encoding/json quietly keeps the last of
// two duplicate keys, matching field names case-insensitively, so without
// this a file could say two things and be read as one of them. It also
// returns the top-level "version" as written (nil when absent), so the
// file is decoded only once more, strictly, by the reader of its format.
// The scan is hand-written because json.Decoder.Token costs several times
// a whole decode: at 10,000 checks it was the largest part of a run's load.
func checkStructure(data []byte) (version []byte, reason string) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, "empty file"
		}
		if err == nil {
			// Valid as a value, not as a document: cannot happen, but say so.
			return nil, "not valid JSON"
		}
		if isTrailing(data) {
			return nil, "data after the JSON object"
		}
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset >= int64(len(data)) {
			return nil, "not valid JSON: unexpected EOF"
		}
		return nil, "not valid JSON: " + err.Error()
	}
	sc := scanner{data: data}
	sc.space()
	if sc.peek() != '{' {
		return nil, "not a JSON object"
	}
	if reason := sc.value(&where{top: true}, 0, &version); reason != "" {
		return nil, reason
	}
	sc.space()
	if sc.i < len(data) {
		return nil, "data after the JSON object"
	}
	return version, ""
}

// isTrailing reports whether data is one complete JSON value followed by
// more: a second object, or garbage after the first.
func isTrailing(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v any
	return dec.Decode(&v) == nil
}

// scanner walks JSON already known to be valid.
type scanner struct {
	data []byte
	i    int
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.data) {
		return sc.data[sc.i]
	}
	return 0
}

func (sc *scanner) space() {
	for sc.i < len(sc.data) {
		switch sc.data[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

// str scans a string and returns its raw contents, without the quotes.
func (sc *scanner) str() []byte {
	start := sc.i + 1
	for sc.i = start; sc.data[sc.i] != '"'; sc.i++ {
		if sc.data[sc.i] == '\\' {
			sc.i++
		}
	}
	sc.i++
	return sc.data[start : sc.i-1]
}

// where is the path of a value, built into a string only for an error.
type where struct {
	parent *where
	key    string // in an object
	index  int    // in an array, when key is ""
	top    bool
}

func (w *where) String() string {
	if w == nil || w.top {
		return ""
	}
	parent := w.parent.String()
	switch {
	case w.key == "":
		return fmt.Sprintf("%s[%d]", parent, w.index)
	case parent == "":
		return w.key
	}
	return parent + "." + w.key
}

// smallObject is how many keys an object may have before its duplicate
// check uses a map: the state's records have about a dozen.
const smallObject = 32

// value scans the value at sc.i, at path w and depth; at depth 0 (the top
// object) it hands the raw "version" value to version.
func (sc *scanner) value(w *where, depth int, version *[]byte) string {
	sc.space()
	switch sc.peek() {
	case '{':
		if depth == maxDepth {
			return orTop(w.String()) + ": nested deeper than the state format"
		}
		sc.i++
		var few []string
		var many map[string]bool
		for {
			sc.space()
			if sc.peek() == '}' {
				sc.i++
				return ""
			}
			if sc.peek() == ',' {
				sc.i++
				sc.space()
			}
			raw := sc.str()
			key := string(raw)
			if bytes.IndexByte(raw, '\\') >= 0 {
				_ = json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &key)
			}
			folded := fold(key)
			if slices.Contains(few, folded) || many[folded] {
				return fmt.Sprintf("%s: duplicate key %q", orTop(w.String()), key)
			}
			if many == nil && len(few) < smallObject {
				few = append(few, folded)
			} else {
				if many == nil {
					many = make(map[string]bool, 2*smallObject)
					for _, k := range few {
						many[k] = true
					}
				}
				many[folded] = true
			}
			sc.space()
			sc.i++ // the colon
			start := sc.i
			if reason := sc.value(&where{parent: w, key: key}, depth+1, nil); reason != "" {
				return reason
			}
			if version != nil && depth == 0 && folded == "version" {
				*version = bytes.TrimSpace(sc.data[start:sc.i])
			}
		}
	case '[':
		if depth == maxDepth {
			return orTop(w.String()) + ": nested deeper than the state format"
		}
		sc.i++
		for index := 0; ; index++ {
			sc.space()
			if sc.peek() == ']' {
				sc.i++
				return ""
			}
			if sc.peek() == ',' {
				sc.i++
			}
			if reason := sc.value(&where{parent: w, index: index}, depth+1, nil); reason != "" {
				return reason
			}
		}
	case '"':
		sc.str()
	default: // a number, true, false or null
		for sc.i < len(sc.data) && !strings.ContainsRune(",}] \t\n\r", rune(sc.data[sc.i])) {
			sc.i++
		}
	}
	return ""
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

// fold maps a key to the same string as every key encoding/json would
// match it with: its field names match under Unicode simple case folding,
// where "K", "k" and the Kelvin sign are one letter. A letter whose fold
// orbit holds an ASCII letter maps to that letter in lower case, so the
// common key (ASCII, lower case) is its own fold and costs nothing.
func fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < utf8.RuneSelf {
				return unicode.ToLower(f)
			}
			least = min(least, f)
		}
		if r < utf8.RuneSelf {
			return unicode.ToLower(r)
		}
		return least
	}, s)
}

// validate returns why a decoded file cannot be acted on, naming the first
// offending field, or "" when every record and message has the shape the
// rest of tokenwatch relies on. It accepts everything Save writes.
func (f *File) validate() string {
	for _, name := range slices.Sorted(maps.Keys(f.Checks)) {
		rec := f.Checks[name]
		switch {
		case name == "":
			return "checks: a record with an empty name"
		case rec == nil:
			return "checks." + name + ": null record"
		}
		if p := rec.problem(); p != "" {
			return "checks." + name + "." + p
		}
	}
	for _, notifier := range slices.Sorted(maps.Keys(f.Outboxes)) {
		if notifier == "" {
			return "outboxes: a notifier with an empty name"
		}
		for i, p := range f.Outboxes[notifier] {
			if reflect.ValueOf(p).IsZero() {
				return fmt.Sprintf("outboxes.%s[%d]: null or empty message", notifier, i)
			}
			if problem := p.problem(); problem != "" {
				return fmt.Sprintf("outboxes.%s[%d].%s", notifier, i, problem)
			}
		}
	}
	if _, empty := f.Outputs[""]; empty {
		return "outputs: an output with an empty name"
	}
	if _, empty := f.Notifiers[""]; empty {
		return "notifiers: a notifier with an empty name"
	}
	seen := map[[2]string]bool{}
	for i, e := range f.Errors {
		switch {
		case e.Notifier == "" || e.Reason == "":
			return fmt.Sprintf("errors[%d]: notifier or reason missing", i)
		case e.Value < 0:
			return fmt.Sprintf("errors[%d].value: negative (%v)", i, e.Value)
		case seen[[2]string{e.Notifier, e.Reason}]:
			return fmt.Sprintf("errors[%d]: %s %s counted twice", i, e.Notifier, e.Reason)
		}
		seen[[2]string{e.Notifier, e.Reason}] = true
	}
	if p := f.Egress.problem(); p != "" {
		return "egress." + p
	}
	if p := silencesProblem(f.Silences); p != "" {
		return p
	}
	return totalsProblem(f.Totals)
}

// problem is what is wrong with an open egress incident, as "field: why":
// its resolution says since when, and a pass counts its checks.
func (e *Egress) problem() string {
	switch {
	case e == nil:
		return ""
	case e.Since.IsZero():
		return "since: missing"
	case e.NotifiedAt.IsZero() && e.Passes == 0:
		return "notified_at: missing"
	}
	return first(negative("checks", e.Checks), negative("passes", e.Passes))
}

// totalsProblem checks the cumulative counts: each is one notifier, kind
// and result, counted once (Count adds to the first match only, and the
// metrics would export two series with the same labels), and never below 0.
func totalsProblem(totals []Total) string {
	seen := map[Total]bool{}
	for i, t := range totals {
		switch {
		case t.Notifier == "" || t.Kind == "":
			return fmt.Sprintf("totals[%d]: notifier or kind missing", i)
		case t.Result != "sent" && t.Result != "failed":
			return fmt.Sprintf("totals[%d].result: %q is neither sent nor failed", i, t.Result)
		case t.Value < 0:
			return fmt.Sprintf("totals[%d].value: negative (%v)", i, t.Value)
		}
		key := Total{Notifier: t.Notifier, Kind: t.Kind, Result: t.Result}
		if seen[key] {
			return fmt.Sprintf("totals[%d]: %s %s %s counted twice", i, t.Notifier, t.Kind, t.Result)
		}
		seen[key] = true
	}
	return ""
}

// problem is what is wrong with a record, as "field: why", or "".
func (r *Record) problem() string {
	if r.V1Key == "" && (r.Type == "" || r.Endpoint == "") {
		// Prune could never match it to a check.
		return "type: a record with no type or endpoint"
	}
	if p := trackProblem(r.Track); p != "" {
		return p
	}
	for notifier, t := range r.Threads {
		if notifier == "" || t.Channel == "" || t.TS == "" {
			// A reply would go to an empty channel or thread_ts.
			return "threads: notifier, channel or ts missing"
		}
	}
	return lifecycleProblem(r.Lifecycle)
}

func trackProblem(t alert.Track) string {
	if p := first(outcomeProblem("outcome", t.Outcome), statusProblem(t.HTTPStatus),
		negative("failures_in_row", t.FailuresInRow), negative("oks_in_row", t.OKsInRow)); p != "" {
		return p
	}
	a := t.Active
	switch {
	case a == nil:
		return muteProblem("silenced", t.Silenced)
	case !known(a.Outcome) || a.Outcome == checks.OK:
		return fmt.Sprintf("active.outcome: %q is not a failing outcome", a.Outcome)
	case a.Since.IsZero():
		return "active.since: missing"
	case a.FiredAt.IsZero():
		return "active.fired_at: missing"
	case a.LastNotified.IsZero():
		// A reminder would be due at once, and at every run after.
		return "active.last_notified: missing"
	}
	return first(negative("active.checks", a.Checks), muteProblem("silenced", t.Silenced))
}

// muteProblem checks the silence or maintenance window a track or a
// message remembers: its end, and words that are printed in messages.
func muteProblem(field string, m *alert.Mute) string {
	switch {
	case m == nil:
		return ""
	case m.Until.IsZero():
		return field + ".until: missing"
	case m.By != "":
		if p := textProblem(field+".by", m.By, maxSilenceBy); p != "" {
			return p
		}
	}
	return textProblem(field+".reason", m.Reason, maxSilenceReason)
}

// problem is what is wrong with an undelivered message, as "field: why".
func (p Pending) problem() string {
	if p.Check == "" {
		return "check: missing"
	}
	if p.At.IsZero() {
		return "at: missing"
	}
	return first(outcomeProblem("outcome", p.Outcome), outcomeProblem("previous", p.Previous),
		kindProblem(p.Decision), statusProblem(p.HTTPStatus), negative("failures_in_row", p.FailuresInRow),
		negative("checks", p.Checks), negative("attempts", p.Attempts), muteProblem("silence", p.Silence))
}

// kindProblem checks what a message of each kind must carry for its text
// to be written: the outcome it is about, and since when.
func kindProblem(d alert.Decision) string {
	if p, lifecycle := lifecycleMessageProblem(d); lifecycle {
		return p
	}
	switch d.Kind {
	case alert.KindAlert, alert.KindReminder:
		if d.Outcome == "" || d.Outcome == checks.OK {
			return fmt.Sprintf("outcome: %q is not a failing outcome", d.Outcome)
		}
	case alert.KindResolved:
		if d.Outcome != checks.OK {
			return fmt.Sprintf("outcome: a resolution with outcome %q", d.Outcome)
		}
	case alert.KindEgress:
		if d.Outcome != checks.Unavailable {
			return fmt.Sprintf("outcome: an egress message with outcome %q", d.Outcome)
		}
	case alert.KindFlapping:
		// Its outcome is the latest, ok or failing; its text names the
		// outcomes the check moved between.
		if p := flappingProblem(d); p != "" {
			return p
		}
	case alert.KindNotice:
		switch d.Notice {
		case alert.NoticeStateReset:
			return "" // about tokenwatch itself: no outcome, no since
		case alert.NoticeAlertClosed:
			if d.Previous == "" || d.Previous == checks.OK {
				return fmt.Sprintf("previous: %q is not the failing outcome of a closed alert", d.Previous)
			}
		default:
			return fmt.Sprintf("notice: unknown notice %q", d.Notice)
		}
	default:
		return fmt.Sprintf("kind: unknown kind %q", d.Kind)
	}
	if d.Since.IsZero() {
		return "since: missing"
	}
	return ""
}

// flappingProblem checks a flapping message: its latest outcome, and at
// least two outcomes moved between, each one of the five.
func flappingProblem(d alert.Decision) string {
	if d.Outcome == "" {
		return "outcome: missing"
	}
	if len(d.Outcomes) < 2 {
		return fmt.Sprintf("outcomes: %d, a flapping message needs at least 2", len(d.Outcomes))
	}
	for _, o := range d.Outcomes {
		if !known(o) {
			return fmt.Sprintf("outcomes: unknown outcome %q", o)
		}
	}
	return negative("changes", d.Changes)
}

// first is the first problem found, or "".
func first(problems ...string) string {
	for _, p := range problems {
		if p != "" {
			return p
		}
	}
	return ""
}

// outcomeProblem accepts one of the five outcomes, or none ("": a check
// that has not had a result yet, a message about tokenwatch itself).
func outcomeProblem(field string, o checks.Outcome) string {
	if o != "" && !known(o) {
		return fmt.Sprintf("%s: unknown outcome %q", field, o)
	}
	return ""
}

// statusProblem accepts an HTTP status, or 0 when there was no answer.
func statusProblem(status int) string {
	if status != 0 && (status < 100 || status > 999) {
		return fmt.Sprintf("http_status: %d is not an HTTP status", status)
	}
	return ""
}

func negative(field string, n int) string {
	if n < 0 {
		return fmt.Sprintf("%s: negative (%d)", field, n)
	}
	return ""
}

func known(o checks.Outcome) bool { return slices.Contains(checks.Outcomes, o) }

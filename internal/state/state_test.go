package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
)

var now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func TestSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil || len(f.Checks) != 0 {
		t.Fatalf("a missing file must load as empty: %v %v", corrupt, err)
	}
	c := config.Check{Name: "c", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	rec := f.Record(c)
	rec.Outcome, rec.FailuresInRow = checks.Invalid, 3
	rec.Thread = &Thread{Channel: "C1", TS: "1.2"}
	f.Outbox = []Pending{{Decision: alert.Decision{Kind: alert.KindAlert, Check: "c", Outcome: checks.Invalid, Since: now, At: now}, Attempts: 2}}
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v: %v", info.Mode().Perm(), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*")); len(leftovers) != 0 {
		t.Errorf("temp files left behind: %v", leftovers)
	}
	g, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil {
		t.Fatal(err, corrupt)
	}
	got := g.Checks["c"]
	if got.Outcome != checks.Invalid || got.FailuresInRow != 3 || got.Thread.TS != "1.2" || got.Key != Key(c) || len(g.Outbox) != 1 || g.Outbox[0].Attempts != 2 {
		t.Errorf("round trip lost data: %+v %+v", got, g.Outbox)
	}
}

// A record of a check that is ok, and one with an active alert: the
// pieces the wrong-shape cases below break one at a time.
const (
	okRecord     = `{"key":"k","outcome":"ok","failures_in_row":0,"oks_in_row":1,"last_run":"2026-11-20T03:00:00Z"}`
	activeRecord = `{"key":"k","outcome":"invalid","http_status":401,"failures_in_row":2,"oks_in_row":0,` +
		`"failing_since":"2026-11-20T03:00:00Z","active":{"outcome":"invalid","since":"2026-11-20T03:00:00Z",` +
		`"fired_at":"2026-11-20T03:00:00Z","last_notified":"2026-11-20T07:00:00Z","checks":2},` +
		`"thread":{"channel":"C1","ts":"1795143600.000100"}}`
	reminder = `{"kind":"reminder","check":"c","outcome":"invalid","since":"2026-11-20T03:00:00Z",` +
		`"at":"2026-11-20T07:00:00Z","attempts":1}`
)

// withRecord and withMessage are a valid v1 file with rec as check c's
// record, or msg as the only undelivered message.
func withRecord(rec string) string  { return `{"version":1,"checks":{"c":` + rec + `}}` }
func withMessage(msg string) string { return `{"version":1,"checks":{},"outbox":[` + msg + `]}` }

// replace is s with the first old replaced, and fails loudly when a case
// no longer changes what it claims to.
func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("test case does not contain " + old)
	}
	return strings.Replace(s, old, new, 1)
}

// Every file that is not a state this tokenwatch wrote is corrupt: moved
// aside and reported with the field that is wrong, never a panic later.
func TestCorruptFiles(t *testing.T) {
	for _, tc := range []struct{ name, content, reason string }{
		{"truncated JSON", `{"version":1,"checks":{`, "not valid JSON: unexpected EOF"},
		{"not JSON", "\x00\x01garbage", "not valid JSON"},
		{"empty file", "", "empty file"},
		{"another version", `{"version":99,"checks":{}}`, "format version 99, this tokenwatch reads 1"},
		{"version 0", `{"version":0,"checks":{}}`, "format version 0"},
		{"no version", `{"checks":{}}`, "version: missing"},
		{"null version", `{"version":null,"checks":{}}`, "version: missing"},
		{"version as a string", `{"version":"1","checks":{}}`, "version: not a whole number"},
		{"a JSON array", `[{"version":1,"checks":{}}]`, "not a JSON object"},
		{"a JSON string", `"state"`, "not a JSON object"},
		{"JSON null", `null`, "not a JSON object"},
		{"a second object after the first", `{"version":1,"checks":{}} {"version":1,"checks":{}}`, "data after the JSON object"},
		{"garbage after the object", `{"version":1,"checks":{}}]`, "data after the JSON object"},
		{"duplicate check", `{"version":1,"checks":{"c":` + okRecord + `,"c":` + okRecord + `}}`, `checks: duplicate key "c"`},
		{"duplicate version", `{"version":2,"version":1,"checks":{}}`, `top level: duplicate key "version"`},
		{"duplicate key in another case", `{"version":1,"Version":1,"checks":{}}`, `top level: duplicate key "Version"`},
		{"duplicate field in a record", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":1,"oks_in_row":5`)), `checks.c: duplicate key "oks_in_row"`},
		{"unknown field", `{"version":1,"checks":{},"silences":[]}`, `unknown field "silences"`},
		{"checks is an array", `{"version":1,"checks":[]}`, "does not match the state format"},
		{"nested too deep", withRecord(replace(okRecord, `"key":"k"`, `"key":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]`)), "nested deeper than the state format"},
		{"null record", `{"version":1,"checks":{"courier-s":null}}`, "checks.courier-s: null record"},
		{"record without a name", `{"version":1,"checks":{"":` + okRecord + `}}`, "checks: a record with an empty name"},
		{"record without a key", withRecord(replace(okRecord, `"key":"k"`, `"key":""`)), "checks.c.key: missing"},
		{"unknown outcome", withRecord(replace(okRecord, `"ok"`, `"broken"`)), `checks.c.outcome: unknown outcome "broken"`},
		{"HTTP status out of range", withRecord(replace(activeRecord, `401`, `-401`)), "checks.c.http_status: -401 is not an HTTP status"},
		{"negative failures_in_row", withRecord(replace(activeRecord, `"failures_in_row":2`, `"failures_in_row":-1`)), "checks.c.failures_in_row: negative (-1)"},
		{"negative oks_in_row", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":-3`)), "checks.c.oks_in_row: negative (-3)"},
		{"null thread fields", withRecord(replace(activeRecord, `"channel":"C1","ts":"1795143600.000100"`, ``)), "checks.c.thread: channel or ts missing"},
		{"thread without ts", withRecord(replace(activeRecord, `"ts":"1795143600.000100"`, `"ts":""`)), "checks.c.thread: channel or ts missing"},
		{"active alert about ok", withRecord(replace(activeRecord, `"active":{"outcome":"invalid"`, `"active":{"outcome":"ok"`)), `checks.c.active.outcome: "ok" is not a failing outcome`},
		{"empty active alert", withRecord(`{"key":"k","outcome":"invalid","failures_in_row":1,"oks_in_row":0,"active":{}}`), `checks.c.active.outcome: "" is not a failing outcome`},
		{"active alert never notified", withRecord(replace(activeRecord, `"last_notified":"2026-11-20T07:00:00Z",`, ``)), "checks.c.active.last_notified: missing"},
		{"active alert without since", withRecord(replace(activeRecord, `"since":"2026-11-20T03:00:00Z",`, ``)), "checks.c.active.since: missing"},
		{"negative active checks", withRecord(replace(activeRecord, `"checks":2`, `"checks":-2`)), "checks.c.active.checks: negative (-2)"},
		{"time that is not a time", withRecord(replace(okRecord, `"2026-11-20T03:00:00Z"`, `"yesterday"`)), "does not match the state format"},
		{"null message", withMessage(`null`), "outbox[0]: null or empty message"},
		{"empty message", withMessage(`{}`), "outbox[0]: null or empty message"},
		{"message without a check", withMessage(replace(reminder, `"check":"c"`, `"check":""`)), "outbox[0].check: missing"},
		{"message of an unknown kind", withMessage(replace(reminder, `"reminder"`, `"page"`)), `outbox[0].kind: unknown kind "page"`},
		{"message with an unknown outcome", withMessage(replace(reminder, `"invalid"`, `"meh"`)), `outbox[0].outcome: unknown outcome "meh"`},
		{"reminder about ok", withMessage(replace(reminder, `"invalid"`, `"ok"`)), `outbox[0].outcome: "ok" is not a failing outcome`},
		{"resolution about a failure", withMessage(replace(reminder, `"reminder"`, `"resolved"`)), `outbox[0].outcome: a resolution with outcome "invalid"`},
		{"message without since", withMessage(replace(reminder, `"since":"2026-11-20T03:00:00Z",`, ``)), "outbox[0].since: missing"},
		{"message without at", withMessage(replace(reminder, `"at":"2026-11-20T07:00:00Z",`, ``)), "outbox[0].at: missing"},
		{"negative attempts", withMessage(replace(reminder, `"attempts":1`, `"attempts":-1`)), "outbox[0].attempts: negative (-1)"},
		{"output without a name", `{"version":1,"checks":{},"outputs":{"":{"last_success":"2026-11-20T03:00:00Z"}}}`, "outputs: an output with an empty name"},
		{"total without a notifier", `{"version":1,"checks":{},"totals":[{"notifier":"","kind":"alert","result":"sent","value":1}]}`, "totals[0]: notifier or kind missing"},
		{"total of another result", `{"version":1,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"lost","value":1}]}`, `totals[0].result: "lost" is neither sent nor failed`},
		{"negative total", `{"version":1,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":-1}]}`, "totals[0].value: negative (-1)"},
		{"total counted twice", `{"version":1,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":1},` +
			`{"notifier":"slack","kind":"alert","result":"sent","value":2}]}`, "totals[1]: slack alert sent counted twice"},
		{"second message broken", `{"version":1,"checks":{},"outbox":[` + reminder + `,null]}`, "outbox[1]: null or empty message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			// A dry run looks, and moves nothing.
			if _, c, err := Peek(path); err != nil || c == nil || !strings.Contains(c.Reason, tc.reason) {
				t.Fatalf("Peek: corruption %+v, err %v; want a reason saying %q", c, err, tc.reason)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal("Peek moved the file")
			}
			s, err := Open(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f, c, err := s.Load(now)
			if err != nil || c == nil || c.MovedTo != path+".corrupt-20261121T090000Z" || len(f.Checks) != 0 {
				t.Fatalf("corruption %+v, err %v", c, err)
			}
			if data, err := os.ReadFile(c.MovedTo); err != nil || string(data) != tc.content {
				t.Errorf("the corrupt file was not kept aside as it was")
			}
			// The run goes on from the empty state.
			f.Prune([]config.Check{{Name: "c", Type: "courier"}, {Name: "courier-s", Type: "courier"}})
			if err := s.Save(f); err != nil {
				t.Errorf("saving the fresh state: %v", err)
			}
		})
	}
}

// What tokenwatch itself writes, however unusual, is never corrupt.
func TestUnusualButValidFiles(t *testing.T) {
	for name, content := range map[string]string{
		"no record, no outbox":          `{"version":1,"checks":{}}`,
		"null checks":                   `{"version":1,"checks":null}`,
		"no checks":                     `{"version":1}`,
		"null outbox":                   `{"version":1,"checks":{},"outbox":null}`,
		"record before any result":      withRecord(`{"key":"k","failures_in_row":0,"oks_in_row":0}`),
		"a failing record, not alerted": withRecord(`{"key":"k","outcome":"unavailable","failures_in_row":1,"oks_in_row":0,"failing_since":"2026-11-20T03:00:00Z"}`),
		"an active alert in a thread":   withRecord(activeRecord),
		"a late reminder":               withMessage(reminder),
		"field names in another case":   `{"VERSION":1,"Checks":{}}`,
		"a resolution": withMessage(`{"kind":"resolved","check":"c","outcome":"ok","previous":"invalid",` +
			`"since":"2026-11-20T03:00:00Z","at":"2026-11-20T07:00:00Z","attempts":0}`),
		"a notice about tokenwatch": withMessage(`{"kind":"notice","check":"tokenwatch","detail":"state reset",` +
			`"outcome":"","since":"0001-01-01T00:00:00Z","at":"2026-11-20T07:00:00Z","attempts":1}`),
		"totals and outputs": `{"version":1,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":3},` +
			`{"notifier":"slack","kind":"alert","result":"failed","value":1}],"outputs":{"state":{"last_success":"2026-11-20T03:00:00Z"},"textfile":{}}}`,
		"trailing white space": `{"version":1,"checks":{}}` + " \n\t\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if f, c, err := Peek(path); err != nil || c != nil || f.Checks == nil {
				t.Fatalf("corruption %+v, err %v", c, err)
			}
		})
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	first.Close()
	second, err := Open(path, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	second.Close()
}

func TestPrune(t *testing.T) {
	keep := config.Check{Name: "keep", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	edited := config.Check{Name: "edited", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	f := New()
	f.Record(keep)
	f.Record(edited)
	f.Record(config.Check{Name: "gone", Type: "courier"})
	f.Outbox = []Pending{{Decision: alert.Decision{Check: "gone"}}, {Decision: alert.Decision{Check: "keep"}}}
	edited.Alert.AfterOutages = 5
	dropped := f.Prune([]config.Check{keep, edited})
	if len(dropped) != 2 || f.Checks["keep"] == nil || f.Checks["edited"] != nil || f.Checks["gone"] != nil {
		t.Errorf("dropped %v, left %v", dropped, f.Checks)
	}
	if len(f.Outbox) != 1 || f.Outbox[0].Check != "keep" {
		t.Errorf("outbox %+v", f.Outbox)
	}
}

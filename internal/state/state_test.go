package state

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
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
	c := Identity{Name: "c", Type: "courier", Endpoint: "https://x"}
	rec := f.Record(c)
	rec.Outcome, rec.FailuresInRow = checks.Invalid, 3
	rec.SetThread("slack", Thread{Channel: "C1", TS: "1.2"})
	f.SetOutbox("slack", []Pending{{Decision: alert.Decision{Kind: alert.KindAlert, Check: "c", Outcome: checks.Invalid, Since: now, At: now}, Attempts: 2}})
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
	thread, _ := got.Thread("slack")
	if got.Outcome != checks.Invalid || got.FailuresInRow != 3 || thread.TS != "1.2" || got.Type != c.Type || got.Endpoint != c.Endpoint ||
		len(g.Outbox("slack")) != 1 || g.Outbox("slack")[0].Attempts != 2 {
		t.Errorf("round trip lost data: %+v %+v", got, g.Outboxes)
	}
}

// A record of a check that is ok, and one with an active alert: the
// pieces the wrong-shape cases below break one at a time.
const (
	okRecord     = `{"type":"courier","endpoint":"https://x","outcome":"ok","failures_in_row":0,"oks_in_row":1,"last_run":"2026-11-20T03:00:00Z"}`
	activeRecord = `{"type":"courier","endpoint":"https://x","outcome":"invalid","http_status":401,"failures_in_row":2,"oks_in_row":0,` +
		`"failing_since":"2026-11-20T03:00:00Z","active":{"outcome":"invalid","since":"2026-11-20T03:00:00Z",` +
		`"fired_at":"2026-11-20T03:00:00Z","last_notified":"2026-11-20T07:00:00Z","checks":2},` +
		`"threads":{"slack":{"channel":"C1","ts":"1795143600.000100"}}}`
	reminder = `{"kind":"reminder","check":"c","outcome":"invalid","since":"2026-11-20T03:00:00Z",` +
		`"at":"2026-11-20T07:00:00Z","attempts":1}`
)

// withRecord and withMessage are a valid file with rec as check c's
// record, or msg as Slack's only undelivered message.
func withRecord(rec string) string { return `{"version":2,"checks":{"c":` + rec + `}}` }
func withMessage(msg string) string {
	return `{"version":2,"checks":{},"outboxes":{"slack":[` + msg + `]}}`
}

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
		{"truncated JSON", `{"version":2,"checks":{`, "not valid JSON: unexpected EOF"},
		{"not JSON", "\x00\x01garbage", "not valid JSON"},
		{"empty file", "", "empty file"},
		{"version 0", `{"version":0,"checks":{}}`, "format version 0 was never written by tokenwatch"},
		{"no version", `{"checks":{}}`, "version: missing"},
		{"null version", `{"version":null,"checks":{}}`, "version: missing"},
		{"version as a string", `{"version":"1","checks":{}}`, "version: not a whole number"},
		{"a JSON array", `[{"version":2,"checks":{}}]`, "not a JSON object"},
		{"a JSON string", `"state"`, "not a JSON object"},
		{"JSON null", `null`, "not a JSON object"},
		{"a second object after the first", `{"version":2,"checks":{}} {"version":2,"checks":{}}`, "data after the JSON object"},
		{"garbage after the object", `{"version":2,"checks":{}}]`, "data after the JSON object"},
		{"duplicate check", `{"version":2,"checks":{"c":` + okRecord + `,"c":` + okRecord + `}}`, `checks: duplicate key "c"`},
		{"duplicate version", `{"version":2,"version":1,"checks":{}}`, `top level: duplicate key "version"`},
		{"duplicate key in another case", `{"version":2,"Version":2,"checks":{}}`, `top level: duplicate key "Version"`},
		{"duplicate field in a record", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":1,"oks_in_row":5`)), `checks.c: duplicate key "oks_in_row"`},
		{"unknown field", `{"version":2,"checks":{},"snoozes":[]}`, `unknown field "snoozes"`},
		{"checks is an array", `{"version":2,"checks":[]}`, "does not match the state format"},
		{"nested too deep", withRecord(replace(okRecord, `"type":"courier"`, `"type":[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]`)), "nested deeper than the state format"},
		{"null record", `{"version":2,"checks":{"courier-s":null}}`, "checks.courier-s: null record"},
		{"record without a name", `{"version":2,"checks":{"":` + okRecord + `}}`, "checks: a record with an empty name"},
		{"record without a type", withRecord(replace(okRecord, `"type":"courier"`, `"type":""`)), "checks.c.type: a record with no type or endpoint"},
		{"record without an endpoint", withRecord(replace(okRecord, `,"endpoint":"https://x"`, ``)), "checks.c.type: a record with no type or endpoint"},
		{"unknown outcome", withRecord(replace(okRecord, `"ok"`, `"broken"`)), `checks.c.outcome: unknown outcome "broken"`},
		{"HTTP status out of range", withRecord(replace(activeRecord, `401`, `-401`)), "checks.c.http_status: -401 is not an HTTP status"},
		{"negative failures_in_row", withRecord(replace(activeRecord, `"failures_in_row":2`, `"failures_in_row":-1`)), "checks.c.failures_in_row: negative (-1)"},
		{"negative oks_in_row", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":-3`)), "checks.c.oks_in_row: negative (-3)"},
		{"null thread fields", withRecord(replace(activeRecord, `"channel":"C1","ts":"1795143600.000100"`, ``)), "checks.c.threads: notifier, channel or ts missing"},
		{"silenced without an end", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":1,"silenced":{"reason":"acme"}`)), "checks.c.silenced.until: missing"},
		{"silenced with an escape in its reason", withRecord(replace(activeRecord, `"oks_in_row":0`, `"oks_in_row":0,"silenced":{"until":"2026-11-20T09:00:00Z","reason":"acme\u001b[2J","by":"alice"}`)), "checks.c.silenced.reason: holds a control or formatting character"},
		{"silenced by nobody's words", withRecord(replace(okRecord, `"oks_in_row":1`, `"oks_in_row":1,"silenced":{"until":"2026-11-20T09:00:00Z","reason":" "}`)), "checks.c.silenced.reason: missing"},
		{"message about a silence with a bidi override", withMessage(replace(reminder, `"attempts":1`, `"attempts":1,"silence":{"until":"2026-11-20T09:00:00Z","reason":"ok","by":"al\u202eice"}`)), "outboxes.slack[0].silence.by: holds a control or formatting character"},
		{"a notice of an unknown topic", withMessage(`{"kind":"notice","check":"tokenwatch","notice":"party","at":"2026-11-20T07:00:00Z","attempts":0}`), `outboxes.slack[0].notice: unknown notice "party"`},
		{"a closed alert without its outcome", withMessage(`{"kind":"notice","check":"c","notice":"alert_closed","at":"2026-11-20T07:00:00Z","attempts":0}`), `outboxes.slack[0].previous: "" is not the failing outcome of a closed alert`},
		{"thread without ts", withRecord(replace(activeRecord, `"ts":"1795143600.000100"`, `"ts":""`)), "checks.c.threads: notifier, channel or ts missing"},
		{"active alert about ok", withRecord(replace(activeRecord, `"active":{"outcome":"invalid"`, `"active":{"outcome":"ok"`)), `checks.c.active.outcome: "ok" is not a failing outcome`},
		{"empty active alert", withRecord(`{"type":"courier","endpoint":"https://x","outcome":"invalid","failures_in_row":1,"oks_in_row":0,"active":{}}`), `checks.c.active.outcome: "" is not a failing outcome`},
		{"active alert never notified", withRecord(replace(activeRecord, `"last_notified":"2026-11-20T07:00:00Z",`, ``)), "checks.c.active.last_notified: missing"},
		{"active alert without since", withRecord(replace(activeRecord, `"since":"2026-11-20T03:00:00Z",`, ``)), "checks.c.active.since: missing"},
		{"negative active checks", withRecord(replace(activeRecord, `"checks":2`, `"checks":-2`)), "checks.c.active.checks: negative (-2)"},
		{"time that is not a time", withRecord(replace(okRecord, `"2026-11-20T03:00:00Z"`, `"yesterday"`)), "does not match the state format"},
		{"null message", withMessage(`null`), "outboxes.slack[0]: null or empty message"},
		{"empty message", withMessage(`{}`), "outboxes.slack[0]: null or empty message"},
		{"message without a check", withMessage(replace(reminder, `"check":"c"`, `"check":""`)), "outboxes.slack[0].check: missing"},
		{"message of an unknown kind", withMessage(replace(reminder, `"reminder"`, `"page"`)), `outboxes.slack[0].kind: unknown kind "page"`},
		{"message with an unknown outcome", withMessage(replace(reminder, `"invalid"`, `"meh"`)), `outboxes.slack[0].outcome: unknown outcome "meh"`},
		{"reminder about ok", withMessage(replace(reminder, `"invalid"`, `"ok"`)), `outboxes.slack[0].outcome: "ok" is not a failing outcome`},
		{"resolution about a failure", withMessage(replace(reminder, `"reminder"`, `"resolved"`)), `outboxes.slack[0].outcome: a resolution with outcome "invalid"`},
		{"message without since", withMessage(replace(reminder, `"since":"2026-11-20T03:00:00Z",`, ``)), "outboxes.slack[0].since: missing"},
		{"message without at", withMessage(replace(reminder, `"at":"2026-11-20T07:00:00Z",`, ``)), "outboxes.slack[0].at: missing"},
		{"negative attempts", withMessage(replace(reminder, `"attempts":1`, `"attempts":-1`)), "outboxes.slack[0].attempts: negative (-1)"},
		{"output without a name", `{"version":2,"checks":{},"outputs":{"":{"last_success":"2026-11-20T03:00:00Z"}}}`, "outputs: an output with an empty name"},
		{"total without a notifier", `{"version":2,"checks":{},"totals":[{"notifier":"","kind":"alert","result":"sent","value":1}]}`, "totals[0]: notifier or kind missing"},
		{"total of another result", `{"version":2,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"lost","value":1}]}`, `totals[0].result: "lost" is neither sent nor failed`},
		{"negative total", `{"version":2,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":-1}]}`, "totals[0].value: negative (-1)"},
		{"total counted twice", `{"version":2,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":1},` +
			`{"notifier":"slack","kind":"alert","result":"sent","value":2}]}`, "totals[1]: slack alert sent counted twice"},
		{"outbox of a nameless notifier", `{"version":2,"checks":{},"outboxes":{"":[` + reminder + `]}}`, "outboxes: a notifier with an empty name"},
		{"thread of a nameless notifier", withRecord(replace(activeRecord, `"slack":{"channel"`, `"":{"channel"`)), "checks.c.threads: notifier, channel or ts missing"},
		{"format 1: null record", `{"version":1,"checks":{"courier-s":null}}`, "checks.courier-s: null record"},
		{"format 1: record without a key", `{"version":1,"checks":{"c":{"key":"","failures_in_row":0,"oks_in_row":0}}}`, "checks.c.key: missing"},
		{"format 1: thread without ts", `{"version":1,"checks":{"c":{"key":"k","failures_in_row":0,"oks_in_row":0,"thread":{"channel":"C1","ts":""}}}}`, "checks.c.thread: channel or ts missing"},
		{"format 1: null message", `{"version":1,"checks":{},"outbox":[null]}`, "outboxes.slack[0]: null or empty message"},
		{"format 1: a field of format 2", `{"version":1,"checks":{},"outboxes":{}}`, `unknown field "outboxes"`},
		{"second message broken", `{"version":2,"checks":{},"outboxes":{"slack":[` + reminder + `,null]}}`, "outboxes.slack[1]: null or empty message"},
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
			f.Prune([]Identity{{Name: "c", Type: "courier", Endpoint: "https://x"}, {Name: "courier-s", Type: "courier", Endpoint: "https://x"}})
			if err := s.Save(f); err != nil {
				t.Errorf("saving the fresh state: %v", err)
			}
		})
	}
}

// What tokenwatch itself writes, however unusual, is never corrupt.
func TestUnusualButValidFiles(t *testing.T) {
	for name, content := range map[string]string{
		"no record, no outbox":              `{"version":2,"checks":{}}`,
		"null checks":                       `{"version":2,"checks":null}`,
		"no checks":                         `{"version":2}`,
		"null outboxes":                     `{"version":2,"checks":{},"outboxes":null}`,
		"format 1, empty":                   `{"version":1,"checks":{}}`,
		"record before any result":          withRecord(`{"type":"courier","endpoint":"https://x","failures_in_row":0,"oks_in_row":0}`),
		"a failing record, not alerted":     withRecord(`{"type":"courier","endpoint":"https://x","outcome":"unavailable","failures_in_row":1,"oks_in_row":0,"failing_since":"2026-11-20T03:00:00Z"}`),
		"an active alert in a thread":       withRecord(activeRecord),
		"a migrated record not matched yet": withRecord(`{"v1_key":"ea65acf19086","failures_in_row":0,"oks_in_row":0}`),
		"a late reminder":                   withMessage(reminder),
		"field names in another case":       `{"VERSION":2,"Checks":{}}`,
		"a resolution": withMessage(`{"kind":"resolved","check":"c","outcome":"ok","previous":"invalid",` +
			`"since":"2026-11-20T03:00:00Z","at":"2026-11-20T07:00:00Z","attempts":0}`),
		"a notice about tokenwatch": withMessage(`{"kind":"notice","check":"tokenwatch","detail":"state reset",` +
			`"outcome":"","since":"0001-01-01T00:00:00Z","at":"2026-11-20T07:00:00Z","attempts":1}`),
		"totals and outputs": `{"version":2,"checks":{},"totals":[{"notifier":"slack","kind":"alert","result":"sent","value":3},` +
			`{"notifier":"slack","kind":"alert","result":"failed","value":1}],"outputs":{"state":{"last_success":"2026-11-20T03:00:00Z"},"textfile":{}}}`,
		"trailing white space": `{"version":2,"checks":{}}` + " \n\t\n",
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
	keep := Identity{Name: "keep", Type: "courier", Endpoint: "https://x"}
	moved := Identity{Name: "moved", Type: "courier", Endpoint: "https://x"}
	retyped := Identity{Name: "retyped", Type: "courier", Endpoint: "https://x"}
	migrated := Identity{Name: "migrated", Type: "courier", Endpoint: "https://x", V1Key: "k1"}
	stale := Identity{Name: "stale", Type: "courier", Endpoint: "https://x", V1Key: "k2"}
	f := New()
	for _, id := range []Identity{keep, moved, retyped, {Name: "gone", Type: "courier", Endpoint: "https://x"}} {
		f.Record(id)
	}
	f.Checks["migrated"] = &Record{V1Key: "k1"}
	f.Checks["stale"] = &Record{V1Key: "an older key"}
	f.SetOutbox("slack", []Pending{{Decision: alert.Decision{Check: "gone"}}, {Decision: alert.Decision{Check: "keep"}},
		{Decision: alert.Decision{Check: NoticeCheck}}})
	moved.Endpoint = "https://y"
	retyped.Type = "partner_oauth"
	dropped := f.Prune([]Identity{keep, moved, retyped, migrated, stale})
	slices.Sort(dropped)
	if !slices.Equal(dropped, []string{"gone", "moved", "retyped", "stale"}) {
		t.Errorf("dropped %v", dropped)
	}
	if r := f.Checks["migrated"]; r == nil || r.V1Key != "" || r.Type != "courier" || r.Endpoint != "https://x" {
		t.Errorf("the migrated record was not adopted by its check: %+v", r)
	}
	if box := f.Outbox("slack"); len(box) != 2 || box[0].Check != "keep" || box[1].Check != NoticeCheck {
		t.Errorf("outbox %+v", box)
	}
}

// A file of a newer format is refused and left exactly as it was.
func TestNewerFormatIsRefusedUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	content := []byte(`{"version":3,"checks":{},"something_new":true}`)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Peek(path); !errors.Is(err, ErrNewerFormat) {
		t.Fatalf("Peek: %v, want ErrNewerFormat", err)
	}
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, c, err := s.Load(now)
	if !errors.Is(err, ErrNewerFormat) || c != nil || !strings.Contains(err.Error(), "format 3") {
		t.Fatalf("Load: corruption %+v, err %v", c, err)
	}
	if err := s.Save(f); err == nil {
		t.Fatal("Save replaced a file of a newer format")
	}
	if data, _ := os.ReadFile(path); string(data) != string(content) {
		t.Errorf("the file changed: %s", data)
	}
	if aside, _ := filepath.Glob(path + ".*"); len(aside) != 1 { // the lock file only
		t.Errorf("files beside it: %v", aside)
	}
}

// fold must agree with encoding/json's matching of field names: whatever
// json would read as one field folds to one key.
func TestFold(t *testing.T) {
	for _, pair := range [][2]string{
		{"version", "VERSION"}, {"kind", "\u212aind"}, {"outcome", "OUTCOME"},
		{"last_success", "la\u017ft_success"}, {"checks", "Checks"},
	} {
		if fold(pair[0]) != fold(pair[1]) {
			t.Errorf("fold(%q) = %q, fold(%q) = %q: json matches them as one field", pair[0], fold(pair[0]), pair[1], fold(pair[1]))
		}
	}
	if fold("version") != "version" {
		t.Errorf("an ASCII lower-case key must be its own fold")
	}
	if fold("a") == fold("b") {
		t.Error("different letters fold together")
	}
}

// Every field of File survives a save and a load: the encoder writes some
// fields line by line and the rest through one marshal, and a field that
// neither wrote would be lost on the first save.
func TestEveryFieldRoundTrips(t *testing.T) {
	f := New()
	rec := f.Record(Identity{Name: "c", Type: "courier", Endpoint: "https://x"})
	rec.Outcome, rec.FailuresInRow, rec.FailingSince = checks.Invalid, 1, now
	rec.Active = &alert.Active{Outcome: checks.Invalid, Since: now, FiredAt: now, LastNotified: now, Checks: 1}
	rec.SetThread("slack", Thread{Channel: "C1", TS: "1.2"})
	f.SetOutbox("slack", []Pending{{Decision: alert.Decision{Kind: alert.KindAlert, Check: "c", Outcome: checks.Invalid, Since: now, At: now}, Attempts: 1}})
	f.LastSuccess = now
	f.Count("slack", "alert", true)
	f.RecordOutput(OutputState, now, nil)
	f.RecordDelivery("slack", now, "permanent", false)
	f.Egress = &Egress{Since: now, NotifiedAt: now, Checks: 3}
	if _, err := f.AddSilence([]string{"c"}, now.Add(time.Hour), "maintenance", "alice", now); err != nil {
		t.Fatal(err)
	}
	v := reflect.ValueOf(f).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("File.%s is not set by this test: set it, so that its round trip is proven", v.Type().Field(i).Name)
		}
	}
	data, err := encode(f)
	if err != nil {
		t.Fatal(err)
	}
	back, from, reason, err := decode(data)
	if err != nil || reason != "" || from != 0 {
		t.Fatalf("decode: %v %q %d\n%s", err, reason, from, data)
	}
	if !reflect.DeepEqual(f, back) {
		t.Errorf("round trip changed the state:\n%+v\n%+v", f, back)
	}
}

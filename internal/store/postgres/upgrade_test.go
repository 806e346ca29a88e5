package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// object is the JSON object a query returns.
func object(t *testing.T, dsn, sql string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(scalar[string](t, dsn, sql)), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// On a rolling upgrade a newer replica writes fields this binary does not
// know: in a record, inside its alert, in a message, and as a file-level
// field of its own. This binary's writes keep them all, while what it
// knows and clears (the alert, once resolved) is cleared.
func TestNewerReleasesFieldsSurvive(t *testing.T) {
	clock := testkit.NewClock()
	dsn := pgtestDSN(t)
	s := open(t, dsn, Options{Now: clock.Now})
	now := clock.Now().Format(time.RFC3339)
	exec(t, dsn, `INSERT INTO tokenwatch_records (name, type, endpoint, record) VALUES ('c', 'courier', 'https://c',
		jsonb_build_object('type', 'courier', 'endpoint', 'https://c', 'outcome', 'invalid', 'failures_in_row', 1, 'oks_in_row', 0,
			'credential_first_seen', $1::text,
			'threads', jsonb_build_object('slack', jsonb_build_object('channel', 'C1', 'ts', '1.1', 'permalink', 'https://x')),
			'active', jsonb_build_object('outcome', 'invalid', 'since', $1::text, 'fired_at', $1::text, 'last_notified', $1::text, 'checks', 1, 'silenced', true)))`, now)
	exec(t, dsn, `INSERT INTO tokenwatch_file (key, value) VALUES
		('snoozes', '[{"id": "s1", "checks": ["c"], "reason": "maintenance"}]'),
		('egress', jsonb_build_object('since', $1::text, 'notified_at', $1::text, 'checks', 3, 'cause', 'dns'))`, now)
	exec(t, dsn, `INSERT INTO tokenwatch_outbox (notifier, check_name, message) VALUES ('slack', 'c',
		jsonb_build_object('kind', 'alert', 'check', 'c', 'type', 'courier', 'endpoint', 'https://c', 'outcome', 'invalid',
			'since', $1::text, 'at', $1::text, 'attempts', 0, 'severity', 'page'))`, now)

	sess, err := s.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Decide(context.Background(), store.Scope{Checks: []string{"c"}}, func(f *state.File) error {
		f.Checks["c"].FailuresInRow = 2
		f.Egress.Checks = 4
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ms, err := sess.Claim(context.Background(), "slack", "old", time.Minute)
	if err != nil || len(ms) != 1 {
		t.Fatalf("claim: %+v %v", ms, err)
	}
	if err := sess.Nack(context.Background(), ms[0], "slack down", func(f *state.File) { f.Count("slack", "alert", false) }); err != nil {
		t.Fatal(err)
	}

	rec := object(t, dsn, "SELECT record::text FROM tokenwatch_records WHERE name = 'c'")
	active, _ := rec["active"].(map[string]any)
	thread, _ := rec["threads"].(map[string]any)["slack"].(map[string]any)
	if rec["failures_in_row"] != 2.0 || rec["credential_first_seen"] != now || active["silenced"] != true || thread["permalink"] != "https://x" {
		t.Errorf("record after this binary's write: %v", rec)
	}
	egress := object(t, dsn, "SELECT value::text FROM tokenwatch_file WHERE key = 'egress'")
	if egress["checks"] != 4.0 || egress["cause"] != "dns" {
		t.Errorf("egress: %v", egress)
	}
	if n := scalar[int](t, dsn, "SELECT count(*) FROM tokenwatch_file WHERE key = 'snoozes'"); n != 1 {
		t.Error("a newer release's file-level field was dropped")
	}
	msg := object(t, dsn, "SELECT message::text FROM tokenwatch_outbox")
	if msg["severity"] != "page" || msg["attempts"] != 1.0 || msg["last_error"] != "slack down" {
		t.Errorf("message after a failed delivery: %v", msg)
	}

	// Resolved: the alert this binary knows is cleared, not kept for
	// the fields inside it that it does not know.
	if err := sess.Decide(context.Background(), store.Scope{Checks: []string{"c"}}, func(f *state.File) error {
		f.Checks["c"].Active = nil
		f.Checks["c"].Outcome = checks.OK
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rec := object(t, dsn, "SELECT record::text FROM tokenwatch_records WHERE name = 'c'"); rec["active"] != nil || rec["credential_first_seen"] != now {
		t.Errorf("after resolving: %v", rec)
	}
}

// What the database holds is checked as a state file is: a record that
// breaks the state's rules is an error naming it, never a panic, and no
// decision is made from it.
func TestInvalidStateIsRefused(t *testing.T) {
	for name, sql := range map[string]string{
		"wrong type":      `INSERT INTO tokenwatch_records VALUES ('c', 'courier', 'https://c', '{"type": "courier", "endpoint": "https://c", "failures_in_row": "many"}')`,
		"active no since": `INSERT INTO tokenwatch_records VALUES ('c', 'courier', 'https://c', '{"type": "courier", "endpoint": "https://c", "outcome": "invalid", "active": {"outcome": "invalid"}}')`,
		"bad message":     `INSERT INTO tokenwatch_outbox (notifier, check_name, message) VALUES ('slack', 'c', '{"kind": "alert", "check": "c"}')`,
		"bad totals":      `INSERT INTO tokenwatch_file VALUES ('totals', '{"not": "a list"}')`,
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			dsn := pgtestDSN(t)
			s := open(t, dsn, Options{})
			exec(t, dsn, sql)
			_, snapErr := s.Snapshot(context.Background())
			sess, _ := s.Open(context.Background())
			called := false
			decErr := sess.Decide(context.Background(), store.Scope{Checks: []string{"c"}}, func(*state.File) error { called = true; return nil })
			for _, err := range []error{snapErr, decErr} {
				if !errors.Is(err, errInvalid) {
					t.Errorf("got %v, want the state refused", err)
				}
			}
			if called {
				t.Error("a decision was made from an invalid state")
			}
			t.Log(decErr)
		})
	}
}

func TestPreserve(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	type outer struct {
		X  int              `json:"x,omitempty"`
		In *inner           `json:"in,omitempty"`
		M  map[string]inner `json:"m,omitempty"`
		L  []inner          `json:"l,omitempty"`
		T  time.Time        `json:"t"`
	}
	typ := reflect.TypeFor[outer]()
	for _, tc := range []struct{ stored, fresh, want string }{
		{`{"x":1,"new":true}`, `{"x":2,"t":"2026-01-01T00:00:00Z"}`, `{"new":true,"t":"2026-01-01T00:00:00Z","x":2}`},
		{`{"x":1}`, `{"t":"2026-01-01T00:00:00Z"}`, `{"t":"2026-01-01T00:00:00Z"}`}, // x cleared
		{`{"in":{"a":1,"b":2}}`, `{"in":{"a":3}}`, `{"in":{"a":3,"b":2}}`},
		{`{"in":{"a":1,"b":2}}`, `{}`, `{}`}, // in cleared, with what it held
		{`{"m":{"k":{"a":1,"b":2},"gone":{"a":1}}}`, `{"m":{"k":{"a":5}}}`, `{"m":{"k":{"a":5,"b":2}}}`},
		{`{"l":[{"a":1,"b":2}]}`, `{"l":[{"a":1}]}`, `{"l":[{"a":1}]}`}, // lists are replaced
		{`not json`, `{"x":1}`, `{"x":1}`},
	} {
		if got := string(preserve([]byte(tc.stored), []byte(tc.fresh), typ)); got != tc.want {
			t.Errorf("preserve(%s, %s) = %s, want %s", tc.stored, tc.fresh, got, tc.want)
		}
	}
	// The embedded track's fields are the record's own.
	if _, ok := fields(recordType)["failures_in_row"]; !ok {
		t.Error("fields does not see the embedded alert.Track")
	}
}

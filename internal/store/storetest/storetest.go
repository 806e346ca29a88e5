// Package storetest is the conformance suite every store.Store passes: the
// file store and PostgreSQL run the same tests, so the job can use either
// without knowing which. Tests only.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// Factory returns a new, empty store whose clock is clock.
type Factory func(t *testing.T, clock *testkit.Clock) store.Store

// Run runs the suite on the stores of factory, one fresh store per test.
func Run(t *testing.T, factory Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, *env)
	}{
		{"EmptySnapshot", testEmptySnapshot},
		{"EveryFieldRoundTrips", testEveryFieldRoundTrips},
		{"OrderPerCheck", testOrderPerCheck},
		{"NackCountsAndReleases", testNack},
		{"LeaseRunsOut", testLease},
		{"AckKeepsThread", testAckKeepsThread},
		{"ReplacedReminderKeepsOrder", testReplacedReminder},
		{"FailedDecisionWritesNothing", testFailedDecision},
		{"UpdateKeepsFileLevelOnly", testUpdate},
		{"PruneInDecision", testPrune},
		{"Import", testImport},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := testkit.NewClock()
			e := &env{t: t, clock: clock, store: factory(t, clock), ctx: context.Background()}
			t.Cleanup(func() {
				if err := e.store.Close(); err != nil {
					t.Errorf("close store: %v", err)
				}
			})
			tc.fn(t, e)
		})
	}
}

// env is one test's store and clock.
type env struct {
	t     *testing.T
	clock *testkit.Clock
	store store.Store
	ctx   context.Context
}

// open starts a session, closed when the test ends.
func (e *env) open() store.Session {
	e.t.Helper()
	s, err := e.store.Open(e.ctx)
	if err != nil {
		e.t.Fatalf("open: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// snapshot is the store's state now.
func (e *env) snapshot() *state.File {
	e.t.Helper()
	f, err := e.store.Snapshot(e.ctx)
	if err != nil {
		e.t.Fatalf("snapshot: %v", err)
	}
	return f
}

// decide runs fn as a decision on checks, failing the test on an error.
func (e *env) decide(s store.Session, scope store.Scope, fn func(*state.File)) {
	e.t.Helper()
	if err := s.Decide(e.ctx, scope, func(f *state.File) error { fn(f); return nil }); err != nil {
		e.t.Fatalf("decide: %v", err)
	}
}

// claim claims notifier's messages, failing the test on an error.
func (e *env) claim(s store.Session, notifier, owner string, lease time.Duration) []store.Message {
	e.t.Helper()
	ms, err := s.Claim(e.ctx, notifier, owner, lease)
	if err != nil {
		e.t.Fatalf("claim: %v", err)
	}
	return ms
}

// id is the identity of a test check.
func id(name string) state.Identity {
	return state.Identity{Name: name, Type: checks.TypeCourier, Endpoint: "https://" + name + ".example"}
}

// msg is a message about check, of kind k, decided at at.
func msg(check string, k alert.Kind, at time.Time) state.Pending {
	o := checks.Invalid
	if k == alert.KindResolved {
		o = checks.OK
	}
	return state.Pending{Decision: alert.Decision{Kind: k, Check: check, Type: checks.TypeCourier,
		Endpoint: "https://" + check + ".example", Outcome: o, Since: at, At: at}}
}

// enqueue adds messages to notifier's outbox, creating their checks' records.
func enqueue(f *state.File, notifier string, ps ...state.Pending) {
	for _, p := range ps {
		f.Record(id(p.Check))
		f.SetOutbox(notifier, append(f.Outbox(notifier), p))
	}
}

// summary is what claimed messages are about, as "check/kind".
func summary(ms []store.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Check+"/"+string(m.Kind))
	}
	slices.Sort(out)
	return out
}

// same reports whether a and b encode to the same JSON.
func same(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

func testEmptySnapshot(t *testing.T, e *env) {
	f := e.snapshot()
	if len(f.Checks) != 0 || f.Waiting() != 0 || !f.LastSuccess.IsZero() {
		t.Errorf("a new store is not empty: %+v", f)
	}
}

// full is a state with every field of File and Record set.
func full(now time.Time) *state.File {
	f := state.New()
	rec := f.Record(id("c"))
	rec.Track = alert.Track{Outcome: checks.Invalid, HTTPStatus: 401, Detail: "token rejected (HTTP 401)",
		FailuresInRow: 2, OKsInRow: 1, FailingSince: now.Add(-time.Hour), OutcomeSince: now.Add(-time.Hour),
		LastRun: now, LastOK: now.Add(-2 * time.Hour), Fingerprint: "3f2a9c1e", RotatedFrom: "0badf00d",
		Active:        &alert.Active{Outcome: checks.Invalid, Since: now.Add(-time.Hour), FiredAt: now.Add(-time.Hour), LastNotified: now, Checks: 2},
		Changes:       []alert.Change{{From: checks.OK, To: checks.Invalid, At: now.Add(-time.Hour)}},
		FlappingSince: now.Add(-30 * time.Minute),
		Silenced:      &alert.Mute{Until: now.Add(2 * time.Hour), Reason: "ACME maintenance", By: "alice"}}
	rec.SetThread("slack", state.Thread{Channel: "C1", TS: "1.2"})
	rec.Lifecycle = &alert.Lifecycle{
		Sightings:         []alert.Sighting{{Fingerprint: "0badf00d", FirstSeen: now.Add(-200 * 24 * time.Hour)}, {Fingerprint: "3f2a9c1e", FirstSeen: now.Add(-100 * 24 * time.Hour)}},
		IssuedAt:          now.Add(-101 * 24 * time.Hour),
		IssuedFingerprint: "3f2a9c1e",
		Rotation:          &alert.Rotation{Fingerprint: "3f2a9c1e", Since: now.Add(-10 * 24 * time.Hour), LastNotified: now},
		Certs:             []alert.CertWatch{{Host: "x.example", Fingerprint: "c0ffee42", NotAfter: now.Add(5 * 24 * time.Hour), LastSeen: now, Warned: 1, WarnedAt: now}},
		TLSSince:          now,
	}
	p := msg("c", alert.KindAlert, now)
	p.Attempts, p.LastError = 1, "slack: HTTP 503"
	f.SetOutbox("slack", []state.Pending{p})
	f.LastSuccess = now
	f.Count("slack", "alert", true)
	f.RecordOutput(state.OutputState, now, nil)
	f.RecordDelivery("slack", now, "transient", false)
	f.Egress = &state.Egress{Since: now, NotifiedAt: now, Checks: 3}
	f.Silences = []state.Silence{{ID: "0a1b2c3d", Checks: []string{"c"}, Until: now.Add(2 * time.Hour),
		Reason: "ACME maintenance", By: "alice", Created: now}}
	return f
}

// unset names the first field of v (a struct, or a pointer to one) that is
// zero, or "".
func unset(v reflect.Value) string {
	v = reflect.Indirect(v)
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() && v.Field(i).IsZero() && f.Name != "V1Key" {
			return f.Name
		}
	}
	return ""
}

// Every field of the state survives: records (alert track, threads),
// messages (with their attempts), and every file-level field.
func testEveryFieldRoundTrips(t *testing.T, e *env) {
	now := e.clock.Now()
	want := full(now)
	if name := unset(reflect.ValueOf(want)); name != "" {
		t.Fatalf("File.%s is not set by this test: set it, so that its round trip is proven", name)
	}
	if name := unset(reflect.ValueOf(want.Checks["c"])); name != "" {
		t.Fatalf("Record.%s is not set by this test", name)
	}
	if name := unset(reflect.ValueOf(want.Checks["c"].Track)); name != "" {
		t.Fatalf("Track.%s is not set by this test", name)
	}
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"c"}}, func(f *state.File) {
		*f = *full(now)
	})
	got := e.snapshot()
	got.Version = want.Version
	if !same(t, got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("round trip changed the state:\n got %s\nwant %s", g, w)
	}
	// A second session reads the same.
	s.Close()
	var seen *state.File
	e.decide(e.open(), store.Scope{Checks: []string{"c"}}, func(f *state.File) { seen = f })
	if !same(t, seen.Checks, want.Checks) || !same(t, seen.Outboxes, want.Outboxes) || !same(t, seen.Egress, want.Egress) {
		t.Errorf("a decision saw %+v", seen)
	}
}

// Each check's messages go out oldest first: the next one of a check is
// not claimed while an earlier one is leased; other checks do not wait.
func testOrderPerCheck(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a", "b"}}, func(f *state.File) {
		enqueue(f, "slack", msg("a", alert.KindAlert, now), msg("b", alert.KindAlert, now), msg("a", alert.KindResolved, now))
		enqueue(f, "alertmanager", msg("a", alert.KindAlert, now))
	})
	first := e.claim(s, "slack", "r1", time.Minute)
	if got := summary(first); !slices.Equal(got, []string{"a/alert", "b/alert"}) {
		t.Fatalf("first claim: %v, want a's alert and b's alert", got)
	}
	if more := e.claim(s, "slack", "r2", time.Minute); len(more) != 0 {
		t.Fatalf("claimed %v while the heads are leased", summary(more))
	}
	if am := e.claim(s, "alertmanager", "r2", time.Minute); !slices.Equal(summary(am), []string{"a/alert"}) {
		t.Fatalf("alertmanager's outbox is its own: %v", summary(am))
	}
	a := first[slices.IndexFunc(first, func(m store.Message) bool { return m.Check == "a" })]
	if err := s.Ack(e.ctx, a, nil, func(*state.File) {}); err != nil {
		t.Fatal(err)
	}
	next := e.claim(s, "slack", "r2", time.Minute)
	if got := summary(next); !slices.Equal(got, []string{"a/resolved"}) {
		t.Fatalf("after a's alert: %v, want a's resolution alone (b's is leased)", got)
	}
	if next[0].ID <= a.ID {
		t.Errorf("a later message has ID %d, not above %d", next[0].ID, a.ID)
	}
	if box := e.snapshot().Outbox("slack"); len(box) != 2 || box[0].Check != "b" || box[1].Kind != alert.KindResolved {
		t.Errorf("slack's outbox after one delivery: %+v", box)
	}
}

// A message not delivered is released at once, with its attempt counted
// and the reason kept: the next claim (the next run) tries it again.
func testNack(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { enqueue(f, "slack", msg("a", alert.KindAlert, now)) })
	m := e.claim(s, "slack", "r1", time.Hour)
	if err := s.Nack(e.ctx, m[0], "slack: HTTP 503", func(f *state.File) { f.Count("slack", "alert", false) }); err != nil {
		t.Fatal(err)
	}
	again := e.claim(s, "slack", "r2", time.Hour)
	if len(again) != 1 || again[0].ID != m[0].ID || again[0].Attempts != 1 || again[0].LastError != "slack: HTTP 503" {
		t.Fatalf("after a failed delivery: %+v", again)
	}
	f := e.snapshot()
	if box := f.Outbox("slack"); len(box) != 1 || box[0].Attempts != 1 {
		t.Errorf("outbox: %+v", box)
	}
	if len(f.Totals) != 1 || f.Totals[0].Result != "failed" || f.Totals[0].Value != 1 {
		t.Errorf("the failure was not counted: %+v", f.Totals)
	}
}

// A claimer that dies never acks: once its lease runs out, the message is
// claimed again, once, by another.
func testLease(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { enqueue(f, "slack", msg("a", alert.KindAlert, now)) })
	dead := e.claim(s, "slack", "dead", time.Minute)
	if len(dead) != 1 {
		t.Fatalf("claimed %d", len(dead))
	}
	e.clock.Advance(59 * time.Second)
	if early := e.claim(s, "slack", "r2", time.Minute); len(early) != 0 {
		t.Fatalf("claimed inside the lease: %v", summary(early))
	}
	e.clock.Advance(2 * time.Second)
	late := e.claim(s, "slack", "r2", time.Minute)
	if len(late) != 1 || late[0].ID != dead[0].ID {
		t.Fatalf("after the lease: %+v, want the dead claimer's message", late)
	}
	if third := e.claim(s, "slack", "r3", time.Minute); len(third) != 0 {
		t.Errorf("claimed twice after the lease: %v", summary(third))
	}
}

// A delivered message leaves its outbox, its thread becomes the check's,
// and what fn records is kept.
func testAckKeepsThread(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { enqueue(f, "slack", msg("a", alert.KindAlert, now)) })
	m := e.claim(s, "slack", "r1", time.Minute)
	thread := &state.Thread{Channel: "C9", TS: "9.9"}
	if err := s.Ack(e.ctx, m[0], thread, func(f *state.File) {
		f.Count("slack", "alert", true)
		f.RecordDelivery("slack", now, "", true)
	}); err != nil {
		t.Fatal(err)
	}
	f := e.snapshot()
	if got, ok := f.Checks["a"].Thread("slack"); !ok || got != *thread {
		t.Errorf("thread %+v %v", got, ok)
	}
	if f.Waiting() != 0 || len(f.Totals) != 1 || f.Totals[0].Value != 1 || !f.Notifiers["slack"].Up {
		t.Errorf("after the delivery: outboxes %+v, totals %+v, notifiers %+v", f.Outboxes, f.Totals, f.Notifiers)
	}
	// An incomplete thread is not kept: a reply into it would fail.
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { enqueue(f, "slack", msg("a", alert.KindResolved, now)) })
	m = e.claim(s, "slack", "r1", time.Minute)
	// The next message is claimed with the thread it belongs in.
	if m[0].Thread == nil || *m[0].Thread != *thread {
		t.Errorf("claimed with thread %+v, want %+v", m[0].Thread, *thread)
	}
	if err := s.Ack(e.ctx, m[0], &state.Thread{Channel: "C0"}, func(*state.File) {}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.snapshot().Checks["a"].Thread("slack"); got != *thread {
		t.Errorf("an incomplete thread replaced the check's: %+v", got)
	}
}

// A decision that replaces a waiting reminder (the job coalesces them)
// keeps the check's order: the alert before it still goes first.
func testReplacedReminder(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a", "b"}}, func(f *state.File) {
		enqueue(f, "slack", msg("a", alert.KindAlert, now), msg("b", alert.KindAlert, now), msg("a", alert.KindReminder, now))
	})
	later := now.Add(4 * time.Hour)
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) {
		// A store may show more than the scope (the file shows it all).
		box := f.Outbox("slack")
		last := len(box) - 1
		if last < 0 || box[last].Check != "a" || box[last].Kind != alert.KindReminder {
			t.Fatalf("a decision about a sees %+v", box)
		}
		box[last].At = later
	})
	box := e.snapshot().Outbox("slack")
	if len(box) != 3 {
		t.Fatalf("outbox %+v", box)
	}
	var a []state.Pending
	for _, p := range box {
		if p.Check == "a" {
			a = append(a, p)
		}
	}
	if len(a) != 2 || a[0].Kind != alert.KindAlert || a[1].Kind != alert.KindReminder || !a[1].At.Equal(later) {
		t.Errorf("a's messages: %+v", a)
	}
	first := e.claim(s, "slack", "r1", time.Minute)
	if got := summary(first); !slices.Equal(got, []string{"a/alert", "b/alert"}) {
		t.Errorf("claimed %v", got)
	}
}

// A decision whose fn fails leaves the state as it was.
func testFailedDecision(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) {
		enqueue(f, "slack", msg("a", alert.KindAlert, now))
		f.Record(id("a")).FailuresInRow = 1
	})
	before := e.snapshot()
	boom := errors.New("boom")
	err := s.Decide(e.ctx, store.Scope{Checks: []string{"a", "b"}}, func(f *state.File) error {
		f.Record(id("a")).FailuresInRow = 7
		f.Record(id("b"))
		enqueue(f, "slack", msg("b", alert.KindAlert, now))
		f.SetOutbox("slack", f.Outbox("slack")[1:])
		f.Egress = &state.Egress{Since: now, NotifiedAt: now, Checks: 3}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("decide returned %v, want fn's error", err)
	}
	if after := e.snapshot(); !same(t, after, before) {
		t.Errorf("a failed decision changed the state:\n%+v\n%+v", before, after)
	}
	// The session goes on from the state as it was.
	var seen int
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { seen = f.Checks["a"].FailuresInRow })
	if seen != 1 {
		t.Errorf("the next decision saw failures_in_row %d", seen)
	}
}

// Update changes the file-level fields (how silences are added and
// removed), sees no records, and cannot change them.
func testUpdate(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a"}}, func(f *state.File) { enqueue(f, "slack", msg("a", alert.KindAlert, now)) })
	err := s.Update(e.ctx, func(f *state.File) error {
		if len(f.Checks) != 0 || len(f.Outboxes) != 0 {
			t.Errorf("update sees records or messages: %+v", f)
		}
		f.LastSuccess = now
		f.RecordOutput("textfile", now, nil)
		f.Checks["x"] = &state.Record{Type: "courier", Endpoint: "https://x"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := e.snapshot()
	if !f.LastSuccess.Equal(now) || f.Outputs["textfile"].LastSuccess.IsZero() {
		t.Errorf("update lost: %+v", f)
	}
	if f.Checks["x"] != nil || f.Checks["a"] == nil || f.Waiting() != 1 {
		t.Errorf("update changed the records or messages: %+v %+v", f.Checks, f.Outboxes)
	}
	// A failed update writes nothing.
	if err := s.Update(e.ctx, func(f *state.File) error { f.LastSuccess = time.Time{}; return errors.New("no") }); err == nil {
		t.Error("a failed update returned nil")
	}
	if !e.snapshot().LastSuccess.Equal(now) {
		t.Error("a failed update was written")
	}
}

// A decision over every record can drop those of checks no longer
// configured, and the outboxes of notifiers no longer configured.
func testPrune(t *testing.T, e *env) {
	now := e.clock.Now()
	s := e.open()
	e.decide(s, store.Scope{Checks: []string{"a", "gone"}}, func(f *state.File) {
		enqueue(f, "slack", msg("a", alert.KindAlert, now), msg("gone", alert.KindAlert, now))
		enqueue(f, "oldhook", msg("a", alert.KindAlert, now))
	})
	e.decide(s, store.Scope{All: true}, func(f *state.File) {
		if len(f.Checks) != 2 {
			t.Errorf("a decision on everything sees %d records", len(f.Checks))
		}
		f.Prune([]state.Identity{id("a")})
		f.KeepOutboxes([]string{"slack"})
	})
	f := e.snapshot()
	if len(f.Checks) != 1 || f.Checks["a"] == nil || len(f.Outboxes) != 1 || len(f.Outbox("slack")) != 1 {
		t.Errorf("after pruning: %+v %+v", f.Checks, f.Outboxes)
	}
}

// Import copies a whole state in, messages in order with their attempts;
// it refuses when a configured check has a record already.
func testImport(t *testing.T, e *env) {
	now := e.clock.Now()
	in := full(now)
	enqueue(in, "slack", msg("c", alert.KindReminder, now), msg("d", alert.KindAlert, now))
	if err := e.store.Import(e.ctx, in, []string{"c", "d"}); err != nil {
		t.Fatal(err)
	}
	got := e.snapshot()
	got.Version = in.Version
	if !same(t, got, in) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(in)
		t.Errorf("import changed the state:\n got %s\nwant %s", g, w)
	}
	s := e.open()
	if first := e.claim(s, "slack", "r1", time.Minute); !slices.Equal(summary(first), []string{"c/alert", "d/alert"}) {
		t.Errorf("after import, claimed %v", summary(first))
	}
	s.Close()
	err := e.store.Import(e.ctx, state.New(), []string{"x", "d"})
	if !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("a second import returned %v, want ErrNotEmpty", err)
	}
}

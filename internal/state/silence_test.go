package state

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// AddSilence refuses what a silence cannot be, saying what is wrong, and
// keeps what it adds in UTC with a fresh id.
func TestAddSilence(t *testing.T) {
	for _, tc := range []struct {
		name       string
		checks     []string
		until      time.Time
		reason, by string
		wantErr    string
		wantChecks []string
		wantReason string
	}{
		{"one check", []string{"partner-acme"}, now.Add(2 * time.Hour), "maintenance", "alice", "", []string{"partner-acme"}, "maintenance"},
		{"several, sorted and once each", []string{"b", "a", "b"}, now.Add(time.Hour), " window ", "alice", "", []string{"a", "b"}, "window"},
		{"exactly 30 days", []string{"a"}, now.Add(MaxSilence), "r", "alice", "", []string{"a"}, "r"},
		{"more than 30 days", []string{"a"}, now.Add(MaxSilence + time.Second), "r", "alice", "more than the 30 days a silence may last", nil, ""},
		{"until now", []string{"a"}, now, "r", "alice", "until: not after created", nil, ""},
		{"until in the past", []string{"a"}, now.Add(-time.Hour), "r", "alice", "until: not after created", nil, ""},
		{"no check", nil, now.Add(time.Hour), "r", "alice", "checks: a silence of no check", nil, ""},
		{"not a check name", []string{"Partner Acme"}, now.Add(time.Hour), "r", "alice", `checks: "Partner Acme" is not a check name`, nil, ""},
		{"blank reason", []string{"a"}, now.Add(time.Hour), "  ", "alice", "reason: missing", nil, ""},
		{"reason with an escape sequence", []string{"a"}, now.Add(time.Hour), "x\x1b[2J", "alice", "reason: holds a control or formatting character", nil, ""},
		{"reason with a bidi override", []string{"a"}, now.Add(time.Hour), "x\u202ey", "alice", "reason: holds a control or formatting character", nil, ""},
		{"reason too long", []string{"a"}, now.Add(time.Hour), strings.Repeat("x", maxSilenceReason+1), "alice", "reason: 1001 bytes, more than 1000", nil, ""},
		{"no one", []string{"a"}, now.Add(time.Hour), "r", "", "by: missing", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New()
			s, err := f.AddSilence(tc.checks, tc.until, tc.reason, tc.by, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				if len(f.Silences) != 0 {
					t.Errorf("a refused silence was kept: %+v", f.Silences)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !silenceID.MatchString(s.ID) || !slices.Equal(s.Checks, tc.wantChecks) || s.Reason != tc.wantReason ||
				!s.Until.Equal(tc.until) || s.Until.Location() != time.UTC || !s.Created.Equal(now) || s.By != tc.by {
				t.Errorf("silence %+v", s)
			}
			if len(f.Silences) != 1 || f.Silences[0].ID != s.ID {
				t.Errorf("silences kept: %+v", f.Silences)
			}
		})
	}
}

// Ids are unique in the file, and the file holds at most maxSilences.
func TestSilenceIDsAndLimit(t *testing.T) {
	f := New()
	seen := map[string]bool{}
	for i := range maxSilences {
		s, err := f.AddSilence([]string{"a"}, now.Add(time.Hour), "r", "alice", now)
		if err != nil {
			t.Fatalf("silence %d: %v", i, err)
		}
		if seen[s.ID] {
			t.Fatalf("id %s given twice", s.ID)
		}
		seen[s.ID] = true
	}
	if _, err := f.AddSilence([]string{"a"}, now.Add(time.Hour), "r", "alice", now); err == nil || !strings.Contains(err.Error(), "remove some first") {
		t.Errorf("silence %d: err %v, want a refusal", maxSilences+1, err)
	}
	if reason := f.validate(); reason != "" {
		t.Errorf("a full file of silences does not validate: %s", reason)
	}
}

// Which silences are active, which one covers a check, what removing and
// pruning leave, at a given time.
func TestSilencesOverTime(t *testing.T) {
	f := New()
	add := func(checks []string, d time.Duration) Silence {
		t.Helper()
		s, err := f.AddSilence(checks, now.Add(d), "r", "alice", now)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	long := add([]string{"a", "b"}, 3*time.Hour)
	short := add([]string{"a"}, time.Hour)
	other := add([]string{"c"}, 2*time.Hour)

	ids := func(ss []Silence) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		at     time.Time
		active []string
		forA   string // the id of the silence covering a, "" for none
		forC   string
	}{
		{"at once: soonest-ending first; a until the later end", now, []string{short.ID, other.ID, long.ID}, long.ID, other.ID},
		{"at the short one's end: it has ended", now.Add(time.Hour), []string{other.ID, long.ID}, long.ID, other.ID},
		{"after the other's end", now.Add(150 * time.Minute), []string{long.ID}, long.ID, ""},
		{"after every end", now.Add(3 * time.Hour), nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(f.ActiveSilences(tc.at)); !slices.Equal(got, tc.active) {
				t.Errorf("active %v, want %v", got, tc.active)
			}
			for check, want := range map[string]string{"a": tc.forA, "c": tc.forC, "z": ""} {
				s, ok := f.SilenceFor(check, tc.at)
				if ok != (want != "") || s.ID != want {
					t.Errorf("SilenceFor(%s) = %s %v, want %q", check, s.ID, ok, want)
				}
			}
		})
	}

	if f.RemoveSilence("00000000") {
		t.Error("removed a silence that is not there")
	}
	if !f.RemoveSilence(long.ID) {
		t.Error("did not remove the long silence")
	}
	if s, ok := f.SilenceFor("a", now); !ok || s.ID != short.ID {
		t.Errorf("after removing the long one, a is covered by %s %v, want %s", s.ID, ok, short.ID)
	}
	f.PruneSilences(now.Add(time.Hour))
	if got := ids(f.Silences); !slices.Equal(got, []string{other.ID}) {
		t.Errorf("after pruning at the short one's end: %v, want %v", got, []string{other.ID})
	}
	f.PruneSilences(now.Add(2 * time.Hour))
	if f.Silences != nil {
		t.Errorf("after pruning every one: %+v", f.Silences)
	}
}

// Silences survive a save and a load as they were added; a state without
// any does not mention them.
func TestSilencesRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, _, err := s.Load(now)
	if err != nil {
		t.Fatal(err)
	}
	data, err := encode(f)
	if err != nil || strings.Contains(string(data), "silences") {
		t.Errorf("a state without silences writes some: %s (%v)", data, err)
	}
	added, err := f.AddSilence([]string{"partner-acme", "courier-main"}, now.Add(2*time.Hour), "acme maintenance", "alice", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	g, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil {
		t.Fatalf("load: %v %+v", err, corrupt)
	}
	if len(g.Silences) != 1 {
		t.Fatalf("silences after the round trip: %+v", g.Silences)
	}
	got := g.Silences[0]
	if got.ID != added.ID || !slices.Equal(got.Checks, added.Checks) || !got.Until.Equal(added.Until) ||
		got.Reason != added.Reason || got.By != added.By || !got.Created.Equal(added.Created) {
		t.Errorf("silence after the round trip %+v, want %+v", got, added)
	}
}

// A hand-edited silence that is not one AddSilence could have made makes
// the file corrupt, naming the field.
func TestSilenceCorruptFiles(t *testing.T) {
	const silence = `{"id":"0a1b2c3d","checks":["partner-acme"],"until":"2026-11-21T11:00:00Z","reason":"acme maintenance","by":"alice","created":"2026-11-21T09:00:00Z"}`
	with := func(silences ...string) string {
		return `{"version":2,"checks":{},"silences":[` + strings.Join(silences, ",") + `]}`
	}
	for _, tc := range []struct{ name, content, reason string }{
		{"id not hex", with(replace(silence, `0a1b2c3d`, `0a1b2c3g`)), `silences[0].id: "0a1b2c3g" is not 8 lower-case hex digits`},
		{"id upper case", with(replace(silence, `0a1b2c3d`, `0A1B2C3D`)), `silences[0].id: "0A1B2C3D"`},
		{"id too long", with(replace(silence, `0a1b2c3d`, `0a1b2c3d0`)), `silences[0].id:`},
		{"id twice", with(silence, silence), "silences[1].id: 0a1b2c3d is used twice"},
		{"no checks", with(replace(silence, `["partner-acme"]`, `[]`)), "silences[0].checks: a silence of no check"},
		{"null checks", with(replace(silence, `["partner-acme"]`, `null`)), "silences[0].checks: a silence of no check"},
		{"a check that is no name", with(replace(silence, `"partner-acme"`, `"../etc"`)), `silences[0].checks: "../etc" is not a check name`},
		{"blank reason", with(replace(silence, `"acme maintenance"`, `" "`)), "silences[0].reason: missing"},
		{"reason with an escape", with(replace(silence, `"acme maintenance"`, `"\u001b[31mred"`)), "silences[0].reason: holds a control"},
		{"no by", with(replace(silence, `"by":"alice",`, ``)), "silences[0].by: missing"},
		{"no created", with(replace(silence, `,"created":"2026-11-21T09:00:00Z"`, ``)), "silences[0].created: missing"},
		{"until before created", with(replace(silence, `"until":"2026-11-21T11:00:00Z"`, `"until":"2026-11-21T08:00:00Z"`)), "silences[0].until: not after created"},
		{"until a year on", with(replace(silence, `"until":"2026-11-21T11:00:00Z"`, `"until":"2027-11-21T11:00:00Z"`)), "silences[0].until: 8762h0m0s after created, more than the 30 days"},
		{"an unknown field", with(replace(silence, `"by":"alice"`, `"by":"alice","scope":"all"`)), `unknown field "scope"`},
		{"not a list", `{"version":2,"checks":{},"silences":{"x":1}}`, "does not match the state format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, c, err := Peek(path); err != nil || c == nil || !strings.Contains(c.Reason, tc.reason) {
				t.Errorf("corruption %+v, err %v; want a reason saying %q", c, err, tc.reason)
			}
		})
	}
	// Too many silences, each valid on its own.
	many := make([]string, maxSilences+1)
	for i := range many {
		many[i] = replace(silence, `0a1b2c3d`, fmt.Sprintf("%08x", i))
	}
	if _, _, reason, _ := decode([]byte(with(many...))); !strings.Contains(reason, "silences: 1001, more than the 1000") {
		t.Errorf("%d silences: reason %q", len(many), reason)
	}
	// And the well-formed one is read as it is.
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, []byte(with(silence)), 0o600); err != nil {
		t.Fatal(err)
	}
	if f, c, err := Peek(path); err != nil || c != nil || len(f.Silences) != 1 || f.Silences[0].ID != "0a1b2c3d" {
		t.Errorf("a valid silence: %+v %+v %v", f.Silences, c, err)
	}
}

// Of two silences of a check that end together, SilenceFor names the same
// one whatever their order in the file.
func TestSilenceForTieDoesNotDependOnOrder(t *testing.T) {
	a := Silence{ID: "0000000a", Checks: []string{"c"}, Until: now.Add(time.Hour), Reason: "a", By: "x", Created: now}
	b := Silence{ID: "0000000b", Checks: []string{"c"}, Until: now.Add(time.Hour), Reason: "b", By: "x", Created: now}
	for _, order := range [][]Silence{{a, b}, {b, a}} {
		f := &File{Silences: order}
		if s, ok := f.SilenceFor("c", now); !ok || s.ID != b.ID {
			t.Errorf("order %s,%s: SilenceFor = %s %v, want %s", order[0].ID, order[1].ID, s.ID, ok, b.ID)
		}
	}
}

// BenchmarkSilenceFor is a run's question for each of 10,000 checks, with
// the most silences a state keeps.
func BenchmarkSilenceFor(b *testing.B) {
	f := New()
	for i := range maxSilences {
		if _, err := f.AddSilence([]string{fmt.Sprintf("c%d", i), "shared"}, now.Add(time.Duration(i+1)*time.Minute), "r", "x", now); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		for i := range 10000 {
			f.SilenceFor(fmt.Sprintf("c%d", i), now)
		}
	}
}

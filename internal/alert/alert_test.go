package alert

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// step is one result fed to Evaluate: an outcome at minutes after t0, and
// the decisions expected ("" for none; "alert", "reminder", "resolved").
type step struct {
	outcome checks.Outcome
	at      int // minutes after t0
	want    string
}

func run(t *testing.T, s Settings, start Track, steps []step) Track {
	t.Helper()
	tr := start
	for i, st := range steps {
		r := checks.Result{Check: "c", Type: "courier", Outcome: st.outcome, Fingerprint: "aaaa1111"}
		var ds []Decision
		tr, ds = Evaluate(tr, r, s, t0.Add(time.Duration(st.at)*time.Minute))
		var kinds []string
		for _, d := range ds {
			kinds = append(kinds, string(d.Kind))
		}
		if got := strings.Join(kinds, ","); got != st.want {
			t.Fatalf("step %d (%s at +%dm): decisions %q, want %q", i, st.outcome, st.at, got, st.want)
		}
	}
	return tr
}

const (
	ok  = checks.OK
	inv = checks.Invalid
	fbd = checks.Forbidden
	una = checks.Unavailable
	bad = checks.BadResponse
)

func TestEvaluate(t *testing.T) {
	def := DefaultSettings // 1 / 3 / resolve 1 / 4h / resolved on
	noResolved := def
	noResolved.SendResolved = false
	noRepeat := def
	noRepeat.RepeatEvery = 0
	resolve2 := def
	resolve2.ResolveAfter = 2
	failures2 := def
	failures2.AfterFailures = 2

	tests := []struct {
		name  string
		s     Settings
		steps []step
	}{
		{"ok stays quiet", def, []step{{ok, 0, ""}, {ok, 5, ""}}},
		{"invalid alerts at once", def, []step{{inv, 0, "alert"}}},
		{"forbidden alerts at once", def, []step{{fbd, 0, "alert"}}},
		{"unavailable alerts on the third in a row", def, []step{{una, 0, ""}, {una, 5, ""}, {una, 10, "alert"}}},
		{"bad_response alerts on the third in a row", def, []step{{bad, 0, ""}, {bad, 5, ""}, {bad, 10, "alert"}}},
		{"an ok breaks the outage streak", def, []step{{una, 0, ""}, {una, 5, ""}, {ok, 10, ""}, {una, 15, ""}, {una, 20, ""}}},
		{"a mix of failures counts in a row", def, []step{{una, 0, ""}, {bad, 5, ""}, {una, 10, "alert"}}},
		{"same outcome: no repeat before repeat_every", def, []step{{inv, 0, "alert"}, {inv, 5, ""}, {inv, 235, ""}}},
		{"same outcome: reminder at repeat_every", def, []step{{inv, 0, "alert"}, {inv, 120, ""}, {inv, 240, "reminder"}, {inv, 245, ""}, {inv, 480, "reminder"}}},
		{"repeat_every 0 never reminds", noRepeat, []step{{inv, 0, "alert"}, {inv, 240, ""}, {inv, 10000, ""}}},
		{"resolve after one ok", def, []step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {ok, 10, ""}}},
		{"send_resolved false resolves silently", noResolved, []step{{inv, 0, "alert"}, {ok, 5, ""}, {inv, 10, "alert"}}},
		{"resolve_after 2 needs two oks", resolve2, []step{{inv, 0, "alert"}, {ok, 5, ""}, {ok, 10, "resolved"}}},
		{"resolve_after 2: a failure in between restarts the count", resolve2, []step{{inv, 0, "alert"}, {ok, 5, ""}, {inv, 10, ""}, {ok, 15, ""}, {ok, 20, "resolved"}}},
		{"unavailable then invalid is a new alert", def, []step{{una, 0, ""}, {una, 5, ""}, {una, 10, "alert"}, {inv, 15, "alert"}}},
		{"invalid then unavailable alerts once the streak reaches 3", def, []step{{inv, 0, "alert"}, {una, 5, ""}, {una, 10, "alert"}, {una, 15, ""}}},
		{"invalid then forbidden is a new alert", def, []step{{inv, 0, "alert"}, {fbd, 5, "alert"}}},
		{"flap back to the alerted outcome is no new alert", def, []step{{inv, 0, "alert"}, {una, 5, ""}, {inv, 10, ""}}},
		{"after_failures 2", failures2, []step{{inv, 0, ""}, {inv, 5, "alert"}}},
		{"after_failures 2 counts outages before it", failures2, []step{{una, 0, ""}, {inv, 5, "alert"}}},
		{"a new incident after resolution", def, []step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {una, 10, ""}, {una, 15, ""}, {una, 20, "alert"}}},
		{"reminder clock restarts on a changed outcome", def, []step{{una, 0, ""}, {una, 5, ""}, {una, 10, "alert"}, {inv, 200, "alert"}, {inv, 250, ""}, {inv, 440, "reminder"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { run(t, tc.s, Track{}, tc.steps) })
	}
}

func TestDecisionContent(t *testing.T) {
	s := DefaultSettings
	var tr Track
	res := func(o checks.Outcome, fp string) checks.Result {
		return checks.Result{Check: "courier-main", Type: "courier", Endpoint: "courier.yandex.ru", Outcome: o, HTTPStatus: 401, Detail: "token rejected", Fingerprint: fp}
	}
	tr, _ = Evaluate(tr, res(una, "aaaa1111"), s, t0)
	tr, ds := Evaluate(tr, res(inv, "aaaa1111"), s, t0.Add(5*time.Minute))
	if len(ds) != 1 {
		t.Fatalf("decisions %v", ds)
	}
	a := ds[0]
	if a.Kind != KindAlert || !a.NewThread || !a.Since.Equal(t0) || a.FailuresInRow != 2 || a.HTTPStatus != 401 || a.Endpoint != "courier.yandex.ru" {
		t.Errorf("alert %+v: want a new-thread alert since the first failure, 2 in a row", a)
	}
	for i := 1; i <= 48; i++ {
		tr, ds = Evaluate(tr, res(inv, "aaaa1111"), s, t0.Add(5*time.Minute+time.Duration(i)*5*time.Minute))
	}
	if len(ds) != 1 || ds[0].Kind != KindReminder || ds[0].Checks != 49 || ds[0].NewThread {
		t.Fatalf("after 4h: %+v, want a reminder counting 49 checks", ds)
	}
	// The token is rotated but still rejected: the next message says so.
	tr, ds = Evaluate(tr, res(inv, "bbbb2222"), s, t0.Add(5*time.Hour))
	if len(ds) != 0 || tr.RotatedFrom != "aaaa1111" {
		t.Fatalf("rotation: decisions %v, rotated from %q", ds, tr.RotatedFrom)
	}
	tr, ds = Evaluate(tr, res(ok, "bbbb2222"), s, t0.Add(5*time.Hour+5*time.Minute))
	if len(ds) != 1 || ds[0].Kind != KindResolved || ds[0].Previous != inv || ds[0].RotatedFrom != "aaaa1111" || !ds[0].Since.Equal(t0) {
		t.Fatalf("resolved %+v: want previous invalid, since t0, rotated from aaaa1111", ds)
	}
	if tr.RotatedFrom != "" || tr.Active != nil || tr.FailuresInRow != 0 || tr.OKsInRow != 1 {
		t.Errorf("track after resolution %+v", tr)
	}
}

func TestEvaluateDoesNotMutateItsInput(t *testing.T) {
	tr, _ := Evaluate(Track{}, checks.Result{Outcome: inv}, DefaultSettings, t0)
	before := *tr.Active
	Evaluate(tr, checks.Result{Outcome: inv}, DefaultSettings, t0.Add(5*time.Hour))
	if *tr.Active != before {
		t.Errorf("Evaluate changed the track it was given")
	}
}

// Every decision carries the check's owner and team from its result: an
// alert, a changed outcome, a reminder and a resolution alike, so that a
// notifier routes and names the owner from the decision alone.
func TestDecisionsCarryOwnerAndTeam(t *testing.T) {
	s := DefaultSettings
	tr := Track{}
	var got []Decision
	for i, o := range []checks.Outcome{inv, fbd, fbd, ok} {
		r := checks.Result{Check: "c", Type: "courier", Outcome: o, Owner: "@acme-integration", Team: "partners"}
		var ds []Decision
		tr, ds = Evaluate(tr, r, s, t0.Add(time.Duration(i)*5*time.Hour))
		got = append(got, ds...)
	}
	if len(got) != 4 {
		t.Fatalf("%d decisions, want alert, alert, reminder, resolved", len(got))
	}
	for _, d := range got {
		if d.Owner != "@acme-integration" || d.Team != "partners" {
			t.Errorf("%s: owner %q team %q", d.Kind, d.Owner, d.Team)
		}
	}
}

// held is the same outcome every 5 minutes from minute from to minute to,
// both included, with no message expected.
func held(o checks.Outcome, from, to int) []step {
	var out []step
	for at := from; at <= to; at += 5 {
		out = append(out, step{o, at, ""})
	}
	return out
}

// steps joins runs of steps.
func steps(runs ...[]step) []step {
	var out []step
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

// The flapping rule with an injected clock (5-minute runs unless said):
// 4 changes within 1h by default, then quiet until an outcome holds 1h.
func TestFlapping(t *testing.T) {
	def := DefaultSettings
	off := def
	off.FlapChanges = 0
	one := def
	one.FlapChanges = 1
	patient := def
	patient.AfterOutages = 20
	resolve2 := def
	resolve2.ResolveAfter = 2

	tests := []struct {
		name     string
		s        Settings
		steps    []step
		flapping bool // at the end
	}{
		{"three changes in an hour are not flapping", def,
			[]step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}}, false},
		{"the fourth change sends one flapping message instead of the alert", def,
			[]step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "flapping"},
				{ok, 25, ""}, {inv, 30, ""}, {ok, 35, ""}, {inv, 40, ""}}, true},
		{"a first result is not a change", one,
			[]step{{inv, 0, "alert"}, {inv, 5, ""}, {ok, 10, "flapping"}}, true},
		{"changes older than the window do not count", def,
			[]step{{inv, 0, "alert"}, {ok, 30, "resolved"}, {inv, 60, "alert"}, {ok, 90, "resolved"}, {inv, 120, "alert"}, {ok, 150, "resolved"}}, false},
		{"flap_changes 0 turns it off", off,
			[]step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "alert"}, {ok, 25, "resolved"}}, false},
		{"settles failing past its threshold: one new alert after the window", def, steps(
			[]step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "flapping"}, {ok, 25, ""}},
			held(inv, 30, 85), []step{{inv, 90, "alert"}}, held(inv, 95, 325), []step{{inv, 330, "reminder"}}), false},
		{"settles ok after an alert: one resolution after the window", def, steps(
			[]step{{ok, 0, ""}, {inv, 5, "alert"}, {una, 10, ""}, {inv, 15, ""}, {ok, 20, "flapping"}},
			held(ok, 25, 75), []step{{ok, 80, "resolved"}}, held(ok, 85, 100)), false},
		{"settles ok with nothing told: one resolution says so, then the rules resume", def, steps(
			[]step{{una, 0, ""}, {ok, 5, ""}, {una, 10, ""}, {ok, 15, ""}, {una, 20, "flapping"}},
			held(ok, 25, 80), []step{{ok, 85, "resolved"}, {una, 90, ""}, {una, 95, ""}, {una, 100, "alert"}}), false},
		{"no reminder while flapping; settling on the open alert's outcome alerts again", resolve2, steps(
			[]step{{inv, 0, "alert"}, {ok, 5, ""}, {inv, 10, ""}, {ok, 15, ""}, {inv, 20, "flapping"},
				{ok, 70, ""}, {inv, 120, ""}, {ok, 170, ""}, {inv, 220, ""}, {ok, 245, ""}, {inv, 250, ""}, {inv, 305, ""},
				{inv, 310, "alert"}, {inv, 315, ""}, {inv, 545, ""}, {inv, 550, "reminder"}}), false},
		{"settling failing below its threshold still alerts: it held for the whole window", patient, steps(
			[]step{{ok, 0, ""}, {una, 5, ""}, {ok, 10, ""}, {una, 15, ""}, {ok, 20, "flapping"}},
			held(una, 25, 80), []step{{una, 85, "alert"}}, held(una, 90, 115), []step{{una, 120, ""}}), false},
		{"flapping again after settling", def, steps(
			[]step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "flapping"}},
			held(inv, 25, 75), []step{{inv, 80, "alert"}, {ok, 85, "resolved"}, {inv, 90, "alert"}, {ok, 95, "resolved"}, {inv, 100, "flapping"}}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := run(t, tc.s, Track{}, tc.steps)
			if tr.Flapping() != tc.flapping {
				t.Errorf("flapping %v at the end, want %v", tr.Flapping(), tc.flapping)
			}
			if tc.s.FlapChanges > 0 && len(tr.Changes) > tc.s.FlapChanges {
				t.Errorf("%d changes kept, want at most %d", len(tr.Changes), tc.s.FlapChanges)
			}
		})
	}
}

// Turning flapping off (flap_changes 0) ends it at once: the rules apply
// to the next result as to any track.
func TestFlappingTurnedOffMidway(t *testing.T) {
	tr := run(t, DefaultSettings, Track{}, []step{{inv, 0, "alert"}, {ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "flapping"}})
	off := DefaultSettings
	off.FlapChanges = 0
	tr = run(t, off, tr, []step{{ok, 25, ""}, {inv, 30, "alert"}})
	if tr.Flapping() || tr.Changes != nil {
		t.Errorf("flapping since %v, changes %v: want neither with flapping off", tr.FlappingSince, tr.Changes)
	}
}

// The flapping message says since when, between which outcomes (in the
// order the check took them), how many changes within what window.
func TestFlappingDecisionContent(t *testing.T) {
	var tr Track
	var got []Decision
	for i, o := range []checks.Outcome{una, inv, ok, inv, una} {
		r := checks.Result{Check: "partner-acme", Type: "partner_oauth", Outcome: o, Owner: "@acme", Fingerprint: "aaaa1111"}
		var ds []Decision
		tr, ds = Evaluate(tr, r, DefaultSettings, t0.Add(time.Duration(i)*10*time.Minute))
		got = append(got, ds...)
	}
	// invalid at +10m alerts, ok at +20m resolves, invalid at +30m alerts;
	// the 4th change flaps.
	if len(got) != 4 || got[3].Kind != KindFlapping {
		t.Fatalf("decisions %+v, want alert, resolved, alert, flapping", got)
	}
	d := got[3]
	wantOutcomes := []checks.Outcome{una, inv, ok}
	if !slices.Equal(d.Outcomes, wantOutcomes) || d.Changes != 4 || d.FlapWindow != time.Hour || d.Outcome != una || d.Previous != inv ||
		!d.Since.Equal(t0.Add(10*time.Minute)) || !d.At.Equal(t0.Add(40*time.Minute)) || d.Owner != "@acme" || d.NewThread {
		t.Errorf("flapping decision %+v", d)
	}
	if !tr.FlappingSince.Equal(t0.Add(40 * time.Minute)) {
		t.Errorf("flapping since %v", tr.FlappingSince)
	}
}

// The changes a track keeps are its own: Evaluate never writes into the
// slice of the track it was given.
func TestEvaluateDoesNotMutateChanges(t *testing.T) {
	s := DefaultSettings
	s.FlapChanges = 2
	tr := run(t, s, Track{}, []step{{inv, 0, "alert"}, {ok, 5, "resolved"}})
	before := slices.Clone(tr.Changes)
	Evaluate(tr, checks.Result{Outcome: inv}, s, t0.Add(10*time.Minute))
	Evaluate(tr, checks.Result{Outcome: una}, s, t0.Add(10*time.Minute))
	if !slices.Equal(tr.Changes, before) {
		t.Errorf("changes %v became %v", before, tr.Changes)
	}
}

// A track that never flapped is saved as before: the new keys are omitted.
func TestTrackJSONOmitsFlappingWhenNone(t *testing.T) {
	tr := run(t, DefaultSettings, Track{}, []step{{inv, 0, "alert"}})
	b, err := json.Marshal(tr)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"changes"`, `"flapping_since"`} {
		if strings.Contains(string(b), key) {
			t.Errorf("%s in %s", key, b)
		}
	}
	tr = run(t, DefaultSettings, tr, []step{{ok, 5, "resolved"}, {inv, 10, "alert"}, {ok, 15, "resolved"}, {inv, 20, "flapping"}})
	b, _ = json.Marshal(tr)
	var back Track
	if err := json.Unmarshal(b, &back); err != nil || len(back.Changes) != 4 || !back.FlappingSince.Equal(tr.FlappingSince) {
		t.Errorf("round trip of %s: %+v, %v", b, back, err)
	}
}

package alert

import (
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

package alert

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

// mstep is a step run under the test's mute (muted) or under none.
type mstep struct {
	outcome checks.Outcome
	at      int // minutes after t0
	muted   bool
	want    string // decisions, as in step
}

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// runMuted feeds the steps to EvaluateMuted, m on the muted ones, and
// returns the last track and every decision made.
func runMuted(t *testing.T, s Settings, m Mute, steps []mstep) (Track, []Decision) {
	t.Helper()
	var tr Track
	var all []Decision
	for i, st := range steps {
		r := checks.Result{Check: "c", Type: "courier", Outcome: st.outcome, Fingerprint: "aaaa1111"}
		mute := Mute{}
		if st.muted {
			mute = m
		}
		var ds []Decision
		tr, ds = EvaluateMuted(tr, r, s, mute, at(st.at))
		var kinds []string
		for _, d := range ds {
			kinds = append(kinds, string(d.Kind))
		}
		if got := strings.Join(kinds, ","); got != st.want {
			t.Fatalf("step %d (%s at +%dm, muted %v): decisions %q, want %q", i, st.outcome, st.at, st.muted, got, st.want)
		}
		all = append(all, ds...)
	}
	return tr, all
}

// every is the outcome o every 5 minutes from minute from to minute to,
// both included, muted or not, with no message expected.
func every(o checks.Outcome, from, to int, muted bool) []mstep {
	var out []mstep
	for m := from; m <= to; m += 5 {
		out = append(out, mstep{o, m, muted, ""})
	}
	return out
}

func msteps(runs ...[]mstep) []mstep {
	var out []mstep
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

// The silence rules of the package doc, with 5-minute runs and the
// default settings unless said. The silence lasts until +60m (+300m for
// the long one); its steps are marked muted.
func TestSilence(t *testing.T) {
	def := DefaultSettings
	noResolved := def
	noResolved.SendResolved = false
	silence := Mute{Until: at(60), Reason: "ACME maintenance", By: "alice"}
	long := Mute{Until: at(300), Reason: "ACME migration", By: "bob"}

	tests := []struct {
		name  string
		s     Settings
		m     Mute
		steps []mstep
		// the last track: an alert open on outcome active ("" none)
		active checks.Outcome
	}{
		{"starts mid-alert, ends still failing: one alert, reminders restart from it", def, long, msteps(
			[]mstep{{inv, 0, false, "alert"}}, every(inv, 5, 295, true),
			[]mstep{{inv, 300, false, "alert"}}, every(inv, 305, 535, false), []mstep{{inv, 540, false, "reminder"}}), inv},
		{"resolution during the silence is sent", def, silence, msteps(
			[]mstep{{inv, 0, false, "alert"}}, every(inv, 5, 25, true), []mstep{{ok, 30, true, "resolved"}},
			every(ok, 35, 55, true), every(ok, 60, 70, false)), ""},
		{"resolution during the silence, send_resolved off: resolved quietly", noResolved, silence, msteps(
			[]mstep{{inv, 0, false, "alert"}, {ok, 30, true, ""}}, every(ok, 35, 55, true), every(ok, 60, 70, false)), ""},
		{"threshold reached and resolved during the silence: nothing, ever", def, silence, msteps(
			every(una, 0, 25, true), every(ok, 30, 55, true), every(ok, 60, 70, false)), ""},
		{"threshold reached during the silence, still failing at its end: one new alert", def, silence, msteps(
			every(una, 0, 55, true), []mstep{{una, 60, false, "alert"}}, every(una, 65, 80, false)), una},
		{"failing below the threshold at the end: the alert comes at the threshold", def, silence, msteps(
			every(ok, 0, 50, true), every(una, 55, 55, true), []mstep{{una, 60, false, ""}, {una, 65, false, "alert"}}), una},
		{"ends with the check ok after an alert: the resolution was said, nothing more", def, silence, msteps(
			[]mstep{{inv, 0, false, "alert"}}, every(inv, 5, 25, true),
			[]mstep{{ok, 30, true, "resolved"}}, every(ok, 35, 55, true), every(ok, 60, 65, false)), ""},
		{"outcome changed during the silence: no alert then, one at the end", def, silence, msteps(
			[]mstep{{inv, 0, false, "alert"}}, every(una, 5, 55, true), []mstep{{una, 60, false, "alert"}}), una},
		{"a new alert during the silence opens nothing", def, silence, msteps(
			[]mstep{{una, 0, false, ""}, {una, 5, false, ""}}, every(una, 10, 55, true), []mstep{{una, 60, false, "alert"}}), una},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := runMuted(t, tc.s, tc.m, tc.steps)
			switch {
			case tc.active == "" && tr.Active != nil:
				t.Errorf("alert open on %s, want none", tr.Active.Outcome)
			case tc.active != "" && (tr.Active == nil || tr.Active.Outcome != tc.active):
				t.Errorf("alert %+v, want one open on %s", tr.Active, tc.active)
			}
			if tr.Silenced != nil {
				t.Errorf("still remembered as silenced by %+v after the silence", tr.Silenced)
			}
		})
	}
}

// The messages say the silence: a resolution during it names until when,
// why and by whom; the alert at its end says it was silenced until then,
// in the open incident's thread when there was one, else a new one.
func TestSilenceDecisionContent(t *testing.T) {
	m := Mute{Until: at(60), Reason: "ACME maintenance", By: "alice"}
	_, ds := runMuted(t, DefaultSettings, m, msteps(
		[]mstep{{inv, 0, false, "alert"}}, every(inv, 5, 25, true), []mstep{{ok, 30, true, "resolved"}}))
	r := ds[1]
	if r.Silence == nil || *r.Silence != m || r.SilenceEnded || r.Previous != inv {
		t.Errorf("resolution during the silence: silence %+v ended %v previous %s", r.Silence, r.SilenceEnded, r.Previous)
	}

	tr, ds := runMuted(t, DefaultSettings, m, msteps(
		[]mstep{{inv, 0, false, "alert"}}, every(una, 5, 55, true), []mstep{{una, 60, false, "alert"}}))
	a := ds[1]
	if a.Silence == nil || !a.Silence.Until.Equal(at(60)) || a.Silence.Reason != "ACME maintenance" || !a.SilenceEnded {
		t.Errorf("alert at the end: silence %+v ended %v", a.Silence, a.SilenceEnded)
	}
	if a.NewThread || a.Previous != inv || a.Outcome != una || !a.Since.Equal(t0) || a.FailuresInRow != 13 || a.Checks != 13 {
		t.Errorf("alert at the end %+v: want the open incident's thread, from invalid to unavailable, since t0, 13 in a row and 13 checks", a)
	}
	if !tr.Active.LastNotified.Equal(at(60)) || !tr.Active.FiredAt.Equal(t0) {
		t.Errorf("active %+v: the reminder clock restarts at the alert, the incident fired at t0", tr.Active)
	}

	_, ds = runMuted(t, DefaultSettings, m, msteps(every(una, 0, 55, true), []mstep{{una, 60, false, "alert"}}))
	if a := ds[0]; !a.NewThread || !a.SilenceEnded || !a.Since.Equal(t0) {
		t.Errorf("threshold reached in the silence: alert %+v, want a new incident since t0 that says the silence ended", a)
	}
}

// A silence removed early ends at the first result without it: the
// message says it was silenced until then, not until the planned end.
func TestSilenceEndedEarly(t *testing.T) {
	m := Mute{Until: at(600), Reason: "ACME maintenance", By: "alice"}
	_, ds := runMuted(t, DefaultSettings, m, msteps(
		[]mstep{{inv, 0, false, "alert"}}, every(inv, 5, 25, true), []mstep{{inv, 30, false, "alert"}}))
	if got := ds[1].Silence.Until; !got.Equal(at(30)) {
		t.Errorf("silenced until %s, want %s (ended early)", got, at(30))
	}
}

// A maintenance window opening and closing across runs is a silence whose
// messages name the window; the next window is a silence again.
func TestMaintenanceWindowAcrossRuns(t *testing.T) {
	window := func(until int) Mute {
		return Mute{Until: at(until), Reason: "CRON_TZ=Europe/Moscow 0 2 * * *", Window: true}
	}
	s := DefaultSettings
	var tr Track
	var said []Decision
	// Open at +10m until +130m, and again at +1440m for a day's runs.
	runs := []struct {
		outcome checks.Outcome
		at      int
		m       Mute
		want    string
	}{
		{inv, 0, Mute{}, "alert"}, {inv, 10, window(130), ""}, {inv, 125, window(130), ""},
		{inv, 130, Mute{}, "alert"}, {inv, 1440, window(1560), ""}, {ok, 1445, window(1560), "resolved"},
		{inv, 1450, window(1560), ""}, {una, 1455, window(1560), ""}, {una, 1460, window(1560), ""}, {ok, 1560, Mute{}, ""},
	}
	for i, r := range runs {
		var ds []Decision
		tr, ds = EvaluateMuted(tr, checks.Result{Check: "c", Type: "courier", Outcome: r.outcome}, s, r.m, at(r.at))
		var kinds []string
		for _, d := range ds {
			kinds = append(kinds, string(d.Kind))
		}
		if got := strings.Join(kinds, ","); got != r.want {
			t.Fatalf("run %d at +%dm: %q, want %q", i, r.at, got, r.want)
		}
		said = append(said, ds...)
	}
	if a := said[1]; !a.SilenceEnded || !a.Silence.Window || !a.Silence.Until.Equal(at(130)) {
		t.Errorf("alert after the window: %+v", a.Silence)
	}
	if r := said[2]; r.SilenceEnded || !r.Silence.Window || r.Silence.Reason != "CRON_TZ=Europe/Moscow 0 2 * * *" {
		t.Errorf("resolution in the window: %+v", r.Silence)
	}
	if tr.Active != nil || tr.Silenced != nil {
		t.Errorf("track %+v: the invalid and unavailable of the second window opened nothing", tr)
	}
}

// Flapping while silenced: the track flaps (and its metric moves) but no
// flapping message is sent; still flapping when the silence ends, one
// flapping message says so; settled failing during the silence, one alert.
func TestFlappingWhileSilenced(t *testing.T) {
	m := Mute{Until: at(60), Reason: "ACME maintenance", By: "alice"}
	flips := []mstep{{inv, 0, true, ""}, {ok, 5, true, ""}, {inv, 10, true, ""}, {ok, 15, true, ""}, {inv, 20, true, ""}}

	tr, _ := runMuted(t, DefaultSettings, m, flips)
	if !tr.Flapping() || tr.Active != nil {
		t.Fatalf("after 4 changes in the silence: flapping %v, active %+v", tr.Flapping(), tr.Active)
	}

	_, ds := runMuted(t, DefaultSettings, m, msteps(flips,
		[]mstep{{ok, 25, true, ""}, {inv, 30, true, ""}, {ok, 55, true, ""}, {inv, 60, false, "flapping"}, {ok, 65, false, ""}}))
	if d := ds[0]; !d.SilenceEnded || len(d.Outcomes) != 2 || d.Changes != 4 {
		t.Errorf("flapping at the end of the silence: %+v", d)
	}

	long := Mute{Until: at(120), Reason: "ACME maintenance", By: "alice"}
	tr, _ = runMuted(t, DefaultSettings, long, msteps(flips, every(inv, 25, 115, true), []mstep{{inv, 120, false, "alert"}}))
	if tr.Flapping() || tr.Active == nil {
		t.Errorf("settled failing in the silence: flapping %v, active %+v", tr.Flapping(), tr.Active)
	}
}

// A rotation during a silence is still mentioned by the first message
// after it, though the alert the silence held back would have said it.
func TestRotationDuringSilence(t *testing.T) {
	m := Mute{Until: at(60), Reason: "r", By: "b"}
	res := func(o checks.Outcome, fp string) checks.Result {
		return checks.Result{Check: "c", Type: "courier", Outcome: o, Fingerprint: fp}
	}
	tr, _ := EvaluateMuted(Track{}, res(inv, "aaaa1111"), DefaultSettings, Mute{}, t0)
	tr, _ = EvaluateMuted(tr, res(fbd, "bbbb2222"), DefaultSettings, m, at(5)) // would alert: forbidden now
	tr, _ = EvaluateMuted(tr, res(fbd, "bbbb2222"), DefaultSettings, m, at(10))
	_, ds := EvaluateMuted(tr, res(fbd, "bbbb2222"), DefaultSettings, Mute{}, at(60))
	if len(ds) != 1 || ds[0].RotatedFrom != "aaaa1111" || ds[0].Previous != inv {
		t.Errorf("after the silence: %+v, want an alert from invalid that mentions the rotation from aaaa1111", ds)
	}
}

// EvaluateMuted leaves the track it was given as it was.
func TestEvaluateMutedDoesNotMutateItsInput(t *testing.T) {
	m := Mute{Until: at(60), Reason: "r", By: "b"}
	tr, _ := Evaluate(Track{}, checks.Result{Outcome: inv}, DefaultSettings, t0)
	before := *tr.Active
	muted, _ := EvaluateMuted(tr, checks.Result{Outcome: una}, DefaultSettings, m, at(5))
	EvaluateMuted(muted, checks.Result{Outcome: una}, DefaultSettings, Mute{}, at(60))
	if *tr.Active != before || *muted.Silenced != m {
		t.Errorf("EvaluateMuted changed the track it was given")
	}
}

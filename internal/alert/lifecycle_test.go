package alert

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
)

const day = 24 * time.Hour

// lifeRun feeds EvaluateLifecycle one result every `every` from start to
// end (end excluded) and returns the kinds decided ("rotate",
// "resolved:rotate", ...) with the lifecycle it ends with.
func lifeRun(t *testing.T, l Lifecycle, r checks.Result, s LifecycleSettings, start time.Time, every, span time.Duration) (Lifecycle, []string) {
	t.Helper()
	var kinds []string
	for at := start; at.Before(start.Add(span)); at = at.Add(every) {
		var ds []Decision
		l, ds, _ = EvaluateLifecycle(l, r, s, at)
		for _, d := range ds {
			kinds = append(kinds, kindOf(d))
		}
	}
	return l, kinds
}

func kindOf(d Decision) string {
	if d.Kind == KindResolved && d.Lifecycle != nil {
		return "resolved:" + string(d.Lifecycle.About)
	}
	return string(d.Kind)
}

func courierResult(fp string, o checks.Outcome) checks.Result {
	return checks.Result{Check: "courier-main", Type: checks.TypeCourier, Endpoint: "https://courier.yandex.ru", Fingerprint: fp, Outcome: o}
}

// TestRotateDoneWhen is the "done when": a courier token issued
// 100 days ago with rotate_after 2160h gets exactly one rotate message
// over many runs within repeat_every, then one more per repeat_every.
func TestRotateDoneWhen(t *testing.T) {
	s := LifecycleSettings{IssuedAt: t0.Add(-100 * day), RotateAfter: 2160 * time.Hour, RepeatEvery: 4 * time.Hour, TLSWarnBefore: DefaultTLSWarnBefore}
	r := courierResult("aaaa1111", checks.OK)
	l, kinds := lifeRun(t, Lifecycle{}, r, s, t0, 5*time.Minute, 4*time.Hour)
	if got := strings.Join(kinds, ","); got != "rotate" {
		t.Fatalf("48 runs within repeat_every decided %q, want exactly one rotate", got)
	}
	if l.Rotation == nil || !l.Rotation.Since.Equal(t0.Add(-10*day)) || !l.Rotation.LastNotified.Equal(t0) {
		t.Fatalf("rotation %+v: since must be issued_at + rotate_after, last notified the first run", l.Rotation)
	}
	_, ds, _ := EvaluateLifecycle(l, r, s, t0.Add(4*time.Hour))
	if len(ds) != 1 || ds[0].Kind != KindRotate || !ds[0].Lifecycle.Repeat {
		t.Fatalf("at repeat_every: %+v, want one repeated rotate", ds)
	}
	d := ds[0]
	if !d.Lifecycle.Configured || !d.Lifecycle.IssuedAt.Equal(s.IssuedAt) || d.Lifecycle.RotateAfter != s.RotateAfter || d.Fingerprint != "aaaa1111" {
		t.Errorf("rotate facts %+v", d.Lifecycle)
	}
}

func TestRotatePolicy(t *testing.T) {
	rotate90 := LifecycleSettings{RotateAfter: 90 * day, RepeatEvery: 4 * time.Hour, TLSWarnBefore: DefaultTLSWarnBefore}
	issued := func(at time.Time, s LifecycleSettings) LifecycleSettings { s.IssuedAt = at; return s }
	noRepeat := rotate90
	noRepeat.RepeatEvery = 0
	seen := func(fp string, at time.Time) Lifecycle {
		return Lifecycle{Sightings: []Sighting{{Fingerprint: fp, FirstSeen: at}}}
	}
	// step is one result: its fingerprint, days after t0, the settings,
	// and the kinds decided.
	type step struct {
		fp   string
		at   time.Duration
		s    LifecycleSettings
		want string
	}
	tests := []struct {
		name  string
		start Lifecycle
		steps []step
		stale []bool // per step, when checked
	}{
		{"no rotate_after: never", Lifecycle{}, []step{{"a", 0, LifecycleSettings{}, ""}, {"a", 400 * day, LifecycleSettings{}, ""}}, nil},
		{"without issued_at the first sighting counts", Lifecycle{}, []step{
			{"a", 0, rotate90, ""}, {"a", 89 * day, rotate90, ""}, {"a", 90 * day, rotate90, "rotate"}, {"a", 90*day + time.Hour, rotate90, ""},
		}, nil},
		{"a new fingerprint ends it", seen("a", t0.Add(-100*day)), []step{
			{"a", 0, rotate90, "rotate"}, {"b", time.Hour, rotate90, "resolved:rotate"}, {"b", 2 * time.Hour, rotate90, ""},
		}, nil},
		{"repeat_every 0: said once", seen("a", t0.Add(-100*day)), []step{
			{"a", 0, noRepeat, "rotate"}, {"a", 30 * day, noRepeat, ""},
		}, nil},
		{"rotate_after raised: over without a rotation", seen("a", t0.Add(-100*day)), []step{
			{"a", 0, rotate90, "rotate"}, {"a", time.Hour, LifecycleSettings{RotateAfter: 200 * day}, "resolved:rotate"},
		}, nil},
		{"issued_at belongs to the secret current when it is first configured", seen("a", t0), []step{
			{"a", 0, issued(t0.Add(-95*day), rotate90), "rotate"},
		}, []bool{false}},
		{"a new secret under an unchanged issued_at counts from its own first sighting, and looks stale", seen("a", t0), []step{
			{"a", 0, issued(t0.Add(-95*day), rotate90), "rotate"},
			{"b", time.Hour, issued(t0.Add(-95*day), rotate90), "resolved:rotate"},
			{"b", 89 * day, issued(t0.Add(-95*day), rotate90), ""},
			{"b", 90*day + time.Hour, issued(t0.Add(-95*day), rotate90), "rotate"},
		}, []bool{false, true, true, true}},
		{"a new issued_at for the new secret binds to it", seen("a", t0), []step{
			{"b", 0, issued(t0.Add(-95*day), rotate90), "rotate"},
			{"b", time.Hour, issued(t0.Add(-10*day), rotate90), "resolved:rotate"},
		}, []bool{false, false}},
		{"a failing check's secret still ages", Lifecycle{}, []step{
			{"a", 0, issued(t0.Add(-91*day), rotate90), "rotate"},
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.start
			for i, st := range tt.steps {
				r := courierResult(st.fp, checks.OK)
				if strings.HasPrefix(tt.name, "a failing") {
					r.Outcome = checks.Invalid
				}
				var ds []Decision
				var stale bool
				l, ds, stale = EvaluateLifecycle(l, r, st.s, t0.Add(st.at))
				var kinds []string
				for _, d := range ds {
					kinds = append(kinds, kindOf(d))
				}
				if got := strings.Join(kinds, ","); got != st.want {
					t.Fatalf("step %d (%s at +%s): %q, want %q", i, st.fp, st.at, got, st.want)
				}
				if i < len(tt.stale) && stale != tt.stale[i] {
					t.Errorf("step %d: stale %v, want %v", i, stale, tt.stale[i])
				}
			}
		})
	}
}

func TestRotateResolutionSaysTheRotation(t *testing.T) {
	s := LifecycleSettings{RotateAfter: 90 * day, RepeatEvery: 4 * time.Hour}
	l, _, _ := EvaluateLifecycle(Lifecycle{Sightings: []Sighting{{"aaaa1111", t0.Add(-100 * day)}}}, courierResult("aaaa1111", checks.OK), s, t0)
	_, ds, _ := EvaluateLifecycle(l, courierResult("bbbb2222", checks.OK), s, t0.Add(time.Hour))
	if len(ds) != 1 {
		t.Fatalf("%+v", ds)
	}
	d := ds[0]
	if d.Kind != KindResolved || d.RotatedFrom != "aaaa1111" || d.Fingerprint != "bbbb2222" || !d.Since.Equal(t0.Add(-10*day)) || d.Lifecycle.About != KindRotate {
		t.Errorf("resolution %+v %+v", d, d.Lifecycle)
	}
}

func TestSightingsAreBounded(t *testing.T) {
	var l Lifecycle
	for i := range 8 {
		l, _, _ = EvaluateLifecycle(l, courierResult(fmt.Sprintf("fp%d", i), checks.OK), LifecycleSettings{}, t0.Add(time.Duration(i)*time.Hour))
	}
	if len(l.Sightings) != MaxSightings {
		t.Fatalf("%d sightings kept, want %d", len(l.Sightings), MaxSightings)
	}
	if last := l.Sightings[len(l.Sightings)-1]; last.Fingerprint != "fp7" || !last.FirstSeen.Equal(t0.Add(7*time.Hour)) {
		t.Errorf("the current fingerprint must be kept: %+v", l.Sightings)
	}
	// A secret seen again keeps its first sighting.
	l2, _, _ := EvaluateLifecycle(l, courierResult("fp5", checks.OK), LifecycleSettings{}, t0.Add(30*time.Hour))
	if got := l2.FirstSeen("fp5"); !got.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("fp5 first seen %s", got)
	}
}

func TestEvaluateLifecycleDoesNotMutate(t *testing.T) {
	l := Lifecycle{Sightings: make([]Sighting, 1, 8), Rotation: &Rotation{Fingerprint: "a", Since: t0, LastNotified: t0}}
	l.Sightings[0] = Sighting{"a", t0.Add(-100 * day)}
	l.Certs = make([]CertWatch, 1, 8)
	l.Certs[0] = CertWatch{Host: "h", Fingerprint: "c0", NotAfter: t0.Add(day), LastSeen: t0}
	before := fmt.Sprintf("%+v %+v %v %+v", l.Sightings[:cap(l.Sightings)], *l.Rotation, l.IssuedAt, l.Certs[:cap(l.Certs)])
	r := courierResult("b", checks.OK)
	r.TLS = checks.TLSCert{Host: "h", Fingerprint: "c2", NotAfter: t0.Add(2 * day)}
	EvaluateLifecycle(l, r, LifecycleSettings{IssuedAt: t0, RotateAfter: day, RepeatEvery: time.Hour, TLSWarnBefore: DefaultTLSWarnBefore}, t0.Add(10*day))
	if after := fmt.Sprintf("%+v %+v %v %+v", l.Sightings[:cap(l.Sightings)], *l.Rotation, l.IssuedAt, l.Certs[:cap(l.Certs)]); after != before {
		t.Errorf("mutated:\n%s\n%s", before, after)
	}
}

func withCert(r checks.Result, fp string, notAfter time.Time) checks.Result {
	r.TLS = checks.TLSCert{Host: "partner.example.com", Fingerprint: fp, NotAfter: notAfter}
	return r
}

// TestTLSDoneWhen is the "done when": a certificate 5 days from
// expiry is announced once over many runs; once more under 72 hours.
func TestTLSDoneWhen(t *testing.T) {
	s := LifecycleSettings{TLSWarnBefore: DefaultTLSWarnBefore}
	r := withCert(courierResult("aaaa1111", checks.OK), "c1", t0.Add(5*day))
	l, kinds := lifeRun(t, Lifecycle{}, r, s, t0, 5*time.Minute, 2*day)
	if got := strings.Join(kinds, ","); got != "tls_expiry" {
		t.Fatalf("576 runs over two days decided %q, want exactly one tls_expiry", got)
	}
	if len(l.Certs) != 1 || l.Certs[0].Warned != 1 || !l.Certs[0].WarnedAt.Equal(t0) || !l.TLSSince.Equal(t0) {
		t.Errorf("certs %+v since %s", l.Certs, l.TLSSince)
	}
	l, kinds = lifeRun(t, l, r, s, t0.Add(2*day), 5*time.Minute, 3*day+time.Hour)
	if got := strings.Join(kinds, ","); got != "tls_expiry" {
		t.Fatalf("from 72h left to past expiry: %q, want one more tls_expiry", got)
	}
	if l.Certs[0].Warned != 2 {
		t.Errorf("certs %+v", l.Certs)
	}
}

func TestTLSPolicy(t *testing.T) {
	s := LifecycleSettings{TLSWarnBefore: DefaultTLSWarnBefore}
	type step struct {
		cert     string // "" for a result with no certificate
		notAfter time.Duration
		at       time.Duration
		want     string
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"400 days left: nothing", []step{{"c1", 400 * day, 0, ""}, {"c1", 400 * day, 30 * day, ""}}},
		{"first seen under 72h: one message", []step{{"c1", 48 * time.Hour, 0, "tls_expiry"}, {"c1", 48 * time.Hour, time.Hour, ""}}},
		{"renewed: a resolution, then nothing", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 400 * day, time.Hour, "resolved:tls_expiry"}, {"c2", 400 * day, 2 * day, ""},
		}},
		{"renewed: the resolution waits until the old certificate was not seen for CertRecent", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 400 * day, 5 * time.Minute, ""}, {"c2", 400 * day, 59 * time.Minute, ""},
			{"c2", 400 * day, time.Hour, "resolved:tls_expiry"},
		}},
		{"renewed with a certificate that also expires soon: it starts afresh", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 10 * day, time.Hour, "tls_expiry"}, {"c2", 10 * day, 2 * time.Hour, ""},
		}},
		{"two 5-day certificates alternating: one warning, one more under 72h", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 5*day + time.Minute, 5 * time.Minute, ""}, {"c1", 5 * day, 10 * time.Minute, ""},
			{"c2", 5*day + time.Minute, 15 * time.Minute, ""}, {"c2", 5*day + time.Minute, 2*day + time.Hour, "tls_expiry"},
			{"c1", 5 * day, 2*day + 65*time.Minute, ""}, {"c2", 5*day + time.Minute, 2*day + 70*time.Minute, ""},
		}},
		{"the one expiring first is announced, the later one served beside it is not", []step{
			{"c2", 5*day + time.Minute, 0, "tls_expiry"}, {"c1", 5 * day, 5 * time.Minute, ""}, {"c2", 5*day + time.Minute, 10 * time.Minute, ""},
		}},
		{"5-day and 400-day alternating: one warning, no resolution while both are served", []step{
			{"c1", 400 * day, 0, ""}, {"c2", 5 * day, 5 * time.Minute, "tls_expiry"}, {"c1", 400 * day, 10 * time.Minute, ""},
			{"c2", 5 * day, 15 * time.Minute, ""}, {"c1", 400 * day, 20 * time.Minute, ""}, {"c1", 400 * day, 75 * time.Minute, "resolved:tls_expiry"},
		}},
		{"a warned certificate back after its resolution is a new notice", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 400 * day, 2 * time.Hour, "resolved:tls_expiry"}, {"c1", 5 * day, 3 * time.Hour, "tls_expiry"},
		}},
		{"more certificates than MaxCerts: the oldest sighting is forgotten", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"c2", 400 * day, time.Minute, ""}, {"c3", 400 * day, 2 * time.Minute, ""},
			{"c4", 400 * day, 3 * time.Minute, ""}, {"c5", 400 * day, 4 * time.Minute, "resolved:tls_expiry"},
		}},
		{"a result without a certificate keeps what was seen", []step{
			{"c1", 5 * day, 0, "tls_expiry"}, {"", 0, time.Hour, ""}, {"c1", 5 * day, 2 * time.Hour, ""},
		}},
		{"expired: the final warning", []step{{"c1", 5 * day, 0, "tls_expiry"}, {"c1", 5 * day, 6 * day, "tls_expiry"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lifecycle
			for i, st := range tt.steps {
				r := courierResult("aaaa1111", checks.Unavailable) // the outcome does not matter
				if st.cert != "" {
					r = withCert(r, st.cert, t0.Add(st.notAfter))
				}
				var ds []Decision
				l, ds, _ = EvaluateLifecycle(l, r, s, t0.Add(st.at))
				var kinds []string
				for _, d := range ds {
					kinds = append(kinds, kindOf(d))
				}
				if got := strings.Join(kinds, ","); got != st.want {
					t.Fatalf("step %d: %q, want %q", i, got, st.want)
				}
			}
		})
	}
}

func TestTLSMessageFacts(t *testing.T) {
	r := withCert(courierResult("aaaa1111", checks.Invalid), "c1", t0.Add(5*day))
	_, ds, _ := EvaluateLifecycle(Lifecycle{}, r, LifecycleSettings{TLSWarnBefore: DefaultTLSWarnBefore}, t0)
	if len(ds) != 1 {
		t.Fatal(ds)
	}
	want := &LifecycleFacts{Host: "partner.example.com", NotAfter: t0.Add(5 * day), CertFingerprint: "c1"}
	if d := ds[0]; !reflect.DeepEqual(d.Lifecycle, want) || !d.Since.Equal(t0) || d.Outcome != checks.Invalid || d.Check != "courier-main" {
		t.Errorf("%+v %+v", d, d.Lifecycle)
	}
	if ds[0].Lifecycle.FinalWarning(t0) || !ds[0].Lifecycle.FinalWarning(t0.Add(3*day)) {
		t.Error("FinalWarning: under 72 hours only")
	}
}

package state

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// lifecycleState has every lifecycle field set: a record's memory, and
// the three kinds of lifecycle message waiting.
func lifecycleState() *File {
	f := New()
	rec := f.Record(Identity{Name: "c", Type: "courier", Endpoint: "https://x"})
	rec.Outcome = checks.OK
	rec.Lifecycle = &alert.Lifecycle{
		Sightings:         []alert.Sighting{{Fingerprint: "aaaa1111", FirstSeen: now.Add(-100 * 24 * time.Hour)}, {Fingerprint: "bbbb2222", FirstSeen: now}},
		IssuedAt:          now.Add(-100 * 24 * time.Hour),
		IssuedFingerprint: "bbbb2222",
		Rotation:          &alert.Rotation{Fingerprint: "bbbb2222", Since: now.Add(-10 * 24 * time.Hour), LastNotified: now},
		Certs:             []alert.CertWatch{{Host: "x", Fingerprint: "c0ffee00", NotAfter: now.Add(5 * 24 * time.Hour), Warned: 1, WarnedAt: now, LastSeen: now}},
		TLSSince:          now,
	}
	// A record of this release: the certificates served lately.
	d := f.Record(Identity{Name: "d", Type: "courier", Endpoint: "https://y"})
	d.Outcome = checks.OK
	d.Lifecycle = &alert.Lifecycle{TLSSince: now, Certs: []alert.CertWatch{
		{Host: "y", Fingerprint: "c0ffee01", NotAfter: now.Add(400 * 24 * time.Hour), LastSeen: now.Add(-time.Minute)},
		{Host: "y", Fingerprint: "c0ffee02", NotAfter: now.Add(5 * 24 * time.Hour), Warned: 1, WarnedAt: now, LastSeen: now},
	}}
	rotate := alert.Decision{Kind: alert.KindRotate, Check: "c", Type: "courier", Outcome: checks.OK, Since: now, At: now, Fingerprint: "bbbb2222",
		Lifecycle: &alert.LifecycleFacts{IssuedAt: now.Add(-100 * 24 * time.Hour), Configured: true, RotateAfter: 2160 * time.Hour, Repeat: true}}
	tls := alert.Decision{Kind: alert.KindTLSExpiry, Check: "c", Type: "courier", Outcome: checks.Invalid, Since: now, At: now,
		Lifecycle: &alert.LifecycleFacts{Host: "x", NotAfter: now.Add(5 * 24 * time.Hour), CertFingerprint: "c0ffee00"}}
	ended := alert.Decision{Kind: alert.KindResolved, Check: "c", Type: "courier", Outcome: checks.Unavailable, Since: now, At: now, RotatedFrom: "aaaa1111",
		Lifecycle: &alert.LifecycleFacts{About: alert.KindRotate}}
	f.SetOutbox("slack", []Pending{{Decision: rotate}, {Decision: tls, Attempts: 2}, {Decision: ended}})
	return f
}

// TestLifecycleRoundTrips: what the lifecycle policy remembers, and its
// messages waiting in an outbox, are saved and read back as they were,
// under format 2.
func TestLifecycleRoundTrips(t *testing.T) {
	f := lifecycleState()
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), `{"version":2,`) {
		t.Errorf("not format 2: %.40s", data)
	}
	back, c, err := s.Load(now)
	if err != nil || c != nil {
		t.Fatalf("Load: %v %+v", err, c)
	}
	if !reflect.DeepEqual(f, back) {
		t.Errorf("round trip changed the state:\n%+v\n%+v", f.Checks["c"].Lifecycle, back.Checks["c"].Lifecycle)
	}
}

func TestLifecycleCorruption(t *testing.T) {
	good, err := encode(lifecycleState())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, reason, err := decode(good); reason != "" || err != nil {
		t.Fatalf("the good file: %q %v", reason, err)
	}
	for _, tc := range []struct{ name, old, new, reason string }{
		{"sighting without a fingerprint", `{"fingerprint":"aaaa1111","first_seen"`, `{"fingerprint":"","first_seen"`, "checks.c.lifecycle.sightings[0]: fingerprint or first_seen missing"},
		{"a fingerprint seen twice", `"fingerprint":"bbbb2222","first_seen"`, `"fingerprint":"aaaa1111","first_seen"`, "checks.c.lifecycle.sightings[1]: fingerprint aaaa1111 seen twice"},
		{"issued_at without its secret", `"issued_fingerprint":"bbbb2222",`, ``, "checks.c.lifecycle.issued_at: issued_at and issued_fingerprint go together"},
		{"rotation never notified", `,"last_notified":"2026-11-21T09:00:00Z"}`, `}`, "checks.c.lifecycle.rotation: fingerprint, since or last_notified missing"},
		{"certificate without not_after", `"not_after":"2026-11-26T09:00:00Z","warned"`, `"warned"`, "checks.c.lifecycle.certs[0]: host, fingerprint or not_after missing"},
		{"a third warning", `"warned":1`, `"warned":3`, "checks.c.lifecycle.certs[0].warned: 3, not 0, 1 or 2"},
		{"warned without when", `,"warned_at":"2026-11-21T09:00:00Z"`, ``, "checks.c.lifecycle.certs[0].warned_at: set exactly when a warning was sent"},
		{"rotate message without rotate_after", `"rotate_after":7776000000000000,`, ``, "outboxes.slack[0].lifecycle: a rotate message without issued_at or rotate_after"},
		{"tls_expiry message without its host", `{"host":"x","not_after"`, `{"not_after"`, "outboxes.slack[1].lifecycle: a tls_expiry message without host or not_after"},
		{"a resolution of something else", `"about":"rotate"`, `"about":"alert"`, `outboxes.slack[2].lifecycle.about: "alert" is neither rotate nor tls_expiry`},
		{"a certificate never seen", `,"last_seen":"2026-11-21T08:59:00Z"`, ``, "checks.d.lifecycle.certs[0]: last_seen missing"},
		{"a certificate remembered twice", `"fingerprint":"c0ffee02"`, `"fingerprint":"c0ffee01"`, "checks.d.lifecycle.certs[1]: certificate c0ffee01 of y seen twice"},
		{"a served certificate warned thrice", `"fingerprint":"c0ffee02","not_after":"2026-11-26T09:00:00Z","warned":1`, `"fingerprint":"c0ffee02","not_after":"2026-11-26T09:00:00Z","warned":3`, "checks.d.lifecycle.certs[1].warned: 3, not 0, 1 or 2"},
		{"a notice open without a certificate", regexp.MustCompile(`"certs":\[\{"host":"y".*?\],`).FindString(string(good)), ``, "checks.d.lifecycle.tls_since: a notice open without a certificate"},
		{"lifecycle facts on a reminder", `"kind":"rotate"`, `"kind":"reminder"`, "outboxes.slack[0].lifecycle: on a reminder message"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.old) {
				t.Fatalf("the good file has no %s", tc.old)
			}
			_, _, reason, err := decode([]byte(strings.Replace(string(good), tc.old, tc.new, 1)))
			if err != nil || reason != tc.reason {
				t.Errorf("reason %q (%v), want %q", reason, err, tc.reason)
			}
		})
	}
}

// TestFullLifecycleFitsTheFileLimit: 10,000 checks, each with an active
// alert in a thread, a reminder waiting, and the largest lifecycle the
// policy keeps (MaxSightings fingerprints, an open rotation, MaxCerts
// warned certificates) with its rotate and tls_expiry waiting too, still save
// under the size tokenwatch reads back.
func TestFullLifecycleFitsTheFileLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a state of 10,000 checks")
	}
	f := benchFile(10_000)
	lc := lifecycleState()
	full := *lc.Checks["c"].Lifecycle
	full.Certs, full.TLSSince = nil, now
	for i := range alert.MaxCerts {
		full.Certs = append(full.Certs, alert.CertWatch{Host: "partner.example.com", Fingerprint: fmt.Sprintf("%08x", i),
			NotAfter: now.Add(5 * 24 * time.Hour), Warned: 2, WarnedAt: now, LastSeen: now})
	}
	for len(full.Sightings) < alert.MaxSightings {
		full.Sightings = append([]alert.Sighting{{Fingerprint: fmt.Sprintf("%08x", len(full.Sightings)), FirstSeen: now}}, full.Sightings...)
	}
	waiting := lc.Outbox("slack")[:2]
	for name, rec := range f.Checks {
		rec.Active = &Active{Outcome: checks.Invalid, Since: now, FiredAt: now, LastNotified: now, Checks: 3}
		rec.SetThread("slack", Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"})
		rec.Lifecycle = &full
		box := f.Outbox("slack")
		for _, p := range waiting {
			p.Check = name
			box = append(box, p)
		}
		f.SetOutbox("slack", box)
	}
	data, err := encode(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("10,000 checks with full lifecycles: %.1f MB of the %d MB limit", float64(len(data))/1e6, maxFileSize>>20)
	if len(data) > maxFileSize*3/4 {
		t.Errorf("%d bytes: too close to the %d bytes tokenwatch reads back", len(data), maxFileSize)
	}
}

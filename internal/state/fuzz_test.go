package state

import (
	"bytes"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// FuzzDecode feeds arbitrary bytes to the state reader (seeds in
// testdata/fuzz/FuzzDecode). Whatever they are, reading them does not
// panic; either they are corrupt, with a reason, or they are a state a run
// can use, and that Save writes back to the same state.
func FuzzDecode(f *testing.F) {
	configured := []Identity{fixtureCourier, fixturePartner,
		{Name: "courier-s", Type: checks.TypeCourier, Endpoint: "https://courier.example"},
		{Name: "c", Type: checks.TypePartner, Endpoint: "https://c.example"}}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, _, reason, err := decode(data)
		if err != nil {
			return // a newer format: refused, nothing to use
		}
		if reason != "" {
			if file != nil {
				t.Fatalf("corrupt (%s), yet a file was returned", reason)
			}
			return
		}
		if reason := file.validate(); reason != "" {
			t.Fatalf("decoded, yet invalid: %s", reason)
		}
		once := roundTrip(t, file)
		if twice := roundTrip(t, mustDecode(t, once)); !bytes.Equal(once, twice) {
			t.Fatalf("a save and a load changed the state:\n%s\n---\n%s", once, twice)
		}
		useAsARun(file, configured)
		roundTrip(t, file)
		// The alert policy only needs not to panic here: a counter at the
		// top of int would wrap, which no real history reaches.
		evaluateAll(file, configured)
	})
}

// roundTrip is file as Save writes it, failing when that cannot be read back.
func roundTrip(t *testing.T, file *File) []byte {
	t.Helper()
	data, err := encode(file)
	if err != nil {
		t.Fatalf("a state that was read cannot be written: %v", err)
	}
	mustDecode(t, data)
	return data
}

func mustDecode(t *testing.T, data []byte) *File {
	t.Helper()
	file, from, reason, err := decode(data)
	if reason != "" || err != nil || from != 0 {
		t.Fatalf("what Save writes reads as corrupt or foreign (%s, %v, from %d):\n%s", reason, err, from, data)
	}
	return file
}

// useAsARun uses file as a run does before it checks: every record read,
// Prune, Record for each configured check, the undelivered messages and
// the threads they belong in.
func useAsARun(file *File, configured []Identity) {
	for _, rec := range file.Checks {
		if t, ok := rec.Thread("slack"); ok && rec.Active != nil {
			_ = rec.Active.Outcome.IsCredentialFailure() && t.TS != ""
		}
	}
	file.Prune(configured)
	file.KeepOutboxes([]string{"slack"})
	for _, c := range configured {
		file.Record(c)
	}
	for _, p := range file.Outbox("slack") {
		if rec := file.Checks[p.Check]; rec != nil && !p.NewThread {
			t, _ := rec.Thread("slack")
			_ = t.Channel + t.TS
		}
	}
}

// evaluateAll moves every configured check's record by one failed result,
// its outcome track and its lifecycle (a new secret, a certificate soon
// to expire).
func evaluateAll(file *File, configured []Identity) {
	settings := alert.LifecycleSettings{IssuedAt: now.Add(-100 * 24 * time.Hour), RotateAfter: time.Hour, RepeatEvery: time.Hour, TLSWarnBefore: alert.DefaultTLSWarnBefore}
	for _, c := range configured {
		rec := file.Record(c)
		r := checks.Result{Check: c.Name, Type: c.Type, Outcome: checks.Invalid, HTTPStatus: 401, Fingerprint: "fuzzfp01",
			TLS: checks.TLSCert{Host: "c.example", Fingerprint: "c0ffee00", NotAfter: now.Add(time.Hour)}}
		var ds []alert.Decision
		rec.Track, ds = alert.Evaluate(rec.Track, r, alert.DefaultSettings, now)
		var l alert.Lifecycle
		if rec.Lifecycle != nil {
			l = *rec.Lifecycle
		}
		next, lds, _ := alert.EvaluateLifecycle(l, r, settings, now)
		rec.Lifecycle = &next
		for _, d := range append(ds, lds...) {
			file.SetOutbox("slack", append(file.Outbox("slack"), Pending{Decision: d}))
		}
	}
}

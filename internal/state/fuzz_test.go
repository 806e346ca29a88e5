package state

import (
	"bytes"
	"testing"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
)

// FuzzDecode feeds arbitrary bytes to the state reader (seeds in
// testdata/fuzz/FuzzDecode). Whatever they are, reading them does not
// panic; either they are corrupt, with a reason, or they are a state a run
// can use, and that Save writes back to the same state.
func FuzzDecode(f *testing.F) {
	configured := []config.Check{fixtureCourier, fixturePartner,
		{Name: "courier-s", Type: checks.TypeCourier, BaseURL: "https://courier.example", Alert: config.DefaultAlert},
		{Name: "c", Type: checks.TypePartner, Host: "https://c.example", Alert: config.DefaultAlert}}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, reason := decode(data)
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
	file, reason := decode(data)
	if reason != "" {
		t.Fatalf("what Save writes reads as corrupt (%s):\n%s", reason, data)
	}
	return file
}

// useAsARun uses file as a run does before it checks: every record read,
// Prune, Record for each configured check, the undelivered messages and
// the threads they belong in.
func useAsARun(file *File, configured []config.Check) {
	for _, rec := range file.Checks {
		if rec.Active != nil && rec.Thread != nil {
			_ = rec.Active.Outcome.IsCredentialFailure() && rec.Thread.TS != ""
		}
	}
	file.Prune(configured)
	for _, c := range configured {
		file.Record(c)
	}
	for _, p := range file.Outbox {
		if rec := file.Checks[p.Check]; rec != nil && rec.Thread != nil && !p.NewThread {
			_ = rec.Thread.Channel + rec.Thread.TS
		}
	}
}

// evaluateAll moves every configured check's record by one failed result.
func evaluateAll(file *File, configured []config.Check) {
	for _, c := range configured {
		rec := file.Record(c)
		r := checks.Result{Check: c.Name, Type: c.Type, Outcome: checks.Invalid, HTTPStatus: 401}
		var ds []alert.Decision
		rec.Track, ds = alert.Evaluate(rec.Track, r, c.Alert, now)
		for _, d := range ds {
			file.Outbox = append(file.Outbox, Pending{Decision: d})
		}
	}
}

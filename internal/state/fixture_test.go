package state

import (
	"os"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
)

// The checks testdata/v1-state.json was written for: the record keys in
// it are theirs.
var (
	fixtureCourier = config.Check{Name: "courier-main", Type: checks.TypeCourier, BaseURL: "https://courier.yandex.ru", Alert: config.DefaultAlert}
	fixturePartner = config.Check{Name: "partner-acme", Type: checks.TypePartner, Host: "https://partner.example.com", Alert: config.DefaultAlert}
)

// testdata/v1-state.json is a format-1 state as Store.Save wrote it, after
// two runs: courier-main rejected at 03:00 (alerted, in a bot thread) and
// at 07:00 (a reminder Slack did not take), partner-acme ok both times. A
// later format must migrate it without losing the alert, the thread or the
// late reminder; this test pins what it holds.
func TestV1Fixture(t *testing.T) {
	const path = "testdata/v1-state.json"
	f, c, err := Peek(path)
	if err != nil || c != nil {
		t.Fatalf("corruption %+v, err %v", c, err)
	}
	t0 := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	t1 := t0.Add(4 * time.Hour)
	courier := f.Checks["courier-main"]
	if courier == nil || courier.Key != Key(fixtureCourier) || courier.Outcome != checks.Invalid || courier.FailuresInRow != 2 ||
		!courier.FailingSince.Equal(t0) || courier.Fingerprint != "3f2a9c1e" {
		t.Fatalf("courier-main record: %+v", courier)
	}
	if a := courier.Active; a == nil || a.Outcome != checks.Invalid || !a.Since.Equal(t0) || !a.FiredAt.Equal(t0) || !a.LastNotified.Equal(t1) || a.Checks != 2 {
		t.Errorf("courier-main active alert: %+v", courier.Active)
	}
	if courier.Thread == nil || *courier.Thread != (Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"}) {
		t.Errorf("courier-main thread: %+v", courier.Thread)
	}
	partner := f.Checks["partner-acme"]
	if partner == nil || partner.Key != Key(fixturePartner) || partner.Outcome != checks.OK || partner.OKsInRow != 2 || partner.Active != nil || !partner.LastOK.Equal(t1) {
		t.Errorf("partner-acme record: %+v", partner)
	}
	if len(f.Outbox) != 1 {
		t.Fatalf("outbox: %+v", f.Outbox)
	}
	if p := f.Outbox[0]; p.Kind != alert.KindReminder || p.Check != "courier-main" || p.Outcome != checks.Invalid || !p.Since.Equal(t0) ||
		!p.At.Equal(t1) || p.Attempts != 1 || p.LastError != "slack: HTTP 503 Service Unavailable (after 4 attempts)" {
		t.Errorf("late reminder: %+v", p)
	}
	if !f.LastSuccess.Equal(t0) {
		t.Errorf("last success %v", f.LastSuccess)
	}
	// Written back, it is the same file: nothing in it was dropped.
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := encode(f); err != nil || string(got) != string(want) {
		t.Errorf("re-encoded fixture differs (%v):\n%s", err, got)
	}
}

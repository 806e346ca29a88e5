package state

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// The checks testdata/v1-state.json was written for, with the format-1
// keys their records carry.
var (
	fixtureCourier = Identity{Name: "courier-main", Type: checks.TypeCourier, Endpoint: "https://courier.yandex.ru",
		V1Key: V1Key("courier-main", checks.TypeCourier, "https://courier.yandex.ru", alert.DefaultSettings)}
	fixturePartner = Identity{Name: "partner-acme", Type: checks.TypePartner, Endpoint: "https://partner.example.com",
		V1Key: V1Key("partner-acme", checks.TypePartner, "https://partner.example.com", alert.DefaultSettings)}
)

// testdata/v1-state.json is a format-1 state as the first release's
// Store.Save wrote it, after two runs: courier-main rejected at 03:00
// (alerted, in a bot thread) and at 07:00 (a reminder Slack did not take),
// partner-acme ok both times. Loading it migrates it: the original is kept
// as state.json.v1.bak, and the alert, its thread and the late reminder all
// survive, so the next run re-alerts nothing.
func TestV1FixtureMigrates(t *testing.T) {
	original, err := os.ReadFile("testdata/v1-state.json")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, original, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, c, err := s.Load(now)
	if err != nil || c != nil || s.MigratedFrom != 1 || s.Backup != path+".v1.bak" {
		t.Fatalf("Load: corruption %+v, err %v, migrated from %d to %q", c, err, s.MigratedFrom, s.Backup)
	}
	if kept, err := os.ReadFile(path + ".v1.bak"); err != nil || string(kept) != string(original) {
		t.Fatalf("the original was not kept beside it: %v", err)
	}
	if dropped := f.Prune([]Identity{fixtureCourier, fixturePartner}); len(dropped) != 0 {
		t.Fatalf("migration dropped %v", dropped)
	}
	t0 := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	t1 := t0.Add(4 * time.Hour)
	courier := f.Checks["courier-main"]
	if courier == nil || courier.Type != checks.TypeCourier || courier.Endpoint != fixtureCourier.Endpoint || courier.V1Key != "" ||
		courier.Outcome != checks.Invalid || courier.FailuresInRow != 2 || !courier.FailingSince.Equal(t0) || courier.Fingerprint != "3f2a9c1e" {
		t.Fatalf("courier-main record: %+v", courier)
	}
	if a := courier.Active; a == nil || a.Outcome != checks.Invalid || !a.Since.Equal(t0) || !a.FiredAt.Equal(t0) || !a.LastNotified.Equal(t1) || a.Checks != 2 {
		t.Errorf("courier-main active alert: %+v", courier.Active)
	}
	if th, ok := courier.Thread("slack"); !ok || th != (Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"}) {
		t.Errorf("courier-main thread: %+v", courier.Threads)
	}
	partner := f.Checks["partner-acme"]
	if partner == nil || partner.Type != checks.TypePartner || partner.Outcome != checks.OK || partner.OKsInRow != 2 || partner.Active != nil || !partner.LastOK.Equal(t1) {
		t.Errorf("partner-acme record: %+v", partner)
	}
	box := f.Outbox("slack")
	if len(box) != 1 {
		t.Fatalf("outboxes: %+v", f.Outboxes)
	}
	if p := box[0]; p.Kind != alert.KindReminder || p.Check != "courier-main" || p.Outcome != checks.Invalid || !p.Since.Equal(t0) ||
		!p.At.Equal(t1) || p.Attempts != 1 || p.LastError != "slack: HTTP 503 Service Unavailable (after 4 attempts)" {
		t.Errorf("late reminder: %+v", p)
	}
	if !f.LastSuccess.Equal(t0) {
		t.Errorf("last success %v", f.LastSuccess)
	}

	// Saved, it is a file of the current format that reads back the same.
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	again, c, err := Peek(path)
	if err != nil || c != nil || again.Version != FormatVersion || again.Checks["courier-main"].Active == nil || len(again.Outbox("slack")) != 1 {
		t.Fatalf("after saving: %+v, corruption %+v, err %v", again, c, err)
	}
}

// A record whose check changed its alert settings since format 1 cannot be
// told from another check's by its old key: it starts afresh, as the first
// release would have started it.
func TestV1RecordOfAnEditedCheckIsDropped(t *testing.T) {
	f, _, err := Peek("testdata/v1-state.json")
	if err != nil {
		t.Fatal(err)
	}
	edited := fixtureCourier
	edited.V1Key = V1Key(edited.Name, edited.Type, edited.Endpoint, alert.Settings{AfterFailures: 2})
	if dropped := f.Prune([]Identity{edited, fixturePartner}); len(dropped) != 1 || dropped[0] != "courier-main" {
		t.Errorf("dropped %v, want courier-main", dropped)
	}
}

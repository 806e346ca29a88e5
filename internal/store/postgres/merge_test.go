package postgres

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// Importing a state file into a database that holds other checks merges
// the file's file-level fields into the database's: nothing the database
// held is lost, and no counter goes backwards.
func TestImportMergesFileLevelFields(t *testing.T) {
	clock := testkit.NewClock()
	t0 := clock.Now()
	s := open(t, pgtest.DSN(t), Options{Now: clock.Now})
	silence := func(id, check, reason string) state.Silence {
		return state.Silence{ID: id, Checks: []string{check}, Until: t0.Add(time.Hour), Reason: reason, By: "ops", Created: t0}
	}
	err := openSession(t, s).Decide(context.Background(), store.Scope{Checks: []string{"other"}}, func(f *state.File) error {
		f.Record(state.Identity{Name: "other", Type: checks.TypeCourier, Endpoint: "https://other"})
		f.LastSuccess = t0.Add(2 * time.Hour)
		f.Silences = []state.Silence{silence("0000d0db", "other", "the database's")}
		f.Totals = []state.Total{{Notifier: "slack", Kind: "alert", Result: "sent", Value: 5}}
		f.Errors = []state.ErrorTotal{{Notifier: "slack", Reason: "http_5xx", Value: 4}}
		f.Notifiers = map[string]state.NotifierHealth{"slack": {Up: true, At: t0.Add(time.Hour)}}
		f.Outputs = map[string]state.OutputStatus{"textfile": {LastSuccess: t0.Add(time.Hour)}}
		f.Egress = &state.Egress{Since: t0, NotifiedAt: t0, Checks: 1}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	in := state.New()
	in.Record(state.Identity{Name: "imported", Type: checks.TypeCourier, Endpoint: "https://imported"})
	in.LastSuccess = t0.Add(time.Hour)
	in.Silences = []state.Silence{silence("0000d0db", "imported", "the file's, same ID"), silence("0000f11e", "imported", "the file's")}
	in.Totals = []state.Total{
		{Notifier: "slack", Kind: "alert", Result: "sent", Value: 3},
		{Notifier: "slack", Kind: "recovery", Result: "sent", Value: 1},
	}
	in.Errors = []state.ErrorTotal{{Notifier: "slack", Reason: "http_5xx", Value: 2}, {Notifier: "webhook", Reason: "timeout", Value: 1}}
	in.Notifiers = map[string]state.NotifierHealth{"slack": {Up: false, At: t0}, "webhook": {Up: true, At: t0}}
	in.Outputs = map[string]state.OutputStatus{"textfile": {LastFailure: t0}, "pushgateway": {LastSuccess: t0}}
	in.Egress = &state.Egress{Since: t0.Add(-time.Hour), NotifiedAt: t0, Checks: 9}
	if err := s.Import(context.Background(), in, []string{"imported"}); err != nil {
		t.Fatalf("import: %v", err)
	}

	got, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got.Checks["other"]; !ok || got.Checks["imported"] == nil {
		t.Errorf("checks %v, want other and imported", slices.Sorted(maps.Keys(got.Checks)))
	}
	if !got.LastSuccess.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("last success %s, want the database's later one", got.LastSuccess)
	}
	var reasons []string
	for _, sl := range got.Silences {
		reasons = append(reasons, sl.ID+": "+sl.Reason)
	}
	if want := []string{"0000d0db: the database's", "0000f11e: the file's"}; !slices.Equal(reasons, want) {
		t.Errorf("silences %q, want %q", reasons, want)
	}
	wantTotals := []state.Total{
		{Notifier: "slack", Kind: "alert", Result: "sent", Value: 8},
		{Notifier: "slack", Kind: "recovery", Result: "sent", Value: 1},
	}
	if !slices.Equal(got.Totals, wantTotals) {
		t.Errorf("totals %+v, want %+v", got.Totals, wantTotals)
	}
	wantErrors := []state.ErrorTotal{{Notifier: "slack", Reason: "http_5xx", Value: 6}, {Notifier: "webhook", Reason: "timeout", Value: 1}}
	if !slices.Equal(got.Errors, wantErrors) {
		t.Errorf("error totals %+v, want %+v", got.Errors, wantErrors)
	}
	if h := got.Notifiers["slack"]; !h.Up || !h.At.Equal(t0.Add(time.Hour)) {
		t.Errorf("slack's health %+v, want the database's", h)
	}
	if _, ok := got.Notifiers["webhook"]; !ok {
		t.Errorf("notifiers %+v, want the file's webhook added", got.Notifiers)
	}
	if o := got.Outputs["textfile"]; !o.LastSuccess.Equal(t0.Add(time.Hour)) || !o.LastFailure.IsZero() {
		t.Errorf("textfile output %+v, want the database's", o)
	}
	if _, ok := got.Outputs["pushgateway"]; !ok {
		t.Errorf("outputs %+v, want the file's pushgateway added", got.Outputs)
	}
	if got.Egress == nil || got.Egress.Checks != 1 {
		t.Errorf("egress %+v, want the database's open notice", got.Egress)
	}
}

// Into a database with no file-level fields, the file's are imported as
// they are.
func TestImportIntoAnEmptyDatabaseKeepsTheFile(t *testing.T) {
	clock := testkit.NewClock()
	s := open(t, pgtest.DSN(t), Options{Now: clock.Now})
	in := state.New()
	in.Record(state.Identity{Name: "imported", Type: checks.TypeCourier, Endpoint: "https://imported"})
	in.LastSuccess = clock.Now()
	in.Totals = []state.Total{{Notifier: "slack", Kind: "alert", Result: "sent", Value: 3}}
	in.Egress = &state.Egress{Since: clock.Now(), NotifiedAt: clock.Now(), Checks: 2}
	if err := s.Import(context.Background(), in, []string{"imported"}); err != nil {
		t.Fatalf("import: %v", err)
	}
	got, err := s.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSuccess.Equal(in.LastSuccess) || !slices.Equal(got.Totals, in.Totals) || got.Egress == nil || got.Egress.Checks != 2 {
		t.Errorf("imported %+v %+v %+v, want the file's", got.LastSuccess, got.Totals, got.Egress)
	}
}

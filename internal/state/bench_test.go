package state

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// benchFile is a state of n checks, every tenth with an active alert in a
// thread and a message waiting.
func benchFile(n int) *File {
	f := New()
	t0 := time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC)
	for i := range n {
		id := Identity{Name: fmt.Sprintf("check-%05d", i), Type: checks.TypeCourier, Endpoint: "https://courier.example"}
		rec := f.Record(id)
		rec.Track = alert.Track{Outcome: checks.OK, HTTPStatus: 200, Detail: "token works", OKsInRow: 12, LastRun: t0, LastOK: t0, OutcomeSince: t0, Fingerprint: "3f2a9c1e"}
		if i%10 == 0 {
			rec.Outcome, rec.OKsInRow, rec.FailuresInRow, rec.FailingSince = checks.Invalid, 0, 3, t0
			rec.Active = &Active{Outcome: checks.Invalid, Since: t0, FiredAt: t0, LastNotified: t0, Checks: 3}
			rec.SetThread("slack", Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"})
			f.SetOutbox("slack", append(f.Outbox("slack"), Pending{Decision: alert.Decision{Kind: alert.KindReminder, Check: id.Name,
				Type: id.Type, Outcome: checks.Invalid, Since: t0, At: t0}}))
		}
	}
	return f
}

// Active is alert.Active, for the benchmark's brevity.
type Active = alert.Active

// BenchmarkLoadSave is one run's read and write of the state of 10,000
// checks: per check, it is what the state adds to a run's cost.
func BenchmarkLoadSave(b *testing.B) {
	path := filepath.Join(b.TempDir(), "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(benchFile(10_000)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		f, c, err := s.Load(time.Now())
		if err != nil || c != nil {
			b.Fatal(err, c)
		}
		if err := s.Save(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/10_000, "µs/check")
}

package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// A pass's decision over 10,000 checks on the file store, for comparison
// with PostgreSQL's BenchmarkDecide: every record moves, and the file is
// saved.
func BenchmarkFileDecide(b *testing.B) {
	const n = 10000
	clock := testkit.NewClock()
	s := &store.File{Path: filepath.Join(b.TempDir(), "state.json"), Now: clock.Now}
	sess, err := s.Open(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("check-%05d", i)
	}
	pass := 0
	decide := func() {
		pass++
		now := clock.Now().Add(time.Duration(pass) * time.Minute)
		if err := sess.Decide(context.Background(), store.Scope{Checks: names}, func(f *state.File) error {
			for _, name := range names {
				rec := f.Record(state.Identity{Name: name, Type: checks.TypeCourier, Endpoint: "https://" + name})
				rec.Outcome, rec.LastRun, rec.LastOK, rec.OKsInRow = checks.OK, now, now, rec.OKsInRow+1
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	decide()
	for b.Loop() {
		decide()
	}
}

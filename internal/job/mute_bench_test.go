package job

import (
	"fmt"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
)

// BenchmarkMutes is one pass's mutes at 10,000 checks, with a window over
// every check that starts every minute (the most bisection steps) and
// 1,000 silences of 10 checks each.
func BenchmarkMutes(b *testing.B) {
	now := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	cfg := &config.Config{}
	for i := range 10000 {
		cfg.Checks = append(cfg.Checks, config.Check{Name: fmt.Sprintf("c%d", i), Type: "courier"})
	}
	w, err := config.NewMaintenance(nil, "* * * * *", 24*time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Maintenance = []config.Maintenance{w}
	st := state.New()
	for i := range 1000 {
		var names []string
		for k := range 10 {
			names = append(names, fmt.Sprintf("c%d", i*10+k))
		}
		if _, err := st.AddSilence(names, now.Add(time.Duration(i+1)*time.Minute), "maintenance", "alice", now); err != nil {
			b.Fatal(err)
		}
	}
	j := &Job{Config: cfg}
	b.ResetTimer()
	for b.Loop() {
		if m := j.mutes(st, now); len(m) != 10000 {
			b.Fatalf("%d mutes", len(m))
		}
	}
}

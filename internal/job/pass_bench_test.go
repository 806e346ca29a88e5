package job

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
	"github.com/tokenwatch/tokenwatch/notify"
)

// benchCheck answers at once: ok, or invalid on the passes where it flips.
type benchCheck struct {
	name  string
	flips bool
	pass  *atomic.Int64
}

func (c *benchCheck) Name() string        { return c.name }
func (c *benchCheck) Type() string        { return checks.TypeCourier }
func (c *benchCheck) Endpoint() string    { return "https://bench.example" }
func (c *benchCheck) Fingerprint() string { return "00000000" }
func (c *benchCheck) Run(context.Context) checks.Result {
	r := checks.Result{Check: c.name, Type: checks.TypeCourier, Outcome: checks.OK, Fingerprint: "00000000", Started: time.Now()}
	if c.flips && c.pass.Load()%2 == 1 {
		r.Outcome, r.HTTPStatus = checks.Invalid, 401
	}
	return r
}

// BenchmarkPass is one pass of n checks through the job, the checks
// themselves answering at once: what the store costs a pass, on the
// file and on PostgreSQL. "steady": every check ok, nothing to send;
// "1pct": one check in a hundred alerts and resolves on alternate passes,
// so a pass delivers n/100 messages, each recorded as it goes.
func BenchmarkPass(b *testing.B) {
	for _, kind := range []string{"file", "postgres"} {
		for _, n := range []int{1000, 10000} {
			for _, load := range []string{"steady", "1pct"} {
				b.Run(fmt.Sprintf("%s/%d/%s", kind, n, load), func(b *testing.B) {
					benchPass(b, kind, n, load == "1pct")
				})
			}
		}
	}
}

func benchPass(b *testing.B, kind string, n int, flip bool) {
	var src strings.Builder
	statePath := filepath.Join(b.TempDir(), "state.json")
	fmt.Fprintf(&src, "state: {path: %s}\nchecks:\n", statePath)
	for i := range n {
		fmt.Fprintf(&src, "  - {name: c%05d, type: courier, base_url: 'https://bench.example', token: bench-token-%05d}\n", i, i)
	}
	cfg, problems := config.Parse(filepath.Join(b.TempDir(), "config.yaml"), []byte(src.String()), func(string) (string, bool) { return "", false })
	if err := problems.Err(); err != nil {
		b.Fatal(err)
	}
	var pass atomic.Int64
	list := make([]checks.Check, n)
	for i := range list {
		list[i] = &benchCheck{name: fmt.Sprintf("c%05d", i), flips: flip && i%100 == 0, pass: &pass}
	}
	clk := testkit.NewClock()
	var st store.Store = &store.File{Path: statePath, Now: clk.Now}
	if kind == "postgres" {
		pg, err := postgres.New(context.Background(), pgtest.DSN(b), postgres.Options{Now: clk.Now})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pg.Close() })
		st = pg
	}
	j := &Job{Config: cfg, Checks: list, Store: st, Notifiers: []notify.Notifier{&probeNotifier{}},
		Logger: slog.New(slog.DiscardHandler), Now: clk.Now}
	run := func() {
		clk.Advance(time.Minute)
		if rep := j.Run(context.Background(), Options{}); !rep.Delivered() {
			b.Fatal(rep.Failures)
		}
		pass.Add(1)
	}
	run() // the first pass creates every record
	b.ResetTimer()
	for b.Loop() {
		run()
	}
}

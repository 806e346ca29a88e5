package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// incidentState is a configuration of n courier checks with the state in
// a file, every check in a running incident (an active alert in its Slack
// thread): the most a state import or a status has to carry.
func incidentState(b *testing.B, n int) (cfgPath, statePath string) {
	b.Helper()
	dir := b.TempDir()
	statePath = filepath.Join(dir, "state.json")
	var src strings.Builder
	fmt.Fprintf(&src, "state: {path: %s}\nchecks:\n", statePath)
	for i := range n {
		fmt.Fprintf(&src, "  - {name: c%05d, type: courier, base_url: \"http://127.0.0.1:9\", token: abcdefgh}\n", i)
	}
	cfgPath = writeConfig(b, src.String())
	cfg, problems := config.Load(cfgPath, config.OSEnv)
	if problems.HasErrors() {
		b.Fatal(problems)
	}
	st, err := state.Open(statePath, time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	f, _, err := st.Load(time.Now())
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	for _, c := range cfg.Checks {
		rec := f.Record(state.Identity{Name: c.Name, Type: c.Type, Endpoint: c.Endpoint()})
		rec.Track = alert.Track{Outcome: checks.Invalid, FailuresInRow: 3, FailingSince: now, OutcomeSince: now, LastRun: now, Fingerprint: "3f2a9c1e",
			Active: &alert.Active{Outcome: checks.Invalid, Since: now, FiredAt: now, LastNotified: now, Checks: 3}}
		rec.SetThread("slack", state.Thread{Channel: "C0123ONCALL", TS: "1795143600.000100"})
	}
	if err := st.Save(f); err != nil {
		b.Fatal(err)
	}
	return cfgPath, statePath
}

// `tokenwatch state import` and `tokenwatch status --output json` against
// PostgreSQL, beside status on the file, at 1,000 and 10,000 checks.
func BenchmarkPostgresCommands(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		fileCfg, statePath := incidentState(b, n)
		b.Run(fmt.Sprintf("import/%d", n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				pgCfg := pgConfig(b, fileCfg, pgtest.DSN(b))
				b.StartTimer()
				if code, _, stderr := run("state", "import", "--from", statePath, "--config", pgCfg); code != exitOK {
					b.Fatal(stderr)
				}
			}
		})
		pgCfg := pgConfig(b, fileCfg, pgtest.DSN(b))
		if code, _, stderr := run("state", "import", "--from", statePath, "--config", pgCfg); code != exitOK {
			b.Fatal(stderr)
		}
		for name, cfgPath := range map[string]string{"postgres": pgCfg, "file": fileCfg} {
			b.Run(fmt.Sprintf("status-%s/%d", name, n), func(b *testing.B) {
				for b.Loop() {
					if code, _, stderr := run("status", "--output", "json", "--config", cfgPath); code != exitOK {
						b.Fatal(stderr)
					}
				}
			})
		}
	}
}

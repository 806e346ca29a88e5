package metrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

const flappingHelp = `
# HELP tokenwatch_check_flapping 1 while the check is flapping (its outcome keeps changing; its alerts wait until it settles), else 0.
# TYPE tokenwatch_check_flapping gauge
`

// tokenwatch_check_flapping is 0 for every check before a pass, 1 while
// the state says a check is flapping, and 0 again once it settled.
func TestCheckFlapping(t *testing.T) {
	m := withSlack(New(testChecks()))
	compare := func(courier, partner int) {
		t.Helper()
		want := flappingHelp + fmt.Sprintf("tokenwatch_check_flapping{check=%q,type=%q} %d\n", "courier-main", "courier", courier) +
			fmt.Sprintf("tokenwatch_check_flapping{check=%q,type=%q} %d\n", "partner-acme", "partner_oauth", partner)
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_check_flapping"); err != nil {
			t.Error(err)
		}
	}
	compare(0, 0)

	rep := testReport()
	rep.Tracks["courier-main"] = alert.Track{Outcome: checks.Invalid, FailuresInRow: 1, LastRun: t0, FlappingSince: t0.Add(-20 * time.Minute),
		Changes: []alert.Change{{From: checks.OK, To: checks.Invalid, At: t0}}}
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	compare(1, 0)

	rep = testReport() // courier-main settled: no FlappingSince
	if err := m.Report(context.Background(), rep); err != nil {
		t.Fatal(err)
	}
	compare(0, 0)
}

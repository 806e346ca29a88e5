package metrics

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

const silencedHelp = `
# HELP tokenwatch_check_silenced 1 while the check is silenced (by a silence or a maintenance window: checked, but its alerts and reminders wait), else 0.
# TYPE tokenwatch_check_silenced gauge
`

// tokenwatch_check_silenced is 0 for every configured check before a pass,
// 1 while a pass finds the check silenced (a silence or a window), 0 again
// once a pass finds it is not, and unchanged by a pass that could not read
// the state (it cannot tell).
func TestCheckSilenced(t *testing.T) {
	m := withSlack(New(testChecks()))
	compare := func(courier, partner int) {
		t.Helper()
		want := silencedHelp + fmt.Sprintf("tokenwatch_check_silenced{check=%q,type=%q} %d\n", "courier-main", "courier", courier) +
			fmt.Sprintf("tokenwatch_check_silenced{check=%q,type=%q} %d\n", "partner-acme", "partner_oauth", partner)
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "tokenwatch_check_silenced"); err != nil {
			t.Error(err)
		}
	}
	report := func(mutes map[string]alert.Mute) {
		t.Helper()
		rep := testReport()
		rep.Mutes = mutes
		if err := m.Report(context.Background(), rep); err != nil {
			t.Fatal(err)
		}
	}
	compare(0, 0)
	report(map[string]alert.Mute{"partner-acme": {Until: t0.Add(time.Hour), Reason: "CRON_TZ=Europe/Moscow 0 2 * * 0", Window: true}})
	compare(0, 1)
	report(nil) // the state could not be read
	compare(0, 1)
	report(map[string]alert.Mute{"courier-main": {Until: t0.Add(time.Hour), Reason: "ACME maintenance", By: "alice"}})
	compare(1, 0)
	report(map[string]alert.Mute{})
	compare(0, 0)
}

package alertmanager

import (
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// A flapping message has no alert name: nothing is posted for it, whether
// its latest outcome is ok or failing. The alert on-call was told about
// stays open in the state meanwhile, and Sync keeps it firing.
func TestFlappingIsNotPosted(t *testing.T) {
	at := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, o := range []checks.Outcome{checks.OK, checks.Invalid, checks.Unavailable} {
		d := alert.Decision{Kind: alert.KindFlapping, Check: "partner-acme", Type: checks.TypePartner, Outcome: o,
			Previous: checks.Forbidden, Outcomes: []checks.Outcome{checks.Forbidden, o}, Changes: 4, FlapWindow: time.Hour,
			Since: at.Add(-40 * time.Minute), At: at}
		if got := Alerts(d, map[string]string{"env": "prod"}, 15*time.Minute, at); got != nil {
			t.Errorf("flapping, now %s: posted %+v", o, got)
		}
	}
}

package alertmanager

import (
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/notify"
)

// The egress incident has no alert name in the contract: neither its
// message nor its resolution is posted (its resolution would otherwise end
// a TokenwatchEndpointUnavailable alert for a check named "tokenwatch" that
// never fired).
func TestEgressIsNotForAlertmanager(t *testing.T) {
	since := now.Add(-time.Hour)
	down := alert.Decision{Kind: alert.KindEgress, Check: "tokenwatch", Type: notify.EgressType, Outcome: checks.Unavailable, Since: since, At: now, Checks: 4}
	back := alert.Decision{Kind: alert.KindResolved, Check: "tokenwatch", Type: notify.EgressType, Outcome: checks.OK, Previous: checks.Unavailable, Since: since, At: now, Checks: 4}
	for _, d := range []alert.Decision{down, back} {
		if got := Alerts(d, nil, 15*time.Minute, now); got != nil {
			t.Errorf("%s about egress posts %+v", d.Kind, got)
		}
	}
}

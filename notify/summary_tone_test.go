package notify

import (
	"testing"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// A summary of resolutions only is good news: it does not wear the siren.
func TestSummaryTone(t *testing.T) {
	resolved := Message{Decision: alert.Decision{Kind: alert.KindResolved, Check: "a", Outcome: checks.OK}}
	failing := Message{Decision: alert.Decision{Kind: alert.KindAlert, Check: "b", Outcome: checks.Invalid}}
	if tone := ComposeSummary([]Message{resolved, resolved}).Tone; tone != Recovered {
		t.Errorf("resolutions only: tone %v, want Recovered", tone)
	}
	rotate := Message{Decision: alert.Decision{Kind: alert.KindRotate, Check: "c", Outcome: checks.OK}}
	if tone := ComposeSummary([]Message{rotate, resolved}).Tone; tone != Warning {
		t.Errorf("rotate notices: tone %v, want Warning", tone)
	}
	if tone := ComposeSummary([]Message{resolved, rotate, failing}).Tone; tone != Critical {
		t.Errorf("with an alert: tone %v, want Critical", tone)
	}
}

package alertmanager

import (
	"strings"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// Where an alert's annotations mention a silenced check, they say so: a
// resolution sent during a silence or a maintenance window says until
// when and why; the alert sent when it ends says it was silenced until then.
func TestAnnotationsSayTheSilence(t *testing.T) {
	silence := &alert.Mute{Until: now.Add(55 * time.Minute), Reason: "ACME maintenance", By: "alice"}
	window := &alert.Mute{Until: now.Add(55 * time.Minute), Reason: "CRON_TZ=Europe/Moscow 0 2 * * 0", Window: true}
	resolved := decision(alert.KindResolved, checks.OK)
	resolved.Previous, resolved.Silence = checks.Invalid, silence
	inWindow := resolved
	inWindow.Silence = window
	after := decision(alert.KindAlert, checks.Invalid)
	after.Silence, after.SilenceEnded = &alert.Mute{Until: now, Reason: "ACME maintenance", By: "alice"}, true

	tests := []struct {
		name        string
		d           alert.Decision
		summary     string
		description string
	}{
		{"resolved in a silence", resolved,
			" — silenced until 2026-11-21 10:00 UTC (ACME maintenance, by alice)",
			"Silenced until 2026-11-21 10:00 UTC (ACME maintenance, by alice): its alerts and reminders wait until then; a resolution is still sent."},
		{"resolved in a maintenance window", inWindow,
			" — maintenance window until 2026-11-21 10:00 UTC (CRON_TZ=Europe/Moscow 0 2 * * 0)",
			"Maintenance window until 2026-11-21 10:00 UTC (CRON_TZ=Europe/Moscow 0 2 * * 0): its alerts"},
		{"alert when the silence ended", after,
			" — was silenced until 2026-11-21 09:05 UTC (ACME maintenance, by alice)",
			"Was silenced until 2026-11-21 09:05 UTC (ACME maintenance, by alice): nothing was sent about this check meanwhile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Alerts(tt.d, nil, 15*time.Minute, now)
			if len(got) != 1 {
				t.Fatalf("%d alerts, want 1", len(got))
			}
			an := got[0].Annotations
			if !strings.HasSuffix(an["summary"], tt.summary) {
				t.Errorf("summary %q, want it to end %q", an["summary"], tt.summary)
			}
			if !strings.Contains(an["description"], tt.description) {
				t.Errorf("description %q lacks %q", an["description"], tt.description)
			}
		})
	}
}

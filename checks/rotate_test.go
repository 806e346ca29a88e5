package checks

import (
	"strings"
	"testing"
)

// TestRotationFollowsTheOutcome: a rotate runbook says the secret still
// works only while the check is ok; when the check fails it says so,
// points to the outcome alert, and never advises acting "while the old
// one works".
func TestRotationFollowsTheOutcome(t *testing.T) {
	text := func(r Remedy) string {
		var b strings.Builder
		for _, l := range r.Lines {
			for _, s := range l {
				b.WriteString(s.Text)
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	for _, typ := range []string{TypeCourier, TypePartner, "gone"} {
		ok := text(Kinds.Rotation(typ, OK, Site{Endpoint: "https://x.example"}))
		failing := text(Kinds.Rotation(typ, Invalid, Site{Endpoint: "https://x.example"}))
		if !strings.Contains(ok, "still works") {
			t.Errorf("%s, ok: %q, want it to say the secret still works", typ, ok)
		}
		for _, wrong := range []string{"still works", "while the old one works"} {
			if strings.Contains(failing, wrong) {
				t.Errorf("%s, invalid: says %q:\n%s", typ, wrong, failing)
			}
		}
		if !strings.Contains(failing, "the check fails now (invalid)") || !strings.Contains(failing, "the alert about that outcome") {
			t.Errorf("%s, invalid: %q, want the failure and the outcome alert named", typ, failing)
		}
	}
}

// TestRotationStepsSetIssuedAt: every kind's rotate steps end by setting
// or removing issued_at, as the partner's do: an operator who follows
// the courier's steps must not get the stale issued_at warning forever.
func TestRotationStepsSetIssuedAt(t *testing.T) {
	for _, typ := range []string{TypeCourier, TypePartner} {
		lines := Kinds.Rotation(typ, OK, Site{Endpoint: "https://x.example", ClientID: "app-1"}).Lines
		var last strings.Builder
		for _, s := range lines[len(lines)-1] {
			last.WriteString(s.Text)
		}
		if !strings.Contains(last.String(), "Set issued_at") || !strings.Contains(last.String(), "or remove it") {
			t.Errorf("%s: the last step is %q, want issued_at set or removed", typ, last.String())
		}
	}
}

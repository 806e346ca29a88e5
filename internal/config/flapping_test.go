package config

import (
	"strings"
	"testing"
	"time"
)

// alert.flap_changes and alert.flap_window default to 4 and 1h, may be set
// in defaults and per check (key by key), and flap_changes 0 is a value
// (flapping off), not "unset".
func TestFlappingSettings(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		changes int
		window  time.Duration
	}{
		{"defaults", courierCheck, 4, time.Hour},
		{"defaults section", "defaults:\n  alert: {flap_changes: 6, flap_window: 30m}\n" + courierCheck, 6, 30 * time.Minute},
		{"0 turns it off", "defaults:\n  alert: {flap_changes: 0}\n" + courierCheck, 0, time.Hour},
		{"per check over defaults, key by key", "defaults:\n  alert: {flap_changes: 6, flap_window: 30m}\n" + courierCheck +
			"    alert: {flap_changes: 0}\n", 0, 30 * time.Minute},
		{"per check window", courierCheck + "    alert: {flap_window: 2h}\n", 4, 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := Parse("c.yaml", []byte(tc.src), env(nil))
			if len(problems) > 0 {
				t.Fatalf("problems %v", problems)
			}
			a := cfg.Checks[0].Alert
			if a.FlapChanges != tc.changes || a.FlapWindow != tc.window {
				t.Errorf("flap_changes %d, flap_window %s; want %d, %s", a.FlapChanges, a.FlapWindow, tc.changes, tc.window)
			}
		})
	}
}

// Bad flapping keys are reported at their value: a negative or non-whole
// flap_changes, a zero, negative or malformed flap_window.
func TestFlappingSettingsProblems(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"negative changes", "defaults:\n  alert:\n    flap_changes: -1\n" + courierCheck,
			`c.yaml:3:19: alert.flap_changes must be 0 (off) or more, got -1`},
		{"changes not a number", "defaults:\n  alert:\n    flap_changes: often\n" + courierCheck,
			`c.yaml:3:19: alert.flap_changes: "often" is not a whole number`},
		{"changes a list", courierCheck + "    alert: {flap_changes: [4]}\n",
			`c.yaml:6:27: alert.flap_changes must be a single value, not a list or mapping`},
		{"zero window", "defaults:\n  alert:\n    flap_window: 0s\n" + courierCheck,
			`c.yaml:3:18: alert.flap_window must be positive, got "0s"`},
		{"negative window", courierCheck + "    alert:\n      flap_window: -5m\n",
			`c.yaml:7:20: alert.flap_window must be positive, got "-5m"`},
		{"window not a duration", "defaults:\n  alert:\n    flap_window: 60\n" + courierCheck,
			`c.yaml:3:18: alert.flap_window: "60" is not a duration (write it like 90s, 10m or 4h)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src), env(nil))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if all := strings.Join(got, "\n"); !problems.HasErrors() || !strings.Contains(all, tc.want) {
				t.Errorf("problems\n%s\ndo not include\n%s", all, tc.want)
			}
		})
	}
}

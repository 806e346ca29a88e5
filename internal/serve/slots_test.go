package serve

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestEveryIsEpochAligned(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		spec     string
		now      string
		wantNext string
		wantSlot string
	}{
		{"@every 5m", "2026-11-22T10:07:13Z", "2026-11-22T10:10:00Z", "2026-11-22T10:05:00Z"},
		{"@every 5m", "2026-11-22T10:05:00Z", "2026-11-22T10:10:00Z", "2026-11-22T10:05:00Z"},
		{"@every 1m30s", "1970-01-01T00:04:00Z", "1970-01-01T00:04:30Z", "1970-01-01T00:03:00Z"},
		{"@every 7h", "2026-11-22T10:07:13Z", "2026-11-22T12:00:00Z", "2026-11-22T05:00:00Z"},       // multiples of 7h since the epoch, not of the day
		{"@every 1500ms", "2026-11-22T10:00:00.5Z", "2026-11-22T10:00:01Z", "2026-11-22T10:00:00Z"}, // rounded down to 1s
		{"@every 100ms", "2026-11-22T10:00:00.5Z", "2026-11-22T10:00:01Z", "2026-11-22T10:00:00Z"},  // at least 1s
		{"*/5 * * * *", "2026-11-22T10:07:13Z", "2026-11-22T10:10:00Z", "2026-11-22T10:05:00Z"},
		{"*/5 * * * *", "2026-11-22T10:10:00.003Z", "2026-11-22T10:15:00Z", "2026-11-22T10:10:00Z"},
		{"0 3 * * 1", "2026-11-22T10:07:13Z", "2026-11-23T03:00:00Z", "2026-11-16T03:00:00Z"}, // weekly: Monday 03:00
		{"@yearly", "2026-11-22T10:07:13Z", "2027-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	}
	for _, tc := range tests {
		s, err := slotParser{}.Parse(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		now := at(tc.now)
		if got := s.Next(now).UTC(); !got.Equal(at(tc.wantNext)) {
			t.Errorf("%s at %s: next %s, want %s", tc.spec, tc.now, got.Format(time.RFC3339Nano), tc.wantNext)
		}
		if got := Slot(s, now).UTC(); !got.Equal(at(tc.wantSlot)) {
			t.Errorf("%s at %s: slot %s, want %s", tc.spec, tc.now, got.Format(time.RFC3339Nano), tc.wantSlot)
		}
	}
}

// Two processes started at different times agree on every slot, and a
// pass that starts late still belongs to the slot it was started for.
func TestSlotsAgreeAcrossProcesses(t *testing.T) {
	for _, spec := range []string{"@every 10s", "*/2 * * * *"} {
		s, err := slotParser{}.Parse(spec)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Date(2026, 11, 22, 10, 0, 3, 0, time.UTC)
		a := s.Next(start)
		b := s.Next(start.Add(1700 * time.Millisecond)) // another replica, started 1.7 s later
		if !a.Equal(b) {
			t.Errorf("%s: replicas' first times %s and %s differ", spec, a, b)
		}
		if got := Slot(s, a.Add(40*time.Millisecond)); !got.Equal(a) {
			t.Errorf("%s: a pass 40 ms late has slot %s, want %s", spec, got, a)
		}
	}
}

func TestSlotParserRejects(t *testing.T) {
	for _, spec := range []string{"@every", "@every soon", "@every -5m", "61 * * * *"} {
		if _, err := (slotParser{}).Parse(spec); err == nil {
			t.Errorf("%q parsed", spec)
		}
	}
	var _ cron.ScheduleParser = slotParser{}
}

package store

import (
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func TestEverySlot(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		every time.Duration
		t     string
		want  string
	}{
		{5 * time.Minute, "2026-11-21T09:07:31Z", "2026-11-21T09:05:00Z"},
		{5 * time.Minute, "2026-11-21T09:05:00Z", "2026-11-21T09:05:00Z"},
		{5 * time.Minute, "2026-11-21T09:04:59.999Z", "2026-11-21T09:00:00Z"},
		// Multiples since the epoch, not since midnight or the hour: 7m
		// does not divide a day.
		{7 * time.Minute, "2026-11-21T00:00:00Z", "2026-11-20T23:57:00Z"},
		// The zone of t changes nothing.
		{time.Hour, "2026-11-21T12:30:00+05:30", "2026-11-21T07:00:00Z"},
		{time.Hour, "1969-12-31T23:30:00Z", "1969-12-31T23:00:00Z"},
	} {
		got := EverySlot(tc.every, at(tc.t))
		if !got.Equal(at(tc.want)) {
			t.Errorf("EverySlot(%s, %s) = %s, want %s", tc.every, tc.t, got, tc.want)
		}
	}
}

// Two replicas started at different moments fire at the same times.
func TestEveryIsAlignedToTheEpoch(t *testing.T) {
	e := Every(5 * time.Minute)
	a := e.Next(time.Date(2026, 11, 21, 9, 1, 13, 0, time.UTC))
	b := e.Next(time.Date(2026, 11, 21, 9, 4, 59, 0, time.UTC))
	want := time.Date(2026, 11, 21, 9, 5, 0, 0, time.UTC)
	if !a.Equal(want) || !b.Equal(want) {
		t.Errorf("next times %s and %s, want both %s", a, b, want)
	}
	if n := e.Next(want); !n.Equal(want.Add(5 * time.Minute)) {
		t.Errorf("after a slot: %s", n)
	}
}

func TestCronSlot(t *testing.T) {
	s, err := cron.ParseStandard("*/15 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		after time.Duration
		want  time.Time
		ok    bool
	}{
		{0, base, true},
		{800 * time.Millisecond, base, true}, // a tick runs a moment late
		{14 * time.Minute, base, true},
		{15 * time.Minute, base.Add(15 * time.Minute), true},
	} {
		got, ok := CronSlot(s, base.Add(tc.after), 20*time.Minute)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("CronSlot at +%s = %s %v, want %s", tc.after, got, ok, tc.want)
		}
	}
	daily, _ := cron.ParseStandard("0 3 * * *")
	if _, ok := CronSlot(daily, base, time.Hour); ok {
		t.Error("a daily 03:00 schedule has a slot within the hour before 09:00")
	}
}

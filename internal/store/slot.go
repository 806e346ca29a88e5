package store

import (
	"time"

	"github.com/robfig/cron/v3"
)

// EverySlot is the slot of an `@every d` schedule that t falls in: the
// latest whole multiple of d since the Unix epoch, at or before t. Every
// replica computes the same slots, whenever it started.
func EverySlot(d time.Duration, t time.Time) time.Time {
	n := t.UnixNano()
	slot := n - n%int64(d)
	if n%int64(d) < 0 { // before 1970: round down, not toward zero
		slot -= int64(d)
	}
	return time.Unix(0, slot).UTC()
}

// Every is an `@every d` schedule whose times are the slots of
// EverySlot, not counted from when the scheduler started (as cron's own
// @every is): replicas started at different times fire together, and
// claim the same slot.
type Every time.Duration

// Next is the first slot after t.
func (e Every) Next(t time.Time) time.Time {
	return EverySlot(time.Duration(e), t).Add(time.Duration(e))
}

// CronSlot is the slot of a cron schedule at t: the latest of the
// schedule's own times at or before t, looking back at most lookback (a
// tick runs a moment after its time, and a slow one later still). false
// when the schedule had no time within lookback.
func CronSlot(s cron.Schedule, t time.Time, lookback time.Duration) (time.Time, bool) {
	var slot time.Time
	for next := s.Next(t.Add(-lookback)); !next.IsZero() && !next.After(t); next = s.Next(next) {
		slot = next
	}
	return slot.UTC(), !slot.IsZero()
}

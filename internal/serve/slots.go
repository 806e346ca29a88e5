package serve

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// A slot is one of a schedule's times, the same on every replica and in
// every process: a cron spec's own times, and for "@every D" the whole
// multiples of D since the Unix epoch (robfig/cron counts @every from the
// process's start, so two replicas, or one restarted, would never agree on
// which time a pass belongs to). Replicas that share a state claim each
// slot once: one of them runs it.

// slotParser reads the configuration's schedules: "@every D" as epoch
// multiples (D rounded down to the second, at least one second, as
// robfig/cron does), everything else with robfig/cron's standard parser,
// the one validate uses.
type slotParser struct{}

// Parse implements cron.ScheduleParser.
func (slotParser) Parse(spec string) (cron.Schedule, error) {
	text, ok := strings.CutPrefix(spec, "@every ")
	if !ok {
		return cron.ParseStandard(spec)
	}
	d, err := time.ParseDuration(strings.TrimSpace(text))
	if err != nil || d <= 0 {
		return nil, fmt.Errorf("schedule %q: want @every and a positive duration", spec)
	}
	return Every(max(d.Truncate(time.Second), time.Second)), nil
}

// Every fires at the whole multiples of its duration since the Unix epoch.
type Every time.Duration

// Next implements cron.Schedule: the first multiple after t.
func (e Every) Next(t time.Time) time.Time {
	d := int64(e)
	n := t.UnixNano()
	next := (n/d + 1) * d
	if n < 0 && n%d != 0 {
		next -= d // integer division rounds towards zero
	}
	return time.Unix(0, next).In(t.Location())
}

// Slot is the time of the schedule's slot that now falls in: its latest
// time at or before now. A pass started by the scheduler runs a few
// milliseconds after its time, so this is the time it was started for.
func Slot(s cron.Schedule, now time.Time) time.Time {
	if e, ok := s.(Every); ok {
		return e.Next(now.Add(-time.Duration(e)))
	}
	// Only Next is known: look back far enough to find a time, doubling
	// (a few steps even for a yearly spec), then walk forward to the last.
	back := time.Second
	t := s.Next(now.Add(-back))
	for t.After(now) && back < 5*366*24*time.Hour {
		back *= 2
		t = s.Next(now.Add(-back))
	}
	if t.After(now) {
		return time.Time{} // a schedule with no time in five years
	}
	for next := s.Next(t); !next.After(now); next = s.Next(t) {
		t = next
	}
	return t
}

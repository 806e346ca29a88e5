package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	// The distroless image has no zone files: the binary carries its own,
	// so that CRON_TZ=Europe/Moscow works wherever tokenwatch runs.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"
)

// Maintenance is one maintenance window: from each time of its schedule,
// for Duration, its checks behave as silenced.
type Maintenance struct {
	// Checks are the check names the window covers; nil covers every check.
	Checks []string
	// Schedule is the cron spec as written, CRON_TZ= included: on-call
	// reads it in messages to recognise the window.
	Schedule string
	// Duration is elapsed time from each start: across a DST change a
	// 2h window still lasts two hours.
	Duration time.Duration

	starts cron.Schedule
}

// NewMaintenance parses a window's schedule: robfig/cron's five fields or
// a descriptor such as @daily, optionally after CRON_TZ=Area/City (or
// TZ=); without a zone it is in UTC, as serve's schedules are. @every is
// refused: it counts from whenever it is asked, so it has no fixed times.
func NewMaintenance(checks []string, schedule string, duration time.Duration) (Maintenance, error) {
	if duration <= 0 {
		return Maintenance{}, fmt.Errorf("duration must be positive, got %s", duration)
	}
	starts, err := parseWindowSchedule(schedule)
	if err != nil {
		return Maintenance{}, err
	}
	return Maintenance{Checks: checks, Schedule: schedule, Duration: duration, starts: starts}, nil
}

// errUnknownZone is a CRON_TZ= that names no time zone.
var errUnknownZone = errors.New("unknown time zone")

func parseWindowSchedule(spec string) (cron.Schedule, error) {
	zone, rest := "UTC", strings.TrimSpace(spec)
	for _, prefix := range []string{"CRON_TZ=", "TZ="} {
		if after, found := strings.CutPrefix(rest, prefix); found {
			zone, rest, _ = strings.Cut(after, " ")
			rest = strings.TrimSpace(rest)
			break
		}
	}
	// "Local" is whatever zone the machine has: a window must mean the
	// same on every machine. LoadLocation("") would be UTC, silently.
	if zone == "" || zone == "Local" {
		return nil, fmt.Errorf("%w %q: name one such as Europe/Moscow, or UTC", errUnknownZone, zone)
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return nil, fmt.Errorf("%w %q: name one such as Europe/Moscow, or UTC", errUnknownZone, zone)
	}
	switch {
	case rest == "":
		return nil, errors.New("no schedule after the time zone")
	case strings.HasPrefix(rest, "@every"):
		return nil, errors.New("@every has no fixed times: write when the window opens, such as \"0 2 * * 0\" or @daily")
	}
	return parseSchedule("CRON_TZ=" + zone + " " + rest)
}

// parseSchedule parses a robfig/cron spec. The parser panics on some inputs
// ("TZ=UTC" with nothing after it), so it runs inside a recover.
func parseSchedule(spec string) (s cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return cron.ParseStandard(spec)
}

// covers reports whether the window applies to check.
func (m Maintenance) covers(check string) bool {
	return m.Checks == nil || slices.Contains(m.Checks, check)
}

// OpenUntil reports whether the window is open at now, and until when. It
// is open when some start t of its schedule has t <= now < t+Duration; the
// latest such start gives the end. The schedule only tells the next start
// after a time, so the latest start in (now-Duration, now] is found by
// bisection to the second (cron's resolution): a few dozen steps whatever
// the schedule, where walking every start of "* * * * *" through a long
// window would take thousands.
func (m Maintenance) OpenUntil(now time.Time) (time.Time, bool) {
	if m.starts == nil {
		return time.Time{}, false
	}
	startedBy := func(after time.Time) (time.Time, bool) {
		t := m.starts.Next(after)
		// Next is zero when the schedule has no time within five years.
		return t, !t.IsZero() && !t.After(now)
	}
	lo, hi := now.Add(-m.Duration), now
	if _, ok := startedBy(lo); !ok {
		return time.Time{}, false
	}
	// Invariant: a start lies in (lo, now]; none lies in (hi, now].
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if _, ok := startedBy(mid); ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	start, _ := startedBy(lo)
	return start.Add(m.Duration).UTC(), true
}

// maintenance reads the maintenance section: a list of windows, each
// {checks, schedule, duration}. Check names are known once the checks
// section is read, wherever it stands in the file.
func (p *parser) maintenance(n *yaml.Node, list []Check) []Maintenance {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		if n.Tag != "!!null" {
			p.errorf(n, "maintenance must be a list of windows, each {checks, schedule, duration}")
		}
		return nil
	}
	names := map[string]bool{}
	for _, c := range list {
		names[c.Name] = true
	}
	var out []Maintenance
	for i, item := range n.Content {
		if m, ok := p.window(item, fmt.Sprintf("maintenance[%d]", i), names); ok {
			out = append(out, m)
		}
	}
	return out
}

// window reads one maintenance window; ok is false when it has a problem.
func (p *parser) window(n *yaml.Node, where string, names map[string]bool) (Maintenance, bool) {
	var (
		covered  []string
		spec     string
		starts   cron.Schedule
		duration time.Duration
		// durationNode is where the duration is written, for its problem.
		durationNode *yaml.Node
	)
	if resolve(n).Tag == "!!null" {
		p.errorf(n, "%s is empty: a window is {checks (default: all), schedule, duration}", where)
		return Maintenance{}, false
	}
	before := len(p.problems)
	seen := p.fields(n, where, map[string]func(*yaml.Node){
		"checks": func(v *yaml.Node) { covered = p.windowChecks(v, where, names) },
		"schedule": func(v *yaml.Node) {
			s, ok := p.str(v, where+".schedule")
			if !ok {
				return
			}
			sched, err := parseWindowSchedule(s)
			if err != nil {
				p.errorf(v, "%s.schedule: %s is not a window's schedule%s", where, shown(v, s), because(v, s, err))
				return
			}
			spec, starts = s, sched
		},
		"duration": func(v *yaml.Node) { durationNode = v; p.duration(v, where+".duration", false, &duration) },
	})
	if len(p.problems) > before {
		return Maintenance{}, false
	}
	for _, key := range []string{"schedule", "duration"} {
		if seen[key] == nil {
			p.errorf(n, "%s has no %s: a window is {checks (default: all), schedule: \"0 2 * * 0\", duration: 2h}", where, key)
		}
	}
	if len(p.problems) > before {
		return Maintenance{}, false
	}
	if duration > MaxWindow {
		p.errorf(durationNode, "%s.duration: %s is more than the 30 days a window may last, as a silence: a longer one is a check nobody watches", where, shown(durationNode, durationNode.Value))
		return Maintenance{}, false
	}
	p.windowSanity(n, where, starts, duration)
	return Maintenance{Checks: covered, Schedule: spec, Duration: duration, starts: starts}, true
}

// MaxWindow is the longest a maintenance window may last: as long as the
// longest silence.
const MaxWindow = 30 * 24 * time.Hour

// windowSanity warns about a window that is valid but cannot be what was
// meant: one that never opens, or one that never closes (it lasts as long
// as the gap to its next start, so the checks are silenced for good).
func (p *parser) windowSanity(n *yaml.Node, where string, starts cron.Schedule, duration time.Duration) {
	from := p.clock()
	first := starts.Next(from)
	if first.IsZero() {
		p.warnf(n, "%s never opens: its schedule has no time in the next five years", where)
		return
	}
	// The shortest gap between starts over a year of them (cron specs
	// repeat at most yearly; "* * * * *" stops at the first gap).
	t, shortest := first, time.Duration(0)
	for range 400 {
		next := starts.Next(t)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(t); shortest == 0 || gap < shortest {
			shortest = gap
		}
		if shortest <= duration {
			p.warnf(n, "%s never closes: it lasts %s and opens again %s after it opened, so its checks are silenced for good", where, duration, shortest)
			return
		}
		t = next
	}
}

// windowChecks reads the names a window covers: each a configured check.
func (p *parser) windowChecks(n *yaml.Node, where string, names map[string]bool) []string {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "%s.checks must be a list of check names (leave it out to cover every check)", where)
		return nil
	}
	var out []string
	for _, item := range n.Content {
		name, ok := p.str(item, where+".checks")
		switch {
		case !ok:
		case !names[name]:
			p.errorf(item, "%s.checks: no check is named %s", where, shown(item, name))
		default:
			out = append(out, name)
		}
	}
	return out
}

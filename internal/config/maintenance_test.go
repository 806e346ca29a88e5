package config

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

const twoChecks = `
checks:
  - {name: courier-main, type: courier, token: y0_tokenvalue}
  - {name: partner-acme, type: partner_oauth, host: https://acme.example, client_id: "1", client_secret: s}
`

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// The section is read as written; checks left out cover every check, and
// the section may stand before the checks it names.
func TestMaintenanceSection(t *testing.T) {
	src := `
maintenance:
  - checks: [partner-acme]
    schedule: "CRON_TZ=Europe/Moscow 0 2 * * 0"
    duration: 2h
  - schedule: "@daily"
    duration: 15m
` + twoChecks
	cfg, problems := Parse("c.yaml", []byte(src), env(nil))
	if len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	if len(cfg.Maintenance) != 2 {
		t.Fatalf("%d windows, want 2", len(cfg.Maintenance))
	}
	acme, all := cfg.Maintenance[0], cfg.Maintenance[1]
	if !slices.Equal(acme.Checks, []string{"partner-acme"}) || acme.Schedule != "CRON_TZ=Europe/Moscow 0 2 * * 0" || acme.Duration != 2*time.Hour {
		t.Errorf("first window %+v", acme)
	}
	if all.Checks != nil || all.Schedule != "@daily" || all.Duration != 15*time.Minute {
		t.Errorf("second window %+v", all)
	}
	if !all.covers("courier-main") || !all.covers("partner-acme") || acme.covers("courier-main") {
		t.Error("covers: a window without checks covers all, one with checks only those")
	}
}

// Every mistake in a window is reported at its line and column.
func TestMaintenanceProblems(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown zone", "maintenance:\n  - schedule: \"CRON_TZ=Mars/Olympus 0 2 * * *\"\n    duration: 2h\n",
			`c.yaml:2:15: maintenance[0].schedule: "CRON_TZ=Mars/Olympus 0 2 * * *" is not a window's schedule: unknown time zone "Mars/Olympus"`},
		{"TZ= unknown zone", "maintenance:\n  - {schedule: 'TZ=Moscow 0 2 * * *', duration: 2h}\n",
			`c.yaml:2:16: maintenance[0].schedule: "TZ=Moscow 0 2 * * *" is not a window's schedule: unknown time zone "Moscow"`},
		{"Local zone", "maintenance:\n  - {schedule: 'CRON_TZ=Local 0 2 * * *', duration: 2h}\n",
			`unknown time zone "Local"`},
		{"from a variable: the error does not quote it", "maintenance:\n  - {schedule: '${COURIER_TOKEN}', duration: 2h}\n",
			`c.yaml:2:16: maintenance[0].schedule: "${COURIER_TOKEN}" is not a window's schedule (the error is not shown: it would quote the variable's value)`},
		{"zone and no schedule", "maintenance:\n  - {schedule: 'TZ=UTC', duration: 2h}\n",
			`c.yaml:2:16: maintenance[0].schedule: "TZ=UTC" is not a window's schedule: no schedule after the time zone`},
		{"bad schedule", "maintenance:\n  - {schedule: '0 25 * * *', duration: 2h}\n",
			`c.yaml:2:16: maintenance[0].schedule: "0 25 * * *" is not a window's schedule: end of range (25) above maximum (23)`},
		{"@every", "maintenance:\n  - {schedule: '@every 1h', duration: 2h}\n",
			`c.yaml:2:16: maintenance[0].schedule: "@every 1h" is not a window's schedule: @every has no fixed times`},
		{"no duration", "maintenance:\n  - schedule: '@daily'\n",
			`c.yaml:2:5: maintenance[0] has no duration`},
		{"no schedule", "maintenance:\n  - duration: 2h\n",
			`c.yaml:2:5: maintenance[0] has no schedule`},
		{"zero duration", "maintenance:\n  - {schedule: '@daily', duration: 0s}\n",
			`c.yaml:2:36: maintenance[0].duration must be positive, got "0s"`},
		{"negative duration", "maintenance:\n  - {schedule: '@daily', duration: -1h}\n",
			`c.yaml:2:36: maintenance[0].duration must be positive, got "-1h"`},
		{"unknown check", "maintenance:\n  - {checks: [partner-acme, partner-acmee], schedule: '@daily', duration: 1h}\n",
			`c.yaml:2:29: maintenance[0].checks: no check is named "partner-acmee"`},
		{"empty checks", "maintenance:\n  - {checks: [], schedule: '@daily', duration: 1h}\n",
			`c.yaml:2:14: maintenance[0].checks must be a list of check names`},
		{"unknown key", "maintenance:\n  - {schedule: '@daily', duration: 1h, reasn: x}\n",
			`c.yaml:2:40: maintenance[0]: unknown key "reasn"`},
		{"not a list", "maintenance: {schedule: '@daily', duration: 1h}\n",
			`c.yaml:1:14: maintenance must be a list of windows`},
		{"empty window", "maintenance:\n  -\n",
			`c.yaml:2:4: maintenance[0] is empty`},
		{"longer than a silence may last", "maintenance:\n  - {schedule: '0 0 1 1 *', duration: 100000h}\n",
			`c.yaml:2:39: maintenance[0].duration: "100000h" is more than the 30 days a window may last`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte(tc.src+twoChecks), env(map[string]string{"COURIER_TOKEN": "y0_secret-token"}))
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			if all := strings.Join(got, "\n"); !problems.HasErrors() || !strings.Contains(all, tc.want) || strings.Contains(all, "secret-token") {
				t.Errorf("problems\n%s\ndo not include\n%s\n(or quote the variable's value)", all, tc.want)
			}
		})
	}
}

// A window that cannot be what was meant is valid, with a warning: one
// that never opens, one that never closes.
func TestMaintenanceWarnings(t *testing.T) {
	at := WithNow(func() time.Time { return utc("2026-11-22T10:00:00Z") })
	tests := []struct{ name, window, want string }{
		{"never opens", "{schedule: '0 0 30 2 *', duration: 1h}", "c.yaml:2:5: warning: maintenance[0] never opens: its schedule has no time in the next five years"},
		{"never closes", "{schedule: '* * * * *', duration: 2h}", "c.yaml:2:5: warning: maintenance[0] never closes: it lasts 2h0m0s and opens again 1m0s after it opened"},
		{"closes only on some days", "{schedule: '0 0 * * 1,2', duration: 25h}", "opens again 24h0m0s after it opened"},
		{"a sane window", "{schedule: 'CRON_TZ=Europe/Moscow 0 2 * * 0', duration: 2h}", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := Parse("c.yaml", []byte("maintenance:\n  - "+tc.window+"\n"+twoChecks), env(nil), at)
			if problems.HasErrors() {
				t.Fatalf("errors: %v", problems)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.String())
			}
			all := strings.Join(got, "\n")
			if tc.want == "" && all != "" || !strings.Contains(all, tc.want) {
				t.Errorf("warnings %q, want %q", all, tc.want)
			}
		})
	}
}

// A window is open from each start of its schedule for its duration, in
// the schedule's zone, DST included; the latest end among open windows
// covering a check wins.
func TestMaintenanceWindowOpenUntil(t *testing.T) {
	window := func(checks []string, schedule string, d time.Duration) Maintenance {
		m, err := NewMaintenance(checks, schedule, d)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	sundays := window(nil, "0 2 * * 0", 2*time.Hour) // UTC without a zone
	// New York's clocks went forward at 2:00 on 2026-03-08: the 1:00 EST
	// start is 06:00 UTC, and two hours later is 08:00 UTC (4:00 EDT).
	newYork := window([]string{"partner-acme"}, "CRON_TZ=America/New_York 0 1 * * *", 2*time.Hour)
	// Kolkata is UTC+5:30: 02:00 there is 20:30 UTC the day before.
	kolkata := window([]string{"partner-acme"}, "TZ=Asia/Kolkata 0 2 * * *", time.Hour)
	// Starts every minute, each for a day: open all the time, ending a day
	// after the latest start (found by bisection, not by walking 1440 starts).
	everyMinute := window([]string{"partner-acme"}, "* * * * *", 24*time.Hour)
	short := window([]string{"partner-acme"}, "0 3 * * *", 30*time.Minute)
	never := window(nil, "0 0 30 2 *", time.Hour) // February 30th

	tests := []struct {
		name    string
		windows []Maintenance
		check   string
		now     string
		until   string // "" when closed
	}{
		{"at the start", []Maintenance{sundays}, "courier-main", "2026-11-22T02:00:00Z", "2026-11-22T04:00:00Z"},
		{"inside, started before now", []Maintenance{sundays}, "courier-main", "2026-11-22T03:59:59Z", "2026-11-22T04:00:00Z"},
		{"at the end: closed", []Maintenance{sundays}, "courier-main", "2026-11-22T04:00:00Z", ""},
		{"a second before the start", []Maintenance{sundays}, "courier-main", "2026-11-22T01:59:59Z", ""},
		{"not on a Monday", []Maintenance{sundays}, "courier-main", "2026-11-23T02:30:00Z", ""},
		{"DST day: EST start, elapsed duration", []Maintenance{newYork}, "partner-acme", "2026-03-08T07:30:00Z", "2026-03-08T08:00:00Z"},
		{"DST day: before the EST start", []Maintenance{newYork}, "partner-acme", "2026-03-08T05:30:00Z", ""},
		{"day after: EDT start", []Maintenance{newYork}, "partner-acme", "2026-03-09T05:00:00Z", "2026-03-09T07:00:00Z"},
		{"day after: closed at the old hour", []Maintenance{newYork}, "partner-acme", "2026-03-09T07:30:00Z", ""},
		{"half-hour zone", []Maintenance{kolkata}, "partner-acme", "2026-11-21T21:00:00Z", "2026-11-21T21:30:00Z"},
		{"half-hour zone, closed", []Maintenance{kolkata}, "partner-acme", "2026-11-21T21:30:00Z", ""},
		{"not covered", []Maintenance{newYork}, "courier-main", "2026-03-08T07:30:00Z", ""},
		{"overlapping starts", []Maintenance{everyMinute}, "partner-acme", "2026-11-22T06:55:30Z", "2026-11-23T06:55:00Z"},
		{"the later end wins", []Maintenance{short, sundays}, "partner-acme", "2026-11-22T03:10:00Z", "2026-11-22T04:00:00Z"},
		{"the later end wins, either order", []Maintenance{sundays, short, never}, "partner-acme", "2026-11-22T03:10:00Z", "2026-11-22T04:00:00Z"},
		{"a schedule that never starts", []Maintenance{never}, "partner-acme", "2026-11-22T03:10:00Z", ""},
		{"no windows", nil, "partner-acme", "2026-11-22T03:10:00Z", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Maintenance: tc.windows}
			_, until, ok := latestWindow(cfg, tc.check, utc(tc.now))
			if tc.until == "" {
				if ok {
					t.Fatalf("open until %s, want closed", until)
				}
				return
			}
			if !ok || !until.Equal(utc(tc.until)) {
				t.Fatalf("open %v until %s, want until %s", ok, until, tc.until)
			}
			if until.Location() != time.UTC {
				t.Errorf("until in %s, want UTC", until.Location())
			}
		})
	}
}

// The window that ends last is the one returned, with its schedule, for
// messages that say which window this is.
func TestMaintenanceWindowNamesItsSchedule(t *testing.T) {
	cfg, problems := Parse("c.yaml", []byte(`
maintenance:
  - {schedule: "0 3 * * *", duration: 30m}
  - {checks: [partner-acme], schedule: "CRON_TZ=Europe/Moscow 0 5 * * *", duration: 2h}
`+twoChecks), env(nil))
	if len(problems) > 0 {
		t.Fatalf("problems %v", problems)
	}
	w, until, ok := latestWindow(cfg, "partner-acme", utc("2026-11-22T03:10:00Z"))
	if !ok || w.Schedule != "CRON_TZ=Europe/Moscow 0 5 * * *" || !until.Equal(utc("2026-11-22T04:00:00Z")) {
		t.Errorf("window %q until %s, open %v", w.Schedule, until, ok)
	}
	w, until, ok = latestWindow(cfg, "courier-main", utc("2026-11-22T03:10:00Z"))
	if !ok || w.Schedule != "0 3 * * *" || !until.Equal(utc("2026-11-22T03:30:00Z")) {
		t.Errorf("window %q until %s, open %v", w.Schedule, until, ok)
	}
}

// NewMaintenance refuses what the parser refuses.
func TestNewMaintenanceRefuses(t *testing.T) {
	for _, tc := range []struct {
		schedule string
		d        time.Duration
	}{{"0 2 * * *", 0}, {"0 2 * * *", -time.Hour}, {"CRON_TZ=Nowhere 0 2 * * *", time.Hour}, {"@every 1h", time.Hour}, {"", time.Hour}} {
		if _, err := NewMaintenance(nil, tc.schedule, tc.d); err == nil {
			t.Errorf("NewMaintenance(%q, %s) = nil error", tc.schedule, tc.d)
		}
	}
}

// The commented maintenance section of config.yaml.example is valid once
// uncommented.
func TestExampleMaintenanceSectionIsValid(t *testing.T) {
	data, err := os.ReadFile("../../config.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	var section []string
	for _, line := range strings.Split(string(data), "\n") {
		if line == "# maintenance:" {
			section = []string{"maintenance:"}
		} else if section != nil && strings.HasPrefix(line, "#   ") {
			section = append(section, strings.TrimPrefix(line, "#"))
		} else if section != nil {
			break
		}
	}
	cfg, problems := Parse("c.yaml", []byte(strings.Join(section, "\n")+"\n"+twoChecks), env(nil))
	if len(problems) > 0 || len(cfg.Maintenance) != 1 {
		t.Fatalf("the example's maintenance section %q: problems %v", section, problems)
	}
	if _, until, ok := latestWindow(cfg, "partner-acme", utc("2026-11-22T00:30:00Z")); !ok || !until.Equal(utc("2026-11-22T01:00:00Z")) {
		t.Errorf("Sunday 03:30 Moscow time: open %v until %s, want until 01:00 UTC", ok, until)
	}
}

// A check's schedule from a variable is no cron spec: the parser's error,
// which quotes what it was given, is not shown (found writing the
// maintenance windows, which share it).
func TestScheduleErrorNeverQuotesAVariable(t *testing.T) {
	for _, src := range []string{"defaults: {schedule: '${COURIER_TOKEN}'}\n" + courierCheck, courierCheck + "    schedule: '${COURIER_TOKEN}'\n"} {
		_, problems := Parse("c.yaml", []byte(src), env(map[string]string{"COURIER_TOKEN": "y0_secret-token"}))
		all := fmt.Sprint(problems)
		if !problems.HasErrors() || strings.Contains(all, "secret-token") || !strings.Contains(all, `schedule: "${COURIER_TOKEN}" is not a cron spec`) {
			t.Errorf("problems %s: want the schedule refused without its value", all)
		}
	}
}

// latestWindow is the open window covering check that ends last, as the
// job's mutes take it (job.Mutes, which also weighs silences): here, to
// test OpenUntil and covers across several windows.
func latestWindow(cfg *Config, check string, now time.Time) (w Maintenance, until time.Time, ok bool) {
	for _, m := range cfg.Maintenance {
		if !m.covers(check) {
			continue
		}
		if end, open := m.OpenUntil(now); open && end.After(until) {
			w, until, ok = m, end, true
		}
	}
	return w, until, ok
}

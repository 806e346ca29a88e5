package job

import (
	"fmt"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
)

// Mutes is the mute of every configured check that is silenced at now, by
// check name: its silence in the state or its open maintenance window,
// whichever ends later. It is the one answer to "is this check silenced"
// for the policy, the metrics and `tokenwatch status` alike. Each silence
// and window is read once, not once per check: at 10,000 checks and 1,000
// silences, asking per check took most of a second per pass.
func Mutes(cfg *config.Config, st *state.File, now time.Time) map[string]alert.Mute {
	configured := make(map[string]bool, len(cfg.Checks))
	for _, c := range cfg.Checks {
		configured[c.Name] = true
	}
	out := map[string]alert.Mute{}
	// Soonest-ending first: the last silence naming a check ends last.
	for _, s := range st.ActiveSilences(now) {
		m := alert.Mute{Until: s.Until, Reason: s.Reason, By: s.By}
		for _, name := range s.Checks {
			if configured[name] {
				out[name] = m
			}
		}
	}
	for _, w := range cfg.Maintenance {
		until, open := w.OpenUntil(now)
		if !open {
			continue
		}
		m := alert.Mute{Until: until, Reason: w.Schedule, Window: true}
		for _, name := range windowChecks(w, cfg.Checks) {
			if until.After(out[name].Until) {
				out[name] = m
			}
		}
	}
	return out
}

// mutes is Mutes for this job's configuration.
func (j *Job) mutes(st *state.File, now time.Time) map[string]alert.Mute {
	return Mutes(j.Config, st, now)
}

// windowChecks are the names of the checks w covers.
func windowChecks(w config.Maintenance, list []config.Check) []string {
	if w.Checks != nil {
		return w.Checks
	}
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.Name
	}
	return names
}

// egressEvidence is what the results that ran tell about our own network,
// and how many were left out. A silenced check's network failure tells
// nothing: it is silenced for its endpoint's maintenance, which explains
// it, and counting it would blame our network for a partner's announced
// outage. Its answer does tell (our network works), after every
// unsilenced check's: the egress resolution names the first check that
// answered, and names a silenced one as such.
func egressEvidence(ran []checks.Result, mutes map[string]alert.Mute) (evidence []checks.Result, left int) {
	evidence = make([]checks.Result, 0, len(ran))
	var silenced []checks.Result
	for _, r := range ran {
		switch _, muted := mutes[r.Check]; {
		case !muted:
			evidence = append(evidence, r)
		case !r.NetworkFailure():
			r.Check += " (silenced)"
			silenced = append(silenced, r)
		default:
			left++
		}
	}
	return append(evidence, silenced...), left
}

// notCounted says in the egress message how many silenced checks were
// unreachable too, so that its count agrees with what on-call sees.
func notCounted(ds []alert.Decision, left int) {
	if left == 0 {
		return
	}
	for i := range ds {
		if ds[i].Kind == alert.KindEgress {
			ds[i].Detail += fmt.Sprintf(" (and %d silenced %s, unreachable too, not counted)", left, plural(left, "check"))
		}
	}
}

// withholdMuted drops the alerts, reminders and flapping messages still
// waiting for a check that is silenced now: they were decided before the
// silence (a notifier was down), and a silence means no alert is sent. The
// alert stays open in the check's track, so the end of the silence says
// it again if the check still fails; a resolution still goes out.
func (j *Job) withholdMuted(st *state.File, mutes map[string]alert.Mute) {
	if len(mutes) == 0 {
		return
	}
	for notifier, box := range st.Outboxes {
		kept := box[:0]
		for _, p := range box {
			if _, muted := mutes[p.Check]; muted && withheldWhileSilenced(p.Kind) {
				j.Logger.Info("undelivered message dropped: its check is silenced now",
					"notifier", notifier, "check", p.Check, "kind", string(p.Kind))
				continue
			}
			kept = append(kept, p)
		}
		st.SetOutbox(notifier, kept)
	}
}

// withheldWhileSilenced are the kinds a silence holds back.
func withheldWhileSilenced(k alert.Kind) bool {
	return k == alert.KindAlert || k == alert.KindReminder || k == alert.KindFlapping
}

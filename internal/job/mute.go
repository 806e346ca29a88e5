package job

import (
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/state"
)

// mutes is the mute of every configured check that is silenced at now (a
// silence in the state, or an open maintenance window), by check name.
func (j *Job) mutes(st *state.File, now time.Time) map[string]alert.Mute {
	out := map[string]alert.Mute{}
	for _, c := range j.Config.Checks {
		if m := muteFor(j.Config, st, c.Name, now); m.Active(now) {
			out[c.Name] = m
		}
	}
	return out
}

// muteFor is what silences check at now: its silence or its maintenance
// window, whichever ends later (the zero Mute when neither).
func muteFor(cfg *config.Config, st *state.File, check string, now time.Time) alert.Mute {
	var m alert.Mute
	if s, ok := st.SilenceFor(check, now); ok {
		m = alert.Mute{Until: s.Until, Reason: s.Reason, By: s.By}
	}
	if w, until, ok := cfg.MaintenanceWindow(check, now); ok && until.After(m.Until) {
		m = alert.Mute{Until: until, Reason: w.Schedule, Window: true}
	}
	return m
}

// egressEvidence is whether a result that ran tells about our own network.
// A silenced check's network failure does not: it is silenced for its
// endpoint's maintenance, which explains it, and counting it would blame
// our network for a partner's announced outage. Its answer does: our
// network works.
func egressEvidence(r checks.Result, silenced bool) bool {
	return !silenced || !r.NetworkFailure()
}

package job

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// egressMin is how many checks must have run, every one unreachable, to
// suspect our own network rather than each partner.
const egressMin = 3

// egressErrors bounds how many distinct errors the egress message lists.
const egressErrors = 5

// egressPass is what one pass says about our own network.
type egressPass struct {
	// Down: every endpoint of the pass is unreachable and our network is
	// suspect: the pass's per-check outage alerts and reminders are held.
	Down bool
	// Incident is the egress incident after the pass; nil when none.
	Incident *state.Egress
	// Decisions are the egress message or its resolution, or none.
	Decisions []alert.Decision
}

// decideEgress is the egress policy, a pure function of the open incident
// (nil when none), the results that ran in this pass (none interrupted),
// now, and after: how many passes in a row it takes to tell on-call (the
// checks' smallest after_outages, as a single outage would take). An
// incident opens when at least egressMin checks ran and none got an
// answer; it stays open while no endpoint answers (a pass of fewer checks,
// serve's schedules, adds no evidence against it). From its first pass the
// per-check outage alerts are held; at its after-th pass it is told, once:
// no reminder, as on-call is already working on our own network and the
// metrics keep moving. It ends at the first answer of any kind, with a
// resolution when it was told; a blip shorter than after passes says
// nothing at all, as a single endpoint's would not.
func decideEgress(open *state.Egress, ran []checks.Result, now time.Time, after int) egressPass {
	if len(ran) == 0 {
		return egressPass{Incident: open}
	}
	if i := slices.IndexFunc(ran, func(r checks.Result) bool { return !r.NetworkFailure() }); i >= 0 {
		if open == nil || open.NotifiedAt.IsZero() {
			return egressPass{} // never told: nothing to resolve
		}
		r := ran[i]
		return egressPass{Decisions: []alert.Decision{{Kind: alert.KindResolved, Check: state.NoticeCheck, Type: notify.EgressType,
			Endpoint: r.Endpoint, Outcome: checks.OK, Previous: checks.Unavailable, Since: open.Since, At: now, Checks: open.Checks,
			Detail: fmt.Sprintf("%s answered (%s): %s", r.Check, r.Outcome, r.Detail)}}}
	}
	var next state.Egress
	switch {
	case open != nil:
		next = *open
		next.Checks = len(ran)
		next.Passes++
	case len(ran) < egressMin:
		return egressPass{} // too few to blame our network: per-check rules apply
	default:
		next = state.Egress{Since: now, Checks: len(ran), Passes: 1}
	}
	pass := egressPass{Down: true, Incident: &next}
	if next.NotifiedAt.IsZero() && next.Passes >= max(after, 1) {
		next.NotifiedAt = now
		pass.Decisions = []alert.Decision{{Kind: alert.KindEgress, Check: state.NoticeCheck, Type: notify.EgressType,
			Outcome: checks.Unavailable, Since: next.Since, At: now, Checks: len(ran), Detail: egressDetail(ran)}}
	}
	return pass
}

// egressDetail is how many checks failed and their distinct errors, most
// frequent first, at most egressErrors of them (each detail is one
// sanitized, bounded line already).
func egressDetail(ran []checks.Result) string {
	count := map[string]int{}
	for _, r := range ran {
		count[r.Detail]++
	}
	errs := slices.SortedFunc(maps.Keys(count), func(a, b string) int {
		return cmp.Or(cmp.Compare(count[b], count[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, e := range errs[:min(len(errs), egressErrors)] {
		parts = append(parts, fmt.Sprintf("%s (%d %s)", e, count[e], plural(count[e], "check")))
	}
	if more := len(errs) - egressErrors; more > 0 {
		parts = append(parts, fmt.Sprintf("and %d other %s", more, plural(more, "error")))
	}
	return fmt.Sprintf("%d of %d checks unreachable: %s", len(ran), len(ran), strings.Join(parts, "; "))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// withhold drops one check's outage alerts and reminders of a pass in
// which our own network is down, and undoes what they did to its track:
// the alert state goes back to what it was before the pass (only the
// count of results moves on), so that once the egress incident ends, a
// check that still fails alerts (or reminds, or says its outcome changed)
// at the next pass, exactly as if on-call had never been told, which it
// was not. A rotation not mentioned stays to be mentioned. Resolutions and
// other outcomes are kept.
//
// Nor is the outcome change of such a pass a flapping change: every result
// in it is a network failure that says nothing about the check's own
// endpoint, and counting it would make every check flap with our network.
func withhold(before, next alert.Track, ds []alert.Decision, now time.Time) (alert.Track, []alert.Decision) {
	next = unflap(before, next, now)
	var kept []alert.Decision
	for _, d := range ds {
		held := (d.Kind == alert.KindAlert || d.Kind == alert.KindReminder) && d.Outcome == checks.Unavailable
		if d.Kind == alert.KindFlapping && !next.Flapping() {
			// The change that made it flap is undone: so is its message.
			// (Flapping goes before the rules, which would only have
			// alerted on this outage, an alert held here as well.)
			if d.RotatedFrom != "" {
				next.RotatedFrom = d.RotatedFrom
			}
			continue
		}
		if !held {
			kept = append(kept, d)
			continue
		}
		if before.Active == nil {
			next.Active = nil
		} else {
			a := *before.Active
			a.Checks = next.Active.Checks
			next.Active = &a
		}
		if d.RotatedFrom != "" {
			next.RotatedFrom = d.RotatedFrom
		}
	}
	return next, kept
}

// unflap takes back the outcome change that next recorded at now, and the
// flapping it started, if any.
func unflap(before, next alert.Track, now time.Time) alert.Track {
	if n := len(next.Changes); n > 0 && next.Changes[n-1].At.Equal(now) {
		next.Changes = slices.Clone(next.Changes[:n-1])
		if len(next.Changes) == 0 {
			next.Changes = nil
		}
	}
	if !before.Flapping() && next.Flapping() {
		next.FlappingSince = time.Time{}
	}
	return next
}

// blind is track t as the policy must see it in the pass that ends an
// egress incident (one was open, and this pass is not down): a check whose
// outage began inside the incident was never seen failing on its own, so
// what it was before is unknown, and the change it makes now is no
// flapping change (as a first result makes none). Without this, every
// check would count one change per outage of our own network (the way
// back), and flap with it. Only the outcome is blanked: the counts, the
// alert and the rotation are the track's own.
func blind(open *state.Egress, eg egressPass, t alert.Track, r checks.Result) alert.Track {
	if open == nil || eg.Down || t.Outcome != checks.Unavailable || r.Outcome == t.Outcome || t.OutcomeSince.Before(open.Since) {
		return t
	}
	t.Outcome = ""
	return t
}

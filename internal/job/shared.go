package job

import (
	"context"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
)

// ClaimSlot reports whether this process won the check's schedule slot
// in the job's store (see store.Store.ClaimSlot): serve replicas that
// share a state run each check once per slot. The owner is this
// process's (see Owner).
func (j *Job) ClaimSlot(ctx context.Context, check string, slot time.Time) (bool, error) {
	return j.store().ClaimSlot(ctx, check, slot, j.owner())
}

// SharedReport is every configured check as the store holds it now,
// whichever process ran it last: tracks, lifecycles, silences, the
// cumulative totals, notifier health, outputs, the last success and the
// messages waiting. It has no results and no pass of its own (Started is
// zero). Serve replicas that share a state export it on /metrics, so that
// each one shows every check. It reads a snapshot: no lock, no write.
func (j *Job) SharedReport(ctx context.Context) (*Report, error) {
	st, err := j.store().Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	now := j.now()
	rep := &Report{Tracks: map[string]alert.Track{}, Lifecycles: j.lifecycles(st), Mutes: j.mutes(st, now),
		Totals: totals(st), Notifiers: map[string]bool{}, NotifierErrors: st.Errors, Pending: st.Waiting(),
		LastSuccess: st.LastSuccess, Outputs: st.OutputStatuses()}
	for _, c := range j.Config.Checks {
		if rec, ok := st.Checks[c.Name]; ok {
			rep.Tracks[c.Name] = rec.Track
		}
	}
	for name, h := range st.Notifiers {
		rep.Notifiers[name] = h.Up
	}
	return rep, nil
}

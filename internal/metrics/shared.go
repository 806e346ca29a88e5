package metrics

import "github.com/tokenwatch/tokenwatch/internal/job"

// Shared records the state that serve replicas share (see
// job.SharedReport): every check's track, lifecycle and silence, the
// cumulative totals, notifier health, outputs, the last success and the
// messages waiting. What only a pass knows (its start and duration, each
// check's duration and expires_in) is left as this replica's last pass
// set it.
func (m *Metrics) Shared(rep *job.Report) {
	m.checks.report(rep)
	m.lifecycle.report(rep)
	m.notifications.set(rep.Totals)
	m.notifiers.set(rep.Notifiers, rep.NotifierErrors)
	m.outputs.set(rep.Outputs)
	if !rep.LastSuccess.IsZero() {
		m.runLastSuccess.set(unix(rep.LastSuccess))
	}
	if rep.Pending >= 0 {
		m.pending.set(float64(rep.Pending))
	}
}

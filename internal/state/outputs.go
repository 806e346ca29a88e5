package state

import "time"

// NoticeCheck is the check name of messages about tokenwatch itself (the
// state was reset): they belong to no configured check.
const NoticeCheck = "tokenwatch"

// OutputState is the name under which the state's own saves are recorded
// among the outputs.
const OutputState = "state"

// OutputStatus is when an output (the textfile, the Pushgateway, the
// heartbeat, the state itself) last succeeded and last failed; zero times
// mean never, as far as the state remembers.
type OutputStatus struct {
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastFailure time.Time `json:"last_failure,omitzero"`
}

// Total is one cumulative message count: a one-shot run starts with an
// empty registry, so counters that must only grow are kept here.
type Total struct {
	Notifier string  `json:"notifier"`
	Kind     string  `json:"kind"`
	Result   string  `json:"result"` // "sent" or "failed"
	Value    float64 `json:"value"`
}

// Count adds one message to the cumulative totals.
func (f *File) Count(notifier, kind string, sent bool) {
	result := "failed"
	if sent {
		result = "sent"
	}
	for i := range f.Totals {
		t := &f.Totals[i]
		if t.Notifier == notifier && t.Kind == kind && t.Result == result {
			t.Value++
			return
		}
	}
	f.Totals = append(f.Totals, Total{Notifier: notifier, Kind: kind, Result: result, Value: 1})
}

// RecordOutput notes whether output name succeeded (err == nil) at at.
func (f *File) RecordOutput(name string, at time.Time, err error) {
	if f.Outputs == nil {
		f.Outputs = map[string]OutputStatus{}
	}
	st := f.Outputs[name]
	if err == nil {
		st.LastSuccess = at
	} else {
		st.LastFailure = at
	}
	f.Outputs[name] = st
}

// OutputStatuses is a copy of every output's status.
func (f *File) OutputStatuses() map[string]OutputStatus {
	out := make(map[string]OutputStatus, len(f.Outputs))
	for name, st := range f.Outputs {
		out[name] = st
	}
	return out
}

// NotifierHealth is how a notifier's last delivery went: a one-shot run
// that has nothing to send still exports what the last attempt said.
type NotifierHealth struct {
	Up bool      `json:"up"`
	At time.Time `json:"at"`
}

// ErrorTotal is one cumulative count of a notifier's failed deliveries by
// reason (permanent, rate_limited, transient).
type ErrorTotal struct {
	Notifier string  `json:"notifier"`
	Reason   string  `json:"reason"`
	Value    float64 `json:"value"`
}

// RecordDelivery notes a notifier's attempt: up after a good one; down
// after a failed one, counted under its reason.
func (f *File) RecordDelivery(notifier string, at time.Time, reason string, ok bool) {
	if f.Notifiers == nil {
		f.Notifiers = map[string]NotifierHealth{}
	}
	f.Notifiers[notifier] = NotifierHealth{Up: ok, At: at}
	if ok {
		return
	}
	for i := range f.Errors {
		if e := &f.Errors[i]; e.Notifier == notifier && e.Reason == reason {
			e.Value++
			return
		}
	}
	f.Errors = append(f.Errors, ErrorTotal{Notifier: notifier, Reason: reason, Value: 1})
}

package job

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/notify"
)

// deliver sends one notifier's outbox in order, recording each delivery in
// the state as it happens. The state is locked only to read the next
// message and to record what happened to it, never during the call to the
// notifier: other passes go on checking and deciding meanwhile. After the
// first failure the rest is not tried: the notifier is down, and order
// matters more than a few seconds.
func (j *Job) deliver(ctx context.Context, rep *Report, sess *session, n notify.Notifier) {
	name := n.Name()
	lock, _ := j.delivering.LoadOrStore(name, &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()

	// Only this goroutine takes messages off the head of this outbox (it
	// holds the notifier's lock); other passes only append to its tail.
	j.mu.Lock()
	st := sess.st
	queue := st.Outbox(name)
	messages := make([]notify.Message, len(queue))
	for i, p := range queue {
		messages[i] = message(st, name, p)
	}
	j.mu.Unlock()
	if len(messages) == 0 {
		return
	}
	// kept marks the first left messages of the outbox as not delivered by
	// this pass, and saves.
	kept := func(left int, reason string) {
		j.mu.Lock()
		defer j.mu.Unlock()
		box := st.Outbox(name)
		for k := range box[:left] {
			box[k].Attempts++
			box[k].LastError = reason
		}
		sess.save()
	}

	if limit := notify.MaxPerRun(n); limit > 0 && len(messages) > limit {
		err := n.SendSummary(ctx, messages)
		j.mu.Lock()
		j.recordDelivery(st, name, err)
		for _, m := range messages {
			note := Notification{Message: m, Notifier: name, Delivered: err == nil, Summarized: true}
			if err != nil {
				note.Error = err.Error()
			}
			rep.Notifications = append(rep.Notifications, note)
			st.Count(name, string(m.Kind), err == nil)
		}
		if err == nil {
			st.SetOutbox(name, st.Outbox(name)[len(messages):])
			sess.save()
		}
		j.mu.Unlock()
		if err != nil {
			kept(len(messages), err.Error())
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: summary of %d messages not delivered: %v", name, len(messages), err))
			return
		}
		j.Logger.Warn("too many messages for one run: sent one summary", "notifier", name, "messages", len(messages), "max_messages_per_run", limit)
		return
	}

	for i, m := range messages {
		// An alert delivered just before may have opened the thread this belongs in.
		j.mu.Lock()
		m.Thread = threadOf(st, name, m.Decision)
		j.mu.Unlock()
		note := Notification{Message: m, Notifier: name}
		thread, err := n.Send(ctx, m)
		j.mu.Lock()
		j.recordDelivery(st, name, err)
		st.Count(name, string(m.Kind), err == nil)
		if err == nil {
			// A thread the notifier did not fully name cannot be followed:
			// posting into it would fail, and the state would not hold it.
			if rec := st.Checks[m.Check]; rec != nil && thread != nil && thread.Channel != "" && thread.TS != "" {
				rec.SetThread(name, *thread)
			}
			st.SetOutbox(name, st.Outbox(name)[1:])
			sess.save()
		}
		j.mu.Unlock()
		if err != nil {
			note.Error = err.Error()
			rep.Notifications = append(rep.Notifications, note)
			rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %s for %s not delivered: %v", name, m.Kind, m.Check, err))
			j.Logger.Error("notification not delivered; the next run retries it", "notifier", name, "check", m.Check, "kind", string(m.Kind), "error", err.Error())
			for _, rest := range messages[i+1:] {
				rep.Notifications = append(rep.Notifications, Notification{Message: rest, Notifier: name,
					Error: "not tried: an earlier message failed (" + err.Error() + ")"})
			}
			kept(len(messages)-i, err.Error())
			return
		}
		note.Delivered = true
		rep.Notifications = append(rep.Notifications, note)
	}
}

// recordDelivery notes how a notifier's delivery went, for
// tokenwatch_notifier_up and tokenwatch_notifier_errors_total: a failure
// counts under its class (permanent, rate_limited, transient); a delivery
// cut short by a stop (SIGTERM) says nothing about the notifier. The
// caller holds j.mu.
func (j *Job) recordDelivery(st *state.File, notifier string, err error) {
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return
	}
	reason := notify.Transient
	var de *notify.DeliveryError
	if errors.As(err, &de) && de.Class != "" {
		reason = de.Class
	}
	st.RecordDelivery(notifier, j.now(), string(reason), err == nil)
}

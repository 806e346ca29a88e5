package job

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

// deliver sends one notifier's messages, recording each delivery as it
// happens: it claims the oldest waiting message of every check under a
// lease, sends them, acknowledges each (or hands it back), and claims
// again, until nothing is left it may claim. The store is held only to
// claim and to record, never during the call to the notifier: other
// passes (and replicas) go on checking and deciding meanwhile, and a
// check's messages go out in order, whoever delivers them. After the
// first failure the rest is not tried: the notifier is down, and order
// matters more than a few seconds.
func (j *Job) deliver(ctx context.Context, rep *Report, sess *session, n notify.Notifier) {
	name := n.Name()
	lock, _ := j.delivering.LoadOrStore(name, &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	defer lock.(*sync.Mutex).Unlock()

	sess.mu.Lock()
	waiting := sess.waiting[name]
	sess.mu.Unlock()
	// A storm becomes one summary of every waiting message, as decided;
	// a round of claims larger than the limit (messages decided since, by
	// other passes) is one summary too.
	limit := notify.MaxPerRun(n)
	if limit > 0 && waiting > limit {
		j.sendBacklog(ctx, rep, sess, n, limit)
		return
	}
	for {
		ms, err := sess.store.Claim(ctx, name, j.owner(), j.lease())
		if err != nil {
			sess.noteSaveErr(fmt.Errorf("claim %s's messages: %w", name, err))
			return
		}
		if len(ms) == 0 {
			return
		}
		if limit > 0 && len(ms) > limit {
			if !j.sendSummary(ctx, rep, sess, n, ms, limit) {
				return
			}
			continue
		}
		if !j.sendEach(ctx, rep, sess, n, ms) {
			return
		}
	}
}

// sendEach sends claimed messages one by one, and reports whether every
// one was delivered and recorded. A delivery that could not be recorded
// stops the round as a failed one does: the message was handed back, and
// claiming again would send it again at once, and again while the store
// fails.
func (j *Job) sendEach(ctx context.Context, rep *Report, sess *session, n notify.Notifier, ms []store.Message) bool {
	name := n.Name()
	for i, m := range ms {
		msg := claimed(m, rep.Started)
		note := Notification{Message: msg, Notifier: name}
		thread, err := n.Send(ctx, msg)
		if err == nil {
			note.Delivered = true
			rep.Notifications = append(rep.Notifications, note)
			recorded := j.ack(ctx, sess, m, thread, func(st *state.File) {
				j.recordDelivery(st, name, nil)
				st.Count(name, string(m.Kind), true)
			})
			if !recorded {
				j.handBack(ctx, rep, sess, name, ms[i+1:], "not tried: the delivery of an earlier message could not be recorded")
				return false
			}
			continue
		}
		note.Error = err.Error()
		rep.Notifications = append(rep.Notifications, note)
		rep.Failures = append(rep.Failures, fmt.Sprintf("%s: %s for %s not delivered: %v", name, m.Kind, m.Check, err))
		j.Logger.Error("notification not delivered; the next run retries it", "notifier", name, "check", m.Check, "kind", string(m.Kind), "error", err.Error())
		j.nack(ctx, sess, m, err.Error(), func(st *state.File) {
			j.recordDelivery(st, name, err)
			st.Count(name, string(m.Kind), false)
		})
		j.handBack(ctx, rep, sess, name, ms[i+1:], "not tried: an earlier message failed ("+err.Error()+")")
		return false
	}
	return true
}

// handBack releases claimed messages that were not tried, for the next
// run, and reports them undelivered.
func (j *Job) handBack(ctx context.Context, rep *Report, sess *session, name string, ms []store.Message, reason string) {
	for _, m := range ms {
		rep.Notifications = append(rep.Notifications, Notification{Message: claimed(m, rep.Started), Notifier: name, Error: reason})
		j.nack(ctx, sess, m, reason, func(*state.File) {})
	}
}

// sendSummary sends claimed messages as one summary (a storm: more than
// the notifier takes in one run), and reports whether it was delivered.
func (j *Job) sendSummary(ctx context.Context, rep *Report, sess *session, n notify.Notifier, ms []store.Message, limit int) bool {
	name := n.Name()
	messages := make([]notify.Message, len(ms))
	for i, m := range ms {
		messages[i] = claimed(m, rep.Started)
	}
	err := n.SendSummary(ctx, messages)
	recorded := true
	for i, m := range ms {
		count := func(st *state.File) {
			if i == 0 {
				j.recordDelivery(st, name, err)
			}
			st.Count(name, string(m.Kind), err == nil)
		}
		if err != nil {
			j.nack(ctx, sess, m, err.Error(), count)
		} else if !j.ack(ctx, sess, m, nil, count) {
			recorded = false
		}
	}
	return j.reportSummary(rep, name, messages, err, limit) && recorded
}

// reportSummary adds a summary's messages to the report, and reports
// whether it was delivered (err nil).
func (j *Job) reportSummary(rep *Report, name string, messages []notify.Message, err error, limit int) bool {
	for _, m := range messages {
		note := Notification{Message: m, Notifier: name, Delivered: err == nil, Summarized: true}
		if err != nil {
			note.Error = err.Error()
		}
		rep.Notifications = append(rep.Notifications, note)
	}
	if err != nil {
		rep.Failures = append(rep.Failures, fmt.Sprintf("%s: summary of %d messages not delivered: %v", name, len(messages), err))
		return false
	}
	j.Logger.Warn("too many messages for one run: sent one summary", "notifier", name, "messages", len(messages), "max_messages_per_run", limit)
	return true
}

// ack records a delivery: the message leaves its outbox, its thread
// becomes its check's, and record notes the rest (totals, health). A
// store that fails is tried again (see retry); when it still fails, the
// message is handed back rather than left leased, so that the check's
// later messages do not wait out the lease behind it: the next run sends
// it again, and a repeat is better than a stall. ack reports whether the
// delivery was recorded (in the session's memory at least).
func (j *Job) ack(ctx context.Context, sess *session, m store.Message, thread *notify.Thread, record func(*state.File)) bool {
	err := retry(ctx, func() error {
		return sess.store.Ack(ctx, m, thread, func(st *state.File) {
			record(st)
			sess.see(st)
		})
	})
	if err != nil {
		sess.noteSaveErr(fmt.Errorf("record the delivery of %s for %s: %w", m.Kind, m.Check, err))
	}
	if err != nil && !errors.Is(err, store.ErrUnsaved) {
		j.Logger.Warn("delivery not recorded; the message is handed back and will be sent again",
			"check", m.Check, "kind", string(m.Kind), "notifier", m.Notifier, "error", err.Error())
		j.nack(ctx, sess, m, "delivered, but the delivery could not be recorded: "+err.Error(), func(*state.File) {})
	}
	if err != nil && !errors.Is(err, store.ErrUnsaved) {
		return false
	}
	sess.mu.Lock()
	sess.pending--
	sess.mu.Unlock()
	return true
}

// nack records a message not delivered: it stays for the next run,
// marked late, and record notes the rest.
func (j *Job) nack(ctx context.Context, sess *session, m store.Message, reason string, record func(*state.File)) {
	err := retry(ctx, func() error {
		return sess.store.Nack(ctx, m, reason, func(st *state.File) {
			record(st)
			sess.see(st)
		})
	})
	if err != nil {
		sess.noteSaveErr(fmt.Errorf("record the failed delivery of %s for %s: %w", m.Kind, m.Check, err))
	}
}

// deliveryLease is how long a claimed message is this process's to
// deliver, beyond the grace period: longer than a notifier takes with its
// retries, so that a message is taken over only when its claimer died.
const deliveryLease = 2 * time.Minute

// lease is how long a claim stands: the notifier's time plus the grace
// period a stopping pass goes on delivering for.
func (j *Job) lease() time.Duration {
	grace := j.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	return grace + deliveryLease
}

// owner names this process in its leases.
func (j *Job) owner() string {
	if j.Owner != "" {
		return j.Owner
	}
	return claimOwner()
}

// recordDelivery notes how a notifier's delivery went, for
// tokenwatch_notifier_up and tokenwatch_notifier_errors_total: a failure
// counts under its class (permanent, rate_limited, transient); a delivery
// cut short by a stop (SIGTERM) says nothing about the notifier. The
// caller is inside a store call's fn.
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

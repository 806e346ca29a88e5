package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

// errLooked ends a decision that only reads: nothing it saw is written.
var errLooked = errors.New("read only")

// sendBacklog sends every message waiting for n as one summary (a storm:
// more than the notifier takes in one run), then takes them off the
// outbox, or marks them late when the summary failed. A claim cannot
// gather them: it leases one message per check, and a check's next
// message waits until its head is acknowledged, so claiming in rounds
// would send a backlog of one check as one "summary" per message. The
// messages are read in one decision and taken off in another, both
// without a network call; a crash in between sends the summary again,
// which is better than losing it. A message of the summary already
// leased by another replica may be sent by it as well: a repeat, not a
// loss.
func (j *Job) sendBacklog(ctx context.Context, rep *Report, sess *session, n notify.Notifier, limit int) {
	name := n.Name()
	var backlog []state.Pending
	err := sess.store.Decide(ctx, store.Scope{All: true}, func(st *state.File) error {
		backlog = append([]state.Pending(nil), st.Outbox(name)...)
		return errLooked
	})
	if !errors.Is(err, errLooked) {
		sess.noteSaveErr(fmt.Errorf("read %s's messages: %w", name, err))
		return
	}
	if len(backlog) == 0 {
		return
	}
	messages := make([]notify.Message, len(backlog))
	for i, p := range backlog {
		messages[i] = claimed(store.Message{Notifier: name, Pending: p}, rep.Started)
	}
	sendErr := n.SendSummary(ctx, messages)
	j.settleBacklog(ctx, sess, name, backlog, sendErr)
	j.reportSummary(rep, name, messages, sendErr, limit)
}

// settleBacklog records how the summary of backlog went: its messages
// leave the outbox when it was delivered, and are marked late when not;
// messages decided since it was read stay as they are.
func (j *Job) settleBacklog(ctx context.Context, sess *session, name string, backlog []state.Pending, sendErr error) {
	sent := map[string]int{}
	for _, p := range backlog {
		sent[decisionKey(p)]++
	}
	removed := 0
	err := sess.store.Decide(ctx, store.Scope{All: true}, func(st *state.File) error {
		left := make(map[string]int, len(sent))
		for k, v := range sent {
			left[k] = v
		}
		removed = 0
		var kept []state.Pending
		for _, p := range st.Outbox(name) {
			k := decisionKey(p)
			switch {
			case left[k] == 0:
				kept = append(kept, p)
				continue
			case sendErr == nil:
				removed++
			default:
				p.Attempts++
				p.LastError = sendErr.Error()
				kept = append(kept, p)
			}
			left[k]--
		}
		st.SetOutbox(name, kept)
		j.recordDelivery(st, name, sendErr)
		for _, p := range backlog {
			st.Count(name, string(p.Kind), sendErr == nil)
		}
		sess.see(st)
		return nil
	})
	if err != nil {
		sess.noteSaveErr(fmt.Errorf("record the summary of %d messages: %w", len(backlog), err))
	}
	if err == nil || errors.Is(err, store.ErrUnsaved) {
		sess.mu.Lock()
		sess.pending -= removed
		sess.mu.Unlock()
	}
}

// decisionKey identifies a waiting message by its decision: the outbox
// read again holds the same decisions, and its attempts may have grown.
func decisionKey(p state.Pending) string {
	b, err := json.Marshal(p.Decision)
	if err != nil {
		// A decision is plain data: one that cannot be encoded could not
		// have been stored either. It matches nothing, and stays.
		return ""
	}
	return string(b)
}

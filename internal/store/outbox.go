package store

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// Keyed is a stored message as a decision saw it: its ID and its JSON.
type Keyed struct {
	ID   int64
	JSON []byte
}

// Matched is what became of one outbox after a decision.
type Matched struct {
	// Kept is, for each message of the outbox after the decision, the ID of
	// the unchanged stored message it is, or 0 for a new one.
	Kept []int64
	// Gone are the IDs of stored messages the decision removed or changed.
	Gone []int64
	// JSON is each message after the decision, encoded.
	JSON [][]byte
}

// Match pairs the messages of an outbox after a decision with those it
// held before, in order: a message whose JSON is unchanged keeps its ID
// (and so its place and its lease); a changed message (a waiting reminder
// replaced by a newer one) is gone, and comes back as a new message after
// the others, which keeps the order per check because only the latest
// message of a check is ever replaced. Both stores diff a decision this
// way, so the decision itself is the job's plain code on a state.File.
func Match(before []Keyed, after []state.Pending) (Matched, error) {
	m := Matched{Kept: make([]int64, len(after)), JSON: make([][]byte, len(after))}
	next := 0
	for i, p := range after {
		data, err := json.Marshal(p)
		if err != nil {
			return Matched{}, fmt.Errorf("encode a message for %s: %w", p.Check, err)
		}
		m.JSON[i] = data
		for k := next; k < len(before); k++ {
			if bytes.Equal(before[k].JSON, data) {
				for _, g := range before[next:k] {
					m.Gone = append(m.Gone, g.ID)
				}
				m.Kept[i], next = before[k].ID, k+1
				break
			}
		}
	}
	for _, g := range before[next:] {
		m.Gone = append(m.Gone, g.ID)
	}
	return m, nil
}

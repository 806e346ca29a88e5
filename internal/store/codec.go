package store

import (
	"encoding/json"
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// keyed is a message with its ID, encoded for Match.
func keyed(id int64, p state.Pending) (Keyed, error) {
	data, err := json.Marshal(p)
	if err != nil {
		return Keyed{}, fmt.Errorf("encode a message for %s: %w", p.Check, err)
	}
	return Keyed{ID: id, JSON: data}, nil
}

// encodeFile and decodeFile copy a state through JSON: to undo a
// decision that failed half way.
func encodeFile(f *state.File) ([]byte, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode state: %w", err)
	}
	return data, nil
}

func decodeFile(data []byte) (*state.File, error) {
	var f state.File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("decode state: %w", err)
	}
	if f.Checks == nil {
		f.Checks = map[string]*state.Record{}
	}
	return &f, nil
}

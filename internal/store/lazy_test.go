package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/store"
)

// A store that cannot be opened (PostgreSQL down at start) is tried
// again on every use, and used once it opens.
func TestLazyOpensOnUseUntilItOpens(t *testing.T) {
	down := errors.New("connect: connection refused")
	opens := 0
	file := &store.File{Path: filepath.Join(t.TempDir(), "state.json")}
	s := store.Lazy(func(context.Context) (store.Store, error) {
		opens++
		if opens < 3 {
			return nil, down
		}
		return file, nil
	})
	for range 2 {
		if _, err := s.Open(t.Context()); !errors.Is(err, down) {
			t.Fatalf("open while down: %v", err)
		}
	}
	if _, err := s.Snapshot(t.Context()); err != nil {
		t.Fatalf("snapshot once up: %v", err)
	}
	if won, err := s.ClaimSlot(t.Context(), "a", time.Now(), "me"); err != nil || !won {
		t.Fatalf("claim once up: %v %v", won, err)
	}
	if opens != 3 {
		t.Errorf("opened %d times, want 3: once up, the store is kept", opens)
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

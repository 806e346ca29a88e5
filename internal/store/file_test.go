package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/store/storetest"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

func TestFileConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *testkit.Clock) store.Store {
		return &store.File{Path: filepath.Join(t.TempDir(), "state.json"), Wait: 100 * time.Millisecond, Now: clock.Now}
	})
}

// A file session holds the lock as a run did: a second one waits, then
// gets ErrLocked; once the first closes, the second opens.
func TestFileSessionHoldsTheLock(t *testing.T) {
	s := &store.File{Path: filepath.Join(t.TempDir(), "state.json"), Wait: 50 * time.Millisecond}
	first, err := s.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(t.Context()); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second session: %v, want ErrLocked", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, err := s.Open(t.Context())
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	second.Close()
}

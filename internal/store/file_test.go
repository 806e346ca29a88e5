package store_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/state"
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

// A session in memory writes nothing, and a failed decision leaves it as
// it was: it keeps a copy, having no file to read back.
func TestMemoryUndoesAFailedDecision(t *testing.T) {
	f := state.New()
	f.Record(state.Identity{Name: "a", Type: "courier", Endpoint: "https://a"}).FailuresInRow = 1
	s := store.Memory(f, nil)
	boom := errors.New("boom")
	if err := s.Decide(t.Context(), store.Scope{All: true}, func(f *state.File) error {
		f.Checks["a"].FailuresInRow = 7
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("decide: %v", err)
	}
	var seen int
	if err := s.Decide(t.Context(), store.Scope{All: true}, func(f *state.File) error {
		seen = f.Checks["a"].FailuresInRow
		return nil
	}); err != nil || seen != 1 {
		t.Errorf("after the failed decision: failures_in_row %d, %v; want 1", seen, err)
	}
}

// With LockPerCall, another process takes the lock between two calls of
// a session and changes the file (`tokenwatch silence add`): the
// session's next call reads it, and its claims stand (a message leased
// before is not claimed twice).
func TestLockPerCallReadsAnotherWriteAndKeepsLeases(t *testing.T) {
	clock := testkit.NewClock()
	path := filepath.Join(t.TempDir(), "state.json")
	kept := &store.File{Path: path, Wait: time.Second, Now: clock.Now, LockPerCall: true}
	s, err := kept.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Decide(t.Context(), store.Scope{All: true}, func(f *state.File) error {
		f.Record(state.Identity{Name: "a", Type: "courier", Endpoint: "https://a"})
		f.SetOutbox("slack", []state.Pending{{Decision: alert.Decision{Kind: alert.KindAlert, Check: "a", Outcome: checks.Invalid, At: clock.Now()}}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first, err := s.Claim(t.Context(), "slack", "me", time.Minute)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}

	// Another process, holding the lock from open to close as run does.
	other, err := (&store.File{Path: path, Wait: time.Second, Now: clock.Now}).Open(t.Context())
	if err != nil {
		t.Fatalf("another process cannot take the lock between calls: %v", err)
	}
	if err := other.Update(t.Context(), func(f *state.File) error {
		_, err := f.AddSilence([]string{"a"}, clock.Now().Add(time.Hour), "maintenance", "alice", clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	other.Close()

	if again, err := s.Claim(t.Context(), "slack", "someone else", time.Minute); err != nil || len(again) != 0 {
		t.Errorf("claimed %v (%v) while the message is leased", again, err)
	}
	var silences int
	if err := s.Update(t.Context(), func(f *state.File) error {
		silences = len(f.Silences)
		return nil
	}); err != nil || silences != 1 {
		t.Errorf("the session sees %d silences (%v), want the one added meanwhile", silences, err)
	}
	if err := s.Ack(t.Context(), first[0], nil, func(*state.File) {}); err != nil {
		t.Fatal(err)
	}
	f, err := kept.Snapshot(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Silences) != 1 || f.Waiting() != 0 {
		t.Errorf("file after the ack: silences %v, waiting %d", f.Silences, f.Waiting())
	}
}

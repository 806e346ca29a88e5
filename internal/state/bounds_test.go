package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// A state path that names something other than a state file (a FIFO, a
// directory, a file larger than any state) is an error the run reports:
// nothing is moved, reset silently or overwritten.
func TestStatePathNotAStateFile(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T, path string)
		want error
	}{
		{"FIFO that nobody writes", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		}, safefile.ErrNotRegular},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, safefile.ErrNotRegular},
		{"larger than any state", func(t *testing.T, path string) {
			// Sparse: the size is what counts, not the disk it takes.
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, maxFileSize+1); err != nil {
				t.Fatal(err)
			}
		}, safefile.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			tc.make(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			f, c, err := withDeadline(t, func() (*File, *Corruption, error) { return Peek(path) })
			if !errors.Is(err, tc.want) || c != nil || f == nil {
				t.Errorf("Peek: file %v, corruption %+v, err %v; want %v and an empty state to decide from", f, c, err, tc.want)
			}
			s, err := Open(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f, c, err = withDeadline(t, func() (*File, *Corruption, error) { return s.Load(now) })
			if !errors.Is(err, tc.want) || c != nil || f == nil || f.Checks == nil {
				t.Fatalf("Load: file %v, corruption %+v, err %v; want %v and an empty state to decide from", f, c, err, tc.want)
			}
			// The run may alert from the empty state, but must not replace
			// what it could not read.
			if err := s.Save(f); err == nil {
				t.Error("Save replaced a state file it could not read")
			}
			after, err := os.Lstat(path)
			if err != nil || after.Mode() != before.Mode() || after.Size() != before.Size() {
				t.Errorf("the state path changed: %v -> %v (%v)", before.Mode(), after, err)
			}
			if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 0 {
				t.Errorf("moved aside: %v", aside)
			}
		})
	}
}

// withDeadline fails the test instead of hanging when read blocks (on a
// FIFO, reading waits for a writer that never comes).
func withDeadline(t *testing.T, read func() (*File, *Corruption, error)) (*File, *Corruption, error) {
	t.Helper()
	type result struct {
		f   *File
		c   *Corruption
		err error
	}
	done := make(chan result, 1)
	go func() {
		f, c, err := read()
		done <- result{f, c, err}
	}()
	select {
	case r := <-done:
		return r.f, r.c, r.err
	case <-time.After(10 * time.Second):
		t.Fatal("reading the state blocked")
		return nil, nil, nil
	}
}

// tokenwatch never writes a state it could not read back: the last
// readable file stays, and the save says why it failed.
func TestSaveRefusesAFileLargerThanItReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f := New()
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	rec := f.Record(Identity{Name: "c", Type: "courier", Endpoint: "https://x"})
	rec.Detail = strings.Repeat("x", maxFileSize)
	if err := s.Save(f); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Save of an oversized state: %v", err)
	}
	if _, c, err := Peek(path); err != nil || c != nil {
		t.Fatalf("the last readable state was replaced: %v %v", c, err)
	}
}

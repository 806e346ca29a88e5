package state

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
)

var now = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func TestSaveAndLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "state.json")
	s, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil || len(f.Checks) != 0 {
		t.Fatalf("a missing file must load as empty: %v %v", corrupt, err)
	}
	c := config.Check{Name: "c", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	rec := f.Record(c)
	rec.Outcome, rec.FailuresInRow = checks.Invalid, 3
	rec.Thread = &Thread{Channel: "C1", TS: "1.2"}
	f.Outbox = []Pending{{Decision: alert.Decision{Kind: alert.KindAlert, Check: "c", At: now}, Attempts: 2}}
	if err := s.Save(f); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v: %v", info.Mode().Perm(), err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".state-*")); len(leftovers) != 0 {
		t.Errorf("temp files left behind: %v", leftovers)
	}
	g, corrupt, err := s.Load(now)
	if err != nil || corrupt != nil {
		t.Fatal(err, corrupt)
	}
	got := g.Checks["c"]
	if got.Outcome != checks.Invalid || got.FailuresInRow != 3 || got.Thread.TS != "1.2" || got.Key != Key(c) || len(g.Outbox) != 1 || g.Outbox[0].Attempts != 2 {
		t.Errorf("round trip lost data: %+v %+v", got, g.Outbox)
	}
}

func TestCorruptFiles(t *testing.T) {
	for name, content := range map[string]string{
		"truncated JSON":  `{"version":1,"checks":{`,
		"not JSON":        "\x00\x01garbage",
		"another version": `{"version":99,"checks":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "state.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			// A dry run looks, and moves nothing.
			if _, c, _ := Peek(path); c == nil {
				t.Fatal("Peek did not notice the corruption")
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatal("Peek moved the file")
			}
			s, err := Open(path, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			f, c, err := s.Load(now)
			if err != nil || c == nil || c.MovedTo != path+".corrupt-20261121T090000Z" || len(f.Checks) != 0 {
				t.Fatalf("corruption %+v, err %v", c, err)
			}
			if data, err := os.ReadFile(c.MovedTo); err != nil || string(data) != content {
				t.Errorf("the corrupt file was not kept aside as it was")
			}
		})
	}
}

func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	first, err := Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, 100*time.Millisecond); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	first.Close()
	second, err := Open(path, 100*time.Millisecond)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	second.Close()
}

func TestPrune(t *testing.T) {
	keep := config.Check{Name: "keep", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	edited := config.Check{Name: "edited", Type: "courier", BaseURL: "https://x", Alert: config.DefaultAlert}
	f := New()
	f.Record(keep)
	f.Record(edited)
	f.Record(config.Check{Name: "gone", Type: "courier"})
	f.Outbox = []Pending{{Decision: alert.Decision{Check: "gone"}}, {Decision: alert.Decision{Check: "keep"}}}
	edited.Alert.AfterOutages = 5
	dropped := f.Prune([]config.Check{keep, edited})
	if len(dropped) != 2 || f.Checks["keep"] == nil || f.Checks["edited"] != nil || f.Checks["gone"] != nil {
		t.Errorf("dropped %v, left %v", dropped, f.Checks)
	}
	if len(f.Outbox) != 1 || f.Outbox[0].Check != "keep" {
		t.Errorf("outbox %+v", f.Outbox)
	}
}

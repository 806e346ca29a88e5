// Package state keeps what tokenwatch remembers between runs in one JSON
// file: each check's alert track, where its Slack thread lives, and the
// messages that could not be delivered yet. The file is written atomically
// (temp file, fsync, rename) with mode 0600, and guarded by a lock so that
// overlapping runs (a CronJob or timer that fires while the last run is still
// going) cannot corrupt it.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// FormatVersion is the version of the file's format. A file of another
// version, or of the wrong shape, is treated as corrupt: moved aside,
// reported, started afresh.
const FormatVersion = 1

// File is the whole state.
type File struct {
	Version int                `json:"version"`
	Checks  map[string]*Record `json:"checks"`
	// Outbox holds messages not delivered yet, oldest first. The next run
	// sends them before its own, marked late.
	Outbox []Pending `json:"outbox,omitempty"`
	// LastSuccess is when a pass last delivered its messages and saved the
	// state: a one-shot run starts with an empty registry, and must not
	// export (or push) a last-success time of zero after a failed run.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Totals are cumulative message counts, across runs (see Count).
	Totals []Total `json:"totals,omitempty"`
	// Outputs is each output's last success and failure (see RecordOutput).
	Outputs map[string]OutputStatus `json:"outputs,omitempty"`
}

// Record is what is kept for one check.
type Record struct {
	// Key is a checksum of the check's settings: a record whose key no
	// longer matches (the check was edited) is dropped, not inherited.
	Key string `json:"key"`
	alert.Track
	// Thread is the Slack message the current incident lives in (bot mode).
	Thread *Thread `json:"thread,omitempty"`
}

// Thread locates a Slack message, so replies and updates can follow it.
type Thread struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// Pending is a message that is still to be delivered.
type Pending struct {
	alert.Decision
	// Attempts counts the runs that could not deliver it; above 0 it is late.
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error,omitempty"`
}

// New returns an empty state.
func New() *File { return &File{Version: FormatVersion, Checks: map[string]*Record{}} }

// Key is the checksum of the settings a check's state depends on.
func Key(c config.Check) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%s\x00%+v", c.Name, c.Type, c.Endpoint(), c.Alert))
	return hex.EncodeToString(sum[:6])
}

// Prune drops the records of checks that are no longer configured or whose
// settings changed, and the undelivered messages of checks that are gone.
// It returns the names of what it dropped.
func (f *File) Prune(list []config.Check) []string {
	keys := map[string]string{}
	for _, c := range list {
		keys[c.Name] = Key(c)
	}
	var dropped []string
	for name, rec := range f.Checks {
		if want, ok := keys[name]; !ok || rec.Key != want {
			delete(f.Checks, name)
			dropped = append(dropped, name)
		}
	}
	kept := f.Outbox[:0]
	for _, p := range f.Outbox {
		if _, ok := keys[p.Check]; ok || p.Check == NoticeCheck {
			kept = append(kept, p)
		}
	}
	f.Outbox = kept
	return dropped
}

// Record returns the record of check c, creating an empty one.
func (f *File) Record(c config.Check) *Record {
	rec, ok := f.Checks[c.Name]
	if !ok {
		rec = &Record{Key: Key(c)}
		f.Checks[c.Name] = rec
	}
	return rec
}

// Store is the state file on disk, locked for the lifetime of the Store.
type Store struct {
	path string
	lock *os.File
	// unreadable is why Load could not read what is at path: Save must not
	// replace something it never read.
	unreadable error
}

// ErrLocked is returned by Open when another run holds the state.
var ErrLocked = errors.New("another tokenwatch run holds the state lock")

// Open locks the state at path (path + ".lock"), waiting up to wait for a
// run that holds it to finish. The directory is created if missing.
func Open(path string, wait time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create state directory: %w", err)
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open state lock: %w", err)
	}
	deadline := time.Now().Add(wait)
	for {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return &Store{path: path, lock: lock}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			lock.Close()
			return nil, fmt.Errorf("lock state: %w", err)
		}
		if time.Now().After(deadline) {
			lock.Close()
			return nil, fmt.Errorf("%w (%s.lock, waited %s)", ErrLocked, path, wait)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Close releases the lock.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close() // closing the descriptor releases the flock
	s.lock = nil
	return err
}

// Corruption says that the state file could not be read and where it went.
type Corruption struct {
	Reason  string
	MovedTo string // empty when it could not be moved (or in read-only mode)
}

// Load reads the state. A missing file is an empty state. A corrupt or
// unreadable file is moved aside with a timestamp and reported, and Load
// returns an empty state: the run goes on, alerting afresh. A path that is
// not a state file at all (see read) is an error, with an empty state the
// run may still alert from; Save then refuses to replace it.
func (s *Store) Load(now time.Time) (*File, *Corruption, error) {
	f, reason, err := read(s.path)
	if err != nil {
		s.unreadable = err
	}
	if err != nil || reason == "" {
		return f, nil, err
	}
	aside := fmt.Sprintf("%s.corrupt-%s", s.path, now.UTC().Format("20060102T150405Z"))
	c := &Corruption{Reason: reason}
	if err := os.Rename(s.path, aside); err == nil {
		c.MovedTo = aside
	}
	return New(), c, nil
}

// Peek reads the state without a lock and without moving anything: for dry
// runs, which must change nothing. Like Load, it returns a usable empty
// state along with an error.
func Peek(path string) (*File, *Corruption, error) {
	f, reason, err := read(path)
	if reason != "" {
		return New(), &Corruption{Reason: reason}, nil
	}
	return f, nil, err
}

// maxFileSize bounds the state file, and so what a run spends reading it.
// 10,000 checks, each with an active alert, a thread and a message
// waiting, take 12 MB: this leaves room for the backlog of a long Slack
// outage. A larger file is not one tokenwatch wrote, and decoding it would
// cost a run seconds and hundreds of MB.
const maxFileSize = 32 << 20

// read returns the state, or a reason why the file is corrupt. A path that
// does not name a state file at all is an error instead: a FIFO, a device,
// a directory, or a file larger than any state tokenwatch writes means
// state.path points at the wrong thing. Moving that aside would damage
// whatever it is (as root, /dev/null itself), and a silent reset would
// re-alert on every run with nobody told why; an error makes every run
// exit 3 naming the path, until a person fixes the configuration.
func read(path string) (*File, string, error) {
	data, err := safefile.Read(path, maxFileSize)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return New(), "", nil
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		return New(), "", fmt.Errorf("read state: %w: state.path must name tokenwatch's own state file; it was left as it is", err)
	case err != nil:
		return New(), "unreadable: " + err.Error(), nil
	}
	f, reason := decode(data)
	if reason != "" {
		return New(), reason, nil
	}
	return f, "", nil
}

// Save writes the state atomically: a temp file in the same directory,
// fsync, rename, fsync of the directory. A crash leaves the old file or the
// new one, never half of one.
func (s *Store) Save(f *File) error {
	if s.unreadable != nil {
		return fmt.Errorf("state not saved: %w", s.unreadable)
	}
	f.Version = FormatVersion
	data, err := encode(f)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

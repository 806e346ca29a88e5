// Package state keeps what tokenwatch remembers between runs in one JSON
// file: each check's alert track, where each notifier's thread of its
// incident lives, each notifier's messages that could not be delivered yet,
// and cumulative counts. Older formats migrate in place (migrate.go). The
// file is written atomically
// (temp file, fsync, rename) with mode 0600, and guarded by a lock so that
// overlapping runs (a CronJob or timer that fires while the last run is still
// going) cannot corrupt it.
package state

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/alert"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
	"github.com/tokenwatch/tokenwatch/notify"
)

// FormatVersion is the version of the file's format this tokenwatch
// writes. A file of format 1 is migrated (see migrate.go); a file of a
// newer format is refused and left untouched; a file of the wrong shape is
// corrupt: moved aside, reported, started afresh.
const FormatVersion = 2

// File is the whole state.
type File struct {
	Version int `json:"version"`
	// Checks are the records, by check name.
	Checks map[string]*Record `json:"checks"`
	// Outboxes hold the messages each notifier has not delivered yet, by
	// notifier name, oldest first. The next run sends them before its own,
	// marked late.
	Outboxes map[string][]Pending `json:"outboxes,omitempty"`
	// LastSuccess is the start of the last pass that delivered every
	// message, saved the state and wrote every output: a one-shot run
	// starts with an empty registry, and must not export (or push) a
	// last-success time of zero after a failed run.
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Totals are cumulative message counts, across runs (see Count).
	Totals []Total `json:"totals,omitempty"`
	// Outputs is each output's last success and failure (see RecordOutput).
	Outputs map[string]OutputStatus `json:"outputs,omitempty"`
	// Notifiers is how each notifier's last delivery went, and Errors
	// their failed deliveries by reason, cumulative (see RecordDelivery).
	Notifiers map[string]NotifierHealth `json:"notifiers,omitempty"`
	Errors    []ErrorTotal              `json:"errors,omitempty"`
	// Egress is the open incident of our own network (every endpoint
	// unreachable at once), or nil: a later run must know it was told
	// already, and send its resolution when an endpoint answers.
	Egress *Egress `json:"egress,omitempty"`
	// Silences mute checks' alerts until a time (see silence.go); ended
	// ones are dropped by the run that finds them (PruneSilences).
	Silences []Silence `json:"silences,omitempty"`
}

// Egress is an open incident of our own network.
type Egress struct {
	// Since is the start of the first pass in which every endpoint was
	// unreachable.
	Since time.Time `json:"since"`
	// NotifiedAt is when the one egress message was decided; zero while
	// the incident is younger than the passes it takes to tell on-call.
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// Passes is how many passes in a row found every endpoint unreachable
	// (0 in a file of an earlier release: it was told at once).
	Passes int `json:"passes,omitempty"`
	// Checks is how many checks were unreachable in the latest pass.
	Checks int `json:"checks"`
}

// Record is what is kept for one check. It belongs to the check by name,
// type and endpoint only: a changed alert setting applies to the record as
// it stands, and a new setting in a later release changes no record.
type Record struct {
	Type     string `json:"type,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// V1Key is the key of a record migrated from format 1 that no pass has
	// matched to its check yet (format 1 kept a checksum, not the identity).
	V1Key string `json:"v1_key,omitempty"`
	alert.Track
	// Threads are where the current incident's first message lives, by
	// notifier (Slack in bot mode), so that replies can follow it.
	Threads map[string]Thread `json:"threads,omitempty"`
	// Lifecycle is what the lifecycle policy remembers: the secret's first
	// sightings, the issued_at it was given, the open rotate notice and the
	// certificate seen (alert.EvaluateLifecycle). Nil until the check ran;
	// a file of an earlier release simply lacks it.
	Lifecycle *alert.Lifecycle `json:"lifecycle,omitempty"`
}

// Thread locates a posted message, so replies and updates can follow it.
type Thread = notify.Thread

// Identity is what a record belongs to.
type Identity struct {
	Name, Type, Endpoint string
	// V1Key is what format 1 keyed this check's record by (see V1Key), to
	// adopt a migrated record; empty when no record needs it.
	V1Key string
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

// Prune drops the records of checks that are no longer configured, or
// whose type or endpoint changed (another credential's history), and the
// undelivered messages of checks that are gone (notices stay: they are
// about tokenwatch, or about a check being gone). A record migrated from
// format 1 is adopted by the check whose format-1 key it holds. Prune
// returns the names of the records it dropped.
func (f *File) Prune(ids []Identity) []string {
	byName := make(map[string]Identity, len(ids))
	for _, id := range ids {
		byName[id.Name] = id
	}
	var dropped []string
	for name, rec := range f.Checks {
		id, ok := byName[name]
		switch {
		case ok && rec.V1Key != "" && rec.V1Key == id.V1Key:
			rec.Type, rec.Endpoint, rec.V1Key = id.Type, id.Endpoint, ""
		case ok && rec.V1Key == "" && rec.Type == id.Type && rec.Endpoint == id.Endpoint:
		default:
			delete(f.Checks, name)
			dropped = append(dropped, name)
		}
	}
	for notifier, box := range f.Outboxes {
		kept := box[:0]
		for _, p := range box {
			if _, ok := byName[p.Check]; ok || p.Check == NoticeCheck || p.Kind == alert.KindNotice {
				kept = append(kept, p)
			}
		}
		f.SetOutbox(notifier, kept)
	}
	return dropped
}

// Record returns the record of the check, creating an empty one.
func (f *File) Record(id Identity) *Record {
	rec, ok := f.Checks[id.Name]
	if !ok {
		rec = &Record{Type: id.Type, Endpoint: id.Endpoint}
		f.Checks[id.Name] = rec
	}
	return rec
}

// Outbox is what notifier has yet to deliver, oldest first.
func (f *File) Outbox(notifier string) []Pending { return f.Outboxes[notifier] }

// SetOutbox replaces what notifier has yet to deliver.
func (f *File) SetOutbox(notifier string, box []Pending) {
	if len(box) == 0 {
		delete(f.Outboxes, notifier)
		return
	}
	if f.Outboxes == nil {
		f.Outboxes = map[string][]Pending{}
	}
	f.Outboxes[notifier] = box
}

// KeepOutboxes drops the outboxes of notifiers that are no longer
// configured, and returns their names: nobody is left to deliver them.
func (f *File) KeepOutboxes(notifiers []string) []string {
	var dropped []string
	for name := range f.Outboxes {
		if !slices.Contains(notifiers, name) {
			delete(f.Outboxes, name)
			dropped = append(dropped, name)
		}
	}
	return dropped
}

// Waiting is how many messages wait for the next run, over every notifier.
func (f *File) Waiting() int {
	n := 0
	for _, box := range f.Outboxes {
		n += len(box)
	}
	return n
}

// Thread is where notifier's message about the check's incident lives.
func (r *Record) Thread(notifier string) (Thread, bool) {
	t, ok := r.Threads[notifier]
	return t, ok
}

// SetThread records where notifier posted the check's incident.
func (r *Record) SetThread(notifier string, t Thread) {
	if r.Threads == nil {
		r.Threads = map[string]Thread{}
	}
	r.Threads[notifier] = t
}

// Store is the state file on disk, locked for the lifetime of the Store.
type Store struct {
	path string
	lock *os.File
	// unreadable is why Load could not read what is at path: Save must not
	// replace something it never read.
	unreadable error
	// MigratedFrom is the format Load migrated the file from (0: none),
	// and Backup where it kept the original.
	MigratedFrom int
	Backup       string
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
	if err := keepOwner(lock, path); err != nil {
		lock.Close()
		return nil, err
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

// Load reads the state. A missing file is an empty state. A file of
// format 1 is migrated: the original is kept beside it as
// path.v1.bak before anything replaces it, and nothing is re-alerted. A
// corrupt or unreadable file is moved aside with a timestamp and reported,
// and Load returns an empty state: the run goes on, alerting afresh. A file
// of a newer format, or a path that is not a state file at all (see read),
// is an error, with an empty state; Save then refuses to replace it.
func (s *Store) Load(now time.Time) (*File, *Corruption, error) {
	l, err := read(s.path)
	if err != nil {
		s.unreadable = err
		return New(), nil, err
	}
	if l.reason != "" {
		aside := fmt.Sprintf("%s.corrupt-%s", s.path, now.UTC().Format("20060102T150405Z"))
		c := &Corruption{Reason: l.reason}
		if err := os.Rename(s.path, aside); err == nil {
			c.MovedTo = aside
		}
		return New(), c, nil
	}
	if l.from != 0 {
		backup := fmt.Sprintf("%s.v%d.bak", s.path, l.from)
		if err := writeAtomic(backup, func(w io.Writer) error { _, err := w.Write(l.raw); return err }); err != nil {
			s.unreadable = fmt.Errorf("keep the format-%d state as %s before migrating it: %w", l.from, backup, err)
			return l.file, nil, s.unreadable
		}
		s.MigratedFrom, s.Backup = l.from, backup
	}
	return l.file, nil, nil
}

// Peek reads the state without a lock and without writing or moving
// anything: for dry runs and status, which must change nothing. A format-1
// file is migrated in memory only. Like Load, it returns a usable empty
// state along with an error.
func Peek(path string) (*File, *Corruption, error) {
	l, err := read(path)
	switch {
	case err != nil:
		return New(), nil, err
	case l.reason != "":
		return New(), &Corruption{Reason: l.reason}, nil
	}
	return l.file, nil, nil
}

// maxFileSize bounds the state file, and so what a run spends reading it.
// 10,000 checks, each with an active alert, a thread and a message
// waiting, take 12 MB: this leaves room for the backlog of a long Slack
// outage. A larger file is not one tokenwatch wrote, and decoding it would
// cost a run seconds and hundreds of MB.
const maxFileSize = 32 << 20

// loaded is what read found at a path.
type loaded struct {
	file   *File
	reason string // why the file is corrupt; "" when it is not
	from   int    // the format the file was migrated from; 0 when none
	raw    []byte // the file as read, for the migration's backup
}

// ErrNewerFormat is returned for a state written by a newer tokenwatch: it
// may hold what this release cannot keep, so it is neither read nor replaced.
var ErrNewerFormat = errors.New("the state file was written by a newer tokenwatch")

// read returns the state, or a reason why the file is corrupt. A path that
// does not name a state file at all is an error instead: a FIFO, a device,
// a directory, or a file larger than any state tokenwatch writes means
// state.path points at the wrong thing. Moving that aside would damage
// whatever it is (as root, /dev/null itself), and a silent reset would
// re-alert on every run with nobody told why; an error makes every run
// exit 3 naming the path, until a person fixes the configuration.
func read(path string) (loaded, error) {
	data, err := safefile.Read(path, maxFileSize)
	if err != nil {
		return readFailed(err)
	}
	f, from, reason, err := decode(data)
	if err != nil {
		return loaded{}, fmt.Errorf("read state %s: %w; it was left as it is: upgrade tokenwatch, or move the file away to start afresh", path, err)
	}
	if reason != "" {
		return loaded{file: New(), reason: reason}, nil
	}
	return loaded{file: f, from: from, raw: data}, nil
}

// readFailed says what a failure to read the state file means: no file
// yet, the wrong path, another user's file, or a corrupt one.
func readFailed(err error) (loaded, error) {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return loaded{file: New()}, nil
	case errors.Is(err, safefile.ErrNotRegular), errors.Is(err, safefile.ErrTooLarge):
		return loaded{}, fmt.Errorf("read state: %w: state.path must name tokenwatch's own state file; it was left as it is", err)
	case errors.Is(err, os.ErrPermission):
		// Not corrupt: another user's file. Moving it aside would fail too,
		// and starting afresh would re-alert on every run.
		return loaded{}, fmt.Errorf("read state: %w: run tokenwatch as the user that owns the state (the service's user), or fix its owner; it was left as it is", err)
	}
	return loaded{file: New(), reason: "unreadable: " + err.Error()}, nil
}

// Save writes the state atomically (see writeAtomic).
func (s *Store) Save(f *File) error {
	if s.unreadable != nil {
		return fmt.Errorf("state not saved: %w", s.unreadable)
	}
	f.Version = FormatVersion
	return writeAtomic(s.path, func(w io.Writer) error {
		// A file this tokenwatch could not read back would stop every later
		// run: past the limit the write fails, and the last one stays.
		lw := &limitedWriter{w: w, left: maxFileSize}
		if err := encodeTo(lw, f); err != nil {
			if lw.over {
				return fmt.Errorf("state not saved: it would be larger than the %d bytes tokenwatch reads back", maxFileSize)
			}
			return fmt.Errorf("encode state: %w", err)
		}
		return nil
	})
}

// limitedWriter fails a write past its limit.
type limitedWriter struct {
	w    io.Writer
	left int
	over bool
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if len(p) > l.left {
		l.over = true
		return 0, errors.New("too large")
	}
	l.left -= len(p)
	return l.w.Write(p)
}

// writeAtomic writes a file with mode 0600 through write: a temp file in
// the same directory, fsync, rename, fsync of the directory. A crash (or a
// failed write) leaves the old file or the new one, never half of one.
func writeAtomic(path string, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write state: %w", err)
	}
	if err := keepOwner(tmp, path); err != nil {
		tmp.Close()
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replace state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// keepOwner gives a file tokenwatch creates beside the state the owner of
// the state (or, before there is one, of its directory), when tokenwatch
// runs as root: an on-call engineer's `sudo tokenwatch silence add` must
// not leave a state, or a lock, that the service's own user (systemd's
// DynamicUser, the container's 65532) can no longer open: every later run
// would alert from empty and exit 3. As any other user, files are the
// user's own, as they always were.
func keepOwner(f *os.File, path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	info, err := os.Stat(path)
	if err != nil {
		info, err = os.Stat(filepath.Dir(path))
	}
	if err != nil {
		return nil // nothing to match: the file stays root's, as created
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return nil
	}
	if err := f.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("give %s the state's owner (uid %d): %w", f.Name(), st.Uid, err)
	}
	return nil
}

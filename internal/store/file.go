package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// File is the state file as a Store: internal/state does the work, with
// its lock and format unchanged. A session holds the file's lock from
// Open to Close, so overlapping runs are serialized exactly as before;
// leases live in memory, since only the lock's holder can claim.
//
// With LockPerCall (serve), a session holds the lock only inside each of
// its calls, so that `tokenwatch silence add` and `status` work while the
// daemon runs: each call re-reads the file when another process wrote it
// since the session's own last write, and the in-memory leases still
// protect claims within the process (the only one that delivers).
type File struct {
	Path string
	// Wait is how long Open (and, with LockPerCall, every call) waits for
	// another process's lock; 0 means 5s.
	Wait time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LockPerCall takes the lock inside each call instead of from Open to
	// Close.
	LockPerCall bool
}

var _ Store = (*File)(nil)

func (s *File) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *File) wait() time.Duration {
	if s.Wait == 0 {
		return 5 * time.Second
	}
	return s.Wait
}

// Open locks and reads the file (see state.Store.Load). When the file can
// be read but not saved (its format-1 original could not be kept), Open
// returns a session along with the error: it decides, and every save
// fails with that error, so the run alerts and still exits 3, as before.
func (s *File) Open(ctx context.Context) (Session, error) {
	st, err := state.Open(s.Path, s.wait())
	if err != nil {
		return nil, err
	}
	f, corrupt, err := st.Load(s.now())
	if errors.Is(err, state.ErrNewerFormat) {
		st.Close()
		return nil, err
	}
	sess := newFileSession(f, s.now)
	sess.info = Info{Corruption: corrupt, MigratedFrom: st.MigratedFrom, Backup: st.Backup}
	// Until its first save, a file that was migrated, moved aside or not
	// read is not what the session holds.
	sess.dirty = err != nil || st.MigratedFrom != 0 || corrupt != nil
	if !s.LockPerCall {
		sess.store = st
		return sess, err
	}
	sess.file, sess.broken = s, err
	sess.seen = stat(s.Path)
	st.Close()
	return sess, err
}

// Memory is a session over f that keeps every change in memory and
// writes nothing: a pass decides and delivers from it when the state
// cannot be written (PostgreSQL down, a state file that cannot be
// locked), so that on-call still hears.
func Memory(f *state.File, now func() time.Time) Session {
	if now == nil {
		now = time.Now
	}
	return newFileSession(f, now)
}

func newFileSession(f *state.File, now func() time.Time) *fileSession {
	sess := &fileSession{f: f, now: now, boxes: map[string][]*entry{}}
	for notifier, box := range f.Outboxes {
		for _, p := range box {
			sess.nextID++
			sess.boxes[notifier] = append(sess.boxes[notifier], &entry{id: sess.nextID, p: p})
		}
	}
	return sess
}

// Snapshot reads the file without its lock (state.Peek).
func (s *File) Snapshot(ctx context.Context) (*state.File, error) {
	f, corrupt, err := state.Peek(s.Path)
	switch {
	case err != nil:
		return nil, err
	case corrupt != nil:
		return nil, &CorruptError{Path: s.Path, Corruption: corrupt}
	}
	return f, nil
}

// ClaimSlot always wins: one process holds the file.
func (s *File) ClaimSlot(ctx context.Context, check string, slot time.Time, owner string) (bool, error) {
	return true, nil
}

// Import writes f as the file, under its lock, unless the file holds a
// record of a configured check.
func (s *File) Import(ctx context.Context, f *state.File, configured []string) error {
	st, err := state.Open(s.Path, s.wait())
	if err != nil {
		return err
	}
	defer st.Close()
	cur, _, err := st.Load(s.now())
	if err != nil {
		return err
	}
	for _, name := range configured {
		if cur.Checks[name] != nil {
			return fmt.Errorf("%w: %s", ErrNotEmpty, name)
		}
	}
	return st.Save(f)
}

// Close has nothing to release: sessions hold the lock.
func (s *File) Close() error { return nil }

// fileSession is the file in memory, locked, saved after every change.
type fileSession struct {
	mu sync.Mutex
	// store is the file, locked from Open to Close; nil with LockPerCall
	// (file is set, and each call locks) and in memory (nothing is saved).
	store *state.Store
	file  *File
	// seen is the file as this session last read or wrote it (LockPerCall):
	// another one there was written by another process. broken is why the
	// file must not be replaced (it could not be read).
	seen   os.FileInfo
	broken error
	// dirty is set while the session holds what its file does not (a save
	// failed, or the file could not be read as it is).
	dirty bool
	// f holds the records and file-level fields; its Outboxes are rebuilt
	// from boxes whenever a decision or a save needs them.
	f      *state.File
	boxes  map[string][]*entry
	nextID int64
	now    func() time.Time
	info   Info
}

// entry is a message in a notifier's outbox, with its lease.
type entry struct {
	id    int64
	p     state.Pending
	owner string
	until time.Time
}

func (s *fileSession) Info() Info { return s.info }

// Decide runs fn on the whole file (the scope does not narrow what a
// file holds in memory anyway). On an error from fn, the state is
// restored as it was.
func (s *fileSession) Decide(ctx context.Context, scope Scope, fn func(*state.File) error) error {
	return s.call(func() error { return s.decide(fn) })
}

// decide is Decide inside its call.
func (s *fileSession) decide(fn func(*state.File) error) error {
	before, err := s.keyedBoxes()
	if err != nil {
		return err
	}
	// Undoing a failed decision reads the file again when it holds what
	// the session does; only a session ahead of its file (in memory, or
	// after a failed save) keeps a copy first: at 10,000 checks, the copy
	// cost a pass a quarter of its memory.
	var saved []byte
	if s.store == nil || s.dirty {
		if saved, err = encodeFile(s.f); err != nil {
			return err
		}
	}
	s.f.Outboxes = s.outboxes()
	if err := fn(s.f); err != nil {
		s.undo(saved)
		return err
	}
	if err := s.rebox(before); err != nil {
		return err
	}
	return s.save()
}

// call runs fn as one call of the session: under its mutex and, with
// LockPerCall, the file's lock (see begin).
func (s *fileSession) call(fn func() error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	release, err := s.begin()
	if err != nil {
		return err
	}
	defer release()
	return fn()
}

// keyedBoxes is the outboxes as Match compares them, before a change.
func (s *fileSession) keyedBoxes() (map[string][]Keyed, error) {
	before := map[string][]Keyed{}
	for notifier, box := range s.boxes {
		for _, e := range box {
			k, err := keyed(e.id, e.p)
			if err != nil {
				return nil, err
			}
			before[notifier] = append(before[notifier], k)
		}
	}
	return before, nil
}

// undo puts the state back as it was before a failed decision: from
// saved, or else from the file, which holds it (see Decide). The
// outboxes live in boxes, which a decision does not touch until it
// succeeds.
func (s *fileSession) undo(saved []byte) {
	if saved != nil {
		if restored, err := decodeFile(saved); err == nil {
			s.f = restored
		}
		return
	}
	if f, _, err := s.store.Load(s.now()); err == nil {
		s.f = f
	}
}

// rebox takes the outboxes a decision left in s.f back into boxes,
// keeping the IDs and leases of unchanged messages (see Match).
func (s *fileSession) rebox(before map[string][]Keyed) error {
	next := map[string][]*entry{}
	for notifier, after := range s.f.Outboxes {
		m, err := Match(before[notifier], after)
		if err != nil {
			return err
		}
		old := map[int64]*entry{}
		for _, e := range s.boxes[notifier] {
			old[e.id] = e
		}
		for i, p := range after {
			e := old[m.Kept[i]]
			if e == nil {
				s.nextID++
				e = &entry{id: s.nextID}
			}
			e.p = p
			next[notifier] = append(next[notifier], e)
		}
	}
	s.boxes = next
	return nil
}

// Update runs fn on the file-level fields only.
func (s *fileSession) Update(ctx context.Context, fn func(*state.File) error) error {
	return s.call(func() error {
		var err error
		s.fileLevel(func(v *state.File) { err = fn(v) })
		if err != nil {
			return err
		}
		return s.save()
	})
}

// fileLevel runs fn on a copy of the file without its records and
// outboxes, and keeps the file-level fields fn leaves.
func (s *fileSession) fileLevel(fn func(*state.File)) {
	v := *s.f
	v.Checks, v.Outboxes = map[string]*state.Record{}, nil
	fn(&v)
	checks := s.f.Checks
	*s.f = v
	s.f.Checks = checks
}

// Claim leases the head of every check's queue that is not leased.
func (s *fileSession) Claim(ctx context.Context, notifier, owner string, lease time.Duration) ([]Message, error) {
	var out []Message
	err := s.call(func() error {
		out = s.claim(notifier, owner, lease)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// claim is Claim inside its call.
func (s *fileSession) claim(notifier, owner string, lease time.Duration) []Message {
	now := s.now()
	seen := map[string]bool{}
	var out []Message
	for _, e := range s.boxes[notifier] {
		if seen[e.p.Check] {
			continue
		}
		seen[e.p.Check] = true
		if e.owner != "" && now.Before(e.until) {
			continue // being delivered: the check's later messages wait
		}
		e.owner, e.until = owner, now.Add(lease)
		m := Message{ID: e.id, Notifier: notifier, Pending: e.p}
		if rec := s.f.Checks[e.p.Check]; rec != nil {
			if t, ok := rec.Thread(notifier); ok {
				m.Thread = &t
			}
		}
		out = append(out, m)
	}
	return out
}

// Ack drops the message, keeps its thread, and saves.
func (s *fileSession) Ack(ctx context.Context, m Message, thread *state.Thread, fn func(*state.File)) error {
	return s.call(func() error {
		box := s.boxes[m.Notifier]
		if i := slices.IndexFunc(box, func(e *entry) bool { return e.id == m.ID }); i >= 0 {
			s.boxes[m.Notifier] = slices.Delete(box, i, i+1)
		}
		if rec := s.f.Checks[m.Check]; rec != nil && complete(thread) {
			rec.SetThread(m.Notifier, *thread)
		}
		s.fileLevel(fn)
		return s.save()
	})
}

// Nack counts the attempt, releases the lease, and saves.
func (s *fileSession) Nack(ctx context.Context, m Message, reason string, fn func(*state.File)) error {
	return s.call(func() error {
		for _, e := range s.boxes[m.Notifier] {
			if e.id == m.ID {
				e.p.Attempts++
				e.p.LastError = reason
				e.owner, e.until = "", time.Time{}
			}
		}
		s.fileLevel(fn)
		return s.save()
	})
}

// Close releases the lock, if the session holds it.
func (s *fileSession) Close() error {
	if s.store == nil || s.file != nil {
		return nil
	}
	return s.store.Close()
}

// outboxes is boxes as state.File holds them.
func (s *fileSession) outboxes() map[string][]state.Pending {
	out := map[string][]state.Pending{}
	for notifier, box := range s.boxes {
		for _, e := range box {
			out[notifier] = append(out[notifier], e.p)
		}
	}
	return out
}

// save writes the file as it is in memory: to the store the call holds
// (see begin), or nowhere in memory. A failure is ErrUnsaved: the change
// is kept in memory, and the session goes on from it.
func (s *fileSession) save() error {
	s.f.Outboxes = s.outboxes()
	if s.store == nil {
		return nil
	}
	if s.broken != nil {
		s.dirty = true
		return fmt.Errorf("%w: %w", ErrUnsaved, s.broken)
	}
	if err := s.store.Save(s.f); err != nil {
		s.dirty = true
		return fmt.Errorf("%w: %w", ErrUnsaved, err)
	}
	s.dirty = false
	if s.file != nil {
		s.seen = stat(s.file.Path)
	}
	return nil
}

// begin prepares one call. With LockPerCall it takes the file's lock for
// the call, and first reads the file again when another process wrote it
// since this session last did (a silence added meanwhile); release lets
// the lock go. Otherwise the session's lock (or none, in memory) serves.
func (s *fileSession) begin() (release func(), err error) {
	if s.file == nil {
		return func() {}, nil
	}
	st, err := state.Open(s.file.Path, s.file.wait())
	if err != nil {
		return nil, err
	}
	if cur := stat(s.file.Path); !sameFile(cur, s.seen) {
		if err := s.reload(st); err != nil {
			st.Close()
			return nil, err
		}
	}
	s.store = st
	return func() {
		s.store = nil
		st.Close()
	}, nil
}

// reload takes in the file another process wrote: its records and
// file-level fields replace the session's, and its outboxes keep the IDs
// and leases of the messages the session already held (see Match). A
// file that was removed, or became corrupt, is not taken: the session's
// own state is the best there is, and the next save writes it back.
func (s *fileSession) reload(st *state.Store) error {
	if stat(s.file.Path) == nil {
		s.broken = nil // removed: the next save writes it again
		return nil
	}
	f, corrupt, err := st.Load(s.now())
	switch {
	case err != nil:
		// Not a state this process can read: the session goes on in
		// memory, and its saves fail rather than replace it.
		s.broken, s.dirty = err, true
		return nil
	case corrupt != nil:
		s.broken, s.seen, s.dirty = nil, nil, true
		return nil
	}
	s.broken = nil
	before, err := s.keyedBoxes()
	if err != nil {
		return err
	}
	s.f = f
	if err := s.rebox(before); err != nil {
		return err
	}
	s.seen = stat(s.file.Path)
	return nil
}

// stat is the file at path, nil when there is none.
func stat(path string) os.FileInfo {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return fi
}

// sameFile reports whether a and b are the same write of a file: the
// state is replaced by a rename on every save, so another process's save
// is another file (or, should the inode be reused, another time or size).
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// complete reports whether a thread names both its channel and its
// message: a reply into anything less would fail.
func complete(t *state.Thread) bool { return t != nil && t.Channel != "" && t.TS != "" }

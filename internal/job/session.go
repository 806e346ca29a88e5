package job

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/notify"
)

// session is one pass's hold on the state: a store session (the job's
// kept one in serve), and what the pass saw of the state through it.
type session struct {
	job   *Job
	store store.Session
	// unsaved is set when the store could not be used: the pass decides
	// and delivers in memory, and records nothing.
	unsaved bool
	// first is set when the session was just opened: its first decision
	// fits the state to this configuration (see adopt), and corrupt is
	// what opening found.
	first   bool
	corrupt *state.Corruption

	mu      sync.Mutex
	saveErr error // the first write that failed; later ones are not repeated
	// What the pass last saw of the state: the active alerts and waiting
	// messages as decided, the file-level fields after each write.
	active    []notify.Active
	waiting   map[string]int
	pending   int
	totals    []Total
	notifiers map[string]bool
	errors    []NotifierError
}

// noteSaveErr remembers the first write that failed; it is reported once,
// at the end of the pass, which goes on delivering.
func (s *session) noteSaveErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.saveErr != nil {
		return
	}
	s.saveErr = err
	s.job.Logger.Error("state not saved; messages are still sent, and the next run may repeat them",
		"state", s.job.stateName(), "error", err.Error())
}

// see records the file-level fields the pass reports (totals, notifier
// health). The caller is inside a store call's fn.
func (s *session) see(st *state.File) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.totals = totals(st)
	s.notifiers = make(map[string]bool, len(st.Notifiers))
	for name, h := range st.Notifiers {
		s.notifiers[name] = h.Up
	}
	s.errors = append([]NotifierError(nil), st.Errors...)
}

// store is where the job keeps its state: Store, or the state file of the
// configuration (locked per call when the state is kept, as serve does),
// with a deadline on every call (see bounded).
func (j *Job) store() store.Store {
	j.storeOnce.Do(func() {
		if j.Store == nil {
			j.Store = &store.File{Path: j.Config.State.Path, Wait: j.StateWait, Now: j.Now, LockPerCall: j.Keep}
		}
		j.bounded = bounded{Store: j.Store, override: j.StoreTimeout, wait: j.StateWait}
	})
	return j.bounded
}

// stateName says which state a log line is about: the file's path, or
// PostgreSQL (never its DSN).
func (j *Job) stateName() string {
	if j.Config.State.Postgres != nil {
		return "postgres"
	}
	return j.Config.State.Path
}

// open returns the session a pass decides from: the one kept between
// passes (Keep), or a new one. It returns nil when the pass must not
// decide at all (another run holds the state; the state is of a newer
// format), with the reason in rep. A store that cannot be used (a state
// file that cannot be locked, PostgreSQL down) gives a session in memory
// over the state as last saved, or an empty one: the pass alerts from it
// and records nothing (a repeat on the next run is acceptable, silence is
// not). Opens are serialized by openMu, not j.mu: waiting for another
// run's lock blocks no other pass. Only a session that can be written is
// kept for later passes; the next pass tries the store again.
func (j *Job) open(ctx context.Context, rep *Report) *session {
	j.openMu.Lock()
	defer j.openMu.Unlock()
	j.mu.Lock()
	kept := j.kept
	j.mu.Unlock()
	if kept != nil {
		return &session{job: j, store: kept}
	}
	sess := &session{job: j, first: true}
	ss, err := j.store().Open(ctx)
	switch {
	case errors.Is(err, store.ErrLocked):
		// Another run is deciding and sending from the same state: sending
		// too would repeat its messages, and it will send ours next time.
		msg := err.Error() + ": another run is still sending; this run's results are not recorded and nothing was sent"
		rep.Failures = append(rep.Failures, "state: "+msg)
		j.Logger.Error("cannot take the state", "error", msg)
		return nil
	case errors.Is(err, state.ErrNewerFormat):
		// Deciding from empty would re-alert everything on every run.
		if ss != nil {
			ss.Close()
		}
		rep.Failures = append(rep.Failures, "state: "+err.Error()+"; nothing was decided or sent")
		j.Logger.Error("the state is of a newer format; nothing is decided or sent until it is", "state", j.stateName(), "error", err.Error())
		return nil
	case ss == nil && err != nil:
		return j.openMemory(ctx, rep, err)
	case err != nil:
		// The file was read but cannot be saved: decide from it, alert, and
		// fail every save.
		rep.Failures = append(rep.Failures, "state: "+err.Error())
		j.Logger.Error("cannot read the state; alerting from what could be read", "state", j.stateName(), "error", err.Error())
	}
	sess.store = ss
	info := ss.Info()
	sess.corrupt = info.Corruption
	if info.MigratedFrom != 0 {
		j.Logger.Info("state migrated to the current format; the original is kept beside it",
			"path", j.Config.State.Path, "from_format", info.MigratedFrom, "backup", info.Backup)
	}
	if j.Keep && err == nil {
		j.mu.Lock()
		j.kept = ss
		j.mu.Unlock()
	}
	return sess
}

// openMemory is a session over the state as last saved (or empty, when
// even that cannot be read), for a store that cannot be written: see open.
func (j *Job) openMemory(ctx context.Context, rep *Report, cause error) *session {
	j.Logger.Error("cannot take the state; alerting without saving", "state", j.stateName(), "error", cause.Error())
	from := "the state as last saved"
	f, err := j.snapshotAfter(ctx, cause)
	var corrupt *store.CorruptError
	switch {
	case errors.Is(err, state.ErrNewerFormat):
		rep.Failures = append(rep.Failures, "state: "+cause.Error()+": nothing was decided or sent")
		return nil
	case errors.As(err, &corrupt):
		f = state.New() // on-call hears that the state was reset (see adopt)
		from = "an empty state (the saved one is corrupt)"
	case err != nil:
		j.Logger.Error("cannot read the state either; alerting from empty", "state", j.stateName(), "error", err.Error())
		f = state.New()
		from = "an empty state (the saved one could not be read either)"
	}
	rep.Failures = append(rep.Failures, "state: "+cause.Error()+": alerts were sent from "+from+"; nothing was recorded, so the next run may repeat them")
	sess := &session{job: j, store: store.Memory(f, j.now), unsaved: true, first: true}
	if corrupt != nil {
		sess.corrupt = corrupt.Corruption
	}
	return sess
}

// snapshotAfter reads the state as last saved after a call that failed
// with cause, unless the store did not answer that call in time: asking
// again would only wait as long, and the pass has alerts to send.
func (j *Job) snapshotAfter(ctx context.Context, cause error) (*state.File, error) {
	if errors.Is(cause, context.DeadlineExceeded) {
		return nil, cause
	}
	return j.store().Snapshot(ctx)
}

// dryRun decides from the state as it is, without a lock, and lists what
// would be sent: nothing is sent, saved or moved.
func (j *Job) dryRun(ctx context.Context, rep *Report) {
	st, err := j.store().Snapshot(ctx)
	var corrupt *store.CorruptError
	var found *state.Corruption
	switch {
	case errors.Is(err, state.ErrNewerFormat):
		j.Logger.Error("dry run: the state is of a newer format; nothing to decide", "state", j.stateName(), "error", err.Error())
		return
	case errors.As(err, &corrupt):
		st, found = state.New(), corrupt.Corruption
	case err != nil:
		j.Logger.Warn("dry run: cannot read the state; deciding from empty", "state", j.stateName(), "error", err.Error())
		st = state.New()
	}
	j.adopt(st, found)
	j.evaluate(st, rep)
	for _, n := range j.Notifiers {
		for _, p := range st.Outbox(n.Name()) {
			rep.Notifications = append(rep.Notifications, Notification{Message: message(st, n.Name(), p), Notifier: n.Name()})
		}
	}
	rep.Pending = st.Waiting()
}

// finish records how the outputs did and whether the pass was a success,
// and releases the session unless it is kept.
func (j *Job) finish(ctx context.Context, rep *Report, outputs map[string]error, s *session) {
	if !s.unsaved {
		var prev time.Time
		record := func(saveErr error) func(*state.File) error {
			return func(st *state.File) error {
				for name, err := range outputs {
					if name == metricsOutput {
						continue // the registry in memory: it cannot fail in a way anyone must hear about
					}
					st.RecordOutput(name, rep.Started, err)
				}
				prev = st.LastSuccess
				st.RecordOutput(state.OutputState, rep.Started, saveErr)
				if saveErr == nil && rep.Delivered() {
					st.LastSuccess = rep.Started
				}
				return nil
			}
		}
		s.mu.Lock()
		before := s.saveErr
		s.mu.Unlock()
		if err := s.store.Update(ctx, record(before)); err != nil {
			s.noteSaveErr(err)
			if before == nil && errors.Is(err, store.ErrUnsaved) {
				// The write that would have recorded this pass's success
				// failed, but a session kept in memory holds it: undo it, or
				// the next save would write a success that never was.
				_ = s.store.Update(ctx, func(st *state.File) error {
					st.LastSuccess = prev
					st.RecordOutput(state.OutputState, rep.Started, err)
					return nil
				})
			}
		}
	}
	if s.saveErr != nil {
		rep.Failures = append(rep.Failures, "state: "+s.saveErr.Error()+": what was sent may be sent again by the next run")
	}
	j.mu.Lock()
	kept := j.kept == s.store
	j.mu.Unlock()
	if !kept {
		if err := s.store.Close(); err != nil {
			j.Logger.Error("state not released cleanly", "error", err.Error())
		}
	}
}

// metricsOutput is the registry's Output name; see finish.
const metricsOutput = "metrics"

// claimOwner names this process in the leases it takes: its host and pid,
// for people reading the database.
func claimOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

package job

import (
	"errors"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// session is a hold on the state: the file in memory, and the store it is
// saved to (nil when it cannot be saved: the state could not be locked).
type session struct {
	job     *Job
	store   *state.Store
	st      *state.File
	saveErr error // the first save that failed; later ones are not repeated
}

// save writes the state as it is now. A failure is remembered and reported
// once, at the end of the pass; the pass goes on delivering. The caller
// holds j.mu.
func (s *session) save() {
	if s.store == nil || s.saveErr != nil {
		return
	}
	if err := s.store.Save(s.st); err != nil {
		s.saveErr = err
		s.job.Logger.Error("state not saved; messages are still sent, and the next run may repeat them",
			"path", s.job.Config.State.Path, "error", err.Error())
	}
}

// closeStore releases the state lock, if the session holds it.
func (s *session) closeStore() error {
	if s.store == nil {
		return nil
	}
	err := s.store.Close()
	s.store = nil
	return err
}

// open returns the state a pass decides from: the one kept in memory
// (Keep), or the file, locked. It returns nil when the pass must not decide
// at all (another run holds the lock; the file is of a newer format), with
// the reason in rep. Opens are serialized by openMu, not j.mu: waiting for
// another run's lock blocks no other pass's decisions or deliveries. Only
// a state that can be saved is kept for later passes; one that cannot
// belongs to this pass alone, and the next pass tries the file again.
func (j *Job) open(rep *Report) *session {
	j.openMu.Lock()
	defer j.openMu.Unlock()
	j.mu.Lock()
	kept := j.sess
	j.mu.Unlock()
	if kept != nil {
		return kept
	}
	sess := j.openFile(rep)
	if sess != nil && j.Keep && sess.store != nil {
		j.mu.Lock()
		j.sess = sess
		j.mu.Unlock()
	}
	return sess
}

// openFile locks and reads the state file (see open).
func (j *Job) openFile(rep *Report) *session {
	now := j.now()
	path := j.Config.State.Path
	wait := j.StateWait
	if wait == 0 {
		wait = 5 * time.Second
	}
	sess := &session{job: j}
	var corrupt *state.Corruption
	store, err := state.Open(path, wait)
	switch {
	case errors.Is(err, state.ErrLocked):
		// Another run is deciding and sending from the same state: sending
		// too would repeat its messages, and it will send ours next time.
		msg := err.Error() + ": another run is still sending; this run's results are not recorded and nothing was sent"
		rep.Failures = append(rep.Failures, "state: "+msg)
		j.Logger.Error("cannot take the state", "error", msg)
		return nil
	case err != nil:
		// Nobody else holds the state, it just cannot be written: decide
		// from what it says and alert anyway.
		rep.Failures = append(rep.Failures, "state: "+err.Error()+": alerts were sent from the state as last saved; nothing was recorded, so the next run may repeat them")
		j.Logger.Error("cannot lock the state; alerting without saving", "path", path, "error", err.Error())
		var peekErr error
		if sess.st, corrupt, peekErr = state.Peek(path); errors.Is(peekErr, state.ErrNewerFormat) {
			return nil
		}
	default:
		sess.store = store
		sess.st, corrupt, err = store.Load(now)
		switch {
		case errors.Is(err, state.ErrNewerFormat):
			// Deciding from empty would re-alert everything on every run.
			rep.Failures = append(rep.Failures, "state: "+err.Error()+"; nothing was decided or sent")
			j.Logger.Error("the state file is of a newer format; nothing is decided or sent until it is", "path", path, "error", err.Error())
			store.Close()
			return nil
		case err != nil:
			rep.Failures = append(rep.Failures, "state: "+err.Error())
			j.Logger.Error("cannot read the state; alerting from empty", "path", path, "error", err.Error())
		case store.MigratedFrom != 0:
			j.Logger.Info("state migrated to the current format; the original is kept beside it",
				"path", path, "from_format", store.MigratedFrom, "backup", store.Backup)
		}
	}
	j.adopt(sess.st, corrupt)
	return sess
}

// dryRun decides from the state as it is on disk, without a lock, and
// lists what would be sent: nothing is sent, saved or moved.
func (j *Job) dryRun(rep *Report) {
	path := j.Config.State.Path
	st, corrupt, err := state.Peek(path)
	switch {
	case errors.Is(err, state.ErrNewerFormat):
		j.Logger.Error("dry run: the state file is of a newer format; nothing to decide", "path", path, "error", err.Error())
		return
	case err != nil:
		j.Logger.Warn("dry run: cannot read the state; deciding from empty", "path", path, "error", err.Error())
	}
	j.adopt(st, corrupt)
	j.evaluate(st, rep)
	for _, n := range j.Notifiers {
		for _, p := range st.Outbox(n.Name()) {
			rep.Notifications = append(rep.Notifications, Notification{Message: message(st, n.Name(), p), Notifier: n.Name()})
		}
	}
	rep.Pending = st.Waiting()
}

// finish records how the outputs did and whether the pass was a success,
// saves, and releases the state unless it is kept.
func (j *Job) finish(rep *Report, outputs map[string]error, s *session) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if s.store != nil {
		for name, err := range outputs {
			if name == metricsOutput {
				continue // the registry in memory: it cannot fail in a way anyone must hear about
			}
			s.st.RecordOutput(name, rep.Started, err)
		}
		before := s.saveErr
		prev := s.st.LastSuccess
		s.st.RecordOutput(state.OutputState, rep.Started, s.saveErr)
		if s.saveErr == nil && rep.Delivered() {
			s.st.LastSuccess = rep.Started
		}
		s.save()
		if before == nil && s.saveErr != nil {
			// The save that would have recorded this pass's success failed:
			// a state kept in memory must not hold it either, or the next
			// save would write a success that never was.
			s.st.LastSuccess = prev
			s.st.RecordOutput(state.OutputState, rep.Started, s.saveErr)
		}
	}
	if s.saveErr != nil {
		rep.Failures = append(rep.Failures, "state: "+s.saveErr.Error()+": what was sent may be sent again by the next run")
		s.saveErr = nil // reported; a kept state tries again next pass
	}
	if j.sess != s {
		s.closeStore() // this pass's own: released with it
	}
}

// metricsOutput is the registry's Output name; see finish.
const metricsOutput = "metrics"

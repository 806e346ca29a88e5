package job

import (
	"context"
	"errors"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// storeAttempts is how many times an ack or a nack is tried: a store
// whose connection was cut (a restarted server, a terminated backend)
// answers on the next one, and a delivery not recorded is sent again.
const storeAttempts = 3

// storePause is the pause before the next attempt, times the attempts
// made: a pool reconnects within it, and three attempts stay far inside
// a call's deadline.
const storePause = 100 * time.Millisecond

// retryable reports whether a store call that failed with err is worth
// another try. The store's own answers are final (the file was not
// saved, another run holds it, the state is newer), and so is a call that
// ran out of time (the next one would wait as long) or was cancelled; any
// other failure is the database or the way to it (a connection cut, a
// server restarting), which the next call may not meet.
func retryable(err error) bool {
	switch {
	case err == nil,
		errors.Is(err, store.ErrUnsaved),
		errors.Is(err, store.ErrLocked),
		errors.Is(err, store.ErrNotEmpty),
		errors.Is(err, state.ErrNewerFormat),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return false
	}
	return true
}

// retry runs call up to storeAttempts times while it fails with a
// retryable error, pausing between attempts; it returns the last error.
func retry(ctx context.Context, call func() error) error {
	err := call()
	for attempt := 1; attempt < storeAttempts && retryable(err); attempt++ {
		pause := time.NewTimer(time.Duration(attempt) * storePause)
		select {
		case <-ctx.Done():
			pause.Stop()
			return err
		case <-pause.C:
		}
		err = call()
	}
	return err
}

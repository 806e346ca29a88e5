package job

import (
	"context"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
)

// Every call the job makes to its store has a deadline: a PostgreSQL that
// stops answering (a frozen server, a dead network path) must behave like
// one that is down, where the pass still checks, decides in memory and
// alerts, and serve goes on with its next ticks. Without a deadline one
// such call holds the pass, and every later one, for ever.
const (
	// openTimeout bounds opening a session: a connection and a look at the
	// schema. It is longer than a call, as a new connection may need a TLS
	// handshake and a few addresses tried.
	openTimeout = 20 * time.Second
	// callTimeout bounds one decision, claim, ack, nack or update: each is
	// one short transaction with no network call inside it, so seconds mean
	// the database is not answering, not that it is busy. A call that may
	// wait for another's lock gets the job's StateWait on top: a wait the
	// store was told to make must end in its own answer (ErrLocked), not
	// in a timeout that would send from memory what another run sends.
	callTimeout = 15 * time.Second
	// slotTimeout bounds a schedule slot claim: one row, one round trip;
	// a replica that cannot claim in a few seconds runs the check anyway.
	slotTimeout = 5 * time.Second
)

// bounded is a store whose every call has a deadline (see callTimeout);
// the file store ignores contexts, and only PostgreSQL is bounded.
type bounded struct {
	store.Store
	// override, when set, replaces every default (Job.StoreTimeout).
	override time.Duration
	// wait is how long the store waits for a lock (Job.StateWait).
	wait time.Duration
}

// limit is ctx bounded by d, or by the override.
func (b bounded) limit(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if b.override > 0 {
		d = b.override
	}
	return context.WithTimeout(ctx, d)
}

// locking is ctx bounded for a call that may wait for a lock: d and the
// store's wait.
func (b bounded) locking(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if b.override > 0 {
		return b.limit(ctx, d)
	}
	return context.WithTimeout(ctx, d+b.wait)
}

func (b bounded) Open(ctx context.Context) (store.Session, error) {
	ctx, cancel := b.locking(ctx, openTimeout)
	defer cancel()
	ss, err := b.Store.Open(ctx)
	if ss == nil {
		return nil, err
	}
	return boundedSession{Session: ss, b: b}, err
}

func (b bounded) Snapshot(ctx context.Context) (*state.File, error) {
	ctx, cancel := b.limit(ctx, callTimeout)
	defer cancel()
	return b.Store.Snapshot(ctx)
}

func (b bounded) ClaimSlot(ctx context.Context, check string, slot time.Time, owner string) (bool, error) {
	ctx, cancel := b.limit(ctx, slotTimeout)
	defer cancel()
	return b.Store.ClaimSlot(ctx, check, slot, owner)
}

// boundedSession is a session of a bounded store.
type boundedSession struct {
	store.Session
	b bounded
}

func (s boundedSession) Decide(ctx context.Context, scope store.Scope, fn func(*state.File) error) error {
	ctx, cancel := s.b.locking(ctx, callTimeout)
	defer cancel()
	return s.Session.Decide(ctx, scope, fn)
}

func (s boundedSession) Update(ctx context.Context, fn func(*state.File) error) error {
	ctx, cancel := s.b.locking(ctx, callTimeout)
	defer cancel()
	return s.Session.Update(ctx, fn)
}

func (s boundedSession) Claim(ctx context.Context, notifier, owner string, lease time.Duration) ([]store.Message, error) {
	ctx, cancel := s.b.limit(ctx, callTimeout)
	defer cancel()
	return s.Session.Claim(ctx, notifier, owner, lease)
}

func (s boundedSession) Ack(ctx context.Context, m store.Message, thread *state.Thread, fn func(*state.File)) error {
	ctx, cancel := s.b.locking(ctx, callTimeout)
	defer cancel()
	return s.Session.Ack(ctx, m, thread, fn)
}

func (s boundedSession) Nack(ctx context.Context, m store.Message, reason string, fn func(*state.File)) error {
	ctx, cancel := s.b.locking(ctx, callTimeout)
	defer cancel()
	return s.Session.Nack(ctx, m, reason, fn)
}

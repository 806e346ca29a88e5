package store

import (
	"context"
	"sync"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// Lazy is a store opened on first use, and again on every later use
// until opening succeeds: a PostgreSQL that is down when tokenwatch
// starts must not stop the checks (every call fails with the error until
// it is back; the job then decides in memory and alerts anyway), and
// serve takes it up when it comes back.
func Lazy(open func(ctx context.Context) (Store, error)) Store {
	return &lazy{open: open}
}

type lazy struct {
	mu   sync.Mutex
	open func(ctx context.Context) (Store, error)
	s    Store
}

// get is the store, opening it if it is not yet.
func (l *lazy) get(ctx context.Context) (Store, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s != nil {
		return l.s, nil
	}
	s, err := l.open(ctx)
	if err != nil {
		return nil, err
	}
	l.s = s
	return s, nil
}

func (l *lazy) Open(ctx context.Context) (Session, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Open(ctx)
}

func (l *lazy) Snapshot(ctx context.Context) (*state.File, error) {
	s, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Snapshot(ctx)
}

func (l *lazy) ClaimSlot(ctx context.Context, check string, slot time.Time, owner string) (bool, error) {
	s, err := l.get(ctx)
	if err != nil {
		return false, err
	}
	return s.ClaimSlot(ctx, check, slot, owner)
}

func (l *lazy) Import(ctx context.Context, f *state.File, configured []string) error {
	s, err := l.get(ctx)
	if err != nil {
		return err
	}
	return s.Import(ctx, f, configured)
}

// Close closes the store, if it was opened.
func (l *lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	return l.s.Close()
}

package job

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
)

// hangStore is a store that stopped answering (a frozen PostgreSQL): every
// call blocks until its context ends. With opens set, Open answers and the
// session's calls hang.
type hangStore struct {
	opens bool
	calls atomic.Int64
}

func (h *hangStore) hang(ctx context.Context) error {
	h.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

func (h *hangStore) Open(ctx context.Context) (store.Session, error) {
	if h.opens {
		return hangSession{h}, nil
	}
	return nil, h.hang(ctx)
}
func (h *hangStore) Snapshot(ctx context.Context) (*state.File, error) { return nil, h.hang(ctx) }
func (h *hangStore) ClaimSlot(ctx context.Context, _ string, _ time.Time, _ string) (bool, error) {
	return false, h.hang(ctx)
}
func (h *hangStore) Import(ctx context.Context, _ *state.File, _ []string) error { return h.hang(ctx) }
func (h *hangStore) Close() error                                                { return nil }

type hangSession struct{ h *hangStore }

func (s hangSession) Info() store.Info { return store.Info{} }
func (s hangSession) Decide(ctx context.Context, _ store.Scope, _ func(*state.File) error) error {
	return s.h.hang(ctx)
}
func (s hangSession) Update(ctx context.Context, _ func(*state.File) error) error {
	return s.h.hang(ctx)
}
func (s hangSession) Claim(ctx context.Context, _, _ string, _ time.Duration) ([]store.Message, error) {
	return nil, s.h.hang(ctx)
}
func (s hangSession) Ack(ctx context.Context, _ store.Message, _ *state.Thread, _ func(*state.File)) error {
	return s.h.hang(ctx)
}
func (s hangSession) Nack(ctx context.Context, _ store.Message, _ string, _ func(*state.File)) error {
	return s.h.hang(ctx)
}
func (s hangSession) Close() error { return nil }

// A store that stops answering behaves like one that is down: the pass
// still checks, decides in memory and alerts, records nothing, and says
// so (exit 3), whether the store hangs at the open or after it.
func TestStoreThatHangsStillAlerts(t *testing.T) {
	for _, opens := range []bool{false, true} {
		name := map[bool]string{false: "open hangs", true: "decision hangs"}[opens]
		t.Run(name, func(t *testing.T) {
			api := newCourierAPI(t)
			n := &probeNotifier{}
			j := testJob(t, courierConfig(api.URL, "unused.json", ""), n, testkit.NewClock())
			hang := &hangStore{opens: opens}
			j.Store, j.StoreTimeout = hang, 20*time.Millisecond
			done := make(chan *Report)
			go func() { done <- j.Run(context.Background(), Options{}) }()
			var rep *Report
			select {
			case rep = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the pass is still waiting for a store that does not answer")
			}
			if !slices.Contains(n.sent, "alert:courier-main") {
				t.Fatalf("sent %v: the alert must go out although the store does not answer", n.sent)
			}
			if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, "\n"), "state:") {
				t.Fatalf("failures %v: the run must say the state was not recorded (exit 3)", rep.Failures)
			}
			if hang.calls.Load() == 0 {
				t.Fatal("the store was never called")
			}
		})
	}
}

// budgetStore records how long each call was given.
type budgetStore struct {
	hangStore
	budgets map[string]time.Duration
}

func (b *budgetStore) note(ctx context.Context, call string) {
	deadline, ok := ctx.Deadline()
	if !ok {
		b.budgets[call] = -1
		return
	}
	b.budgets[call] = time.Until(deadline).Round(time.Second)
}

func (b *budgetStore) Open(ctx context.Context) (store.Session, error) {
	b.note(ctx, "open")
	return budgetSession{b}, nil
}

func (b *budgetStore) ClaimSlot(ctx context.Context, _ string, _ time.Time, _ string) (bool, error) {
	b.note(ctx, "slot")
	return true, nil
}

type budgetSession struct{ *budgetStore }

func (s budgetSession) Info() store.Info { return store.Info{} }
func (s budgetSession) Decide(ctx context.Context, _ store.Scope, _ func(*state.File) error) error {
	s.note(ctx, "decide")
	return nil
}
func (s budgetSession) Update(ctx context.Context, _ func(*state.File) error) error {
	s.note(ctx, "update")
	return nil
}
func (s budgetSession) Claim(ctx context.Context, _, _ string, _ time.Duration) ([]store.Message, error) {
	s.note(ctx, "claim")
	return nil, nil
}
func (s budgetSession) Ack(ctx context.Context, _ store.Message, _ *state.Thread, _ func(*state.File)) error {
	s.note(ctx, "ack")
	return nil
}
func (s budgetSession) Nack(ctx context.Context, _ store.Message, _ string, _ func(*state.File)) error {
	s.note(ctx, "nack")
	return nil
}

// Every call has its deadline, and a call that may wait for another's
// lock has the store's wait on top, so that the wait ends in the store's
// own answer (ErrLocked), not in a timeout.
func TestStoreCallDeadlines(t *testing.T) {
	b := &budgetStore{budgets: map[string]time.Duration{}}
	j := &Job{StateWait: time.Minute, Store: b}
	st := j.store()
	ctx := context.Background()
	ss, _ := st.Open(ctx)
	_, _ = st.ClaimSlot(ctx, "a", time.Time{}, "me")
	_ = ss.Decide(ctx, store.Scope{}, nil)
	_ = ss.Update(ctx, nil)
	_, _ = ss.Claim(ctx, "slack", "me", time.Minute)
	_ = ss.Ack(ctx, store.Message{}, nil, nil)
	_ = ss.Nack(ctx, store.Message{}, "", nil)
	want := map[string]time.Duration{
		"open": openTimeout + time.Minute, "slot": slotTimeout, "claim": callTimeout,
		"decide": callTimeout + time.Minute, "update": callTimeout + time.Minute,
		"ack": callTimeout + time.Minute, "nack": callTimeout + time.Minute,
	}
	for call, d := range want {
		if got := b.budgets[call]; got != d {
			t.Errorf("%s was given %s, want %s", call, got, d)
		}
	}
}

// Package testkit is what the tests of several packages need alike: a fake
// Slack, free loopback addresses, waits that give up, and a clock the test
// moves by hand. Tests only; every peer listens on 127.0.0.1.
package testkit

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Deadline bounds every wait of the kit: long enough for a loaded CI
// machine, short enough that a broken test fails instead of hanging until
// go test's own timeout.
const Deadline = 20 * time.Second

// poll is how often WaitFor looks again.
const poll = 10 * time.Millisecond

// WaitFor waits until cond holds, failing the test (naming what it waited
// for) when it does not within Deadline.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(Deadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", Deadline, what)
		}
		time.Sleep(poll)
	}
}

// Receive waits for a value on ch, failing the test when none comes within
// Deadline.
func Receive[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out after %s waiting for %s", Deadline, what)
		panic("unreachable") // Fatalf does not return
	}
}

// FreeAddr is a loopback address ("127.0.0.1:port") that nothing listened
// on a moment ago, for a server the test starts in another process.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("free port %s: %v", addr, err)
	}
	return addr
}

// ClosedURL is the URL of a loopback port nothing listens on: a peer that
// is down (connection refused).
func ClosedURL(t testing.TB) string {
	t.Helper()
	return "http://" + FreeAddr(t)
}

// Server starts an httptest server for h, closed when the test ends.
func Server(t testing.TB, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Clock is a fake time source the test moves by hand. Its Now fits every
// injectable clock of tokenwatch (job.Job.Now, notify's Now).
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at 2026-11-21 09:00 UTC: a fixed moment, so
// that texts with times in them can be compared.
func NewClock() *Clock { return NewClockAt(time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)) }

// NewClockAt returns a clock at the given time.
func NewClockAt(at time.Time) *Clock { return &Clock{now: at} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

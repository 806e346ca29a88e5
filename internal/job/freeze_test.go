package job

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// freezer is a loopback TCP way to a PostgreSQL socket that the test can
// freeze: from then on nothing goes through in either direction and new
// connections are accepted without an answer, as with a server stopped
// (kill -STOP) or a network path that went dead. Unlike a stopped server
// it freezes only this test's way to it.
type freezer struct {
	ln     net.Listener
	socket string
	frozen chan struct{}
	freeze sync.Once
	mu     sync.Mutex
	conns  []net.Conn
}

// newFreezer forwards a loopback port to the server socket of dsn (the
// key=value DSN of pgtest), and returns the DSN that goes through it.
func newFreezer(t *testing.T, dsn string) (*freezer, string) {
	t.Helper()
	var host, port string
	var rest []string
	for _, kv := range strings.Fields(dsn) {
		switch k, v, _ := strings.Cut(kv, "="); k {
		case "host":
			host = v
		case "port":
			port = v
		default:
			rest = append(rest, kv)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, socket: host + "/.s.PGSQL." + port, frozen: make(chan struct{})}
	go f.accept()
	addr := ln.Addr().(*net.TCPAddr)
	return f, strings.Join(append(rest, "host=127.0.0.1", "port="+strconv.Itoa(addr.Port)), " ")
}

func (f *freezer) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.track(c)
		select {
		case <-f.frozen:
			continue // accepted, never answered
		default:
		}
		s, err := net.Dial("unix", f.socket)
		if err != nil {
			c.Close()
			continue
		}
		f.track(s)
		go f.pump(c, s)
		go f.pump(s, c)
	}
}

func (f *freezer) track(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns = append(f.conns, c)
}

// pump copies from one side to the other until either closes; once
// frozen, what it read is held, and nothing more is read.
func (f *freezer) pump(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		select {
		case <-f.frozen:
			return // frozen: the bytes read are never delivered
		default:
		}
		if n > 0 {
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				to.Close()
			}
			return
		}
	}
}

// Freeze stops all traffic; connections stay open.
func (f *freezer) Freeze() { f.freeze.Do(func() { close(f.frozen) }) }

// Close closes the listener and every connection.
func (f *freezer) Close() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

// End to end on PostgreSQL: a database that stops answering in the
// middle of a session (the pool's connections open, nothing coming back)
// behaves like one that is down: the pass ends within its deadlines,
// alerts again (a repeat, not silence), and says the state was not
// recorded (exit 3).
func TestFrozenPostgresStillAlerts(t *testing.T) {
	api := newCourierAPI(t) // 401
	fake := testkit.NewSlack(t)
	clk := testkit.NewClock()
	fz, dsn := newFreezer(t, pgtest.DSN(t))
	st, err := postgres.New(context.Background(), dsn, postgres.Options{Now: clk.Now, Wait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fz.Close(); st.Close() })
	j := botJob(t, api, fake, st, clk)
	j.StoreTimeout = 500 * time.Millisecond

	if rep := j.Run(context.Background(), Options{}); !rep.Delivered() || kinds(rep) != "alert" {
		t.Fatalf("run 1: %q, failures %v: want the alert, recorded", kinds(rep), rep.Failures)
	}
	fake.Take()

	fz.Freeze()
	clk.Advance(5 * time.Minute)
	done := make(chan *Report)
	go func() { done <- j.Run(context.Background(), Options{}) }()
	var rep *Report
	select {
	case rep = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the pass is still waiting for a frozen PostgreSQL")
	}
	if len(fake.Take()) == 0 {
		t.Fatalf("run 2: nothing sent (%q, failures %v): on-call must still hear of the failing token", kinds(rep), rep.Failures)
	}
	if rep.Delivered() || !strings.Contains(strings.Join(rep.Failures, "\n"), "state:") {
		t.Fatalf("run 2: failures %v: the run must say the state was not recorded (exit 3)", rep.Failures)
	}
}

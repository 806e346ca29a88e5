package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// terminateSelf ends the transaction's own session on the server, as an
// administrator's pg_terminate_backend or a restart would.
func terminateSelf(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SELECT pg_terminate_backend(pg_backend_pid())")
	return err
}

// A transaction whose session the server ended before it committed runs
// once more, on a new connection, and the call succeeds.
func TestTxRetriesWhenTheServerEndsTheSession(t *testing.T) {
	s := open(t, pgtest.DSN(t), Options{})
	attempts := 0
	err := s.tx(t.Context(), "test", func(ctx context.Context, tx pgx.Tx) error {
		attempts++
		if attempts == 1 {
			return terminateSelf(ctx, tx)
		}
		_, err := tx.Exec(ctx, "INSERT INTO tokenwatch_slots (check_name, slot, owner) VALUES ('c', now(), 'me')")
		return err
	})
	if err != nil {
		t.Fatalf("tx: %v, want success on the second attempt", err)
	}
	if attempts != 2 {
		t.Fatalf("attempts = %d, want 2", attempts)
	}
	if n := scalar[int64](t, s.poolDSN(t), "SELECT count(*) FROM tokenwatch_slots"); n != 1 {
		t.Fatalf("%d slots written, want 1", n)
	}
}

// A connection that breaks twice is reported as the database being
// unavailable (for the job to alert without saving), after one retry only.
func TestTxRetriesOnceThenReportsUnavailable(t *testing.T) {
	s := open(t, pgtest.DSN(t), Options{})
	attempts := 0
	err := s.tx(t.Context(), "test", func(ctx context.Context, tx pgx.Tx) error {
		attempts++
		return terminateSelf(ctx, tx)
	})
	if attempts != 2 {
		t.Fatalf("attempts = %d, want 2", attempts)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want a connection error (store.ErrUnavailable)", err)
	}
}

// Errors of a statement or of the caller are not retried: running them
// again would fail the same way, or repeat the caller's effects.
func TestTxDoesNotRetryOtherErrors(t *testing.T) {
	s := open(t, pgtest.DSN(t), Options{})
	mine := errors.New("the caller's own")
	for name, fail := range map[string]func(context.Context, pgx.Tx) error{
		"statement": func(ctx context.Context, tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "SELECT * FROM no_such_table")
			return err
		},
		"caller": func(context.Context, pgx.Tx) error { return &callerError{mine} },
	} {
		t.Run(name, func(t *testing.T) {
			attempts := 0
			err := s.tx(t.Context(), "test", func(ctx context.Context, tx pgx.Tx) error {
				attempts++
				return fail(ctx, tx)
			})
			if err == nil || attempts != 1 {
				t.Fatalf("err = %v after %d attempts, want an error after 1", err, attempts)
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("err = %v, classified as a connection error", err)
			}
		})
	}
}

// A public call goes on working after the server ended the pool's
// sessions between calls.
func TestSnapshotAfterTheSessionsWereTerminated(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := open(t, dsn, Options{MaxConns: 1})
	if _, err := s.Snapshot(t.Context()); err != nil {
		t.Fatal(err)
	}
	db := scalar[string](t, dsn, "SELECT current_database()")
	exec(t, pgtest.DSN(t), "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", db)
	if _, err := s.Snapshot(t.Context()); err != nil {
		t.Fatalf("snapshot after the sessions were terminated: %v", err)
	}
}

// A server that accepts the connection and never answers (a frozen
// PostgreSQL) fails New within the default connect timeout, although
// neither the DSN nor the caller's context sets a limit.
func TestNewFailsWithinTheConnectTimeoutOnASilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn // accepted and never answered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	dsn := fmt.Sprintf("host=127.0.0.1 port=%d dbname=tokenwatch user=tokenwatch password=hunter2-secret", port)
	start := time.Now()
	_, err = New(context.Background(), dsn, Options{})
	took := time.Since(start)
	if err == nil {
		t.Fatal("New succeeded on a server that never answers")
	}
	if took > defaultConnectTimeout+2*time.Second {
		t.Fatalf("New failed after %s, want within the connect timeout of %s", took, defaultConnectTimeout)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v, want a connection error", err)
	}
	if strings.Contains(err.Error(), "hunter2-secret") {
		t.Fatalf("the error shows the password: %v", err)
	}
	t.Logf("New failed after %s: %v", took.Round(time.Millisecond), err)
}

// The limits are set on the pool: the DSN's own connect_timeout is kept.
func TestBound(t *testing.T) {
	for dsn, want := range map[string]time.Duration{
		"host=/tmp dbname=x":                   defaultConnectTimeout,
		"host=/tmp dbname=x connect_timeout=2": 2 * time.Second,
	} {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		bound(cfg)
		if got := cfg.ConnConfig.ConnectTimeout; got != want {
			t.Errorf("%s: connect timeout %s, want %s", dsn, got, want)
		}
		if cfg.HealthCheckPeriod != healthCheckPeriod {
			t.Errorf("%s: health check period %s, want %s", dsn, cfg.HealthCheckPeriod, healthCheckPeriod)
		}
	}
}

// A transaction whose caller gave no deadline gets the store's; a
// caller's own deadline is kept as it is.
func TestWithDeadline(t *testing.T) {
	ctx, cancel := withDeadline(context.Background(), txTimeout)
	defer cancel()
	if d, ok := ctx.Deadline(); !ok || time.Until(d) > txTimeout {
		t.Errorf("no caller deadline: got %v %v, want one within %s", d, ok, txTimeout)
	}
	mine, cancelMine := context.WithTimeout(context.Background(), time.Hour)
	defer cancelMine()
	ctx, cancel = withDeadline(mine, txTimeout)
	defer cancel()
	if ctx != mine {
		t.Error("the caller's deadline was replaced")
	}
}

// freezer is a TCP proxy to the test server that can stop forwarding, as
// a server stopped with SIGSTOP (or a dropped network) stops answering
// while its connections stay open.
type freezer struct {
	ln     net.Listener
	socket string
	frozen chan struct{} // closed to freeze
	mu     sync.Mutex
	conns  []net.Conn
}

// cut closes every proxied connection, so that closing the store does not
// wait on a frozen one.
func (f *freezer) cut() {
	f.ln.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
}

func newFreezer(t *testing.T, dsn string) (*freezer, string) {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &freezer{ln: ln, socket: fmt.Sprintf("%s/.s.PGSQL.%d", cfg.Host, cfg.Port), frozen: make(chan struct{})}
	t.Cleanup(f.cut)
	go f.serve()
	port := ln.Addr().(*net.TCPAddr).Port
	return f, fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=%s sslmode=disable", port, cfg.Database, cfg.User)
}

func (f *freezer) serve() {
	for {
		client, err := f.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("unix", f.socket)
		if err != nil {
			client.Close()
			continue
		}
		f.mu.Lock()
		f.conns = append(f.conns, client, server)
		f.mu.Unlock()
		go f.pipe(client, server)
		go f.pipe(server, client)
	}
}

// pipe forwards from→to until frozen; then it holds what it read.
func (f *freezer) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		select {
		case <-f.frozen:
			return // dropped: the connection stays open, and silent
		default:
		}
		if _, err := to.Write(buf[:n]); err != nil {
			return
		}
	}
}

// A database that stops answering mid-session fails a call whose caller
// gave no deadline within the store's bound, as a connection error: it
// never hangs (serve's pass, status and run went on waiting for ever).
func TestACallOnAFrozenServerEnds(t *testing.T) {
	f, dsn := newFreezer(t, pgtest.DSN(t))
	s := open(t, dsn, Options{Timeout: time.Second})
	t.Cleanup(f.cut) // before the store closes
	if _, err := s.Snapshot(context.Background()); err != nil {
		t.Fatalf("before the freeze: %v", err)
	}
	close(f.frozen)
	start := time.Now()
	_, err := s.Snapshot(context.Background())
	took := time.Since(start)
	if err == nil {
		t.Fatal("a snapshot of a frozen server succeeded")
	}
	// The bound, then pgx's own second to close the connection, for each
	// of the two attempts at most.
	if took > 2*(time.Second+2*time.Second) {
		t.Errorf("the call ended after %s, want within the bound", took)
	}
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v, want a connection error", err)
	}
	t.Logf("the call ended after %s: %v", took.Round(time.Millisecond), err)
}

package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// query returns the one value of a query on the database of dsn.
func query[T any](t *testing.T, dsn, sql string) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// The server listens on its Unix socket only, and each test gets a
// database of its own: a table one test creates is not in the next one's.
func TestFreshDatabaseOnASocket(t *testing.T) {
	first := DSN(t)
	if tcp := query[*string](t, first, "SELECT host(inet_server_addr())"); tcp != nil {
		t.Errorf("connected over TCP to %s; want the Unix socket", *tcp)
	}
	if listen := query[string](t, first, "SHOW listen_addresses"); listen != "" {
		t.Errorf("listen_addresses = %q, want none", listen)
	}
	Exec(t, first, "CREATE TABLE mine (x int)")
	second := DSN(t)
	if first == second {
		t.Fatal("two tests got the same database")
	}
	if n := query[int](t, second, "SELECT count(*) FROM pg_tables WHERE tablename = 'mine'"); n != 0 {
		t.Error("the second database has the first one's table")
	}
}

// A member of PasswordGroup must give its password; a wrong one is refused.
func TestPasswordRole(t *testing.T) {
	dsn := PasswordRole(t, DSN(t), "pw_user", "right-password")
	if got := query[string](t, dsn, "SELECT current_user"); got != "pw_user" {
		t.Errorf("logged in as %q", got)
	}
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "wrong"
	if conn, err := pgx.ConnectConfig(ctx, cfg); err == nil {
		conn.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}

// recorder is a testing.TB that notes a Fatal or a Skip instead of
// ending the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()           {}
func (r *recorder) Fatal(args ...any) { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Skip(args ...any)  { r.skip = fmt.Sprint(args...) }

// Without a server, a test is skipped saying why, except under CI=true,
// where it fails: CI must never pass by not running these tests.
func TestUnavailableSkipsLoudlyOrFailsInCI(t *testing.T) {
	old := reason
	reason = "no /usr/lib/postgresql/*/bin/initdb"
	defer func() { reason = old }()

	t.Setenv("CI", "")
	r := &recorder{TB: t}
	unavailable(r)
	if r.fatal != "" || !strings.HasPrefix(r.skip, "SKIPPED: PostgreSQL could not start") || !strings.Contains(r.skip, reason) {
		t.Errorf("outside CI: fatal %q, skip %q", r.fatal, r.skip)
	}
	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	unavailable(r)
	if r.skip != "" || !strings.Contains(r.fatal, reason) {
		t.Errorf("under CI=true: fatal %q, skip %q", r.fatal, r.skip)
	}
}

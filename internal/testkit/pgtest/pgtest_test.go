package pgtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/testkit"
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

// A test binary that dies (a panic, go test's timeout) takes its server
// with it: the server is its child, told to quit when its parent dies.
func TestServerDiesWithItsTests(t *testing.T) {
	if server == nil {
		unavailable(t)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDies$")
	cmd.Env = append(os.Environ(), "PGTEST_DIE=1")
	out, err := cmd.Output()
	if err == nil {
		t.Fatalf("the helper did not die:\n%s", out)
	}
	var dir string
	var pid int
	for line := range strings.Lines(string(out)) {
		if _, err := fmt.Sscanf(line, "SERVER %s %d", &dir, &pid); err == nil {
			break
		}
	}
	if pid == 0 {
		t.Fatalf("the helper did not say which server it ran:\n%s", out)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	testkit.WaitFor(t, fmt.Sprintf("postgres (pid %d) to stop", pid), func() bool { return !running(pid) })
}

// running reports whether pid is a live process (not a zombie).
func running(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// TestHelperDies is TestServerDiesWithItsTests's test binary that dies.
func TestHelperDies(t *testing.T) {
	if os.Getenv("PGTEST_DIE") == "" {
		t.Skip("a helper: TestServerDiesWithItsTests runs it")
	}
	if server == nil {
		t.Fatal("no server: " + reason)
	}
	fmt.Printf("SERVER %s %d\n", server.dir, server.server.Process.Pid)
	panic("the test binary dies")
}

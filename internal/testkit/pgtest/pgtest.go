// Package pgtest starts a throwaway PostgreSQL server for the tests of one
// test binary: Debian's postgresql package, in a temp dir, listening on a
// Unix socket only (no TCP port to collide with anything), with a fresh
// database for each test. Tests only.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// and get a database with DSN(t). When PostgreSQL cannot start, DSN skips
// the test, loudly and with the reason; under CI=true it fails it instead,
// so that CI never passes by not running the PostgreSQL tests.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PasswordGroup is a role whose members log in with a password (SCRAM):
// every other role is trusted on the socket. Tests that must see how a
// wrong password is reported create a member of it (see PasswordRole).
const PasswordGroup = "pgtest_password"

// server is the one server of this test binary; nil with reason set when
// it could not start.
var (
	server *instance
	reason string
	dbs    atomic.Int64
)

// instance is a running server.
type instance struct {
	dir    string // temp dir: data/, the socket, the log
	bin    string // PostgreSQL's bin directory
	runAs  *user.User
	socket string
	server *exec.Cmd // the postmaster, our child
	exited chan struct{}
}

// Main starts the server, runs the tests, stops the server and removes its
// directory, and returns the exit code for os.Exit.
func Main(m *testing.M) int {
	s, err := start()
	if err != nil {
		reason = err.Error()
	} else {
		server = s
	}
	code := m.Run()
	if server != nil {
		if err := server.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	return code
}

// DSN creates a fresh database for the test and returns its DSN (key=value
// form, on the server's socket, as the trusted superuser). The database is
// dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	if server == nil {
		unavailable(t)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbs.Add(1))
	Exec(t, server.dsn("postgres"), "CREATE DATABASE "+name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server.dsn("postgres"))
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		// FORCE ends the test's connections that are still open.
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return server.dsn(name)
}

// PasswordRole creates a role that must log in with password, and
// returns the DSN of database dsn as that role, with the password in it.
func PasswordRole(t testing.TB, dsn, role, password string) string {
	t.Helper()
	Exec(t, dsn, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE %s", role, password, PasswordGroup))
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("host=%s port=%d dbname=%s user=%s password=%s sslmode=disable",
		cfg.Host, cfg.Port, cfg.Database, role, password)
}

// Exec runs statements on the database of dsn, failing the test on an error.
func Exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

// unavailable skips the test, or fails it under CI=true.
func unavailable(t testing.TB) {
	t.Helper()
	msg := "PostgreSQL could not start, so this test did not run: " + reason +
		" (scripts/install-deps.sh installs Debian's postgresql package)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
		return
	}
	t.Skip("SKIPPED: " + msg)
}

func (s *instance) dsn(db string) string {
	return fmt.Sprintf("host=%s port=5432 dbname=%s user=postgres sslmode=disable", s.socket, db)
}

// start creates a cluster in a temp dir and starts it on a socket in that
// dir. initdb refuses to run as root: as root, the cluster belongs to the
// postgres user the package creates, and every command runs as it.
func start() (*instance, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	// The socket lives in the dir: its path must fit a sockaddr_un (107
	// bytes), and as root the postgres user must reach it, which a
	// TMPDIR under /root would not allow.
	base := os.TempDir()
	if os.Geteuid() == 0 || len(base) > 60 {
		base = "/tmp"
	}
	dir, err := os.MkdirTemp(base, "pgtest-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s := &instance{dir: dir, bin: bin, socket: dir}
	if os.Geteuid() == 0 {
		if s.runAs, err = user.Lookup("postgres"); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root, and no postgres user to run PostgreSQL as: %w", err)
		}
		if err := s.chown(dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if err := s.initAndStart(); err != nil {
		_ = s.stop()
		return nil, err
	}
	return s, nil
}

// initAndStart runs initdb, writes the authentication rules, starts the
// server and creates PasswordGroup.
func (s *instance) initAndStart() error {
	data := filepath.Join(s.dir, "data")
	if out, err := s.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	hba := "local all +" + PasswordGroup + " scram-sha-256\nlocal all all trust\n"
	if err := os.WriteFile(filepath.Join(data, "pg_hba.conf"), []byte(hba), 0o600); err != nil {
		return fmt.Errorf("write pg_hba.conf: %w", err)
	}
	if err := s.chown(filepath.Join(data, "pg_hba.conf")); err != nil {
		return err
	}
	if err := s.startServer(data); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return fmt.Errorf("connect to the new server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE ROLE "+PasswordGroup+" NOLOGIN"); err != nil {
		return fmt.Errorf("create role %s: %w", PasswordGroup, err)
	}
	return nil
}

// startServer runs the postmaster as a child of the test binary, not
// daemonized by pg_ctl: it gets SIGQUIT (immediate shutdown) when the test
// binary dies, even of a panic or a timeout, so no server outlives its
// tests. It returns once the server accepts connections.
func (s *instance) startServer(data string) error {
	log, err := os.Create(filepath.Join(s.dir, "log"))
	if err != nil {
		return fmt.Errorf("create the server log: %w", err)
	}
	defer log.Close()
	// Durability is not what these tests are about: without fsync the
	// server is several times faster on a shared CI machine.
	s.server = s.command("postgres", "-D", data, "-c", "listen_addresses=", "-k", s.socket, "-p", "5432",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	s.server.Stdout, s.server.Stderr = log, log
	s.server.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := s.server.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() { _ = s.server.Wait(); close(s.exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			out, _ := os.ReadFile(filepath.Join(s.dir, "log"))
			return fmt.Errorf("postgres exited at start: %s", out)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres did not accept connections within a minute: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop stops the server, at once (its data is thrown away), and removes
// its directory.
func (s *instance) stop() error {
	var err error
	if s.server != nil && s.server.Process != nil {
		_ = s.server.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.server.Process.Kill()
			err = errors.New("postgres did not stop within 30s of SIGQUIT; killed")
		}
	}
	return errors.Join(err, os.RemoveAll(s.dir))
}

// run runs one of PostgreSQL's programs to its end.
func (s *instance) run(program string, args ...string) ([]byte, error) {
	return s.command(program, args...).CombinedOutput()
}

// command is one of PostgreSQL's programs, to run as the postgres user
// when the test runs as root.
func (s *instance) command(program string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(s.bin, program), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if s.runAs != nil {
		uid, _ := strconv.ParseUint(s.runAs.Uid, 10, 32)
		gid, _ := strconv.ParseUint(s.runAs.Gid, 10, 32)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		cmd.Env = append(os.Environ(), "HOME="+s.dir)
	}
	cmd.Dir = s.dir
	return cmd
}

// chown gives path to the user PostgreSQL runs as (when that is not us).
func (s *instance) chown(path string) error {
	if s.runAs == nil {
		return nil
	}
	uid, _ := strconv.Atoi(s.runAs.Uid)
	gid, _ := strconv.Atoi(s.runAs.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("give %s to the postgres user: %w", path, err)
	}
	return nil
}

// binDir is the bin directory of the newest PostgreSQL installed.
func binDir() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(found) == 0 {
		return "", errors.New("no /usr/lib/postgresql/*/bin/initdb")
	}
	slices.SortFunc(found, func(a, b string) int { return major(a) - major(b) })
	return filepath.Dir(found[len(found)-1]), nil
}

// major is the major version in a path /usr/lib/postgresql/N/bin/initdb.
func major(path string) int {
	n, _ := strconv.Atoi(strings.Split(path, "/")[4])
	return n
}

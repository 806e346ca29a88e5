package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// The commands that only read (status, silence list) never create the
// schema: before the first run they say there is none, exit 3, and the
// database is left empty.
func TestReadingCommandsNeverCreateTheSchema(t *testing.T) {
	t.Parallel()
	fileCfg, _ := onCallConfig(t)
	dsn := pgtest.DSN(t)
	cfgPath := pgConfig(t, fileCfg, dsn)
	for _, args := range [][]string{{"status"}, {"silence", "list"}} {
		code, stdout, stderr := run(append(args, "--config", cfgPath)...)
		if code != exitUndelivered || !strings.Contains(stderr, "no tokenwatch schema yet: run or serve creates it") || stdout != "" {
			t.Errorf("%q: exit %d, want 3 saying there is no schema yet\nstdout: %s\nstderr: %s", args, code, stdout, stderr)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tokenwatch_%'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("the reading commands created %d tables", n)
	}
}

// validate refuses a DSN pgx cannot parse, at its line, without the DSN
// or its password (every command would fail on it).
func TestValidateRefusesADSNItCannotParse(t *testing.T) {
	t.Parallel()
	const pw = "p@ss:w/o rd?#"
	path := writeConfig(t, "state:\n  postgres:\n    dsn: \"postgres://tw:"+pw+"@db:5432/tw\"\nchecks:\n  - {name: c, type: courier, token: abcdefgh}\n")
	code, stdout, stderr := run("validate", "--config", path)
	if code != exitUsage || stdout != "" {
		t.Fatalf("exit %d, stdout %q: want 2 and nothing on stdout\n%s", code, stdout, stderr)
	}
	if want := path + ":3:10: state.postgres: the DSN cannot be parsed: failed to parse as URL"; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
	if strings.Contains(stderr, pw) || strings.Contains(stderr, "w/o rd") {
		t.Errorf("stderr shows the password:\n%s", stderr)
	}
}

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

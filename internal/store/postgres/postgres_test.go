package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/store/storetest"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open is a Store on a fresh database, closed when the test ends.
func open(t testing.TB, dsn string, opts Options) *Store {
	t.Helper()
	s, err := New(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("new store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *testkit.Clock) store.Store {
		s, err := New(t.Context(), pgtest.DSN(t), Options{Now: clock.Now, Wait: time.Second})
		if err != nil {
			t.Fatalf("new store: %v", err)
		}
		return s
	})
}

// exec runs sql on the database of dsn.
func exec(t testing.TB, dsn, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// scalar is the one value of a query on the database of dsn.
func scalar[T any](t testing.TB, dsn, sql string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// poolDSN is the DSN the store connects with, for a test's own queries.
func (s *Store) poolDSN(t testing.TB) string {
	return s.pool.Config().ConnConfig.ConnString()
}

package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// migrations are the schema's versions, one file each: NNNN_name.sql,
// whose first line says whether a binary that knows only the versions
// before it may go on using a database migrated to it:
//
//	-- compatible: yes   (added tables, columns with defaults, indexes)
//	-- compatible: no    (anything an older binary would misread)
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema version.
type migration struct {
	version    int
	name       string
	compatible bool
	sql        string
}

// ErrSchemaTooNew is returned when the database was migrated by a newer
// tokenwatch to a schema this one cannot use.
var ErrSchemaTooNew = errors.New("the database's schema was migrated by a newer tokenwatch, incompatibly")

// SchemaVersion is the newest schema this binary knows.
var SchemaVersion = len(mustMigrations())

// mustMigrations reads the embedded migrations: a malformed one is a bug
// of this build, caught by its tests.
func mustMigrations() []migration {
	ms, err := readMigrations()
	if err != nil {
		panic(err)
	}
	return ms
}

func readMigrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for i, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s: want version %d first in its name", e.Name(), i+1)
		}
		data, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		first, _, _ := strings.Cut(string(data), "\n")
		var compatible bool
		switch strings.TrimSpace(first) {
		case "-- compatible: yes":
			compatible = true
		case "-- compatible: no":
		default:
			return nil, fmt.Errorf("migration %s: the first line must be `-- compatible: yes` or `-- compatible: no`", e.Name())
		}
		ms = append(ms, migration{version: v, name: e.Name(), compatible: compatible, sql: string(data)})
	}
	return ms, nil
}

// migrate brings the schema to this binary's version, in one transaction
// under a transaction-scoped advisory lock (replicas starting together
// migrate once; a connection pooler in transaction mode keeps it). A
// schema newer than this binary's is accepted when every newer version is
// marked compatible, and refused otherwise.
func migrate(ctx context.Context, tx pgx.Tx, ms []migration) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockMigrate); err != nil {
		return err
	}
	// Another replica may have migrated while this one waited.
	applied, newest, err := readSchema(ctx, tx)
	if err != nil {
		return err
	}
	if newest >= len(ms) {
		return tooNew(applied, newest, len(ms))
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS tokenwatch_schema_version (
		version     integer PRIMARY KEY,
		compatible  boolean NOT NULL,
		name        text NOT NULL,
		applied_at  timestamptz NOT NULL DEFAULT now())`); err != nil {
		return err
	}
	for _, m := range ms[newest:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO tokenwatch_schema_version (version, compatible, name) VALUES ($1, $2, $3)",
			m.version, m.compatible, m.name); err != nil {
			return err
		}
	}
	return nil
}

// appliedVersions is which versions the database has (version ->
// compatible), and the newest.
func appliedVersions(ctx context.Context, q querier) (map[int]bool, int, error) {
	rows, err := q.Query(ctx, "SELECT version, compatible FROM tokenwatch_schema_version")
	if err != nil {
		return nil, 0, err
	}
	applied := map[int]bool{}
	newest := 0
	for rows.Next() {
		var v int
		var c bool
		if err := rows.Scan(&v, &c); err != nil {
			return nil, 0, err
		}
		applied[v] = c
		newest = max(newest, v)
	}
	return applied, newest, rows.Err()
}

// tooNew is nil when a schema newer than known can be used by this
// binary, else ErrSchemaTooNew saying which version is in the way.
func tooNew(applied map[int]bool, newest, known int) error {
	var breaking []int
	for v, compatible := range applied {
		if v > known && !compatible {
			breaking = append(breaking, v)
		}
	}
	if len(breaking) == 0 {
		return nil
	}
	slices.Sort(breaking)
	return fmt.Errorf("%w: the database is at schema version %d, and version %d cannot be used by this tokenwatch (it knows versions 1 to %d): upgrade tokenwatch",
		ErrSchemaTooNew, newest, breaking[0], known)
}

// Schema is the database's schema version, and whether this binary can
// use it (for doctor).
type Schema struct {
	Version int
	Known   int
	Problem error // nil when usable
	// Privilege is read when the schema is missing or behind (Version <
	// Known): whether run or serve will be able to create or migrate it.
	Privilege *Privilege
}

// querier is what pgx.Tx and pgxpool.Pool have in common for reading.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

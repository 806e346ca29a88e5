package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ErrNoSchema is returned by a store opened only to read (Options.ReadOnly)
// on a database where tokenwatch has not created its schema: a command
// that only looks never creates it.
var ErrNoSchema = errors.New("no tokenwatch schema yet: run or serve creates it")

// errStrayTables is returned when tokenwatch's tables are there but not
// its schema version: created by hand, or a version table emptied. Making
// the schema would fail on them ("relation already exists").
var errStrayTables = errors.New("the database has tokenwatch's tables but no schema version in tokenwatch_schema_version (changed by hand?): restore the version rows, or use an empty database")

// queryRower is what pgx.Conn, pgx.Tx and pgxpool.Pool have in common
// for reading one row.
type queryRower interface {
	querier
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// readSchema reads the schema versions without creating anything: none
// (newest 0) when tokenwatch_schema_version does not exist yet, and
// errStrayTables when it has no rows beside tables of tokenwatch's.
func readSchema(ctx context.Context, q queryRower) (applied map[int]bool, newest int, err error) {
	// pg_tables, not to_regclass: a session that waited on the migration
	// lock may still have a catalog cache from before the other's commit.
	var exists bool
	var others int
	if err := q.QueryRow(ctx, `SELECT count(*) FILTER (WHERE tablename = 'tokenwatch_schema_version') > 0,
			count(*) FILTER (WHERE tablename <> 'tokenwatch_schema_version')
		FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'tokenwatch\_%'`).Scan(&exists, &others); err != nil {
		return nil, 0, err
	}
	if exists {
		if applied, newest, err = appliedVersions(ctx, q); err != nil || newest > 0 {
			return applied, newest, err
		}
	}
	if others > 0 {
		return nil, 0, errStrayTables
	}
	return map[int]bool{}, 0, nil
}

// behind is the error of a read-only store on a schema older than this
// binary's: it is only migrated by a command that writes.
func behind(newest int) error {
	if newest == 0 {
		return ErrNoSchema
	}
	return fmt.Errorf("the database's tokenwatch schema is version %d, older than this tokenwatch's %d: run or serve migrates it", newest, SchemaVersion)
}

// Privilege says whether the role may create tables in the schema the
// store uses, for doctor to tell what to grant before run or serve has to
// create or migrate the schema.
type Privilege struct {
	Role, Schema string
	CanCreate    bool
}

// Grant is the statement that lets the role create the schema.
func (p Privilege) Grant() string {
	return fmt.Sprintf("GRANT CREATE ON SCHEMA %s TO %s;", pgx.Identifier{p.Schema}.Sanitize(), pgx.Identifier{p.Role}.Sanitize())
}

func readPrivilege(ctx context.Context, q queryRower) (Privilege, error) {
	var p Privilege
	err := q.QueryRow(ctx, `SELECT current_user, COALESCE(current_schema(), 'public'),
		has_schema_privilege(COALESCE(current_schema(), 'public'), 'CREATE')`).Scan(&p.Role, &p.Schema, &p.CanCreate)
	return p, err
}

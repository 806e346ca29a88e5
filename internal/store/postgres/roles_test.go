package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/state"
	"github.com/tokenwatch/tokenwatch/internal/store"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

// tables counts tokenwatch's tables in the database of dsn.
func tables(t *testing.T, dsn string) int64 {
	return scalar[int64](t, dsn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tokenwatch_%'")
}

// A role with rights on the tables alone (no CREATE on the schema) uses a
// current schema: opening runs no DDL when the schema is not behind.
func TestACurrentSchemaNeedsNoCreatePrivilege(t *testing.T) {
	dsn := pgtest.DSN(t)
	open(t, dsn, Options{}) // the owner creates the schema
	role := "tw_tables_" + scalar[string](t, dsn, "SELECT current_database()")
	exec(t, dsn, "CREATE ROLE "+role+" LOGIN")
	exec(t, dsn, "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "+role)
	exec(t, dsn, "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO "+role)
	if scalar[bool](t, dsn, "SELECT has_schema_privilege($1, 'public', 'CREATE')", role) {
		t.Fatal("the role may create in public: the test proves nothing")
	}
	s := open(t, dsn+" user="+role, Options{})
	err := openSession(t, s).Decide(context.Background(), store.Scope{Checks: []string{"a"}}, func(f *state.File) error {
		f.LastSuccess = f.LastSuccess.AddDate(1, 0, 0)
		return nil
	})
	if err != nil {
		t.Fatalf("decide as a role with table rights only: %v", err)
	}
}

// A store opened to read never creates the schema: on an empty database
// it says there is none.
func TestReadOnlyNeverCreatesTheSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	_, err := New(context.Background(), dsn, Options{ReadOnly: true})
	if !errors.Is(err, ErrNoSchema) || err.Error() != "no tokenwatch schema yet: run or serve creates it" {
		t.Fatalf("read-only open of an empty database: %v, want ErrNoSchema", err)
	}
	if n := tables(t, dsn); n != 0 {
		t.Errorf("a read-only open created %d tables", n)
	}
	open(t, dsn, Options{})
	if _, err := New(context.Background(), dsn, Options{ReadOnly: true}); err != nil {
		t.Errorf("read-only open of a current schema: %v", err)
	}
}

// Tables of tokenwatch's beside an empty version table (changed by hand)
// are reported as such, by the store and by Check alike, instead of
// failing on "relation already exists".
func TestTablesWithoutASchemaVersion(t *testing.T) {
	dsn := pgtest.DSN(t)
	open(t, dsn, Options{})
	exec(t, dsn, "DELETE FROM tokenwatch_schema_version")
	_, err := New(context.Background(), dsn, Options{})
	if err == nil || !strings.Contains(err.Error(), "tokenwatch's tables but no schema version") {
		t.Fatalf("open: %v, want the stray tables named", err)
	}
	sc, err := Check(context.Background(), dsn)
	if err != nil || !errors.Is(sc.Problem, errStrayTables) {
		t.Fatalf("check: %+v %v, want the stray tables as its problem", sc, err)
	}
}

// Check tells whether the role may create the schema when there is none,
// and the GRANT that would let it.
func TestCheckReadsTheCreatePrivilege(t *testing.T) {
	dsn := pgtest.DSN(t)
	role := "tw_nocreate_" + scalar[string](t, dsn, "SELECT current_database()")
	exec(t, dsn, "CREATE ROLE "+role+" LOGIN")
	sc, err := Check(context.Background(), dsn+" user="+role)
	if err != nil || sc.Privilege == nil || sc.Privilege.CanCreate {
		t.Fatalf("role without CREATE: %+v %v", sc, err)
	}
	if want := `GRANT CREATE ON SCHEMA "public" TO "` + role + `";`; sc.Privilege.Grant() != want {
		t.Errorf("grant %q, want %q", sc.Privilege.Grant(), want)
	}
	if sc, err := Check(context.Background(), dsn); err != nil || sc.Privilege == nil || !sc.Privilege.CanCreate {
		t.Errorf("the owner: %+v %v", sc, err)
	}
	open(t, dsn, Options{})
	if sc, err := Check(context.Background(), dsn); err != nil || sc.Privilege != nil {
		t.Errorf("a current schema: %+v %v, want no privilege read", sc, err)
	}
}

package doctor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/tokenwatch/tokenwatch/internal/config"
	"github.com/tokenwatch/tokenwatch/internal/secret"
	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/internal/testkit"
	"github.com/tokenwatch/tokenwatch/internal/testkit/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The database's probe: every answer a database can give, each as doctor
// words it; the probe never creates the schema and never says a password.
func TestPostgres(t *testing.T) {
	ctx := context.Background()
	fresh := pgtest.DSN(t)
	migrated := pgtest.DSN(t)
	newer := pgtest.DSN(t)
	incompatible := pgtest.DSN(t)
	for _, dsn := range []string{migrated, newer, incompatible} {
		s, err := postgres.New(ctx, dsn, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	pgtest.Exec(t, newer, fmt.Sprintf("INSERT INTO tokenwatch_schema_version (version, compatible, name) VALUES (%d, true, 'future_added_a_column')", postgres.SchemaVersion+1))
	pgtest.Exec(t, incompatible, fmt.Sprintf("INSERT INTO tokenwatch_schema_version (version, compatible, name) VALUES (%d, false, 'future_renamed_a_table')", postgres.SchemaVersion+1))
	// A role with no CREATE on schema public (PostgreSQL 15's default for
	// a role that does not own the database).
	empty := pgtest.DSN(t)
	pgtest.Exec(t, empty, "CREATE ROLE tw_doctor_tables LOGIN")
	tablesOnly := empty + " user=tw_doctor_tables"
	stray := pgtest.DSN(t)
	pgtest.Exec(t, stray, "CREATE TABLE tokenwatch_schema_version (version integer PRIMARY KEY, compatible boolean NOT NULL, name text NOT NULL); CREATE TABLE tokenwatch_records (name text)")
	const closedPW, wrongPW = "cl0sed-doctor-pw", "wr0ng-doctor-pw"
	wrong := strings.Replace(pgtest.PasswordRole(t, fresh, "tw_doctor", "r1ght-doctor-pw"), "r1ght-doctor-pw", wrongPW, 1)
	tests := []struct {
		name, dsn string
		want      Result
		says      string
	}{
		{"no schema yet", fresh, Warn, "connected; no tokenwatch schema yet: run or serve creates it"},
		{"no schema yet, and a role that may not create it", tablesOnly, Fail,
			`may not create tables in schema public: as the database's owner, run GRANT CREATE ON SCHEMA "public" TO "tw_doctor_tables";`},
		{"tables but no schema version", stray, Fail, "tokenwatch's tables but no schema version"},
		{"migrated", migrated, OK, fmt.Sprintf("connected, schema %d ", postgres.SchemaVersion)},
		{"pool settings in the DSN, as run reads them", migrated + " pool_max_conns=8", OK, "connected, schema"},
		{"a newer compatible schema", newer, OK, fmt.Sprintf("schema %d ", postgres.SchemaVersion+1)},
		{"an incompatible schema", incompatible, Fail, "upgrade tokenwatch"},
		{"a closed server", fmt.Sprintf("postgres://tw:%s@%s/tw?sslmode=disable&connect_timeout=5", closedPW, testkit.FreeAddr(t)), Fail, "connect"},
		{"a wrong password", wrong, Fail, "password authentication failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, detail := Postgres(ctx, tc.dsn)
			if r != tc.want || !strings.Contains(detail, tc.says) {
				t.Errorf("got %s %q, want %s containing %q", r, detail, tc.want, tc.says)
			}
			for _, secret := range []string{closedPW, wrongPW, tc.dsn} {
				if strings.Contains(detail, secret) {
					t.Errorf("the detail says a secret: %q", detail)
				}
			}
		})
	}
	if r, _ := Postgres(ctx, fresh); r != Warn {
		t.Error("the probe created the schema")
	}
}

// With state.postgres, the plan probes the database instead of a file.
func TestPlanProbesTheStateItUses(t *testing.T) {
	names := func(cfg *config.Config) []string {
		var out []string
		for _, p := range Plan(cfg, Options{}) {
			out = append(out, p.Name)
		}
		return out
	}
	pg := &config.Config{State: config.State{Postgres: &config.Postgres{DSN: secret.New("postgres://db/tw")}}}
	if got := strings.Join(names(pg), ","); got != "state postgresql" {
		t.Errorf("postgres: %s", got)
	}
	file := &config.Config{State: config.State{Path: "/var/lib/tokenwatch/state.json"}}
	if got := strings.Join(names(file), ","); got != "state" {
		t.Errorf("file: %s", got)
	}
}

package postgres

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// Replicas starting together migrate once: every version is applied
// exactly one time, and every replica comes up.
func TestMigrateOnceUnderTheLock(t *testing.T) {
	dsn := pgtestDSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	for range 5 {
		wg.Go(func() {
			s, err := New(context.Background(), dsn, Options{})
			if err == nil {
				s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a replica did not start: %v", err)
		}
	}
	if n := scalar[int](t, dsn, "SELECT count(*) FROM tokenwatch_schema_version"); n != SchemaVersion {
		t.Errorf("%d version rows, want %d", n, SchemaVersion)
	}
}

// A database a newer tokenwatch migrated is used when the newer versions
// are marked compatible (a rolling upgrade), and refused, clearly, when
// one is not.
func TestNewerSchema(t *testing.T) {
	dsn := pgtestDSN(t)
	open(t, dsn, Options{})
	exec(t, dsn, "INSERT INTO tokenwatch_schema_version (version, compatible, name) VALUES ($1, true, 'future_added_a_column')", SchemaVersion+1)
	s := open(t, dsn, Options{})
	if sc, err := s.Schema(context.Background()); err != nil || sc.Version != SchemaVersion+1 || sc.Problem != nil {
		t.Fatalf("compatible newer schema: %+v %v", sc, err)
	}

	exec(t, dsn, "INSERT INTO tokenwatch_schema_version (version, compatible, name) VALUES ($1, false, 'future_renamed_a_table')", SchemaVersion+2)
	_, err := New(context.Background(), dsn, Options{})
	if !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), "upgrade tokenwatch") {
		t.Fatalf("incompatible newer schema: %v", err)
	}
	want := "schema version 3, and version 3 cannot be used by this tokenwatch (it knows versions 1 to 1)"
	if SchemaVersion == 1 && !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if sc, err := s.Schema(context.Background()); err != nil || !errors.Is(sc.Problem, ErrSchemaTooNew) {
		t.Errorf("doctor's view: %+v %v", sc, err)
	}
}

// Every embedded migration is well formed: numbered from 1, and saying
// whether it is compatible.
func TestMigrationsAreWellFormed(t *testing.T) {
	ms, err := readMigrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].version != 1 {
		t.Fatalf("migrations: %+v", ms)
	}
}

// Check (doctor's) reads the schema version and changes nothing: on an
// empty database it says none was created, and creates none.
func TestCheckChangesNothing(t *testing.T) {
	dsn := pgtestDSN(t)
	sc, err := Check(context.Background(), dsn)
	if err != nil || sc.Version != 0 || sc.Known != SchemaVersion || sc.Problem != nil {
		t.Fatalf("empty database: %+v %v", sc, err)
	}
	if n := scalar[int](t, dsn, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'tokenwatch_%'"); n != 0 {
		t.Errorf("Check created %d tables", n)
	}
	open(t, dsn, Options{})
	if sc, err := Check(context.Background(), dsn); err != nil || sc.Version != SchemaVersion || sc.Problem != nil {
		t.Errorf("migrated database: %+v %v", sc, err)
	}
	if _, err := Check(context.Background(), "host=/nonexistent password=Hunter2-secret connect_timeout=2"); err == nil ||
		strings.Contains(err.Error(), "Hunter2-secret") {
		t.Errorf("no server: %v", err)
	}
}

// Check reads the DSN as the store does: pgxpool's own keys, which run
// accepts, do not fail doctor.
func TestCheckReadsTheDSNAsTheStoreDoes(t *testing.T) {
	dsn := pgtestDSN(t) + " pool_max_conns=8 pool_health_check_period=10s"
	open(t, dsn, Options{})
	if sc, err := Check(context.Background(), dsn); err != nil || sc.Version != SchemaVersion {
		t.Fatalf("check with pool settings: %+v %v", sc, err)
	}
}

package doctor

import (
	"context"
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Postgres tests the state's database as a run will use it: it connects
// and reads the schema version, changing nothing (doctor never migrates).
// A database without tokenwatch's schema is a warn: the first run or
// serve creates it. The errors of postgres.Check never hold the DSN.
func Postgres(ctx context.Context, dsn string) (Result, string) {
	s, err := postgres.Check(ctx, dsn)
	switch {
	case err != nil:
		// Whole, not cut as a server's words are elsewhere: the reason is
		// at the end ("connect: ...: connection refused").
		return Fail, notify.Printable(err.Error())
	case s.Problem != nil:
		return Fail, notify.Printable(s.Problem.Error())
	case s.Version == 0:
		return Warn, fmt.Sprintf("connected; schema not created yet: run or serve creates it (this tokenwatch knows schema versions up to %d)", s.Known)
	}
	return OK, fmt.Sprintf("connected, schema %d (this tokenwatch knows up to %d)", s.Version, s.Known)
}

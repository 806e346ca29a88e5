package doctor

import (
	"context"
	"fmt"

	"github.com/tokenwatch/tokenwatch/internal/store/postgres"
	"github.com/tokenwatch/tokenwatch/notify"
)

// Postgres tests the state's database as a run will use it: it connects
// and reads the schema version, changing nothing (doctor never migrates).
// A database without tokenwatch's schema, or with an older one, is a warn
// when the role may create it (the first run or serve does), and a fail
// saying what to grant when it may not. The errors of postgres.Check
// never hold the DSN.
func Postgres(ctx context.Context, dsn string) (Result, string) {
	s, err := postgres.Check(ctx, dsn)
	switch {
	case err != nil:
		// Whole, not cut as a server's words are elsewhere: the reason is
		// at the end ("connect: ...: connection refused").
		return Fail, notify.Printable(err.Error())
	case s.Problem != nil:
		return Fail, notify.Printable(s.Problem.Error())
	case s.Version >= s.Known:
		return OK, fmt.Sprintf("connected, schema %d (this tokenwatch knows up to %d)", s.Version, s.Known)
	}
	todo := fmt.Sprintf("no tokenwatch schema yet: run or serve creates it (this tokenwatch knows schema versions up to %d)", s.Known)
	if s.Version > 0 {
		todo = fmt.Sprintf("schema %d, older than this tokenwatch's %d: run or serve migrates it", s.Version, s.Known)
	}
	if p := s.Privilege; p != nil && !p.CanCreate {
		return Fail, notify.Printable(fmt.Sprintf("connected; %s, but role %s may not create tables in schema %s: as the database's owner, run %s",
			todo, p.Role, p.Schema, p.Grant()))
	}
	return Warn, "connected; " + todo
}

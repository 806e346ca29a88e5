package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tokenwatch/tokenwatch/internal/store"
)

// dbError is an error of the database, worded so that it cannot carry the
// DSN: pgx's own texts name the DSN's user, host and database, and the
// text of a DSN it cannot parse is only redacted as well as pgx can guess
// where the password is. It wraps no pgx error (whose Error would say it
// all again), only a context's error, so errors.Is still sees a timeout,
// and store.ErrUnavailable when the connection was lost.
type dbError struct {
	msg   string
	code  string // SQLSTATE, when the server answered
	cause error  // context.Canceled or context.DeadlineExceeded, or nil
	lost  bool   // the connection failed, not the statement
}

func (e *dbError) Error() string { return e.msg }

func (e *dbError) Unwrap() []error {
	var errs []error
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	if e.lost {
		errs = append(errs, store.ErrUnavailable)
	}
	return errs
}

// lockNotAvailable is the SQLSTATE of a lock_timeout that ran out.
const lockNotAvailable = "55P03"

// safeError words err for a log: what was being done, and why it failed
// as far as that can be said without the DSN. secrets (the password, the
// DSN itself) are cut from whatever text is left, as a last guard.
func safeError(doing string, err error, secrets ...string) error {
	e := &dbError{lost: connectionLost(err)}
	var pg *pgconn.PgError
	var parse *pgconn.ParseConfigError
	switch {
	case errors.As(err, &parse):
		e.msg = "the DSN cannot be parsed (not shown: it is a secret)"
	case errors.As(err, &pg):
		e.msg, e.code = pg.Message+" (SQLSTATE "+pg.Code+")", pg.Code
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.msg = "interrupted: " + contextCause(err).Error()
		e.cause = contextCause(err)
	default:
		e.msg = innermost(err)
	}
	// pgx joins the errors of several addresses with newlines: one line
	// reads better in a log.
	e.msg = strings.Join(strings.Fields(strings.ReplaceAll(e.msg, "\n", "; ")), " ")
	e.msg = "postgres: " + doing + ": " + scrub(e.msg, secrets)
	return e
}

// contextCause is the context error inside err.
func contextCause(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	return context.DeadlineExceeded
}

// innermost is the text of the deepest error in err's chain: the network
// error under pgx's "failed to connect to `user=... database=...`".
func innermost(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// scrub cuts every secret out of s.
func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[secret]")
		}
	}
	return s
}

// isCode reports whether err is a database error with SQLSTATE code.
func isCode(err error, code string) bool {
	var e *dbError
	return errors.As(err, &e) && e.code == code
}

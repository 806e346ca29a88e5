package postgres

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The store's own bounds, so that a database that stops answering (a
// frozen server, a dropped network) fails a call instead of hanging it:
// PostgreSQL down must behave like a state file that cannot be written.
const (
	// defaultConnectTimeout bounds a connection when the DSN sets no
	// connect_timeout of its own.
	defaultConnectTimeout = 5 * time.Second
	// txTimeout bounds a transaction whose caller gave no deadline, unless
	// Options.Timeout says otherwise: far
	// above what any transaction takes (a decision at 10,000 checks takes
	// well under a second), far below forever.
	txTimeout = 30 * time.Second
	// healthCheckPeriod is how often idle connections are checked, so a
	// connection the server dropped is closed before a call takes it.
	healthCheckPeriod = 15 * time.Second
)

// bound sets the store's limits on a pool's configuration.
func bound(cfg *pgxpool.Config) {
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	cfg.HealthCheckPeriod = healthCheckPeriod
}

// withDeadline is ctx, bounded by limit unless it has a deadline of its
// own already.
func withDeadline(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, limit)
}

// connectionLost reports whether err, an error of pgx, is of the
// connection rather than of the statement: the server ended the session
// (SQLSTATE class 08, 57P01 to 57P03), or the network did.
func connectionLost(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return strings.HasPrefix(pg.Code, "08") || pg.Code == "57P01" || pg.Code == "57P02" || pg.Code == "57P03"
	}
	var netErr net.Error
	var connect *pgconn.ConnectError
	return errors.As(err, &connect) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNREFUSED)
}

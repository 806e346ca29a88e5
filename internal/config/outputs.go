package config

import (
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"gopkg.in/yaml.v3"
)

func (p *parser) state(n *yaml.Node, s *State) {
	var path *yaml.Node
	p.fields(n, "state", map[string]func(*yaml.Node){
		"path": func(v *yaml.Node) {
			path = v
			if value, ok := p.str(v, "state.path"); ok && value != "" {
				s.Path = value
			}
		},
		"postgres": func(v *yaml.Node) { s.Postgres = p.postgres(v) },
	})
	if path != nil && s.Postgres != nil {
		p.errorf(path, "state: set path (a file) or postgres (a database), not both")
	}
	if s.Postgres != nil {
		s.Path = "" // the file is not used: nothing may read or write it by mistake
	}
}

// postgres reads state.postgres: the DSN is a secret, given inline (from
// ${VAR}) or in a file. It is parsed, as the store parses it, but never
// connected to: validate never connects.
func (p *parser) postgres(n *yaml.Node) *Postgres {
	var inline, file *yaml.Node
	p.fields(n, "state.postgres", map[string]func(*yaml.Node){
		"dsn":      func(v *yaml.Node) { inline = v },
		"dsn_file": func(v *yaml.Node) { file = v },
	})
	if inline == nil && file == nil {
		p.errorf(n, "state.postgres: set dsn or dsn_file (the connection string, a secret)")
		return nil
	}
	dsn := p.secretPair("dsn", inline, file)
	if dsn.Empty() {
		return nil
	}
	at := inline
	if at == nil {
		at = file
	}
	if !dsnShape(dsn.Reveal()) {
		// The value is never quoted: it holds a password.
		p.errorf(at, "state.postgres: the DSN is neither a postgres:// URL nor key=value pairs (host=... dbname=...)")
		return nil
	}
	// Parsed as the store parses it (pgxpool's keys included), so that a
	// DSN every command would refuse fails here, where the line is known.
	if _, err := pgxpool.ParseConfig(dsn.Reveal()); err != nil {
		p.errorf(at, "state.postgres: the DSN cannot be parsed: %s (the DSN is not shown: it is a secret)", dsnProblem(err))
		return nil
	}
	return &Postgres{DSN: dsn}
}

// dsnProblem is why pgx cannot parse a DSN, without the DSN: pgx's own
// text quotes it, redacting the password only as well as it can guess
// where the password is, and some of its reasons quote a piece of it.
func dsnProblem(err error) string {
	var pe *pgconn.ParseConfigError
	if !errors.As(err, &pe) {
		return "pgx cannot read it"
	}
	c := *pe
	c.ConnString = ""
	reason := strings.TrimPrefix(c.Error(), "cannot parse ``: ")
	inner := errors.Unwrap(pe)
	if inner == nil {
		return reason
	}
	reason = strings.TrimSuffix(reason, " ("+inner.Error()+")")
	var num *strconv.NumError
	switch {
	case errors.As(inner, &num):
		return reason + " (" + num.Err.Error() + ")"
	case reason == "failed to parse as URL":
		// pgx's and net/url's reasons quote the part they stumbled on.
		return reason + " (percent-encode the special characters of the user and password: @ : / ? # [ ] % and spaces)"
	case slices.Contains(fixedReasons, inner.Error()):
		return reason + " (" + inner.Error() + ")"
	}
	return reason
}

// fixedReasons are pgx's reasons for a key=value DSN that quote none of it.
var fixedReasons = []string{
	"invalid keyword/value",
	"unterminated quoted string in connection info string",
	"forbidden NUL byte in connection string",
}

// dsnShape says whether s has the form of a libpq connection string: a
// URL with the postgres or postgresql scheme, or key=value pairs.
func dsnShape(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return true
	}
	key, _, ok := strings.Cut(s, "=")
	return ok && key != "" && !strings.ContainsAny(key, " /:")
}

func (p *parser) metrics(n *yaml.Node, m *Metrics) {
	p.fields(n, "metrics", map[string]func(*yaml.Node){
		"listen": func(v *yaml.Node) {
			addr, ok := p.str(v, "listen")
			if !ok || addr == "" {
				return
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				p.errorf(v, "metrics.listen: %s is not host:port (for example \":9464\")", shown(v, addr))
				return
			}
			m.Listen = addr
		},
		"textfile": func(v *yaml.Node) {
			path, ok := p.str(v, "textfile")
			if ok && path != "" && !strings.HasSuffix(path, ".prom") {
				p.errorf(v, "metrics.textfile: node_exporter reads only files ending in .prom")
				return
			}
			m.Textfile = path
		},
		"pushgateway": func(v *yaml.Node) {
			p.fields(v, "metrics.pushgateway", map[string]func(*yaml.Node){
				"url": func(v *yaml.Node) {
					if raw, ok := p.str(v, "url"); ok && raw != "" && p.httpURL(v, "metrics.pushgateway.url", raw, false) != nil {
						m.Pushgateway.URL = raw
					}
				},
				"job": func(v *yaml.Node) {
					if job, ok := p.str(v, "job"); ok && job != "" {
						m.Pushgateway.Job = job
					} else if ok {
						p.errorf(v, "metrics.pushgateway.job must not be empty")
					}
				},
			})
		},
	})
}

func (p *parser) heartbeat(n *yaml.Node, h *Heartbeat) {
	var inline, file *yaml.Node
	p.fields(n, "heartbeat", map[string]func(*yaml.Node){
		"url":      func(v *yaml.Node) { inline = v },
		"url_file": func(v *yaml.Node) { file = v },
	})
	if inline != nil && inline.Tag == "!!null" || inline != nil && inline.Value == "" {
		return // url: "" is the documented way to say "no heartbeat"
	}
	h.URL = p.secretPair("url", inline, file)
	if !h.URL.Empty() {
		where := inline
		if where == nil {
			where = file
		}
		p.httpURL(where, "heartbeat.url", h.URL.Reveal(), false)
	}
}

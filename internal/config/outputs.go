package config

import (
	"net"
	"strings"

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
// ${VAR}) or in a file. It is checked for its form only: validate never
// connects.
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
	return &Postgres{DSN: dsn}
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

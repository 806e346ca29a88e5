package config

import (
	"net"
	"strings"

	"gopkg.in/yaml.v3"
)

func (p *parser) state(n *yaml.Node, s *State) {
	p.fields(n, "state", map[string]func(*yaml.Node){
		"path": func(v *yaml.Node) {
			if path, ok := p.str(v, "path"); ok && path != "" {
				s.Path = path
			}
		},
	})
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

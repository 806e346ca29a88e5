package config

import (
	"crypto/x509"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// The sections of the file, one function each, in file order.

func (p *parser) config(root *yaml.Node) *Config {
	cfg := &Config{
		File:        p.file,
		Concurrency: DefaultConcurrency,
		State:       State{Path: defaultStatePath(p.env)},
		Metrics:     Metrics{Listen: DefaultListen, Pushgateway: Pushgateway{Job: DefaultPushgatewayJob}},
	}
	defaults := checkDefaults{schedule: DefaultSchedule, timeout: DefaultTimeout}
	var checksNode *yaml.Node
	seen := p.fields(root, "configuration", map[string]func(*yaml.Node){
		"concurrency": func(v *yaml.Node) { p.positive(v, "concurrency", &cfg.Concurrency) },
		"slack":       func(v *yaml.Node) { cfg.Slack = p.slack(v) },
		"state":       func(v *yaml.Node) { p.state(v, &cfg.State) },
		"metrics":     func(v *yaml.Node) { p.metrics(v, &cfg.Metrics) },
		"heartbeat":   func(v *yaml.Node) { p.heartbeat(v, &cfg.Heartbeat) },
		"defaults":    func(v *yaml.Node) { p.defaults(v, &defaults) },
		"checks":      func(v *yaml.Node) { checksNode = v },
	})
	// Checks come last so that defaults written after them still apply.
	switch {
	case checksNode != nil:
		cfg.Checks = p.checks(checksNode, defaults)
	case root.Kind == yaml.MappingNode || seen != nil:
		p.errorf(root, "no checks: add a checks list with at least one check")
	}
	return cfg
}

func (p *parser) slack(n *yaml.Node) *Slack {
	s := &Slack{APIURL: DefaultSlackAPIURL, MaxMessagesPerRun: DefaultMaxMessagesPerRun}
	var webhook, webhookFile, bot, botFile, apiURL *yaml.Node
	p.fields(n, "slack", map[string]func(*yaml.Node){
		"webhook_url":          func(v *yaml.Node) { webhook = v },
		"webhook_url_file":     func(v *yaml.Node) { webhookFile = v },
		"bot_token":            func(v *yaml.Node) { bot = v },
		"bot_token_file":       func(v *yaml.Node) { botFile = v },
		"channel":              func(v *yaml.Node) { s.Channel, _ = p.str(v, "channel") },
		"api_url":              func(v *yaml.Node) { apiURL = v },
		"max_messages_per_run": func(v *yaml.Node) { p.positive(v, "max_messages_per_run", &s.MaxMessagesPerRun) },
	})
	s.WebhookURL = p.secretPair("webhook_url", webhook, webhookFile)
	s.BotToken = p.secretPair("bot_token", bot, botFile)
	switch {
	case !s.WebhookURL.Empty() && !s.BotToken.Empty():
		p.errorf(n, "slack: set webhook_url or bot_token, not both")
	case !s.WebhookURL.Empty():
		where := webhook
		if where == nil {
			where = webhookFile
		}
		p.httpURL(where, "slack.webhook_url", s.WebhookURL.Reveal(), true)
	case !s.BotToken.Empty():
		if s.Channel == "" {
			p.errorf(n, "slack: bot_token needs a channel to post to")
		}
	case webhook == nil && webhookFile == nil && bot == nil && botFile == nil:
		p.errorf(n, "slack: set webhook_url (incoming webhook) or bot_token and channel")
	}
	if apiURL != nil {
		if raw, ok := p.str(apiURL, "api_url"); ok && p.httpURL(apiURL, "slack.api_url", raw, true) != nil {
			if !strings.HasSuffix(raw, "/") {
				raw += "/"
			}
			s.APIURL = raw
		}
	}
	return s
}

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

// checkDefaults is the defaults section: what every check inherits.
type checkDefaults struct {
	schedule string
	timeout  time.Duration
	alert    alertOverride
}

// alertOverride holds the alert keys a section sets; nil means "inherit".
type alertOverride struct {
	afterFailures, afterOutages, resolveAfter *int
	repeatEvery                               *time.Duration
	sendResolved                              *bool
}

func (p *parser) defaults(n *yaml.Node, d *checkDefaults) {
	p.fields(n, "defaults", map[string]func(*yaml.Node){
		"schedule": func(v *yaml.Node) { p.schedule(v, &d.schedule) },
		"timeout":  func(v *yaml.Node) { p.duration(v, "timeout", false, &d.timeout) },
		"alert":    func(v *yaml.Node) { d.alert = p.alert(v) },
	})
}

func (p *parser) schedule(n *yaml.Node, dst *string) {
	spec, ok := p.str(n, "schedule")
	if !ok {
		return
	}
	if err := validSchedule(spec); err != nil {
		p.errorf(n, "schedule: %s is not a cron spec (5 fields like \"*/5 * * * *\", or \"@every 5m\"): %v", shown(n, spec), err)
		return
	}
	*dst = spec
}

func (p *parser) alert(n *yaml.Node) alertOverride {
	var a alertOverride
	intField := func(dst **int, key string) func(*yaml.Node) {
		return func(v *yaml.Node) {
			i := 0
			p.positive(v, "alert."+key, &i)
			if i > 0 {
				*dst = &i
			}
		}
	}
	p.fields(n, "alert", map[string]func(*yaml.Node){
		"after_failures": intField(&a.afterFailures, "after_failures"),
		"after_outages":  intField(&a.afterOutages, "after_outages"),
		"resolve_after":  intField(&a.resolveAfter, "resolve_after"),
		"repeat_every": func(v *yaml.Node) {
			d := time.Duration(-1)
			p.duration(v, "alert.repeat_every", true, &d)
			if d >= 0 {
				a.repeatEvery = &d
			}
		},
		"send_resolved": func(v *yaml.Node) {
			var b bool
			before := len(p.problems)
			p.boolean(v, "alert.send_resolved", &b)
			if len(p.problems) == before {
				a.sendResolved = &b
			}
		},
	})
	return a
}

// apply merges the keys o sets over base.
func (o alertOverride) apply(base Alert) Alert {
	if o.afterFailures != nil {
		base.AfterFailures = *o.afterFailures
	}
	if o.afterOutages != nil {
		base.AfterOutages = *o.afterOutages
	}
	if o.resolveAfter != nil {
		base.ResolveAfter = *o.resolveAfter
	}
	if o.repeatEvery != nil {
		base.RepeatEvery = *o.repeatEvery
	}
	if o.sendResolved != nil {
		base.SendResolved = *o.sendResolved
	}
	return base
}

func (p *parser) checks(n *yaml.Node, d checkDefaults) []Check {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "checks must be a list of checks")
		return nil
	}
	if len(n.Content) == 0 {
		p.errorf(n, "checks is empty: add at least one check")
	}
	names := map[string]bool{}
	var list []Check
	for i, item := range n.Content {
		c, nameNode := p.check(item, i, d)
		if nameNode != nil && c.Name != "" {
			if names[c.Name] {
				p.errorf(nameNode, "check name %q is used twice: names must be unique", c.Name)
			}
			names[c.Name] = true
		}
		list = append(list, c)
	}
	return list
}

// checkFields is every key a check may have, and which types accept it.
var checkFields = map[string][]string{
	"name": nil, "type": nil, "schedule": nil, "timeout": nil, "alert": nil,
	"ca_file": nil, "insecure_skip_verify": nil, "client_id": nil,
	"base_url": {checks.TypeCourier}, "token": {checks.TypeCourier}, "token_file": {checks.TypeCourier},
	"host": {checks.TypePartner}, "client_secret": {checks.TypePartner}, "client_secret_file": {checks.TypePartner},
	"scope": {checks.TypePartner}, "auth_style": {checks.TypePartner},
}

func (p *parser) check(n *yaml.Node, index int, d checkDefaults) (Check, *yaml.Node) {
	c := Check{Line: n.Line, Col: n.Column, Schedule: d.schedule, Timeout: d.timeout,
		BaseURL: checks.DefaultCourierBaseURL, Scope: checks.DefaultScope, AuthStyle: checks.AuthForm}
	where := "checks[" + strconv.Itoa(index) + "]"
	nodes := map[string]*yaml.Node{}
	handlers := map[string]func(*yaml.Node){}
	for key := range checkFields {
		handlers[key] = func(v *yaml.Node) { nodes[key] = v }
	}
	keys := p.fields(n, where, handlers)
	if resolve(n).Kind != yaml.MappingNode {
		return c, nil
	}

	nameNode := nodes["name"]
	if nameNode == nil {
		p.errorf(n, "%s has no name", where)
	} else if name, ok := p.str(nameNode, "name"); ok {
		if !checkName.MatchString(name) {
			p.errorf(nameNode, "check name %s: use 1 to 63 characters of a-z, 0-9, _ and -", shown(nameNode, name))
		} else {
			c.Name, where = name, "check "+name
		}
	}
	if t := nodes["type"]; t == nil {
		p.errorf(n, "%s has no type: courier or partner_oauth", where)
	} else if typ, ok := p.str(t, "type"); ok {
		if typ != checks.TypeCourier && typ != checks.TypePartner {
			p.errorf(t, "%s: unknown type %s: courier or partner_oauth", where, shown(t, typ))
		} else {
			c.Type = typ
		}
	}
	for key, allowed := range checkFields {
		if allowed != nil && nodes[key] != nil && c.Type != "" && allowed[0] != c.Type {
			p.errorf(keys[key], "%s: %s is not a key of a %s check", where, key, c.Type)
		}
	}

	if v := nodes["schedule"]; v != nil {
		p.schedule(v, &c.Schedule)
	}
	if v := nodes["timeout"]; v != nil {
		p.duration(v, "timeout", false, &c.Timeout)
	}
	c.Alert = d.alert.apply(DefaultAlert)
	if v := nodes["alert"]; v != nil {
		c.Alert = p.alert(v).apply(c.Alert)
	}
	clientIDRead := true
	if v := nodes["client_id"]; v != nil {
		c.ClientID, clientIDRead = p.str(v, "client_id")
	}
	if v := nodes["ca_file"]; v != nil {
		c.CAFile, _ = p.str(v, "ca_file")
		if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
			c.CAFile = filepath.Join(p.dir, c.CAFile)
		}
		p.caFile(v, c.CAFile)
	}
	if v := nodes["insecure_skip_verify"]; v != nil {
		p.boolean(v, "insecure_skip_verify", &c.InsecureSkipVerify)
		if c.InsecureSkipVerify {
			p.warnf(v, "%s: insecure_skip_verify turns TLS certificate verification off: anyone on the path can read the secret", where)
		}
	}

	switch c.Type {
	case checks.TypeCourier:
		if v := nodes["base_url"]; v != nil {
			if raw, ok := p.str(v, "base_url"); ok && p.httpURL(v, "base_url", raw, true) != nil {
				c.BaseURL = raw
			}
		}
		c.Token = p.secretPair("token", nodes["token"], nodes["token_file"])
		if c.Token.Empty() && nodes["token"] == nil && nodes["token_file"] == nil {
			p.errorf(n, "%s has no secret: set token or token_file", where)
		}
		if strings.IndexFunc(c.Token.Reveal(), func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			at := nodes["token"]
			if at == nil {
				at = nodes["token_file"]
			}
			// It goes into an HTTP header: say so now, not as an outage later.
			p.errorf(at, "%s: the token contains white space or control characters (does the file hold something else?)", where)
		}
	case checks.TypePartner:
		if v := nodes["host"]; v == nil {
			p.errorf(n, "%s has no host: the partner's base URL, like https://partner.example.com", where)
		} else if raw, ok := p.str(v, "host"); ok {
			if u := p.httpURL(v, "host", raw, true); u != nil {
				c.Host = raw
				if net.ParseIP(u.Hostname()) != nil && !isLoopback(u.Hostname()) {
					p.warnf(v, "%s: host is an IP address; the Yango Deli pull method accepts domain names only", where)
				}
			}
		}
		if v := nodes["client_id"]; v == nil {
			p.errorf(n, "%s has no client_id", where)
		} else if clientIDRead && c.ClientID == "" {
			p.errorf(v, "%s: client_id is empty", where)
		}
		c.ClientSecret = p.secretPair("client_secret", nodes["client_secret"], nodes["client_secret_file"])
		if c.ClientSecret.Empty() && nodes["client_secret"] == nil && nodes["client_secret_file"] == nil {
			p.errorf(n, "%s has no secret: set client_secret or client_secret_file", where)
		}
		if v := nodes["scope"]; v != nil {
			c.Scope, _ = p.str(v, "scope")
		}
		if v := nodes["auth_style"]; v != nil {
			if raw, ok := p.str(v, "auth_style"); ok {
				switch style := checks.AuthStyle(raw); style {
				case checks.AuthForm, checks.AuthBasic:
					c.AuthStyle = style
				default:
					p.errorf(v, "%s: auth_style %s: form (credentials in the body, the default) or basic (HTTP Basic header)", where, shown(v, raw))
				}
			}
		}
	}
	return c, nameNode
}

// caFile checks that a CA bundle can be read and holds a certificate, so
// that validate reports it rather than the first run.
func (p *parser) caFile(n *yaml.Node, path string) {
	if path == "" {
		return
	}
	// A CA bundle may hold many certificates: a configuration's limit, not a secret's.
	data, err := safefile.Read(path, safefile.MaxConfig)
	if err != nil {
		p.errorf(n, "ca_file: %v", err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		p.errorf(n, "ca_file: %s holds no PEM certificate", path)
	}
}

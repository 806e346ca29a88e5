package config

import (
	"crypto/x509"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// The checks section: what every check has is read here; what its kind
// adds is read by the kind itself (checks.Kind.Decode), through Fields.

// reservedName is the check name of messages about tokenwatch itself
// (state.NoticeCheck): a check of that name would share their threads.
const reservedName = "tokenwatch"

// checkName is what a check's name may be: it is a metric label and a file-safe word.
var checkName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// commonKeys are the keys every check has, whatever its kind.
var commonKeys = []string{"name", "type", "schedule", "timeout", "alert", "ca_file", "insecure_skip_verify", "owner", "team", "slack",
	"issued_at", "rotate_after", "tls_warn_before"}

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

func (p *parser) check(n *yaml.Node, index int, d checkDefaults) (Check, *yaml.Node) {
	c := Check{Line: n.Line, Col: n.Column, Schedule: d.schedule, Timeout: d.timeout}
	// Keys no one reads are reported under the check's place in the list,
	// as every section reports its unknown keys.
	listed := "checks[" + strconv.Itoa(index) + "]"
	entries, ok := p.entries(n, listed)
	if !ok {
		return c, nil
	}
	values := map[string]*yaml.Node{}
	for _, e := range entries {
		values[e.key.Value] = e.value
	}

	where := listed
	nameNode := values["name"]
	if nameNode == nil {
		p.errorf(n, "%s has no name", where)
	} else if name, ok := p.str(nameNode, "name"); ok {
		switch {
		case !checkName.MatchString(name):
			p.errorf(nameNode, "check name %s: use 1 to 63 characters of a-z, 0-9, _ and -", shown(nameNode, name))
		case name == reservedName:
			p.errorf(nameNode, "check name %q is tokenwatch's own, for messages about itself (a reset state, our own outage): choose another", name)
		default:
			c.Name, where = name, "check "+name
		}
	}
	var kind checks.Kind
	if t := values["type"]; t == nil {
		p.errorf(n, "%s has no type: %s", where, p.kinds.Choices())
	} else if typ, ok := p.str(t, "type"); ok {
		if k, known := p.kinds.Lookup(typ); known {
			c.Type, kind = typ, k
		} else {
			p.errorf(t, "%s: unknown type %s: %s", where, shown(t, typ), p.kinds.Choices())
		}
	}
	p.commonKeys(&c, values, where, d)

	f := &checkFields{p: p, check: n, where: where, values: values, asked: map[string]bool{}}
	if kind != nil {
		c.Spec = kind.Decode(f)
	}
	p.unreadKeys(entries, kind, f.asked, listed, where)
	return c, nameNode
}

// commonKeys reads what every check may set: its schedule, timeout, alert
// policy, TLS settings, owner, team, Slack destination and lifecycle.
func (p *parser) commonKeys(c *Check, values map[string]*yaml.Node, where string, d checkDefaults) {
	if v := values["schedule"]; v != nil {
		p.schedule(v, &c.Schedule)
	}
	if v := values["timeout"]; v != nil {
		p.duration(v, "timeout", false, &c.Timeout)
	}
	c.Alert = d.alert.apply(DefaultAlert)
	if v := values["alert"]; v != nil {
		c.Alert = p.alert(v).apply(c.Alert)
	}
	if v := values["ca_file"]; v != nil {
		c.CAFile, _ = p.str(v, "ca_file")
		if c.CAFile != "" && !filepath.IsAbs(c.CAFile) {
			c.CAFile = filepath.Join(p.dir, c.CAFile)
		}
		p.caFile(v, c.CAFile)
	}
	if v := values["insecure_skip_verify"]; v != nil {
		p.boolean(v, "insecure_skip_verify", &c.InsecureSkipVerify)
		if c.InsecureSkipVerify {
			p.warnf(v, "%s: insecure_skip_verify turns TLS certificate verification off: anyone on the path can read the secret", where)
		}
	}
	if v := values["owner"]; v != nil {
		c.Owner = p.owner(v, where)
	}
	if v := values["team"]; v != nil {
		c.Team = p.team(v, where)
	}
	if v := values["slack"]; v != nil {
		c.Slack = p.checkSlack(v, where, d.slack)
	}
	p.lifecycleKeys(c, values, where, d)
}

// unreadKeys reports every key of a check that neither the common keys
// nor its kind read. A key another kind reads is named as such; without a
// known kind, any kind's key is accepted.
func (p *parser) unreadKeys(entries []entry, kind checks.Kind, asked map[string]bool, listed, where string) {
	if p.allKeys == nil {
		p.allKeys = slices.Clone(commonKeys)
		for _, k := range p.kinds {
			p.allKeys = append(p.allKeys, p.keysOf(k)...)
		}
	}
	all := p.allKeys
	for _, e := range entries {
		key := e.key.Value
		switch {
		case slices.Contains(commonKeys, key) || asked[key]:
		case slices.Contains(all, key) && kind == nil:
		case slices.Contains(all, key):
			p.errorf(e.key, "%s: %s is not a key of a %s check", where, key, kind.Type())
		default:
			p.errorf(e.key, "%s: unknown key %q%s", listed, key, suggest(key, all))
		}
	}
}

// keysOf is every key kind reads, learnt by decoding nothing once.
func (p *parser) keysOf(kind checks.Kind) []string {
	if keys, done := p.kindKeys[kind.Type()]; done {
		return keys
	}
	r := keyRecorder{}
	kind.Decode(r)
	keys := make([]string, 0, len(r))
	for k := range r {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if p.kindKeys == nil {
		p.kindKeys = map[string][]string{}
	}
	p.kindKeys[kind.Type()] = keys
	return keys
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

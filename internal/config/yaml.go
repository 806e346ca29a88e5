package config

import (
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// fields walks a mapping, handing each known key's value to its handler and
// reporting unknown and repeated keys. It returns the key nodes seen, so
// callers can tell an absent key from an empty one.
func (p *parser) fields(n *yaml.Node, where string, handlers map[string]func(v *yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	entries, _ := p.entries(n, where)
	for _, e := range entries {
		seen[e.key.Value] = e.key
		h, ok := handlers[e.key.Value]
		if !ok {
			p.errorf(e.key, "%s: unknown key %q%s", where, e.key.Value, suggest(e.key.Value, slices.Collect(maps.Keys(handlers))))
			continue
		}
		h(e.value)
	}
	return seen
}

// entry is one key of a mapping and its value.
type entry struct{ key, value *yaml.Node }

// entries lists a mapping's keys and values in the order they take
// effect, reporting repeated keys: merged keys first, the first of them
// winning; a key written in the mapping itself wins over all of them. ok is
// false when n is not a mapping (reported unless it is null).
func (p *parser) entries(n *yaml.Node, where string) (list []entry, ok bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if n.Tag != "!!null" {
			p.errorf(n, "%s must be a mapping of keys to values", where)
		}
		return nil, false
	}
	merged, own := p.pairs(n, where)
	written := map[string]bool{}
	for _, kv := range own {
		written[kv[0].Value] = true
	}
	taken := map[string]bool{}
	for _, kv := range merged {
		if key := kv[0].Value; !taken[key] && !written[key] {
			taken[key] = true
			list = append(list, entry{kv[0], kv[1]})
		}
	}
	given := map[string]bool{}
	for _, kv := range own {
		if given[kv[0].Value] {
			p.errorf(kv[0], "%s: key %q is given twice", where, kv[0].Value)
			continue
		}
		given[kv[0].Value] = true
		list = append(list, entry{kv[0], kv[1]})
	}
	return list, true
}

// resolve follows a YAML alias (*name) to the node its anchor (&name) marks.
// Parse has measured the aliases first (aliasesBounded): they form no cycle
// and repeat a bounded number of nodes, so following them always ends.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// pairs splits a mapping's key/value pairs into those merged in with YAML
// merge keys (<<: *base, or a list of them; highest priority first) and
// those written in the mapping itself.
func (p *parser) pairs(n *yaml.Node, where string) (merged, own [][2]*yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolve(n.Content[i+1])
		if k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, src := range sources {
			src = resolve(src)
			if src.Kind != yaml.MappingNode {
				p.errorf(src, "%s: << merges mappings only", where)
				continue
			}
			m, o := p.pairs(src, where)
			merged = append(append(merged, o...), m...)
		}
	}
	return merged, own
}

// suggest names the closest known key for a misspelt one.
func suggest(key string, keys []string) string {
	best, bestDist := "", 3
	for _, known := range keys {
		if d := editDistance(key, known); d < bestDist || (d == bestDist && known < best) {
			best, bestDist = known, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// str reads a scalar and expands ${VAR} in it. ok is false when a problem
// was reported.
func (p *parser) str(n *yaml.Node, key string) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s must be a single value, not a list or mapping", key)
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	v, err := Expand(n.Value, p.env)
	if err != nil {
		p.errorf(n, "%s: %v", key, err)
		return "", false
	}
	return v, true
}

// shown is how a value appears in a message: as written in the file when it
// came from ${VAR} expansion, so that a secret put in the wrong variable is
// never printed.
func shown(n *yaml.Node, expanded string) string {
	if n.Value != expanded {
		return strconv.Quote(n.Value)
	}
	return strconv.Quote(expanded)
}

// because is err as the tail of a message about the value at n, unless
// the value came from ${VAR} expansion: parsers quote what they were
// given, which may be a secret put in the wrong variable.
func because(n *yaml.Node, expanded string, err error) string {
	if n.Value != expanded {
		return " (the error is not shown: it would quote the variable's value)"
	}
	return ": " + err.Error()
}

// positive reads a whole number of at least 1.
func (p *parser) positive(n *yaml.Node, key string, dst *int) {
	s, ok := p.str(n, key)
	if !ok {
		return
	}
	i, err := strconv.Atoi(strings.TrimSpace(s))
	switch {
	case err != nil:
		p.errorf(n, "%s: %s is not a whole number", key, shown(n, s))
	case i < 1:
		p.errorf(n, "%s must be at least 1, got %d", key, i)
	default:
		*dst = i
	}
}

func (p *parser) boolean(n *yaml.Node, key string, dst *bool) {
	s, ok := p.str(n, key)
	if !ok {
		return
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		p.errorf(n, "%s: %s is not true or false", key, shown(n, s))
		return
	}
	*dst = b
}

// duration reads a Go duration ("90s", "4h"). allowZero permits "0".
func (p *parser) duration(n *yaml.Node, key string, allowZero bool, dst *time.Duration) {
	s, ok := p.str(n, key)
	if !ok {
		return
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		p.errorf(n, "%s: %s is not a duration (write it like 90s, 10m or 4h)", key, shown(n, s))
	case d < 0 || (d == 0 && !allowZero):
		p.errorf(n, "%s must be positive, got %s", key, shown(n, s))
	default:
		*dst = d
	}
}

// secretFile reads a *_file secret: white space around it is trimmed; a
// relative path is relative to the configuration file.
func (p *parser) secretFile(n *yaml.Node, key string) (secret.Value, bool) {
	path, ok := p.str(n, key)
	if !ok || path == "" {
		return secret.Value{}, ok
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(p.dir, path)
	}
	data, err := safefile.Read(path, safefile.MaxSecret)
	if err != nil {
		p.errorf(n, "%s: cannot read the secret: %v", key, err)
		return secret.Value{}, false
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		p.errorf(n, "%s: %s is empty", key, path)
		return secret.Value{}, false
	}
	return secret.New(v), true
}

// secretPair reads a secret given either inline (key) or from a file
// (key_file), never both. It reports nothing when neither is set.
func (p *parser) secretPair(key string, inline, file *yaml.Node) secret.Value {
	if p.skipSecrets {
		return p.unreadSecret(inline, file)
	}
	switch {
	case inline != nil && file != nil:
		p.errorf(file, "set %s or %s_file, not both", key, key)
	case file != nil:
		v, _ := p.secretFile(file, key+"_file")
		return v
	case inline != nil:
		v, ok := p.str(inline, key)
		if ok && v != "" {
			return secret.New(v)
		}
		if ok {
			p.errorf(inline, "%s is empty", key)
		}
	}
	return secret.Value{}
}

// httpURL checks an absolute http(s) URL. It warns when a secret would
// travel in clear text to a host that is not this machine.
func (p *parser) httpURL(n *yaml.Node, key, raw string, carriesSecret bool) *url.URL {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errorf(n, "%s: want an absolute http:// or https:// URL", key)
		return nil
	}
	if u.User != nil {
		p.errorf(n, "%s: do not put credentials in the URL", key)
		return nil
	}
	if carriesSecret && u.Scheme == "http" && !checks.IsLoopback(u.Hostname()) {
		// The host is named as the file writes it: a value from ${VAR} is
		// not repeated (it may be more than a host name).
		host := u.Hostname()
		if n.Value != raw {
			host = "the host of " + strconv.Quote(n.Value)
		}
		p.warnf(n, "%s uses http:// to %s: the secret would travel in clear text", key, host)
	}
	return u
}

// validSchedule reports whether spec is a robfig/cron spec.
func validSchedule(spec string) error {
	_, err := parseSchedule(spec)
	return err
}

// unreadSecret stands for a secret that WithoutSecrets does not read:
// given (so the check is not "without a secret"), and never valid.
func (p *parser) unreadSecret(nodes ...*yaml.Node) secret.Value {
	given := false
	for _, n := range nodes {
		if n == nil {
			continue
		}
		given = true
		if p.secretAt == nil {
			p.secretAt = map[[2]int]bool{}
		}
		p.secretAt[[2]int{n.Line, n.Column}] = true
	}
	if !given {
		return secret.Value{}
	}
	return secret.New("tokenwatch-secret-not-read")
}

package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/internal/safefile"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// Load reads, expands and validates the configuration at path. It returns
// every problem found; the Config is usable only when !problems.HasErrors().
func Load(path string, env Env) (*Config, Problems) {
	data, err := safefile.Read(path, safefile.MaxConfig)
	if err != nil {
		return nil, Problems{{File: path, Message: fmt.Sprintf("read configuration: %v", err)}}
	}
	return Parse(path, data, env)
}

// Parse is Load for a configuration already in memory; path is used in
// messages and to resolve relative *_file paths.
func Parse(path string, data []byte, env Env) (*Config, Problems) {
	p := &parser{data: data, file: path, dir: filepath.Dir(path), env: env}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{p.syntaxProblem(err)}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: path, Line: 1, Col: 1, Message: "the configuration is empty: at least one check is needed"}}
	}
	if !p.aliasesBounded(doc.Content[0]) {
		return nil, p.problems
	}
	cfg := p.config(doc.Content[0])
	sort.SliceStable(p.problems, func(i, j int) bool {
		a, b := p.problems[i], p.problems[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return cfg, p.problems
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (p *parser) syntaxProblem(err error) Problem {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: p.file, Line: line, Col: p.firstColumn(line), Message: "YAML syntax: " + m[2]}
	}
	return Problem{File: p.file, Line: 1, Col: 1, Message: "YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
}

// firstColumn is where the text of a line starts, for syntax errors that
// yaml.v3 reports by line only.
func (p *parser) firstColumn(line int) int {
	lines := strings.Split(string(p.data), "\n")
	if line < 1 || line > len(lines) {
		return 1
	}
	text := lines[line-1]
	return len(text) - len(strings.TrimLeft(text, " \t")) + 1
}

type parser struct {
	data     []byte
	file     string
	dir      string
	env      Env
	problems Problems
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: n.Line, Col: n.Column, Warning: true, Message: fmt.Sprintf(format, args...)})
}

// fields walks a mapping, handing each known key's value to its handler and
// reporting unknown and repeated keys. It returns the key nodes seen, so
// callers can tell an absent key from an empty one.
func (p *parser) fields(n *yaml.Node, where string, handlers map[string]func(v *yaml.Node)) map[string]*yaml.Node {
	seen := map[string]*yaml.Node{}
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		if n.Tag != "!!null" {
			p.errorf(n, "%s must be a mapping of keys to values", where)
		}
		return seen
	}
	merged, own := p.pairs(n, where)
	written := map[string]bool{}
	for _, kv := range own {
		written[kv[0].Value] = true
	}
	handle := func(k, v *yaml.Node) {
		seen[k.Value] = k
		h, ok := handlers[k.Value]
		if !ok {
			p.errorf(k, "%s: unknown key %q%s", where, k.Value, suggest(k.Value, handlers))
			return
		}
		h(v)
	}
	// Merged keys first, the first of them winning; a key written in the
	// mapping itself wins over all of them.
	for _, kv := range merged {
		if _, done := seen[kv[0].Value]; !done && !written[kv[0].Value] {
			handle(kv[0], kv[1])
		}
	}
	given := map[string]bool{}
	for _, kv := range own {
		if given[kv[0].Value] {
			p.errorf(kv[0], "%s: key %q is given twice", where, kv[0].Value)
			continue
		}
		given[kv[0].Value] = true
		handle(kv[0], kv[1])
	}
	return seen
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
func suggest(key string, handlers map[string]func(*yaml.Node)) string {
	best, bestDist := "", 3
	for known := range handlers {
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
	if carriesSecret && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		p.warnf(n, "%s uses http:// to %s: the secret would travel in clear text", key, u.Hostname())
	}
	return u
}

func isLoopback(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

var checkName = regexp.MustCompile(`^[a-z0-9_-]{1,63}$`)

// validSchedule parses a robfig/cron spec. The parser panics on some inputs
// ("TZ=UTC" with nothing after it), so it runs inside a recover.
func validSchedule(spec string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	_, err = cron.ParseStandard(spec)
	return err
}

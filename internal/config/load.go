package config

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// Load reads, expands and validates the configuration at path. It returns
// every problem found; the Config is usable only when !problems.HasErrors().
func Load(path string, env Env, opts ...Option) (*Config, Problems) {
	data, err := safefile.Read(path, safefile.MaxConfig)
	if err != nil {
		return nil, Problems{{File: path, Message: fmt.Sprintf("read configuration: %v", err)}}
	}
	return Parse(path, data, env, opts...)
}

// Option changes how a configuration is read.
type Option func(*parser)

// WithKinds reads checks of the kinds in r instead of checks.Kinds: for a
// test that brings a kind of its own.
func WithKinds(r checks.Registry) Option {
	return func(p *parser) { p.kinds = r }
}

// WithoutSecrets reads the configuration without its secrets: no secret
// file is read and no ${VAR} of a secret is expanded, and nothing is said
// about them. For the commands that need only the checks' names and the
// state (status, silence): on-call must be able to see and silence while
// a secret file is missing, which is often the incident itself. Every
// secret in the result is a placeholder: such a Config must never run a
// check or notify anyone.
func WithoutSecrets() Option {
	return func(p *parser) { p.skipSecrets = true }
}

// Parse is Load for a configuration already in memory; path is used in
// messages and to resolve relative *_file paths.
func Parse(path string, data []byte, env Env, opts ...Option) (*Config, Problems) {
	p := &parser{data: data, file: path, dir: filepath.Dir(path), env: env, kinds: checks.Kinds}
	for _, o := range opts {
		o(p)
	}
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
	if p.skipSecrets {
		p.problems = slices.DeleteFunc(p.problems, func(pr Problem) bool { return p.secretAt[[2]int{pr.Line, pr.Col}] })
	}
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
	kinds    checks.Registry
	kindKeys map[string][]string // every key of each kind, by type; see keysOf
	allKeys  []string            // every key a check may have, of any kind; see unreadKeys
	problems Problems
	now      func() time.Time // the clock issued_at is read against; nil: time.Now
	// skipSecrets: see WithoutSecrets; secretAt is where each secret was
	// given (line, column), whose problems are then not the reader's.
	skipSecrets bool
	secretAt    map[[2]int]bool
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: n.Line, Col: n.Column, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) warnf(n *yaml.Node, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: n.Line, Col: n.Column, Warning: true, Message: fmt.Sprintf(format, args...)})
}

package config

import "gopkg.in/yaml.v3"

// maxAliasNodes bounds how many nodes YAML aliases (*name) and merge keys
// (<<: *name) may repeat in one file. A real configuration repeats a few
// hundred (shared check settings, one alert policy); ten anchors each
// repeating the one before ("billion laughs") repeat 10^10.
const maxAliasNodes = 100_000

// aliasesBounded measures, before anything walks the document, what its
// aliases expand to. The walk follows aliases and merge keys where they are
// used, so an alias inside the node it names would be followed forever and
// a bomb would be followed for hours: both are reported at the alias, and
// the walk does not start.
func (p *parser) aliasesBounded(root *yaml.Node) bool {
	m := aliasMeter{p: p, size: map[*yaml.Node]int{}, open: map[*yaml.Node]bool{}}
	_, ok := m.measure(root)
	return ok
}

// aliasMeter walks the document once in file order. Each node's expanded
// size is remembered, so an alias costs one lookup however often its
// target is repeated, and the meter's own work stays linear in the file.
type aliasMeter struct {
	p        *parser
	size     map[*yaml.Node]int  // nodes under a measured node, aliases expanded
	open     map[*yaml.Node]bool // nodes being measured: the current path from the root
	repeated int                 // nodes repeated by the aliases met so far
}

// measure returns the number of nodes n stands for once aliases are
// expanded; ok is false when a problem was reported.
func (m *aliasMeter) measure(n *yaml.Node) (size int, ok bool) {
	if n.Kind == yaml.AliasNode {
		return m.alias(n)
	}
	if s, done := m.size[n]; done {
		return s, true
	}
	m.open[n] = true
	size = 1
	for _, child := range n.Content {
		s, ok := m.measure(child)
		if !ok {
			return 0, false
		}
		size += s
	}
	delete(m.open, n)
	m.size[n] = size
	return size, true
}

func (m *aliasMeter) alias(n *yaml.Node) (int, bool) {
	target := n.Alias
	if m.open[target] {
		m.p.errorf(n, "alias *%s is inside the node it names: expanding it would never end", n.Value)
		return 0, false
	}
	// An anchor comes before its aliases, so its target has been measured
	// already, unless the target encloses the alias (a cycle, above).
	size, ok := m.measure(target)
	if !ok {
		return 0, false
	}
	m.repeated += size
	if m.repeated > maxAliasNodes {
		m.p.errorf(n, "alias *%s: aliases and merge keys repeat more than %d nodes of the file; write the repeated parts out, or nest fewer anchors", n.Value, maxAliasNodes)
		return 0, false
	}
	return size, true
}

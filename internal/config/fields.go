package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tokenwatch/tokenwatch/checks"
	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// checkFields is one check's mapping as its kind reads it: every getter
// records its key as read, and reports problems at the key's position in
// the file, prefixed with the check's name.
type checkFields struct {
	p      *parser
	check  *yaml.Node            // the check's mapping, for problems about the whole check
	where  string                // "check NAME", or "checks[i]" before a name is known
	values map[string]*yaml.Node // the check's keys and their values
	asked  map[string]bool       // the keys the kind read
}

var _ checks.Fields = (*checkFields)(nil)

func (f *checkFields) node(key string) *yaml.Node {
	f.asked[key] = true
	return f.values[key]
}

// Has implements checks.Fields.
func (f *checkFields) Has(key string) bool { return f.node(key) != nil }

// String implements checks.Fields.
func (f *checkFields) String(key, def string) string {
	v := f.node(key)
	if v == nil {
		return def
	}
	s, ok := f.p.str(v, key)
	if !ok {
		return def
	}
	return s
}

// Required implements checks.Fields.
func (f *checkFields) Required(key, hint string) string {
	v := f.node(key)
	if v == nil {
		f.Missing(key, hint)
		return ""
	}
	s, ok := f.p.str(v, key)
	if ok && s == "" {
		f.p.errorf(v, "%s: %s is empty", f.where, key)
	}
	return s
}

// URL implements checks.Fields.
func (f *checkFields) URL(key, def string) string {
	v := f.node(key)
	if v == nil {
		return def
	}
	if raw, ok := f.p.str(v, key); ok && f.p.httpURL(v, key, raw, true) != nil {
		return raw
	}
	return def
}

// Secret implements checks.Fields.
func (f *checkFields) Secret(key string) secret.Value {
	inline, file := f.node(key), f.node(key+"_file")
	if inline == nil && file == nil {
		f.Missing("secret", "set "+key+" or "+key+"_file")
		return secret.Value{}
	}
	return f.p.secretPair(key, inline, file)
}

// Enum implements checks.Fields.
func (f *checkFields) Enum(key, def, help string, allowed ...string) string {
	v := f.node(key)
	if v == nil {
		return def
	}
	raw, ok := f.p.str(v, key)
	switch {
	case !ok:
	case slices.Contains(allowed, raw):
		return raw
	default:
		if help == "" {
			help = strings.Join(allowed, " or ")
		}
		f.p.errorf(v, "%s: %s %s: %s", f.where, key, shown(v, raw), help)
	}
	return def
}

// Missing implements checks.Fields.
func (f *checkFields) Missing(what, hint string) {
	msg := f.where + " has no " + what
	if hint != "" {
		msg += ": " + hint
	}
	f.p.errorf(f.check, "%s", msg)
}

// Errorf implements checks.Fields.
func (f *checkFields) Errorf(key, format string, args ...any) {
	f.p.errorf(f.at(key), "%s: %s", f.where, fmt.Sprintf(format, args...))
}

// Warnf implements checks.Fields.
func (f *checkFields) Warnf(key, format string, args ...any) {
	f.p.warnf(f.at(key), "%s: %s", f.where, fmt.Sprintf(format, args...))
}

// Section implements checks.Fields.
func (f *checkFields) Section(key string, keys ...string) (checks.Fields, bool) {
	v := f.node(key)
	if v == nil {
		return nil, false
	}
	where := f.where + ": " + key
	entries, ok := f.p.entries(v, where)
	if !ok {
		return nil, false
	}
	values := map[string]*yaml.Node{}
	for _, e := range entries {
		if !slices.Contains(keys, e.key.Value) {
			f.p.errorf(e.key, "%s: unknown key %q%s", where, e.key.Value, suggest(e.key.Value, keys))
			continue
		}
		values[e.key.Value] = e.value
	}
	return &checkFields{p: f.p, check: resolve(v), where: where, values: values, asked: map[string]bool{}}, true
}

// at is where a problem about key is shown: its value, else the check.
func (f *checkFields) at(key string) *yaml.Node {
	if v := f.node(key); v != nil {
		return v
	}
	return f.check
}

// keyRecorder is a check with no keys at all: decoding it tells which keys
// a kind reads, without a list kept in step by hand. It reports nothing.
type keyRecorder map[string]bool

var _ checks.Fields = keyRecorder{}

// Has implements checks.Fields.
func (r keyRecorder) Has(key string) bool { r[key] = true; return false }

// String implements checks.Fields.
func (r keyRecorder) String(key, def string) string { r[key] = true; return def }

// Required implements checks.Fields.
func (r keyRecorder) Required(key, _ string) string { r[key] = true; return "" }

// URL implements checks.Fields.
func (r keyRecorder) URL(key, def string) string { r[key] = true; return def }

// Secret implements checks.Fields.
func (r keyRecorder) Secret(key string) secret.Value {
	r[key], r[key+"_file"] = true, true
	return secret.Value{}
}

// Enum implements checks.Fields.
func (r keyRecorder) Enum(key, def, _ string, _ ...string) string { r[key] = true; return def }

// Missing implements checks.Fields.
func (keyRecorder) Missing(string, string) {}

// Errorf implements checks.Fields.
func (keyRecorder) Errorf(string, string, ...any) {}

// Warnf implements checks.Fields.
func (keyRecorder) Warnf(string, string, ...any) {}

// Section implements checks.Fields: the key is the kind's; the section's
// own keys are checked by the section.
func (r keyRecorder) Section(key string, _ ...string) (checks.Fields, bool) {
	r[key] = true
	return keyRecorder{}, false
}

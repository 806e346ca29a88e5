// Package secret keeps credentials out of logs, errors, messages and files.
//
// A Value prints as "[redacted]" however it is formatted, logged or
// marshalled; the only way to the bytes is Reveal, which is called where the
// secret is put on the wire. Fingerprint is what humans see instead.
package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Redacted is what a secret looks like wherever it is printed.
const Redacted = "[redacted]"

// Value holds one secret. The zero Value is empty.
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{v: s} }

// Reveal returns the secret itself. Call it only to put the secret on the wire.
func (s Value) Reveal() string { return s.v }

// Empty reports whether no secret is set.
func (s Value) Empty() bool { return s.v == "" }

// Fingerprint is the first 8 hex digits of the SHA-256 of the secret: enough
// for on-call to tell two tokens apart, useless to an attacker.
func (s Value) Fingerprint() string { return Fingerprint(s.v) }

// String never reveals the secret.
func (s Value) String() string { return Redacted }

// GoString never reveals the secret, even with %#v.
func (s Value) GoString() string { return Redacted }

// Format never reveals the secret, whatever the verb.
func (s Value) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(Redacted)) }

// LogValue never reveals the secret in slog output.
func (s Value) LogValue() slog.Value { return slog.StringValue(Redacted) }

// MarshalJSON never reveals the secret in JSON.
func (s Value) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalText never reveals the secret in text encodings.
func (s Value) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// Fingerprint is the first 8 hex digits of the SHA-256 of s.
func Fingerprint(s string) string {
	if s == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}

// Scrubber removes known secrets from text. It is safe for concurrent use;
// the zero value scrubs nothing until secrets are added.
//
// Scrub runs on every log line and message from many goroutines while a
// configuration of 10,000 checks holds as many secrets, so it reads an
// immutable matcher through an atomic pointer and makes one pass over the
// text whatever the number of secrets. Add only records the secret and drops
// the matcher; the next Scrub builds a new one, once per change of the set.
type Scrubber struct {
	mu      sync.Mutex // serialises Add and the rebuild of the matcher
	known   map[string]struct{}
	secrets []string                // every secret in known, in the order added
	current atomic.Pointer[matcher] // nil when secrets changed since the last build
}

// Add registers secrets to scrub, each also as a server may quote it back
// (see Forms). Empty and very short values are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		for _, form := range Forms(v) {
			s.add(form)
		}
	}
}

func (s *Scrubber) add(v string) {
	if len(v) < minScrubLen {
		return
	}
	if _, dup := s.known[v]; dup {
		return
	}
	if s.known == nil {
		s.known = make(map[string]struct{})
	}
	s.known[v] = struct{}{}
	s.secrets = append(s.secrets, v)
	s.current.Store(nil)
}

// Forms are v and the ways a server writes it back when it quotes the
// request: JSON-escaped (Go's encoder turns & < > into \u0026..., PHP's
// turns / into \/), and URL-encoded (a form body, a query, a path). A
// partner that echoes the client secret in a JSON error must not get it
// into a report because the echo escaped one character.
func Forms(v string) []string {
	forms := []string{v}
	seen := map[string]bool{v: true}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			forms = append(forms, f)
		}
	}
	for _, j := range []string{jsonEscaped(v, true), jsonEscaped(v, false)} {
		add(j)
		add(strings.ReplaceAll(j, "/", `\/`))
	}
	add(url.QueryEscape(v))
	add(url.PathEscape(v))
	return forms
}

// jsonEscaped is v inside a JSON string, without the quotes.
func jsonEscaped(v string, escapeHTML bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	_ = enc.Encode(v) // a string always encodes
	out := strings.TrimSuffix(b.String(), "\n")
	return strings.TrimSuffix(strings.TrimPrefix(out, `"`), `"`)
}

// Scrub returns text with every registered secret replaced by [redacted].
// Occurrences that overlap (a secret that contains another, or two that share
// an edge) are replaced as one, so no part of any secret is left. A nil
// Scrubber returns text unchanged.
func (s *Scrubber) Scrub(text string) string {
	if s == nil {
		return text
	}
	m := s.current.Load()
	if m == nil {
		m = s.rebuild()
	}
	return m.scrub(text)
}

// rebuild builds the matcher for the secrets added so far, unless another
// goroutine already did while this one waited for the lock.
func (s *Scrubber) rebuild() *matcher {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.current.Load(); m != nil {
		return m
	}
	m := newMatcher(s.secrets)
	s.current.Store(m)
	return m
}

// Package secret keeps credentials out of logs, errors, messages and files.
//
// A Value prints as "[redacted]" however it is formatted, logged or
// marshalled; the only way to the bytes is Reveal, which is called where the
// secret is put on the wire. Fingerprint is what humans see instead.
package secret

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
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

// minScrubLen keeps short, common strings (a client_id of "1") from being
// redacted all over a message; real secrets are longer.
const minScrubLen = 4

// Scrubber removes known secrets from text. It is safe for concurrent use;
// the zero value scrubs nothing until secrets are added.
type Scrubber struct {
	mu      sync.RWMutex
	secrets []string // longest first, so a secret that contains another is removed whole
}

// Add registers secrets to scrub. Empty and very short values are ignored.
func (s *Scrubber) Add(values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < minScrubLen {
			continue
		}
		dup := false
		for _, have := range s.secrets {
			if have == v {
				dup = true
				break
			}
		}
		if !dup {
			s.secrets = append(s.secrets, v)
		}
	}
	sort.Slice(s.secrets, func(i, j int) bool { return len(s.secrets[i]) > len(s.secrets[j]) })
}

// Scrub returns text with every registered secret replaced by [redacted].
// A nil Scrubber returns text unchanged.
func (s *Scrubber) Scrub(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, v := range s.secrets {
		if strings.Contains(text, v) {
			text = strings.ReplaceAll(text, v, Redacted)
		}
	}
	return text
}

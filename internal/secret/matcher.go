package secret

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// minScrubLen keeps short, common strings (a client_id of "1") from being
// redacted all over a message; real secrets are longer. It is also the width
// of the key the matcher indexes secrets by.
const minScrubLen = 4

// matcher finds every occurrence of a fixed set of secrets in one pass.
//
// Each secret is indexed by its last 4 bytes in an open-addressing table. The
// scan slides a 4-byte window over the text and, where the window is the tail
// of some secret, compares only the secrets with that tail. A prefix index
// (a trie, strings.Replacer) would walk deep at every position of a line that
// quotes a token, because the tokens of one issuer share a long prefix
// ("y0_AgAAAAA..."); their tails are random. The table costs a few bytes per
// secret, and one probe per byte of text, however many secrets there are.
type matcher struct {
	secrets []string // longest first: the first match in a chain is the longest
	next    []int32  // next[i]: the next secret with the same tail as secret i, or -1
	slots   []slot   // power-of-two sized, at most half full
	shift   uint     // 32 - log2(len(slots))
}

// slot maps one 4-byte tail to the first (longest) secret that ends with it.
type slot struct {
	tail  uint32
	first int32 // index in secrets plus one; 0 marks an empty slot
}

// span is a half-open byte range of the text to redact.
type span struct{ start, end int }

// newMatcher indexes secrets, each at least minScrubLen bytes long.
func newMatcher(secrets []string) *matcher {
	sorted := slices.Clone(secrets)
	slices.SortStableFunc(sorted, func(a, b string) int { return len(b) - len(a) })
	logSize := bits.Len(uint(2*len(sorted))) + 1
	m := &matcher{
		secrets: sorted,
		next:    make([]int32, len(sorted)),
		slots:   make([]slot, 1<<logSize),
		shift:   uint(32 - logSize),
	}
	// Walk shortest to longest and prepend, so each chain is longest first.
	for i := len(sorted) - 1; i >= 0; i-- {
		v := sorted[i]
		sl := m.find(binary.LittleEndian.Uint32([]byte(v[len(v)-minScrubLen:])))
		m.next[i] = sl.first - 1
		sl.first = int32(i) + 1
	}
	return m
}

// find returns the slot for tail: its own if the tail is indexed, else the
// empty slot where it would go (with the tail filled in).
func (m *matcher) find(tail uint32) *slot {
	mask := len(m.slots) - 1
	for i := int((tail * 0x9E3779B1) >> m.shift); ; i = (i + 1) & mask {
		sl := &m.slots[i]
		if sl.first == 0 {
			sl.tail = tail
			return sl
		}
		if sl.tail == tail {
			return sl
		}
	}
}

// lookup returns the index of the first secret ending with tail, or -1.
func (m *matcher) lookup(tail uint32) int32 {
	mask := len(m.slots) - 1
	for i := int((tail * 0x9E3779B1) >> m.shift); ; i = (i + 1) & mask {
		sl := m.slots[i]
		if sl.first == 0 {
			return -1
		}
		if sl.tail == tail {
			return sl.first - 1
		}
	}
}

// scrub replaces each maximal run of overlapping secret occurrences with
// Redacted. Text without a secret is returned as is, without allocating.
func (m *matcher) scrub(text string) string {
	if len(m.secrets) == 0 || len(text) < minScrubLen {
		return text
	}
	var spans []span
	var window uint32
	for i := 0; i < len(text); i++ {
		window = window>>8 | uint32(text[i])<<24
		if i < minScrubLen-1 {
			continue
		}
		if start := m.longestEndingAt(text, i+1, window); start >= 0 {
			spans = merge(spans, span{start, i + 1})
		}
	}
	if spans == nil {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	last := 0
	for _, sp := range spans {
		b.WriteString(text[last:sp.start])
		b.WriteString(Redacted)
		last = sp.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// longestEndingAt returns where the longest secret that ends at text[:end]
// starts, or -1. tail is the little-endian value of the 4 bytes before end.
func (m *matcher) longestEndingAt(text string, end int, tail uint32) int {
	for i := m.lookup(tail); i >= 0; i = m.next[i] {
		v := m.secrets[i]
		if len(v) <= end && text[end-len(v):end] == v {
			return end - len(v)
		}
	}
	return -1
}

// merge appends sp to spans, which are sorted by end, joining it with every
// span it overlaps. sp ends after all of them but may start before several.
func merge(spans []span, sp span) []span {
	for len(spans) > 0 && sp.start < spans[len(spans)-1].end {
		sp.start = min(sp.start, spans[len(spans)-1].start)
		spans = spans[:len(spans)-1]
	}
	return append(spans, sp)
}

package checks

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/tokenwatch/tokenwatch/internal/secret"
)

// tokenFields are the OAuth answer fields whose values are credentials
// (RFC 6749 section 5.1, OpenID Connect). A partner that issues a token in a
// malformed answer must not see it quoted into an alert, a log or the state.
var tokenFields = []string{"access_token", "refresh_token", "id_token"}

// span is where one token value lies in a text, as byte offsets.
type span struct{ start, end int }

// redactTokenFields replaces the value of every token field in text with
// [redacted]. It does not parse: the text may be JSON cut short, JSON quoted
// inside another string, a form-encoded body or prose, and a body that
// parses needs no help.
func redactTokenFields(text string) string {
	text = unescapeASCII(text)
	spans := tokenValueSpans(text)
	if len(spans) == 0 {
		return text
	}
	var b strings.Builder
	last := 0
	for _, s := range spans {
		b.WriteString(text[last:s.start])
		b.WriteString(secret.Redacted)
		last = s.end
	}
	b.WriteString(text[last:])
	return b.String()
}

// issuedTokens returns the token values in a body, as written and, for a
// JSON string, as decoded, so that they can be scrubbed wherever else they
// appear (a body that echoes its own token in another field).
func issuedTokens(body []byte) []string {
	text := string(body)
	var tokens []string
	for _, s := range tokenValueSpans(text) {
		raw := text[s.start:s.end]
		tokens = append(tokens, raw)
		var decoded string
		if json.Unmarshal([]byte(`"`+raw+`"`), &decoded) == nil && decoded != raw {
			tokens = append(tokens, decoded)
		}
	}
	return tokens
}

// tokenValueSpans finds the value of every token field in text, in order,
// overlapping spans merged. Field names match in any ASCII case.
func tokenValueSpans(text string) []span {
	lower := asciiLower(text)
	var spans []span
	for _, field := range tokenFields {
		for from := 0; ; {
			i := strings.Index(lower[from:], field)
			if i < 0 {
				break
			}
			at := from + i
			from = at + len(field)
			if at > 0 && isAlnum(text[at-1]) {
				continue // a longer word, such as invalid_token
			}
			if v, ok := valueAfter(text, from); ok {
				spans = append(spans, v)
				from = v.end
			}
		}
	}
	return merge(spans)
}

// valueAfter finds the value that follows a field name ending at i: an
// optional closing quote, ':' or '=', then a quoted string (up to its
// closing quote, or the end of a text cut short) or a bare word.
func valueAfter(text string, i int) (span, bool) {
	i += len(quoteAt(text, i))
	i = skipSpace(text, i)
	if i >= len(text) || (text[i] != ':' && text[i] != '=') {
		return span{}, false
	}
	i = skipSpace(text, i+1)
	if i < len(text) && (text[i] == '[' || text[i] == '{') {
		// A token wrapped in a list or an object: all of it goes.
		end := closingBracket(text, i)
		return span{i, end}, true
	}
	if q := quoteAt(text, i); q != "" {
		start := i + len(q)
		end := closingQuote(text, start, q)
		return span{start, end}, end > start
	}
	end := i
	for end < len(text) && !strings.ContainsRune(",;&}]\"'\\<> \t\r\n", rune(text[end])) {
		end++
	}
	return span{i, end}, end > i
}

// quoteAt is the quote that opens or closes a string at i: `\"` (JSON
// inside a JSON string), `"`, `'`, or "" when there is none.
func quoteAt(text string, i int) string {
	for _, q := range []string{`\"`, `"`, `'`} {
		if strings.HasPrefix(text[min(i, len(text)):], q) {
			return q
		}
	}
	return ""
}

// closingQuote is where the string that started at start ends: its closing
// quote q, skipping backslash escapes, or the end of the text.
func closingQuote(text string, start int, q string) int {
	for i := start; i < len(text); i++ {
		if strings.HasPrefix(text[i:], q) {
			return i
		}
		if text[i] == '\\' {
			i++ // an escaped character, such as \" inside "..."
		}
	}
	return len(text)
}

func skipSpace(text string, i int) int {
	for i < len(text) && strings.IndexByte(" \t\r\n", text[i]) >= 0 {
		i++
	}
	return i
}

// merge sorts spans and joins those that overlap (a token value that
// itself contains "id_token=...").
func merge(spans []span) []span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && s.start <= out[n-1].end {
			out[n-1].end = max(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// asciiLower lowers ASCII letters only, so that byte offsets in the result
// are offsets in s (strings.ToLower may change the length of other runes).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// closingBracket is where the list or object opening at i ends (just past
// its closing bracket), skipping quoted strings, or the end of the text.
func closingBracket(text string, i int) int {
	depth := 0
	for ; i < len(text); i++ {
		switch text[i] {
		case '[', '{':
			depth++
		case ']', '}':
			if depth--; depth == 0 {
				return i + 1
			}
		case '"':
			i = closingQuote(text, i+1, `"`)
		}
	}
	return len(text)
}

// unescapeASCII turns JSON escapes of ASCII characters (\u0065 for "e")
// into the characters, so that a field name spelled with escapes is still
// found. Other escapes are left as they are.
func unescapeASCII(text string) string {
	if !strings.Contains(text, `\u00`) {
		return text
	}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if strings.HasPrefix(text[i:], `\u00`) && i+6 <= len(text) {
			if c, err := strconv.ParseUint(text[i+4:i+6], 16, 8); err == nil && c >= 0x20 && c < 0x7f {
				b.WriteByte(byte(c))
				i += 5
				continue
			}
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

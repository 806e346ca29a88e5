package notify

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printable replaces what a terminal would act on rather than show: C0 and
// C1 control characters (ANSI escape sequences start with ESC or CSI), DEL,
// Unicode format characters (bidi overrides such as U+202E, zero-width
// characters) and line or paragraph separators, each by its Go escape
// (\x1b, \u202e); an invalid UTF-8 byte becomes U+FFFD. Everything else is
// unchanged. Every renderer passes the words of a message through it, so
// server words cannot act on a terminal, a chat client or a log viewer.
func Printable(s string) string {
	if !strings.ContainsFunc(s, unsafeRune) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError: // an invalid byte, or U+FFFD itself
			b.WriteRune(utf8.RuneError)
		case unsafeRune(r):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unsafeRune reports whether a terminal may act on r instead of showing it.
// An invalid byte counts, so that Printable rewrites it as U+FFFD.
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) || r == utf8.RuneError
}

package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

const value = "y0_AgAAAAB-very-secret-token"

func TestValueNeverPrints(t *testing.T) {
	v := New(value)
	type holder struct {
		Token Value
		Other string
	}
	h := holder{Token: v, Other: "x"}
	var b bytes.Buffer
	for _, s := range []string{
		fmt.Sprint(v), fmt.Sprintf("%v %+v %#v %s %q %x", v, v, v, v, v, v),
		fmt.Sprintf("%+v %#v", h, h), v.String(), v.GoString(),
	} {
		b.WriteString(s)
	}
	raw, _ := json.Marshal(h)
	b.Write(raw)
	text, _ := v.MarshalText()
	b.Write(text)
	slog.New(slog.NewJSONHandler(&b, nil)).Info("msg", "token", v, "holder", h)
	if strings.Contains(b.String(), value) {
		t.Fatalf("the secret leaked: %s", b.String())
	}
	if v.Reveal() != value {
		t.Error("Reveal must return the secret")
	}
}

func TestFingerprint(t *testing.T) {
	// echo -n abc | sha256sum: ba7816bf8f01cfea...
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Errorf("Fingerprint(abc) = %s", got)
	}
	if Fingerprint("") != "" || New("abc").Fingerprint() != "ba7816bf" {
		t.Error("fingerprint of an empty or wrapped secret")
	}
}

func TestScrubber(t *testing.T) {
	var s Scrubber
	s.Add("abc", "", "secret-one", "secret-one-longer", "secret-one")
	got := s.Scrub("a secret-one-longer and secret-one and abc")
	if got != "a [redacted] and [redacted] and abc" {
		t.Errorf("Scrub = %q: the longer secret must go whole, short values are left", got)
	}
	var nilScrubber *Scrubber
	if nilScrubber.Scrub("x") != "x" {
		t.Error("a nil scrubber must pass text through")
	}
}

func TestScrubberOverlaps(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
		secrets          []string
	}{
		{"two secrets sharing an edge", "x abcdef y", "x [redacted] y", []string{"abcd", "cdef"}},
		{"a shorter secret starting inside a longer one", "abcdefgh", "[redacted]",
			[]string{"abcdefg", "efgh"}},
		{"a shorter secret ending inside a longer one", "0123456789", "0[redacted]",
			[]string{"12345", "3456789"}},
		{"a chain of three", "aaaXbbbYcccZ", "[redacted]", []string{"aaaXbb", "bbbYcc", "bYcccZ"}},
		{"adjacent secrets stay two", "tok1tok2", "[redacted][redacted]", []string{"tok1", "tok2"}},
		{"repeated secret", "k3y!k3y!k3y!", "[redacted][redacted][redacted]", []string{"k3y!"}},
		{"secrets at both ends", "abcd-middle-wxyz", "[redacted]-middle-[redacted]", []string{"abcd", "wxyz"}},
		{"text shorter than any secret", "abc", "abc", []string{"abcd"}},
		{"no secret", "nothing to see here", "nothing to see here", []string{"secret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s Scrubber
			s.Add(tc.secrets...)
			if got := s.Scrub(tc.text); got != tc.want {
				t.Errorf("Scrub(%q) = %q, want %q: no byte of any occurrence may remain", tc.text, got, tc.want)
			}
		})
	}
}

// TestScrubberMatchesReference compares the one-pass scrubber with the
// obvious quadratic definition on random texts over a small alphabet, where
// overlaps, shared tails and repeats are common.
func TestScrubberMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = "ab"[r.IntN(2)]
		}
		return string(b)
	}
	for range 5000 {
		var secrets []string
		for range 1 + r.IntN(4) {
			secrets = append(secrets, word(minScrubLen+r.IntN(4)))
		}
		text := word(r.IntN(40))
		var s Scrubber
		s.Add(secrets...)
		if got, want := s.Scrub(text), referenceScrub(text, secrets); got != want {
			t.Fatalf("secrets %q, text %q: Scrub = %q, want %q", secrets, text, got, want)
		}
	}
}

// referenceScrub finds every occurrence of every secret, joins those that
// overlap and replaces each group.
func referenceScrub(text string, secrets []string) string {
	var spans []span
	for _, v := range secrets {
		for i := 0; i+len(v) <= len(text); i++ {
			if text[i:i+len(v)] == v {
				spans = append(spans, span{i, i + len(v)})
			}
		}
	}
	slices.SortFunc(spans, func(a, b span) int { return a.start - b.start })
	var out strings.Builder
	last := 0
	for i := 0; i < len(spans); {
		start, end := spans[i].start, spans[i].end
		for i++; i < len(spans) && spans[i].start < end; i++ {
			end = max(end, spans[i].end)
		}
		out.WriteString(text[last:start] + Redacted)
		last = end
	}
	return out.String() + text[last:]
}

func TestScrubberAddAfterScrub(t *testing.T) {
	var s Scrubber
	if got := s.Scrub("first-secret second-secret"); got != "first-secret second-secret" {
		t.Fatalf("an empty scrubber changed the text: %q", got)
	}
	s.Add("first-secret")
	if got := s.Scrub("first-secret second-secret"); got != "[redacted] second-secret" {
		t.Fatalf("after the first Add: %q", got)
	}
	s.Add("second-secret", "first-secret")
	if got := s.Scrub("first-secret second-secret"); got != "[redacted] [redacted]" {
		t.Fatalf("a secret added after a Scrub must be scrubbed too: %q", got)
	}
}

// TestScrubberConcurrent adds and scrubs from many goroutines (run with
// -race): each goroutine's own secret, added before its Scrub, must be gone.
func TestScrubberConcurrent(t *testing.T) {
	var s Scrubber
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				v := fmt.Sprintf("secret-%02d-%03d", g, i)
				s.Add(v)
				if got := s.Scrub("before " + v + " after"); got != "before [redacted] after" {
					t.Errorf("Scrub = %q", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLogHandlerScrubs(t *testing.T) {
	var s Scrubber
	s.Add(value)
	var b bytes.Buffer
	logger := slog.New(NewLogHandler(slog.NewTextHandler(&b, nil), &s))
	logger.With("url", "https://hooks/"+value).WithGroup("g").Info("failed with "+value,
		"error", errors.New("Post https://x/"+value+": refused"), "n", 3, slog.Group("inner", "k", value))
	if strings.Contains(b.String(), value) || !strings.Contains(b.String(), "n=3") || !strings.Contains(b.String(), "[redacted]") {
		t.Errorf("log line: %s", b.String())
	}
}

// A secret quoted back by a server in any of the usual escapings is
// scrubbed: JSON from Go (\u0026), from PHP (\/), and URL-encoded.
func TestScrubEscapedForms(t *testing.T) {
	const pw = `p@ss/w+rd=S3&C<R>ET"x`
	var s Scrubber
	s.Add(pw)
	for _, echo := range []string{
		`{"debug":"secret p@ss\/w+rd=S3&C<R>ET\"x"}`,               // PHP json_encode
		`{"debug":"secret p@ss/w+rd=S3\u0026C\u003cR\u003eET\"x"}`, // Go's encoder
		`{"debug":"secret p@ss\/w+rd=S3\u0026C\u003cR\u003eET\"x"}`,
		`client_secret=p%40ss%2Fw%2Brd%3DS3%26C%3CR%3EET%22x&grant_type=client_credentials`,
		`GET /echo/p@ss%2Fw+rd=S3&C%3CR%3EET%22x`,
	} {
		got := s.Scrub(echo)
		if strings.Contains(got, "S3") || !strings.Contains(got, Redacted) {
			t.Errorf("Scrub(%s) = %s: the secret is still readable", echo, got)
		}
	}
}

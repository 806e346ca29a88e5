package secret

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// tokens returns n distinct courier-like tokens: one shared prefix, as real
// OAuth tokens of one issuer have, and a random tail.
func tokens(n int) []string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	r := rand.New(rand.NewPCG(1, uint64(n)))
	out := make([]string, n)
	for i := range out {
		b := []byte("y0_AgAAAAA")
		for range 48 {
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		out[i] = string(b)
	}
	return out
}

// logLine is a 200-byte log line that quotes one of the secrets, as an error
// echoing a request URL does.
func logLine(secret string) string {
	line := `time=2025-01-01T00:00:00Z level=WARN msg="check failed" check=courier-0042 error="Get https://courier.example/api/v1/test?token=` + secret + `: EOF"`
	return line + strings.Repeat(" ", 200-len(line))
}

func BenchmarkScrub(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("secrets=%d", n), func(b *testing.B) {
			secrets := tokens(n)
			var s Scrubber
			s.Add(secrets...)
			line := logLine(secrets[n/2])
			if strings.Contains(s.Scrub(line), secrets[n/2]) {
				b.Fatal("the secret was not scrubbed")
			}
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				s.Scrub(line)
			}
		})
	}
}

// BenchmarkAdd registers 10,000 secrets one call at a time, as a
// configuration is read, then scrubs once.
func BenchmarkAdd(b *testing.B) {
	secrets := tokens(10000)
	b.ReportAllocs()
	for b.Loop() {
		var s Scrubber
		for _, v := range secrets {
			s.Add(v)
		}
		s.Scrub("x")
	}
}

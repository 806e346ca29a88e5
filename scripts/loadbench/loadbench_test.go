package main

import (
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	got, err := parseSizes("1000:50,10000:100")
	if err != nil || len(got) != 2 || got[0] != (size{1000, 50}) || got[1] != (size{10000, 100}) {
		t.Fatalf("parseSizes = %v, %v", got, err)
	}
	for _, bad := range []string{"", "1000", "0:5", "10:0", "a:b"} {
		if _, err := parseSizes(bad); err == nil {
			t.Errorf("parseSizes(%q) accepted", bad)
		}
	}
}

func TestMedianTakesEachFigureOnItsOwn(t *testing.T) {
	got := median([]figures{
		{wall: 3 * time.Second, cpu: 1, maxRSSKB: 30},
		{wall: 1 * time.Second, cpu: 3, maxRSSKB: 10},
		{wall: 2 * time.Second, cpu: 2, maxRSSKB: 50},
	})
	if got.wall != 2*time.Second || got.cpu != 2 || got.maxRSSKB != 30 {
		t.Errorf("median = %+v", got)
	}
}

func TestCountNotOK(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want int
	}{
		{`{"checks":[{"outcome":"ok"},{"outcome":"ok"}]}`, 0},
		{`{"checks":[{"outcome":"ok"},{"outcome":"unavailable"}]}`, 1},
		{`{"checks":[{"outcome":"ok"}]}`, 1},
		{`not json`, 2},
	} {
		if got := countNotOK([]byte(tc.out), 2); got != tc.want {
			t.Errorf("countNotOK(%s) = %d, want %d", tc.out, got, tc.want)
		}
	}
}

// TestTokensAreDistinct: every check must carry its own token, as in a real
// configuration, or the scrubber and the state would see fewer secrets.
func TestTokensAreDistinct(t *testing.T) {
	seen := map[string]bool{}
	for i := range 10000 {
		tok := token(i)
		if seen[tok] || len(tok) != 58 {
			t.Fatalf("token(%d) = %q: repeated or not 58 characters", i, tok)
		}
		seen[tok] = true
	}
}

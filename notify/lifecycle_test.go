package notify

import (
	"testing"
	"time"
)

func TestExpiryWords(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		left time.Duration
		want string
	}{
		{5*24*time.Hour + time.Hour, "expires in 5 days"},
		{36 * time.Hour, "expires in 1 day"},
		{time.Hour, "expires within a day"},
		{-time.Hour, "expired today"},
		{-30 * time.Hour, "expired 1 day ago"},
		{-50 * time.Hour, "expired 2 days ago"},
	} {
		if got := expiryWords(now.Add(tc.left), now); got != tc.want {
			t.Errorf("%s left: %q, want %q", tc.left, got, tc.want)
		}
	}
}

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "secret")
	if err := os.WriteFile(regular, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(regular, link); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", 101)), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path string
		want       string
		err        error
	}{
		{"regular", regular, "s3cret\n", nil},
		{"symlink to regular", link, "s3cret\n", nil},
		{"too large", big, "", ErrTooLarge},
		{"directory", dir, "", ErrNotRegular},
		{"fifo nobody writes", fifo, "", ErrNotRegular},
		{"device", "/dev/zero", "", ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), "", os.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Read(tc.path, 100)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("Read(%s) error = %v, want %v", tc.path, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Read(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
			}
		})
	}
}

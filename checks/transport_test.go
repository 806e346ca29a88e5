package checks

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tokenwatch/tokenwatch/internal/safefile"
)

// TestCAFileMustBeABoundedRegularFile: a ca_file at a device, a FIFO or a
// huge file is refused without reading it (os.ReadFile would read /dev/zero
// until memory runs out and wait forever on a FIFO nobody writes).
func TestCAFileMustBeABoundedRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "ca.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unblockFIFO(fifo) })
	huge := filepath.Join(dir, "huge.pem")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(safefile.MaxConfig + 1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	_ = f.Close()
	tests := []struct {
		name, path string
		want       error
	}{
		{"directory", dir, safefile.ErrNotRegular},
		{"character device", os.DevNull, safefile.ErrNotRegular},
		{"FIFO nobody writes", fifo, safefile.ErrNotRegular},
		{"larger than a CA bundle can be", huge, safefile.ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := NewTransport(TLSOptions{CAFile: tc.path})
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Errorf("NewTransport(ca_file %s) = %v, want %v", tc.name, err, tc.want)
				}
			case <-time.After(10 * time.Second): // a guard against a hang, not a timing assertion
				t.Fatalf("NewTransport(ca_file %s) blocked", tc.name)
			}
		})
	}
}

// unblockFIFO releases a reader stuck opening the FIFO (the bug under test)
// by opening and closing its write end.
func unblockFIFO(path string) {
	if f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK, 0); err == nil {
		_ = f.Close()
	}
}

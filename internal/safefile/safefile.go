// Package safefile reads small files named by a configuration (secrets, a CA
// bundle, the configuration itself) without trusting what the name points
// at: a device such as /dev/zero would be read forever, and a FIFO that
// nobody writes would block the run forever.
package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// Limits for the files tokenwatch reads.
const (
	// MaxSecret bounds a token, client secret, webhook URL or bot token file.
	MaxSecret = 64 << 10
	// MaxConfig bounds a configuration file or a CA bundle: 10,000 checks
	// written out one block each take about 1.5 MiB. yaml.v3's node tree
	// costs up to about 130 times a file's size, so the bound keeps even a
	// hostile file to a few hundred MiB.
	MaxConfig = 4 << 20
)

// ErrNotRegular is returned for anything that is not a regular file
// (a directory, a device, a FIFO, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is returned for a file longer than the limit.
var ErrTooLarge = errors.New("file too large")

// Read returns the contents of the regular file at path, at most max bytes.
// It never blocks on a FIFO: the file is opened non-blocking and checked
// before anything is read. Symbolic links are followed (Kubernetes mounts
// secrets through them). Errors name the path, never the contents.
func Read(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, kind(info.Mode()))
	}
	if info.Size() > max {
		return nil, fmt.Errorf("%s: %w (%d bytes, at most %d)", path, ErrTooLarge, info.Size(), max)
	}
	// The size can change between Stat and Read (a file being written):
	// read one byte past the limit to notice.
	// Sized from Stat, so a large file is read into one buffer, not grown.
	buf := bytes.NewBuffer(make([]byte, 0, info.Size()+1))
	if _, err := buf.ReadFrom(io.LimitReader(f, max+1)); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, max)
	}
	return data, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serviceUID is the user tokenwatch's service runs as in the shipped
// container image (and a stand-in for systemd's DynamicUser).
const serviceUID = 65532

// `sudo tokenwatch silence add` saves the state as root: the file and its
// lock keep the service user's ownership, or every later run could not
// read or lock its own state.
func TestRootKeepsTheServiceUsersOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown: make check runs as root in CI")
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, serviceUID, serviceUID); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "state.json")
	for run := range 2 { // before the file exists (the directory's owner), then after
		s, err := Open(path, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		f, _, err := s.Load(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Save(f); err != nil {
			t.Fatal(err)
		}
		s.Close()
		for _, p := range []string{path, path + ".lock"} {
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if st := info.Sys().(*syscall.Stat_t); st.Uid != serviceUID || st.Gid != serviceUID || info.Mode().Perm() != 0o600 {
				t.Errorf("run %d: %s is owned by %d:%d mode %v, want %d:%d 0600", run, p, st.Uid, st.Gid, info.Mode().Perm(), serviceUID, serviceUID)
			}
		}
	}
}

// A state another user owns is not corrupt: it is reported, left as it
// is, and never replaced by an empty one; an I/O error is corruption (the
// file is moved aside), a missing file an empty state.
func TestReadFailures(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/var/lib/tokenwatch/state.json", Err: syscall.EACCES}
	l, err := readFailed(denied)
	if !errors.Is(err, os.ErrPermission) || !strings.Contains(err.Error(), "the user that owns the state") || l.reason != "" {
		t.Errorf("permission denied: %+v, %v", l, err)
	}
	l, err = readFailed(&fs.PathError{Op: "read", Path: "/x", Err: syscall.EIO})
	if err != nil || !strings.HasPrefix(l.reason, "unreadable: ") {
		t.Errorf("I/O error: %+v, %v", l, err)
	}
	l, err = readFailed(&fs.PathError{Op: "open", Path: "/x", Err: syscall.ENOENT})
	if err != nil || l.reason != "" || l.file == nil {
		t.Errorf("missing file: %+v, %v", l, err)
	}
}

package doctor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tokenwatch/tokenwatch/internal/state"
)

// State tests the state file as a run will use it: its directory can be
// written (created if missing, as a run does), its lock is free, and the
// file reads. A lock held now is a warn, not a fail: a run in progress
// holds it for seconds, and the next run waits for it; only a process that
// never lets go is a problem, and one look cannot tell the two apart.
func State(path string) (Result, string) {
	dir := filepath.Dir(path)
	created := ""
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return Fail, fmt.Sprintf("cannot create the directory %s: %s", dir, describe(err))
		}
		created = "directory created, "
	}
	if err := writable(dir); err != nil {
		return Fail, err.Error()
	}
	lock, r := lockFree(path)
	if r == Fail {
		return Fail, lock
	}
	f, corrupt, err := state.Peek(path)
	switch {
	case errors.Is(err, state.ErrNewerFormat):
		return Fail, "written by a newer tokenwatch: upgrade tokenwatch, or move the file away to start afresh"
	case err != nil:
		return Fail, err.Error()
	case corrupt != nil:
		return Fail, fmt.Sprintf("corrupt (%s): the next run moves it aside and alerts afresh", sanitize(corrupt.Reason))
	}
	return r, fmt.Sprintf("%swritable, %s, %d checks recorded", created, lock, len(f.Checks))
}

// lockFree takes the state's lock without waiting and lets it go.
func lockFree(path string) (string, Result) {
	store, err := state.Open(path, 0)
	switch {
	case errors.Is(err, state.ErrLocked):
		return fmt.Sprintf("the lock %s.lock is held: another run holds it now (a run waits for it; if this lasts, find the process that holds it)", path), Warn
	case err != nil:
		return "cannot take the lock: " + describe(err), Fail
	}
	if err := store.Close(); err != nil {
		return "cannot release the lock: " + describe(err), Fail
	}
	return "lock free", OK
}

// TextfileDir tests that node_exporter's textfile directory exists and can
// be written. The .prom file itself is left as it is; the directory is not
// created, since node_exporter reads only the one it was started with.
func TextfileDir(path string) (Result, string) {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Fail, fmt.Sprintf("the directory %s does not exist: create it, or point metrics.textfile at node_exporter's --collector.textfile.directory", dir)
	case err != nil:
		return Fail, describe(err)
	case !info.IsDir():
		return Fail, fmt.Sprintf("%s is not a directory", dir)
	}
	if err := writable(dir); err != nil {
		return Fail, err.Error()
	}
	return OK, fmt.Sprintf("%s is writable", dir)
}

// writable creates and removes a temporary file in dir: permission bits
// do not tell about read-only mounts, ACLs or a full disk.
func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".tokenwatch-doctor-*")
	if err != nil {
		return fmt.Errorf("cannot write in %s: %s", dir, describe(err))
	}
	name := f.Name()
	closeErr := f.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("cannot remove the test file %s: %s", name, describe(err))
	}
	if closeErr != nil {
		return fmt.Errorf("cannot write in %s: %s", dir, describe(closeErr))
	}
	return nil
}

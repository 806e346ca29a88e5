// Package deploy proves the deployment files in make check: the Kubernetes
// manifests build with kustomize and decode strictly into the Kubernetes API
// types, the configuration they carry passes `tokenwatch validate`, the
// systemd units pass systemd-analyze verify, the alert rules pass promtool,
// every metric the rules and the dashboard query is one tokenwatch exports,
// and the Dockerfile's build stage produces the binary the image copies.
package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// binary is tokenwatch, built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tokenwatch-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "tokenwatch")
	build := exec.Command("go", "build", "-o", binary, "./cmd/tokenwatch")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build tokenwatch: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// tool finds a command that make check installs, or fails with the fix.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run `make deps`", name)
	}
	return path
}

// runTool runs a command and returns its combined output.
func runTool(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func init() {
	// The tests use paths relative to deploy/.
	_, file, _, _ := runtime.Caller(0)
	_ = os.Chdir(filepath.Dir(file))
}

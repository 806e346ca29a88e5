//go:build !linux

package deploy

import "os/exec"

// dieWithTest: only Linux can tie a child's life to its parent's; elsewhere
// the test's cleanups stop the binaries.
func dieWithTest(*exec.Cmd) {}

package deploy

import (
	"os/exec"
	"syscall"
)

// dieWithTest kills the started binary when the test process dies, even on
// a panic or a -timeout, so no Prometheus outlives its test.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

package clustertest

import (
	"os/exec"
	"syscall"
)

// DieWithTest makes the child get SIGKILL when the test process ends, so a
// test binary that panics (say, on -timeout) leaves no agent or worker
// running; t.Cleanup does not run then.
func DieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

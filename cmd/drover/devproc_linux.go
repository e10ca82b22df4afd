package main

import (
	"os/exec"
	"syscall"
)

// detachChild puts a dev node in its own process group (Ctrl-C in the
// terminal reaches only `drover dev`) and has the kernel send it SIGTERM if
// `drover dev` dies without stopping it.
func detachChild(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

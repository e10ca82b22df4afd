//go:build !linux

package main

import "os/exec"

// detachChild is a no-op outside Linux: Ctrl-C reaches the nodes too, and
// they shut down on it by themselves.
func detachChild(cmd *exec.Cmd) {}

//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package transport

import "net"

// connAlive cannot peek on this platform; a dead pooled connection shows up
// as a failed call instead.
func connAlive(net.Conn) bool { return true }

package main

import (
	"fmt"
	"io"
	"net"
)

// freePorts returns n distinct loopback ports that are free for TCP and UDP
// right now. They are closed before the nodes bind them, so another process
// could take one in between: acceptable for `drover dev` only.
func freePorts(n int) ([]int, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 100*n {
			return nil, fmt.Errorf("could not find %d free ports", n)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		closers = append(closers, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue // UDP side taken (memberlist needs both): try another
		}
		closers = append(closers, pc)
		ports = append(ports, port)
	}
	return ports, nil
}

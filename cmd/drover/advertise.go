package main

import (
	"net"
)

// advertisedHTTP is the HTTP address other nodes and operators reach: the
// bound one, with a wildcard host ("", 0.0.0.0, ::) replaced by the host
// of the cluster address (advertised, else bound) when that one is
// specific, else by 127.0.0.1. A URL built from it never carries a
// wildcard, which no client can dial.
func advertisedHTTP(bound string, clusterAddrs ...string) string {
	host, port, err := net.SplitHostPort(bound)
	if err != nil || !isWildcard(host) {
		return bound
	}
	host = "127.0.0.1"
	for _, a := range clusterAddrs {
		if h, _, err := net.SplitHostPort(a); err == nil && !isWildcard(h) {
			host = h
			break
		}
	}
	return net.JoinHostPort(host, port)
}

func isWildcard(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
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

// nodeStatus is the part of GET /v1/cluster that `drover dev` shows.
type nodeStatus struct {
	ID           string   `json:"id"`
	State        string   `json:"state"`
	Leader       string   `json:"leader"`
	Term         uint64   `json:"term"`
	AppliedIndex uint64   `json:"applied_index"`
	Voters       []string `json:"voters"`
}

// waitForLeader polls every node's /v1/cluster until all of them know a
// leader, a node exits, ctx ends or timeout passes.
func waitForLeader(ctx context.Context, nodes []*devNode, timeout time.Duration) (map[string]nodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		status := map[string]nodeStatus{}
		for _, n := range nodes {
			if !n.running() {
				return nil, fmt.Errorf("node %s exited during start-up: %v", n.id, n.err)
			}
			if s, err := fetchStatus(ctx, client, n.http); err == nil && s.Leader != "" {
				status[n.id] = s
			}
		}
		if len(status) == len(nodes) {
			return status, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no leader elected within %v: %w", timeout, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func fetchStatus(ctx context.Context, client *http.Client, addr string) (nodeStatus, error) {
	var s nodeStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/cluster", nil)
	if err != nil {
		return s, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// devBanner is what `drover dev` prints once the cluster is up: the nodes,
// the admin token (shown only here) and commands to try.
func devBanner(nodes []*devNode, status map[string]nodeStatus, token, dir string) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPID\tSTATE\tLEADER\tTERM\tAPPLIED\tHTTP\tCLUSTER\tGOSSIP")
	var addrs []string
	for _, n := range nodes {
		s := status[n.id]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", n.id, n.cmd.Process.Pid,
			s.State, s.Leader, s.Term, s.AppliedIndex, n.http, n.cluster, n.goss)
		addrs = append(addrs, n.http)
	}
	tw.Flush()
	fmt.Fprintf(&b, `
drover dev: a 3-node cluster is up (data in %s).
The admin token is printed only this once. In another terminal:

  export %s=%s
  export %s=%s
  bin/drover cluster status --all
  bin/drover endpoint create --set endpoint_name=demo --set max_workers=4
  bin/drover group create --set endpoint_name=demo --set provider=static
  bin/drover endpoint list

Ctrl-C stops all nodes and removes their data.
`, dir, addrEnv, strings.Join(addrs, ","), adminTokenEnv, token)
	return b.String()
}

// lineMux writes whole lines from several children to one writer, each
// with its prefix, so their logs do not interleave mid-line.
type lineMux struct {
	mu sync.Mutex
	w  io.Writer
}

func (m *lineMux) printf(w io.Writer, format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

func (m *lineMux) prefixed(prefix string) io.Writer {
	return &prefixWriter{mux: m, prefix: prefix}
}

type prefixWriter struct {
	mux    *lineMux
	prefix string
	buf    []byte
}

// Write is called by one goroutine per child (os/exec's copier).
func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mux.mu.Lock()
		fmt.Fprintf(p.mux.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mux.mu.Unlock()
		p.buf = p.buf[i+1:]
	}
}

package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
)

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
It runs the secure configuration: mTLS between nodes and an encrypted gossip
key, made for this run in %s/pki (the CA, one certificate per node, gossip.key).
The admin token is printed only this once. In another terminal:

  export %s=%s
  export %s=%s
  bin/drover cluster status --all
  bin/drover endpoint list
  bin/drover group list
  bin/drover endpoint create --set endpoint_name=another --set max_workers=4

Dashboard: http://%s/ui/ (every node serves it; log in with the admin token)
Ctrl-C stops all nodes and removes their data.
`, dir, dir, addrEnv, strings.Join(addrs, ","), adminTokenEnv, token, addrs[0])
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

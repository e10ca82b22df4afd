package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

// devNode is one child `drover agent` process of `drover dev`.
type devNode struct {
	id                  string
	http, cluster, goss string
	dir                 string
	args                []string
	env                 []string // added to the environment
	cmd                 *exec.Cmd
	exited              chan struct{} // closed when the process has exited
	err                 error         // its exit status, valid after exited
}

// runDev starts a local 3-node cluster as children of this binary and
// stops them all on Ctrl-C.
func runDev(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logLevel := fs.String("log-level", "warn", "log level of the nodes (their logs go to stderr, prefixed with the node id)")
	keep := fs.Bool("keep", false, "keep the temporary data directories on exit")
	wait := fs.Duration("wait", time.Minute, "how long to wait for a leader")
	workerTTL := fs.Duration("worker-ttl", 30*time.Second, "the nodes' --worker-ttl: a demo worker with no report for this long is marked lost")
	withDemo := fs.Bool("demo", true, "also create an endpoint with a static group and run 3 drover workers in front of fake models")
	if err := fs.Parse(args); err != nil {
		return cliFail(stderr, "dev", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return cliFail(stderr, "dev", err)
	}
	dir, err := os.MkdirTemp("", "drover-dev-")
	if err != nil {
		return cliFail(stderr, "dev", err)
	}
	cleanup := func() {
		if !*keep {
			os.RemoveAll(dir)
		}
	}
	token, nodes, err := planDevCluster(dir, 3, *logLevel, *workerTTL)
	if err != nil {
		cleanup()
		return cliFail(stderr, "dev", err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	out := &lineMux{w: stderr}
	for _, n := range nodes {
		if err := n.start(exe, token, out); err != nil {
			stopDevNodes(nodes, stderr)
			cleanup()
			return cliFail(stderr, "dev", err)
		}
	}
	status, err := waitForLeader(ctx, nodes, *wait)
	if err != nil {
		stopDevNodes(nodes, stderr)
		cleanup()
		return cliFail(stderr, "dev", err)
	}
	var demo *devDemo
	if *withDemo {
		if demo, err = startDevDemo(ctx, exe, token, nodes, out); err != nil {
			stopDevNodes(nodes, stderr)
			cleanup()
			return cliFail(stderr, "dev", err)
		}
	}
	out.printf(stdout, "%s", devBanner(nodes, status, token, dir))
	if demo != nil {
		var addrs []string
		for _, n := range nodes {
			addrs = append(addrs, n.http)
		}
		out.printf(stdout, "%s", demo.banner(addrs))
	}
	code := superviseDev(ctx, nodes, out, stderr)
	if demo != nil {
		demo.stop()
	}
	stopDevNodes(nodes, stderr)
	cleanup()
	return code
}

// planDevCluster picks ports and data directories for n nodes and a fresh
// admin token, and makes the cluster's secrets in dir/pki (a CA, a
// certificate per node and a gossip key), so that the local cluster runs
// the secure configuration like any other.
func planDevCluster(dir string, n int, logLevel string, workerTTL time.Duration) (string, []*devNode, error) {
	kit, err := pki.NewKit(filepath.Join(dir, "pki"), "")
	if err != nil {
		return "", nil, err
	}
	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		return "", nil, err
	}
	ports, err := freePorts(3 * n)
	if err != nil {
		return "", nil, err
	}
	nodes := make([]*devNode, n)
	for i := range nodes {
		nodes[i] = &devNode{
			id:      fmt.Sprintf("n%d", i+1),
			http:    fmt.Sprintf("127.0.0.1:%d", ports[3*i]),
			cluster: fmt.Sprintf("127.0.0.1:%d", ports[3*i+1]),
			goss:    fmt.Sprintf("127.0.0.1:%d", ports[3*i+2]),
			exited:  make(chan struct{}),
		}
		nodes[i].dir = filepath.Join(dir, nodes[i].id)
	}
	for _, nd := range nodes {
		var join []string
		for _, other := range nodes {
			if other != nd {
				join = append(join, other.goss)
			}
		}
		nd.args = []string{"agent", "--id", nd.id, "--data-dir", nd.dir,
			"--http", nd.http, "--cluster", nd.cluster, "--gossip", nd.goss,
			"--bootstrap-expect", fmt.Sprint(n), "--join", strings.Join(join, ","),
			"--log-level", logLevel, "--worker-ttl", workerTTL.String()}
		secure, err := kit.AgentArgs(nd.id)
		if err != nil {
			return "", nil, err
		}
		nd.args = append(nd.args, secure...)
	}
	return hex.EncodeToString(tok), nodes, nil
}

// start runs the node as a child in its own process group, so that Ctrl-C
// reaches only `drover dev`, which then stops the nodes in order.
func (n *devNode) start(exe, token string, out *lineMux) error {
	n.cmd = exec.Command(exe, n.args...)
	n.cmd.Env = append(os.Environ(), n.env...)
	if token != "" {
		n.cmd.Env = append(n.cmd.Env, adminTokenEnv+"="+token)
	}
	w := out.prefixed(n.id + " | ")
	n.cmd.Stdout, n.cmd.Stderr = w, w
	detachChild(n.cmd)
	if err := n.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", n.id, err)
	}
	go func() {
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	return nil
}

func (n *devNode) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return n.cmd != nil && n.cmd.Process != nil
	}
}

// superviseDev waits for Ctrl-C, reporting nodes that exit meanwhile (say,
// killed to watch a failover) with the command that restarts them.
func superviseDev(ctx context.Context, nodes []*devNode, out *lineMux, stderr io.Writer) int {
	reported := map[*devNode]bool{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			out.printf(stderr, "stopping %d nodes…\n", len(nodes))
			return exitOK
		case <-tick.C:
		}
		alive := 0
		for _, n := range nodes {
			if n.running() {
				alive++
				continue
			}
			if !reported[n] {
				reported[n] = true
				out.printf(stderr, "node %s exited (%v). To restart it, in another terminal with %s set:\n  %s %s\n",
					n.id, n.err, adminTokenEnv, n.cmd.Path, strings.Join(n.args, " "))
			}
		}
		if alive == 0 {
			out.printf(stderr, "every node has exited\n")
			return exitFail
		}
	}
}

// stopDevNodes sends SIGTERM to every running node, waits up to 30 s for
// them to exit, then kills what is left.
func stopDevNodes(nodes []*devNode, stderr io.Writer) {
	for _, n := range nodes {
		if n.running() {
			n.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range nodes {
		if n.cmd == nil || n.cmd.Process == nil {
			continue
		}
		select {
		case <-n.exited:
		case <-ctx.Done():
			fmt.Fprintf(stderr, "node %s did not stop in 30s, killing it\n", n.id)
			n.cmd.Process.Kill()
			<-n.exited
		}
	}
}

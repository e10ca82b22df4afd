package jepsen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/drover-io/drover/cluster/clustertest"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Node is one drover agent process living in a slot. Its id changes when
// it is removed, wiped and rejoined (gen counts those lives).
type Node struct {
	Slot    *Slot
	ID      string
	gen     int
	dataDir string
	logPath string
	c       *Cluster

	mu     sync.Mutex
	proc   *os.Process
	exited chan struct{}
	paused bool
}

// Status is a node's /v1/cluster answer (the one type the test harnesses
// share).
type Status = clustertest.Status

// start launches the agent with extra flags; it does not wait for it.
func (n *Node) start(extra ...string) error {
	s := n.Slot
	args := []string{n.c.bin, "agent", "--id=" + n.ID, "--data-dir=" + n.dataDir,
		"--http=" + s.HTTP, "--cluster=" + s.Cluster, "--gossip=" + s.Gossip,
		"--log-level=warn", "--write-timeout=" + n.c.cfg.WriteTimeout.String()}
	if n.c.kitErr != nil {
		return n.c.kitErr
	}
	secure, err := n.c.kit.AgentArgs(n.ID, s.IP)
	if err != nil {
		return err
	}
	args = append(args, secure...)
	args = append(args, n.c.cfg.NodeArgs...)
	args = append(args, extra...)
	logf, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s start %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd := n.c.env.Command(s, args...)
	cmd.Env = append(os.Environ(), "DROVER_ADMIN_TOKEN="+n.c.token)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	n.mu.Lock()
	n.proc, n.exited, n.paused = cmd.Process, exited, false
	n.mu.Unlock()
	return nil
}

// Running reports whether the process is alive (paused counts as alive).
func (n *Node) Running() bool {
	n.mu.Lock()
	ch := n.exited
	n.mu.Unlock()
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits until the process is gone.
func (n *Node) Kill() {
	n.mu.Lock()
	p, ch := n.proc, n.exited
	n.mu.Unlock()
	if p == nil || !n.Running() {
		return
	}
	p.Signal(syscall.SIGKILL)
	p.Signal(syscall.SIGCONT)
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
	}
}

// Pause sends SIGSTOP; Resume sends SIGCONT.
func (n *Node) Pause() { n.signal(syscall.SIGSTOP, true) }

// Resume continues a paused process.
func (n *Node) Resume() { n.signal(syscall.SIGCONT, false) }

func (n *Node) signal(sig syscall.Signal, paused bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		n.proc.Signal(sig)
		n.paused = paused
	}
}

// Paused reports whether the node was stopped with SIGSTOP.
func (n *Node) Paused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused
}

// Log returns the tail of the node's log.
func (n *Node) Log(max int) string {
	b, _ := os.ReadFile(n.logPath)
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// statusNotSent is Do's status for a refused connection: the request
// never reached the node, so it definitely had no effect.
const statusNotSent = -1

// Do sends one HTTP request with the admin token and returns the status
// and body; status 0 means a transport error or timeout after the request
// may have been sent, statusNotSent a refused connection (body says which).
func (n *Node) Do(ctx context.Context, method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://"+n.Slot.HTTP+path, r)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+n.c.token)
	resp, err := n.c.http.Do(req)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return statusNotSent, []byte(err.Error())
	}
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, out
}

// Status fetches /v1/cluster within timeout; ok is false without an answer.
func (n *Node) Status(timeout time.Duration) (Status, bool) {
	var s Status
	if !n.Running() || n.Paused() {
		return s, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	code, b := n.Do(ctx, http.MethodGet, "/v1/cluster", nil)
	if code != http.StatusOK || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

func newNode(c *Cluster, s *Slot) *Node {
	n := &Node{Slot: s, c: c}
	n.rename()
	return n
}

// rename gives the node its next id and a fresh data dir.
func (n *Node) rename() {
	n.gen++
	n.ID = fmt.Sprintf("n%d", n.Slot.Index)
	if n.gen > 1 {
		n.ID = fmt.Sprintf("n%d-g%d", n.Slot.Index, n.gen)
	}
	n.dataDir = filepath.Join(n.c.env.Dir, n.ID)
	n.logPath = filepath.Join(n.c.env.Dir, fmt.Sprintf("slot%d.log", n.Slot.Index))
}

// Package clustertest starts real drover clusters for tests: each node is
// a separate `drover agent` process on loopback with ports from :0, its own
// data directory, and helpers to kill -9, stop, pause, restart and poll it.
// Every process and directory is removed when the test ends. Nodes run the
// secure configuration: mTLS with certificates from one CA per test binary
// and an encrypted gossip key (Secrets); InsecureArgs turn it off.
package clustertest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error

	kitOnce sync.Once
	kit     *pki.Kit
	kitErr  error
)

// Secrets returns the CA, gossip key and node certificates every cluster
// of this test process runs with (the secure configuration, as `drover
// tls` and `drover keygen` make it): made once per test binary, in a
// directory Main removes. Node certificates are issued per id on demand.
func Secrets(t testing.TB) *pki.Kit {
	t.Helper()
	kitOnce.Do(func() {
		dir, err := os.MkdirTemp("", "drover-pki-")
		if err != nil {
			kitErr = err
			return
		}
		kit, kitErr = pki.NewKit(dir, "")
	})
	if kitErr != nil {
		t.Fatal(kitErr)
	}
	return kit
}

// SecureArgs are the agent flags that give node id its certificate, the
// CA and the gossip key of Secrets.
func SecureArgs(t testing.TB, id string) []string {
	t.Helper()
	args, err := Secrets(t).AgentArgs(id)
	if err != nil {
		t.Fatal(err)
	}
	return args
}

// InsecureArgs override SecureArgs: no TLS, no gossip key, --insecure.
var InsecureArgs = []string{"--tls-cert=", "--tls-key=", "--tls-ca=", "--gossip-key-file=", "--insecure"}

// Main runs a package's tests and then removes the binary Binary built:
// call it from TestMain (os.Exit(clustertest.Main(m))) in every package
// that uses Binary.
func Main(m *testing.M) int {
	code := m.Run()
	if binPath != "" && os.Getenv("DROVER_BIN") == "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	if kit != nil {
		os.RemoveAll(kit.Dir)
	}
	return code
}

// Binary builds cmd/drover once per test process and returns its path.
// DROVER_BIN, when set, names a prebuilt binary instead.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("DROVER_BIN"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(out)))
		dir, err := os.MkdirTemp("", "drover-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "drover")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/drover")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Cluster is a set of drover agent processes.
type Cluster struct {
	t     testing.TB
	bin   string
	dir   string
	Token string
	Nodes []*Node
	// Args are added to every node's command line.
	Args    []string
	seq     int
	workers []*Worker
}

// Node is one agent process.
type Node struct {
	c       *Cluster
	ID      string
	DataDir string
	// Addresses as bound on the first start; restarts reuse them.
	HTTP, ClusterAddr, Gossip string
	args                      []string
	cmd                       *exec.Cmd
	exited                    chan struct{}
	log                       *os.File
}

// New prepares an empty cluster; nodes are added with Start or Add.
func New(t testing.TB, args ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, bin: Binary(t), dir: t.TempDir(), Token: randomToken(), Args: args}
	t.Cleanup(c.Close)
	return c
}

// Start runs n nodes that bootstrap a new cluster together: the first is
// started alone to learn its gossip port, the rest at once, all with
// --bootstrap-expect n. It waits until every node sees a leader.
func Start(t testing.TB, n int, args ...string) *Cluster {
	t.Helper()
	c := New(t, args...)
	first := c.Add(fmt.Sprintf("--bootstrap-expect=%d", n))
	var rest []*Node
	for i := 1; i < n; i++ { // ids are assigned here, in order
		node := c.prepare()
		node.args = append(node.args, fmt.Sprintf("--bootstrap-expect=%d", n), "--join="+first.Gossip)
		rest = append(rest, node)
	}
	var wg sync.WaitGroup
	for _, node := range rest {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node.start()
		}()
	}
	wg.Wait()
	c.Nodes = append(c.Nodes, rest...)
	c.WaitLeader(30 * time.Second)
	return c
}

// Add starts one more node that joins through the first node's gossip
// address (none for the first node); extra args are appended.
func (c *Cluster) Add(extra ...string) *Node {
	c.t.Helper()
	n := c.prepare()
	if len(c.Nodes) > 0 {
		n.args = append(n.args, "--join="+c.Nodes[0].Gossip)
	}
	n.args = append(n.args, extra...)
	n.start()
	c.Nodes = append(c.Nodes, n)
	return n
}

func (c *Cluster) prepare() *Node {
	c.seq++
	id := fmt.Sprintf("n%d", c.seq)
	n := &Node{c: c, ID: id, DataDir: filepath.Join(c.dir, id)}
	return n
}

// start launches the process and waits for its address file.
func (n *Node) start() {
	t := n.c.t
	t.Helper()
	addrFile := filepath.Join(n.c.dir, n.ID+".addr")
	os.Remove(addrFile)
	httpA, clusterA, gossipA := orZero(n.HTTP), orZero(n.ClusterAddr), orZero(n.Gossip)
	args := []string{"agent", "--id=" + n.ID, "--data-dir=" + n.DataDir,
		"--http=" + httpA, "--cluster=" + clusterA, "--gossip=" + gossipA,
		"--addr-file=" + addrFile, "--log-level=warn"}
	args = append(args, SecureArgs(t, n.ID)...)
	args = append(args, n.c.Args...)
	args = append(args, n.args...)
	logf, err := os.OpenFile(filepath.Join(n.c.dir, n.ID+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	n.log = logf
	cmd := exec.Command(n.c.bin, args...)
	DieWithTest(cmd)
	cmd.Env = append(os.Environ(), "DROVER_ADMIN_TOKEN="+n.c.Token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.cmd = cmd
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, ch chan struct{}) { cmd.Wait(); close(ch) }(cmd, n.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(addrFile)
		var a struct{ HTTP, Cluster, Gossip string }
		if err == nil && json.Unmarshal(b, &a) == nil && a.HTTP != "" {
			n.HTTP, n.ClusterAddr, n.Gossip = a.HTTP, a.Cluster, a.Gossip
			return
		}
		select {
		case <-n.exited:
			t.Fatalf("node %s exited at start:\n%s", n.ID, n.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s wrote no address file in 30s:\n%s", n.ID, n.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func orZero(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// Log returns the node's output so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(filepath.Join(n.c.dir, n.ID+".log"))
	return string(b)
}

// Running reports whether the process is alive.
func (n *Node) Running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to end.
func (n *Node) Kill() { n.signal(syscall.SIGKILL) }

// Stop sends SIGTERM (clean shutdown) and waits for the process to end.
func (n *Node) Stop() { n.signal(syscall.SIGTERM) }

func (n *Node) signal(sig syscall.Signal) {
	if !n.Running() {
		return
	}
	n.cmd.Process.Signal(sig)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.cmd.Process.Kill()
		<-n.exited
	}
	n.log.Close()
}

// Pause stops the process with SIGSTOP; Resume continues it.
func (n *Node) Pause()  { n.cmd.Process.Signal(syscall.SIGSTOP) }
func (n *Node) Resume() { n.cmd.Process.Signal(syscall.SIGCONT) }

// Restart starts the process again with the same id, data dir and ports.
func (n *Node) Restart() {
	n.c.t.Helper()
	if n.Running() {
		n.c.t.Fatalf("restart of running node %s", n.ID)
	}
	n.start()
}

// Wipe removes the node's data directory (the node must be stopped).
func (n *Node) Wipe() { os.RemoveAll(n.DataDir) }

// Close kills every worker and node.
func (c *Cluster) Close() {
	for _, w := range c.workers {
		w.Kill()
	}
	for _, n := range c.Nodes {
		if n.Running() {
			n.Resume()
			n.Kill()
		}
	}
	if c.t.Failed() {
		for _, n := range c.Nodes {
			c.t.Logf("--- log of %s ---\n%s", n.ID, tail(n.Log(), 4000))
		}
		for _, w := range c.workers {
			c.t.Logf("--- log of worker %d ---\n%s", w.ID, tail(w.Log(), 2000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Do sends an HTTP request to the node with the admin token; body may be
// nil. It returns the status and body (status 0 on a transport error).
func (n *Node) Do(method, path string, body any) (int, []byte) {
	var r io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			r = strings.NewReader(b)
		case []byte:
			r = bytes.NewReader(b)
		default:
			j, _ := json.Marshal(b)
			r = bytes.NewReader(j)
		}
	}
	req, err := http.NewRequest(method, "http://"+n.HTTP+path, r)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+n.c.Token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

var httpClient = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// StartFailing starts the node again and expects it to refuse to start: it
// returns the process's exit code and output once it has exited.
func (n *Node) StartFailing(timeout time.Duration) (int, string) {
	n.c.t.Helper()
	args := []string{"agent", "--id=" + n.ID, "--data-dir=" + n.DataDir,
		"--http=" + orZero(n.HTTP), "--cluster=" + orZero(n.ClusterAddr), "--gossip=" + orZero(n.Gossip)}
	args = append(args, SecureArgs(n.c.t, n.ID)...)
	args = append(args, n.c.Args...)
	args = append(args, n.args...)
	cmd := exec.Command(n.c.bin, args...)
	DieWithTest(cmd)
	cmd.Env = append(os.Environ(), "DROVER_ADMIN_TOKEN="+n.c.Token)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		n.c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		return cmd.ProcessState.ExitCode(), out.String()
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		n.c.t.Fatalf("node %s did not refuse to start within %s:\n%s", n.ID, timeout, out.String())
		return 0, ""
	}
}

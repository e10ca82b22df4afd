package jepsen

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

// Cluster is the set of drover nodes under test, plus spare slots that
// the membership nemesis can add nodes into.
type Cluster struct {
	cfg   *Config
	env   *Env
	bin   string
	token string
	http  *http.Client

	// kit holds the cluster's CA, gossip key and node certificates: every
	// node runs the secure configuration (mTLS + encrypted gossip).
	kit    *pki.Kit
	kitErr error

	mu    sync.Mutex
	nodes []*Node // members, in slot order
	spare []*Slot // slots not used yet
}

func newCluster(cfg *Config, env *Env) *Cluster {
	tok := make([]byte, 16)
	rand.Read(tok)
	c := &Cluster{cfg: cfg, env: env, bin: cfg.Bin, token: hex.EncodeToString(tok),
		http: &http.Client{Timeout: cfg.ClientTimeout, Transport: &http.Transport{
			MaxIdleConnsPerHost: 16, IdleConnTimeout: 5 * time.Second}}}
	c.kit, c.kitErr = pki.NewKit(filepath.Join(env.Dir, "pki"), "")
	for i, s := range env.Slots {
		if i < cfg.Nodes {
			c.nodes = append(c.nodes, newNode(c, s))
		} else {
			c.spare = append(c.spare, s)
		}
	}
	return c
}

// Nodes returns the current members.
func (c *Cluster) Nodes() []*Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*Node(nil), c.nodes...)
}

// boot starts every node at once; they find each other by gossip and
// bootstrap with --bootstrap-expect.
func (c *Cluster) boot() error {
	nodes := c.Nodes()
	for _, n := range nodes {
		var join []string
		for _, o := range nodes {
			if o != n {
				join = append(join, o.Slot.Gossip)
			}
		}
		if err := n.start(fmt.Sprintf("--bootstrap-expect=%d", len(nodes)), "--join="+strings.Join(join, ",")); err != nil {
			return err
		}
	}
	_, err := c.WaitLeader(60 * time.Second)
	return err
}

// joinArgs are the flags of a node joining the running cluster.
func (c *Cluster) joinArgs(self *Node) []string {
	var join []string
	for _, o := range c.Nodes() {
		if o != self {
			join = append(join, o.Slot.Gossip)
		}
	}
	return []string{"--join=" + strings.Join(join, ",")}
}

// Leader returns the node that claims leadership in the highest term, or
// nil; only running, unpaused members are asked.
func (c *Cluster) Leader() *Node {
	var best *Node
	var term uint64
	for _, n := range c.Nodes() {
		s, ok := n.Status(time.Second)
		if ok && s.State == "leader" && s.Term >= term {
			best, term = n, s.Term
		}
	}
	return best
}

// WaitLeader waits until a leader exists that every answering member names.
func (c *Cluster) WaitLeader(timeout time.Duration) (*Node, error) {
	deadline := time.Now().Add(timeout)
	why := ""
	for time.Now().Before(deadline) {
		var l *Node
		l, why = c.agreedLeader()
		if l != nil {
			return l, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("jepsen: no agreed leader in %s: %s", timeout, why)
}

func (c *Cluster) agreedLeader() (*Node, string) {
	id := ""
	for _, n := range c.Nodes() {
		s, ok := n.Status(time.Second)
		if !ok {
			continue
		}
		if s.Leader == "" {
			return nil, n.ID + " has no leader"
		}
		if id != "" && id != s.Leader {
			return nil, fmt.Sprintf("%s names %s, another names %s", n.ID, s.Leader, id)
		}
		id = s.Leader
	}
	for _, n := range c.Nodes() {
		if n.ID == id {
			if s, ok := n.Status(time.Second); ok && s.State == "leader" {
				return n, ""
			}
		}
	}
	return nil, "leader " + id + " is not a member that says it leads"
}

// addNode starts a fresh node in a spare slot that joins by gossip.
func (c *Cluster) addNode() (*Node, error) {
	c.mu.Lock()
	if len(c.spare) == 0 {
		c.mu.Unlock()
		return nil, fmt.Errorf("jepsen: no spare slot")
	}
	s := c.spare[0]
	c.spare = c.spare[1:]
	n := newNode(c, s)
	c.nodes = append(c.nodes, n)
	c.mu.Unlock()
	return n, n.start(c.joinArgs(n)...)
}

// removeServer asks nodes (leader first) to remove id from the cluster.
func (c *Cluster) removeServer(id string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		targets := c.Nodes()
		if l := c.Leader(); l != nil {
			targets = append([]*Node{l}, targets...)
		}
		for _, n := range targets {
			if n.ID == id || !n.Running() || n.Paused() {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			code, b := n.Do(ctx, http.MethodPost, "/v1/cluster/remove", map[string]string{"id": id})
			cancel()
			if code == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("%s: %d %s", n.ID, code, b)
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("jepsen: remove %s: %s", id, last)
}

// rejoinFresh removes a member, wipes its data and starts it again under a
// new id in the same slot.
func (c *Cluster) rejoinFresh(n *Node, timeout time.Duration) (string, error) {
	old := n.ID
	n.Kill()
	if err := c.removeServer(old, timeout); err != nil {
		return old, err
	}
	os.RemoveAll(n.dataDir)
	n.rename()
	return old, n.start(c.joinArgs(n)...)
}

// restart starts a dead member again with its id and data.
func (c *Cluster) restart(n *Node) error {
	if n.Running() {
		return nil
	}
	return n.start(c.joinArgs(n)...)
}

// stopAll kills every member (after resuming paused ones).
func (c *Cluster) stopAll() {
	for _, n := range c.Nodes() {
		n.Resume()
		n.Kill()
	}
}

// copyLogs copies the node logs into dir.
func (c *Cluster) copyLogs(dir string) {
	for _, n := range c.Nodes() {
		b, err := os.ReadFile(n.logPath)
		if err == nil {
			os.WriteFile(filepath.Join(dir, filepath.Base(n.logPath)), b, 0o644)
		}
	}
}

package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// testConfig gives Raft roomy timeouts so the tests hold on a loaded
// 2-core machine.
func testConfig(t *testing.T, id string) Config {
	c := DefaultConfig()
	c.ID = id
	c.DataDir = t.TempDir()
	c.ClusterBind = "127.0.0.1:0"
	c.GossipBind = "127.0.0.1:0"
	c.HeartbeatTimeout = 1500 * time.Millisecond
	c.ElectionTimeout = 1500 * time.Millisecond
	c.LeaderLeaseTimeout = 1000 * time.Millisecond
	c.ReconcileInterval = 200 * time.Millisecond
	c.PromoteAfter = 500 * time.Millisecond
	c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return c
}

// startNodes starts n in-process nodes that bootstrap together.
func startNodes(t *testing.T, n int) []*Node {
	t.Helper()
	var nodes []*Node
	for i := 0; i < n; i++ {
		cfg := testConfig(t, fmt.Sprintf("n%d", i+1))
		cfg.BootstrapExpect = n
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		node, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", cfg.ID, err)
		}
		t.Cleanup(func() { node.Shutdown() })
		nodes = append(nodes, node)
	}
	waitLeader(t, nodes)
	return nodes
}

func waitLeader(t *testing.T, nodes []*Node) *Node {
	t.Helper()
	var leader *Node
	waitFor(t, 30*time.Second, "a leader", func() bool {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader && n.readyTerm.Load() == n.raft.CurrentTerm() {
				leader = n
			}
		}
		if leader == nil {
			return false
		}
		for _, n := range nodes {
			if _, id := n.raft.LeaderWithID(); string(id) != leader.cfg.ID {
				return false
			}
		}
		return true
	})
	return leader
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func follower(nodes []*Node) *Node {
	for _, n := range nodes {
		if n.raft.State() != raft.Leader {
			return n
		}
	}
	return nil
}

func createEndpointCmd(t *testing.T, name string) fsm.Command {
	t.Helper()
	e := fsm.EndpointDefaults()
	e.Name = name
	e.APIKey = "key-" + name
	c, err := fsm.NewCommand(fsm.CmdCreateEndpoint, fsm.NewRequestID(), fsm.CreateEndpoint{Endpoint: e})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWriteThroughFollowerReadEverywhere(t *testing.T) {
	nodes := startNodes(t, 3)
	f := follower(nodes)
	res, err := f.Apply(context.Background(), createEndpointCmd(t, "llama"))
	if err != nil || res[0].Code != "" {
		t.Fatalf("Apply via follower = %+v, %v", res, err)
	}
	for _, n := range nodes {
		v, err := n.ConsistentRead(context.Background())
		if err != nil {
			t.Fatalf("ConsistentRead on %s: %v", n.cfg.ID, err)
		}
		if _, ok := v.EndpointByName("llama"); !ok {
			t.Fatalf("%s: endpoint written through %s not visible in a consistent read", n.cfg.ID, f.cfg.ID)
		}
	}
}

// TestRetriedWritesAppliedOnce sends the same commands (same request ids)
// through different nodes and across leadership transfers: each is applied
// once, and every retry answers the first result.
func TestRetriedWritesAppliedOnce(t *testing.T) {
	nodes := startNodes(t, 3)
	ctx := context.Background()
	const writers, perWriter = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	ids := make(chan uint64, writers*perWriter*2)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				cmd := createEndpointCmd(t, fmt.Sprintf("w%d-%d", w, i))
				for try := 0; try < 2; try++ { // the retry goes through another node
					res, err := nodes[(w+i+try)%3].Apply(ctx, cmd)
					if err != nil || res[0].Code != "" {
						errs <- fmt.Errorf("write w%d-%d try %d: %+v %v", w, i, try, res, err)
						return
					}
					ids <- res[0].ID
				}
			}
		}()
	}
	stop := make(chan struct{})
	var transfers sync.WaitGroup
	transfers.Add(1)
	go func() { // move leadership around while the writes go on
		defer transfers.Done()
		for i := 0; i < 3; i++ {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			for _, n := range nodes {
				if n.raft.State() == raft.Leader {
					n.raft.LeadershipTransfer().Error()
				}
			}
		}
	}()
	wg.Wait()
	close(stop)
	transfers.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Fatal(err)
	}
	leader := waitLeader(t, nodes)
	v, err := leader.ConsistentRead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(v.Endpoints), writers*perWriter; got != want {
		t.Fatalf("endpoints after %d writes each sent twice = %d, want %d", want, got, want)
	}
	seen := map[uint64]int{}
	for id := range ids {
		seen[id]++
	}
	for id, c := range seen {
		if c != 2 {
			t.Fatalf("endpoint id %d answered %d times, want 2 (first write and its retry)", id, c)
		}
	}
}

func TestConsistentReadFailsWithoutQuorum(t *testing.T) {
	nodes := startNodes(t, 3)
	f := follower(nodes)
	for _, n := range nodes {
		if n != f {
			n.Shutdown()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if _, err := f.ConsistentRead(ctx); err == nil || !isUnavailable(err) {
		t.Fatalf("ConsistentRead without quorum = %v, want an Unavailable error", err)
	}
	waitFor(t, 15*time.Second, "stale status", func() bool { return f.Status().Stale })
	if v := f.View(); v == nil {
		t.Fatal("local View is nil")
	}
}

// Concurrent changes of one object are coalesced with other writes but
// never into the same log entry: every change gets its own revision, so a
// compare-and-set on a revision cannot succeed after a later change.
func TestConcurrentUpdatesGetDistinctRevisions(t *testing.T) {
	nodes := startNodes(t, 3)
	ctx := context.Background()
	res, err := nodes[0].Apply(ctx, createEndpointCmd(t, "hot"))
	if err != nil || res[0].Code != "" {
		t.Fatalf("create = %+v, %v", res, err)
	}
	id := res[0].ID
	const writers, each = 8, 10
	revs := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				patch := fmt.Sprintf(`{"min_load":%d}`, w*100+i)
				cmd, _ := fsm.NewCommand(fsm.CmdUpdateEndpoint, fsm.NewRequestID(), fsm.UpdateEndpoint{ID: id, Patch: []byte(patch)})
				other := createEndpointCmd(t, fmt.Sprintf("side-%d-%d", w, i)) // unrelated writes share entries
				r, err := nodes[(w+i)%3].Apply(ctx, cmd)
				if err != nil || r[0].Code != "" {
					t.Errorf("update: %+v %v", r, err)
					return
				}
				revs <- r[0].Revision
				nodes[w%3].Apply(ctx, other)
			}
		}()
	}
	wg.Wait()
	close(revs)
	seen := map[uint64]bool{}
	for r := range revs {
		if seen[r] {
			t.Fatalf("two updates of endpoint %d got revision %d", id, r)
		}
		seen[r] = true
	}
}

// A node that joins a cluster with a long log reports itself caught up only
// once it has applied what the leader had committed when it asked: a
// follower's own commit index only reaches the end of the entries received
// so far, which made the latch open after the first batch.
func TestCaughtUpWaitsForTheLeadersCommitIndex(t *testing.T) {
	nodes := startNodes(t, 3)
	ctx := context.Background()
	for i := 0; i < 600; i++ {
		if _, err := nodes[i%3].Apply(ctx, createEndpointCmd(t, fmt.Sprintf("e%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	leader := waitLeader(t, nodes)
	before := leader.raft.CommitIndex()
	cfg := testConfig(t, "n4")
	cfg.Join = []string{nodes[0].GossipAddr()}
	n4, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n4.Shutdown() })
	waitFor(t, 60*time.Second, "n4 caught up", func() bool {
		if !n4.CaughtUp() {
			return false
		}
		if got := n4.View().Index; got+fsmLagSlack < before {
			t.Fatalf("n4 says caught up at index %d, the leader had committed %d before it joined", got, before)
		}
		return true
	})
}

// With a gossip key, a server without it never joins the member list.
func TestGossipKeyKeepsStrangersOut(t *testing.T) {
	key := []byte("0123456789abcdef")
	var nodes []*Node
	for i := 1; i <= 2; i++ {
		cfg := testConfig(t, fmt.Sprintf("k%d", i))
		cfg.GossipKey = key
		if i > 1 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		n, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown() })
		nodes = append(nodes, n)
	}
	waitFor(t, 20*time.Second, "keyed servers see each other", func() bool { return len(nodes[0].gossip.members()) == 2 })
	cfg := testConfig(t, "stranger")
	cfg.Join = []string{nodes[0].GossipAddr()}
	stranger, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stranger.Shutdown() })
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if len(nodes[0].gossip.members()) != 2 || len(stranger.gossip.members()) != 1 {
			t.Fatalf("a server without the gossip key joined: keyed sees %d, stranger sees %d",
				len(nodes[0].gossip.members()), len(stranger.gossip.members()))
		}
	}
}

package cluster_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
)

// These tests run real `drover agent` processes on loopback.

func leaderAndFollowers(t *testing.T, c *clustertest.Cluster) (*clustertest.Node, []*clustertest.Node) {
	t.Helper()
	l := c.WaitLeader(30 * time.Second)
	var fs []*clustertest.Node
	for _, n := range c.Running() {
		if n != l {
			fs = append(fs, n)
		}
	}
	return l, fs
}

// 1. Three nodes started at once bootstrap from nothing; a write through a
// follower is readable on every node.
func TestE2EBootstrapAndFollowerWrite(t *testing.T) {
	c := clustertest.Start(t, 3)
	_, fs := leaderAndFollowers(t, c)
	createEndpoint(t, fs[0], "chat")
	for _, n := range c.Nodes {
		if why := hasAll(t, n, []string{"chat"}); why != "" {
			t.Fatal(why)
		}
	}
	s := c.WaitConverged(10 * time.Second)
	if len(s.Voters) != 3 {
		t.Fatalf("voters = %v, want 3", s.Voters)
	}
}

// 2. kill -9 of the leader: a new leader within a few seconds at default
// timeouts, writes go on, and the killed node catches up on restart — from
// the log, then (with a low snapshot threshold) from a snapshot.
func TestE2EKillLeaderCatchUp(t *testing.T) {
	c := clustertest.Start(t, 3, "--snapshot-threshold=20", "--snapshot-interval=200ms", "--trailing-logs=5")
	for round, name := range []string{"log", "snapshot"} {
		leader := c.WaitLeader(30 * time.Second)
		leader.Kill()
		start := time.Now()
		newLeader := c.WaitLeader(15 * time.Second)
		t.Logf("round %s: new leader %s after %s", name, newLeader.ID, time.Since(start).Round(time.Millisecond))
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("new leader took %s", d)
		}
		var want []string
		writes := 3
		if name == "snapshot" {
			writes = 60 // past the threshold: the survivors snapshot and compact
		}
		for i := 0; i < writes; i++ {
			w := fmt.Sprintf("r%d-%d", round, i)
			createEndpoint(t, c.Running()[i%2], w)
			want = append(want, w)
		}
		if name == "snapshot" {
			c.WaitFor(20*time.Second, "a snapshot on the survivors", func() string {
				for _, n := range c.Running() {
					if snaps, _ := filepath.Glob(filepath.Join(n.DataDir, "snapshots", "*")); len(snaps) == 0 {
						return n.ID + " has no snapshot"
					}
				}
				return ""
			})
		}
		leader.Restart()
		c.WaitFor(30*time.Second, "restarted node catches up", func() string { return hasAll(t, leader, want) })
		c.WaitConverged(20 * time.Second)
		if name == "snapshot" && !strings.Contains(leader.Log(), "snapshot") {
			t.Logf("note: restarted node log does not mention the snapshot install")
		}
	}
}

// 3. Joins through gossip: the 4th and 5th become voters, the 6th stays a
// non-voter; a node dead past the timeout is removed; the voters never go
// below the minimum quorum.
func TestE2EMembership(t *testing.T) {
	c := clustertest.Start(t, 3, "--dead-server-timeout=3s", "--min-quorum=3")
	for i := 4; i <= 6; i++ {
		c.Add()
	}
	c.WaitFor(60*time.Second, "5 voters and 1 non-voter", func() string {
		s, ok := c.Nodes[0].Status()
		if !ok || len(s.Voters) != 5 || len(s.Nonvoters) != 1 {
			return fmt.Sprintf("voters %v nonvoters %v", s.Voters, s.Nonvoters)
		}
		return ""
	})
	// Kill four servers for good, one at a time so a quorum always
	// remains, waiting each time for the leader to act: dead servers are
	// removed (the non-voter is promoted to fill in) until the voters reach
	// the minimum quorum of 3, where a dead voter is kept.
	leader := c.WaitLeader(30 * time.Second)
	var victims []*clustertest.Node
	for kills := 1; kills <= 4; kills++ {
		var victim *clustertest.Node
		for _, n := range c.Running() {
			if n != leader {
				victim = n
			}
		}
		victim.Kill()
		victims = append(victims, victim)
		c.WaitFor(60*time.Second, fmt.Sprintf("the leader acts on dead %s", victim.ID), func() string {
			s, ok := leader.Status()
			if !ok {
				return "leader does not answer"
			}
			if len(s.Voters) < 3 {
				t.Fatalf("voters fell below min quorum: %v", s.Voters)
			}
			inConf := slices.Contains(s.Voters, victim.ID) || slices.Contains(s.Nonvoters, victim.ID)
			if kills < 4 && inConf {
				return fmt.Sprintf("%s still in voters %v nonvoters %v", victim.ID, s.Voters, s.Nonvoters)
			}
			if kills == 4 && (len(s.Voters) != 3 || !slices.Contains(s.Voters, victim.ID)) {
				return fmt.Sprintf("want 3 voters including dead %s, have %v", victim.ID, s.Voters)
			}
			return ""
		})
	}
	// The dead voter stays while the voters are at the minimum: check for
	// twice the dead-server timeout.
	for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if s, ok := leader.Status(); ok && len(s.Voters) != 3 {
			t.Fatalf("voters changed at the minimum quorum: %v", s.Voters)
		}
	}
	createEndpoint(t, c.Running()[0], "after-removal")
	// A server removed for being dead that comes back is added again.
	back := victims[0]
	back.Restart()
	c.WaitFor(60*time.Second, back.ID+" added back", func() string {
		s, ok := leader.Status()
		if !ok || !slices.Contains(s.Voters, back.ID) {
			return fmt.Sprintf("voters %v nonvoters %v", s.Voters, s.Nonvoters)
		}
		return ""
	})
}

// 4. kill -9 of all three nodes at once, then restart: every acknowledged
// write is there.
func TestE2EKillAllRestart(t *testing.T) {
	c := clustertest.Start(t, 3)
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, i)
				if tryCreate(c.Nodes[w], name) == nil {
					mu.Lock()
					acked = append(acked, name)
					mu.Unlock()
				}
			}
		}()
	}
	c.WaitFor(30*time.Second, "some acknowledged writes", func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 30 {
			return fmt.Sprintf("%d acknowledged", len(acked))
		}
		return ""
	})
	for _, n := range c.Nodes {
		n.Kill()
	}
	close(stop)
	wg.Wait()
	for _, n := range c.Nodes {
		n.Restart()
	}
	c.WaitLeader(30 * time.Second)
	for _, n := range c.Nodes {
		c.WaitFor(30*time.Second, "acknowledged writes on "+n.ID, func() string { return hasAll(t, n, acked) })
	}
	t.Logf("%d acknowledged writes survived kill -9 of every node", len(acked))
}

// 6. A node cut off from the others answers consistent reads with 503,
// stale reads from its replica, and reports stale.
func TestE2EIsolatedNode(t *testing.T) {
	c := clustertest.Start(t, 3, "--stale-after=2s", "--write-timeout=3s")
	createEndpoint(t, c.Nodes[0], "before")
	c.WaitConverged(10 * time.Second)
	alone := c.Nodes[2]
	c.Nodes[0].Kill()
	c.Nodes[1].Kill()
	c.WaitFor(20*time.Second, "isolated node reports stale", func() string {
		s, ok := alone.Status()
		if !ok || !s.Stale {
			return fmt.Sprintf("status %+v", s)
		}
		return ""
	})
	if _, code := endpointNames(t, alone, false); code != http.StatusServiceUnavailable {
		t.Fatalf("consistent read on isolated node = %d, want 503", code)
	}
	names, code := endpointNames(t, alone, true)
	if code != http.StatusOK || !names["before"] {
		t.Fatalf("stale read on isolated node = %d %v, want 200 with 'before'", code, names)
	}
	if code, b := alone.Do(http.MethodGet, "/v1/health", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("health of isolated node = %d %s, want 503", code, b)
	}
}

// 7. if_revision: of two racing updates with the same revision one wins,
// the other gets 409.
func TestE2EIfRevisionRace(t *testing.T) {
	c := clustertest.Start(t, 3)
	id := createEndpoint(t, c.Nodes[0], "cas")
	code, b := c.Nodes[1].Do(http.MethodGet, fmt.Sprintf("/api/v0/endptjobs/%d/", id), nil)
	if code != http.StatusOK {
		t.Fatalf("get = %d %s", code, b)
	}
	rev := jsonField(t, b, "result", "revision")
	codes := make(chan int, 2)
	for i, n := range []*clustertest.Node{c.Nodes[1], c.Nodes[2]} {
		go func() {
			code, _ := n.Do(http.MethodPut, fmt.Sprintf("/api/v0/endptjobs/%d/?if_revision=%v", id, rev),
				map[string]any{"min_load": 10 + i})
			codes <- code
		}()
	}
	got := []int{<-codes, <-codes}
	slices.Sort(got)
	if got[0] != http.StatusOK || got[1] != http.StatusConflict {
		t.Fatalf("racing if_revision updates = %v, want [200 409]", got)
	}
}

// 8. Snapshot save, wipe every node, restore into a fresh cluster: the
// same state hash.
func TestE2ESnapshotSaveRestore(t *testing.T) {
	c := clustertest.Start(t, 3)
	for i := 0; i < 5; i++ {
		createEndpoint(t, c.Nodes[i%3], fmt.Sprintf("e%d", i))
	}
	want := waitQuiet(t, c) // the first leader's signing key lands in the background
	code, snap := c.Nodes[1].Do(http.MethodGet, "/v1/snapshot", nil)
	if code != http.StatusOK || len(snap) == 0 {
		t.Fatalf("snapshot save = %d (%d bytes)", code, len(snap))
	}
	file := filepath.Join(t.TempDir(), "backup.snap")
	os.WriteFile(file, snap, 0o600)
	for _, n := range c.Nodes {
		n.Kill()
		n.Wipe()
	}
	fresh := clustertest.Start(t, 3)
	createEndpoint(t, fresh.Nodes[0], "to-be-replaced")
	waitQuiet(t, fresh)
	data, _ := os.ReadFile(file)
	if code, b := fresh.Nodes[2].Do(http.MethodPost, "/v1/snapshot", data); code != http.StatusOK {
		t.Fatalf("restore = %d %s", code, b)
	}
	got := fresh.WaitConverged(20 * time.Second)
	if got.StateHash != want.StateHash {
		t.Fatalf("state hash after restore = %s, want %s", got.StateHash, want.StateHash)
	}
	if why := hasAll(t, fresh.Nodes[1], []string{"e0", "e4"}); why != "" {
		t.Fatal(why)
	}
}

// 8b. After a restore, stopping and restarting each node in turn (a rolling
// restart after disaster recovery) keeps a leader, and every node comes
// back with the restored state: the log gap raft leaves below the restored
// snapshot is not taken for corruption.
func TestE2ERestoreThenRestartEachNode(t *testing.T) {
	c := clustertest.Start(t, 3)
	for i := 0; i < 5; i++ {
		createEndpoint(t, c.Nodes[i%3], fmt.Sprintf("kept%d", i))
	}
	want := waitQuiet(t, c)
	code, snap := c.Nodes[1].Do(http.MethodGet, "/v1/snapshot", nil)
	if code != http.StatusOK || len(snap) == 0 {
		t.Fatalf("snapshot save = %d (%d bytes)", code, len(snap))
	}
	for i := 0; i < 3; i++ {
		createEndpoint(t, c.Nodes[i], fmt.Sprintf("undone%d", i))
	}
	if code, b := c.Nodes[2].Do(http.MethodPost, "/v1/snapshot", snap); code != http.StatusOK {
		t.Fatalf("restore = %d %s", code, b)
	}
	if got := c.WaitConverged(20 * time.Second); got.StateHash != want.StateHash {
		t.Fatalf("state hash after restore = %s, want %s", got.StateHash, want.StateHash)
	}
	for _, n := range c.Nodes {
		n.Stop()
		n.Restart()
		c.WaitFor(30*time.Second, n.ID+" back", func() string {
			if !n.Running() {
				t.Fatalf("%s exited on restart after a restore:\n%s", n.ID, n.Log())
			}
			if s, ok := n.Status(); !ok || s.StateHash != want.StateHash {
				return fmt.Sprintf("status %+v", s)
			}
			return ""
		})
		c.WaitLeader(30 * time.Second)
		if got := c.WaitConverged(30 * time.Second); got.StateHash != want.StateHash {
			t.Fatalf("state hash after restarting %s = %s, want %s", n.ID, got.StateHash, want.StateHash)
		}
	}
	createEndpoint(t, c.Nodes[0], "after-rolling-restart")
	for _, n := range c.Nodes {
		c.WaitFor(20*time.Second, "new write on "+n.ID, func() string {
			return hasAll(t, n, []string{"kept0", "kept4", "after-rolling-restart"})
		})
		if names, _ := endpointNames(t, n, true); names["undone0"] {
			t.Fatalf("%s has an endpoint the restore undid: %v", n.ID, names)
		}
	}
}

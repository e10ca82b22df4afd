package cluster_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
	"github.com/drover-io/drover/transport/transporttest"
)

// drover cluster remove ID removes a server for good: it stays out even
// though it is alive; wiped and started under a new id, it comes back.
func TestE2EManualRemoveStaysOut(t *testing.T) {
	c := clustertest.Start(t, 3)
	c.Add()
	c.WaitFor(30*time.Second, "4 voters", func() string {
		s, _ := c.Nodes[0].Status()
		if len(s.Voters) != 4 {
			return fmt.Sprintf("voters %v nonvoters %v", s.Voters, s.Nonvoters)
		}
		return ""
	})
	victim := c.Nodes[3]
	if code, b := c.Nodes[1].Do(http.MethodPost, "/v1/cluster/remove", map[string]string{"id": victim.ID}); code != http.StatusOK {
		t.Fatalf("remove = %d %s", code, b)
	}
	// It stays out for several reconcile rounds while still alive in gossip.
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		s, _ := c.Nodes[0].Status()
		if slices.Contains(s.Voters, victim.ID) || slices.Contains(s.Nonvoters, victim.ID) {
			t.Fatalf("removed %s is back: voters %v nonvoters %v", victim.ID, s.Voters, s.Nonvoters)
		}
	}
	victim.Kill()
	victim.Wipe()
	reborn := c.Add()
	c.WaitFor(30*time.Second, "wiped node back under a new id", func() string {
		s, _ := c.Nodes[0].Status()
		if !slices.Contains(s.Voters, reborn.ID) {
			return fmt.Sprintf("voters %v nonvoters %v", s.Voters, s.Nonvoters)
		}
		return ""
	})
}

// SIGTERM on the leader hands leadership over before it stops; restarted,
// it rejoins as a member.
func TestE2ESigtermTransfersLeadership(t *testing.T) {
	c := clustertest.Start(t, 3)
	leader := c.WaitLeader(30 * time.Second)
	s0, _ := leader.Status()
	leader.Stop()
	if !strings.Contains(leader.Log(), "") {
		t.Fatal("unreachable")
	}
	next := c.WaitLeader(5 * time.Second)
	s1, _ := next.Status()
	if s1.Term != s0.Term+1 {
		t.Logf("term went %d → %d (transfer normally costs exactly one term)", s0.Term, s1.Term)
	}
	createEndpoint(t, next, "after-transfer")
	leader.Restart()
	c.WaitFor(30*time.Second, "restarted node caught up", func() string { return hasAll(t, leader, []string{"after-transfer"}) })
	if s, _ := next.Status(); len(s.Voters) != 3 {
		t.Fatalf("voters after restart = %v, want 3", s.Voters)
	}
}

// With mutual TLS the cluster works; a node whose certificate comes from
// another CA never gets any data.
func TestE2EMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, certs := transporttest.WriteTestCerts(t, dir, "node")
	c := clustertest.Start(t, 3, "--tls-ca="+ca, "--tls-cert="+certs["node"][0], "--tls-key="+certs["node"][1])
	createEndpoint(t, c.Nodes[1], "secure")
	c.WaitConverged(10 * time.Second)

	otherDir := filepath.Join(dir, "other")
	os.MkdirAll(otherDir, 0o700)
	otherCA, otherCerts := transporttest.WriteTestCerts(t, otherDir, "node")
	rogue := clustertest.New(t, "--tls-ca="+otherCA, "--tls-cert="+otherCerts["node"][0], "--tls-key="+otherCerts["node"][1])
	r := rogue.Add("--join=" + c.Nodes[0].Gossip)
	createEndpoint(t, c.Nodes[0], "secret-after-rogue")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		names, _ := endpointNames(t, r, true)
		if names["secure"] || names["secret-after-rogue"] {
			t.Fatalf("node with a foreign CA received cluster data: %v", names)
		}
	}
	if s, ok := r.Status(); ok && s.AppliedIndex != 0 {
		t.Fatalf("rogue applied index = %d, want 0", s.AppliedIndex)
	}
}

// A truncated log or a corrupt snapshot makes the node refuse to start
// with a clear message.
func TestE2ECorruptDataRefusesStart(t *testing.T) {
	c := clustertest.Start(t, 3, "--snapshot-threshold=10", "--snapshot-interval=200ms", "--trailing-logs=5")
	for i := 0; i < 30; i++ {
		createEndpoint(t, c.Nodes[i%3], fmt.Sprintf("e%d", i))
	}
	c.WaitFor(20*time.Second, "snapshots on disk", func() string {
		for _, n := range c.Nodes {
			if snaps, _ := filepath.Glob(filepath.Join(n.DataDir, "snapshots", "*", "state.bin")); len(snaps) == 0 {
				return n.ID + " has no snapshot"
			}
		}
		return ""
	})
	log, snap := c.Nodes[1], c.Nodes[2]
	log.Kill()
	snap.Kill()

	db := filepath.Join(log.DataDir, "raft.db")
	fi, _ := os.Stat(db)
	os.Truncate(db, fi.Size()/3)
	code, out := log.StartFailing(30 * time.Second)
	if code == 0 || !strings.Contains(out, "corrupt") {
		t.Fatalf("start with truncated raft.db: exit %d, output:\n%s", code, out)
	}

	states, _ := filepath.Glob(filepath.Join(snap.DataDir, "snapshots", "*", "state.bin"))
	for _, f := range states {
		b, _ := os.ReadFile(f)
		for i := len(b) / 2; i < len(b)/2+16 && i < len(b); i++ {
			b[i] ^= 0xff
		}
		os.WriteFile(f, b, 0o600)
	}
	code, out = snap.StartFailing(30 * time.Second)
	if code == 0 || !strings.Contains(out, "corrupt") {
		t.Fatalf("start with corrupt snapshot: exit %d, output:\n%s", code, out)
	}
}

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

// 9. Bad input through a real cluster: every case gets its 4xx and the
// replicated state does not change.
func TestE2EBadInputLeavesStateUnchanged(t *testing.T) {
	c := clustertest.Start(t, 3)
	id := createEndpoint(t, c.Nodes[0], "good")
	createEndpoint(t, c.Nodes[0], "taken")
	before := waitQuiet(t, c)
	big := `{"endpoint_name":"x","pad":"` + strings.Repeat("a", 1<<20+10) + `"}`
	tests := []struct {
		name, method, path, body string
		want                     int
	}{
		{"malformed json", "POST", "/api/v0/endptjobs/", `{"endpoint_name":`, 400},
		{"wrong type", "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a","min_load":"ten"}`, 400},
		{"bad name", "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a b/c"}`, 400},
		{"taken name", "POST", "/api/v0/endptjobs/", `{"endpoint_name":"taken"}`, 409},
		{"out of range", "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a","target_util":1.5}`, 400},
		{"non-finite", "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a","min_load":1e999}`, 400},
		{"NaN string", "PUT", fmt.Sprintf("/api/v0/endptjobs/%d/", id), `{"min_load":"NaN"}`, 400},
		{"unknown endpoint", "PUT", "/api/v0/endptjobs/9999/", `{"min_load":1}`, 404},
		{"unknown group", "DELETE", "/api/v0/workergroups/9999/", ``, 404},
		{"group of unknown endpoint", "POST", "/api/v0/workergroups/", `{"endpoint_name":"nope"}`, 404},
		{"stale if_revision", "PUT", fmt.Sprintf("/api/v0/endptjobs/%d/?if_revision=1", id), `{"min_load":1}`, 409},
		{"body over 1 MiB", "POST", "/api/v0/endptjobs/", big, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" {
				body = tt.body
			}
			code, b := c.Nodes[1].Do(tt.method, tt.path, body)
			if code != tt.want || !strings.Contains(string(b), `"success":false`) {
				t.Fatalf("%s %s = %d %.200s, want %d with success:false", tt.method, tt.path, code, b, tt.want)
			}
		})
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+c.Nodes[2].HTTP+"/api/v0/endptjobs/", strings.NewReader(`{"endpoint_name":"sneaky"}`))
	req.Header.Set("Authorization", "Bearer wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v %v, want 401", resp, err)
	}
	after := c.WaitConverged(10 * time.Second)
	if after.StateHash != before.StateHash {
		t.Fatalf("state hash changed by bad input: %s@%d → %s@%d", before.StateHash, before.AppliedIndex, after.StateHash, after.AppliedIndex)
	}
}

// waitQuiet waits until the replicas have converged and no write (such as
// the signing key the first leader creates in the background) has landed
// for a second.
func waitQuiet(t *testing.T, c *clustertest.Cluster) clustertest.Status {
	t.Helper()
	last := c.WaitConverged(10 * time.Second)
	since := time.Now()
	c.WaitFor(30*time.Second, "a quiet cluster", func() string {
		s := c.WaitConverged(10 * time.Second)
		if s.AppliedIndex != last.AppliedIndex {
			last, since = s, time.Now()
		}
		if time.Since(since) < time.Second {
			return fmt.Sprintf("index %d", s.AppliedIndex)
		}
		return ""
	})
	return last
}

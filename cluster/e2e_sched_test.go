package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
	"github.com/drover-io/drover/scheduler/provider"
	"github.com/drover-io/drover/scheduler/provider/simserver"
)

// startSimProvider runs `drover sim-provider` on a free port and returns
// a client of it; the process is killed when the test ends.
func startSimProvider(t *testing.T, args ...string) (string, *simserver.Client) {
	t.Helper()
	dir := t.TempDir()
	addrFile := filepath.Join(dir, "addr")
	cmd := exec.Command(clustertest.Binary(t), append([]string{"sim-provider", "--listen=127.0.0.1:0",
		"--state-dir=" + filepath.Join(dir, "state"), "--addr-file=" + addrFile, "--log-level=warn"}, args...)...)
	clustertest.DieWithTest(cmd)
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			addr := strings.TrimSpace(string(b))
			return addr, simserver.NewClient(addr)
		}
		if time.Now().After(deadline) {
			t.Fatalf("sim-provider wrote no address")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// schedEndpoint creates an endpoint with the given fields and one group of
// provider prov; it returns the endpoint id and api key.
func schedEndpoint(t *testing.T, n *clustertest.Node, fields map[string]any, group map[string]any) (uint64, string) {
	t.Helper()
	code, b := n.Do(http.MethodPost, "/api/v0/endptjobs/", fields)
	if code != http.StatusOK {
		t.Fatalf("create endpoint = %d %s", code, b)
	}
	id := uint64(jsonField(t, b, "result").(float64))
	code, b = n.Do(http.MethodGet, fmt.Sprintf("/api/v0/endptjobs/%d/", id), nil)
	if code != http.StatusOK {
		t.Fatalf("get endpoint = %d %s", code, b)
	}
	key := jsonField(t, b, "result", "api_key").(string)
	group["endpoint_id"] = id
	if code, b := n.Do(http.MethodPost, "/api/v0/workergroups/", group); code != http.StatusOK {
		t.Fatalf("create group = %d %s", code, b)
	}
	return id, key
}

// schedWorker is a worker as GET /v1/workers shows it.
type schedWorker struct {
	ID         uint64 `json:"id"`
	State      string `json:"state"`
	IntentKey  string `json:"intent_key"`
	InstanceID string `json:"instance_id"`
	URL        string `json:"url"`
}

// workersOf lists the endpoint's workers through n (nil on an error).
func workersOf(n *clustertest.Node, ep uint64) []schedWorker {
	code, b := n.Do(http.MethodGet, fmt.Sprintf("/v1/workers?endpoint=%d", ep), nil)
	if code != http.StatusOK {
		return nil
	}
	var a struct{ Workers []schedWorker }
	if json.Unmarshal(b, &a) != nil {
		return nil
	}
	return a.Workers
}

// TestE2ESchedLeaderKilledDuringScaleUp: three nodes drive one sim-provider
// whose API is slow; the leader is killed (kill -9) with a scale-up half
// done. The new leader reconciles and finishes it. The provider's own
// history shows no intent ever had two live instances and the endpoint
// never held more than max_workers.
func TestE2ESchedLeaderKilledDuringScaleUp(t *testing.T) {
	addr, sim := startSimProvider(t, "--call-delay=400ms", "--create-delay=1h")
	c := clustertest.Start(t, 3, "--provider-sim="+addr, "--provider-timeout=3s")
	leader := c.WaitLeader(30 * time.Second)
	const maxWorkers = 5
	ep, _ := schedEndpoint(t, leader, map[string]any{"endpoint_name": "burst", "cold_workers": maxWorkers,
		"max_workers": maxWorkers}, map[string]any{"provider": "sim"})
	ctx := context.Background()
	c.WaitFor(30*time.Second, "the first instance of the scale-up", func() string {
		if st, err := sim.Stats(ctx); err != nil || st.Creates == 0 {
			return fmt.Sprintf("creates: %+v %v", st.Creates, err)
		}
		return ""
	})
	st, _ := sim.Stats(ctx)
	if st.Creates >= maxWorkers {
		t.Fatalf("the scale-up finished before the kill (%d creates): the test shows nothing", st.Creates)
	}
	killedAfter := st.Creates
	leader.Kill()
	newLeader := c.WaitLeader(30 * time.Second)
	c.WaitFor(60*time.Second, "the new leader to finish the scale-up", func() string {
		list, err := sim.List(ctx)
		if err != nil {
			return err.Error()
		}
		live := liveCount(list)
		ws := workersOf(newLeader, ep)
		held := 0
		for _, w := range ws {
			if w.InstanceID != "" {
				held++
			}
		}
		if live != maxWorkers || len(ws) != maxWorkers || held != maxWorkers {
			return fmt.Sprintf("%d live instances, %d workers, %d with an instance", live, len(ws), held)
		}
		return ""
	})
	st, err := sim.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PeakLive[ep] > maxWorkers || st.PeakKeyLive > 1 {
		t.Errorf("provider history: peak %d live (max_workers %d), peak %d live per intent (want 1):\n%+v",
			st.PeakLive[ep], maxWorkers, st.PeakKeyLive, st.History)
	}
	list, _ := sim.List(ctx)
	perKey := map[string]int{}
	for _, in := range list {
		if in.State.Live() {
			perKey[in.IntentKey]++
		}
	}
	for k, n := range perKey {
		if n > 1 {
			t.Errorf("intent %s has %d live instances", k, n)
		}
	}
	t.Logf("provider: %d creates, peak %d live, %d events; killed after %d creates", st.Creates, st.PeakLive[ep], len(st.History), killedAfter)
	checkDecisionsFromFollower(t, c, newLeader, ep)
	checkManualDestroy(t, c, newLeader, sim, ep)
}

// checkManualDestroy destroys one worker by hand through a follower: the
// answer waits for the leader to execute the intent.
func checkManualDestroy(t *testing.T, c *clustertest.Cluster, leader *clustertest.Node, sim *simserver.Client, ep uint64) {
	t.Helper()
	var via *clustertest.Node
	for _, n := range c.Running() {
		if n != leader {
			via = n
		}
	}
	w := workersOf(leader, ep)[0]
	code, b := via.Do(http.MethodPost, fmt.Sprintf("/v1/workers/%d/destroy", w.ID), nil)
	if code != http.StatusOK || jsonField(t, b, "state") != "done" {
		t.Fatalf("destroy worker %d via %s = %d %s, want done", w.ID, via.ID, code, b)
	}
	list, _ := sim.List(context.Background())
	for _, in := range list {
		if in.ID == w.InstanceID && in.State.Live() {
			t.Errorf("instance %s of the destroyed worker is %s", in.ID, in.State)
		}
	}
	if code, b := via.Do(http.MethodPost, "/v1/workers/12345/stop", nil); code != http.StatusNotFound {
		t.Errorf("stop of an unknown worker = %d %s, want 404", code, b)
	}
}

func liveCount(list []provider.Instance) int {
	n := 0
	for _, in := range list {
		if in.State.Live() {
			n++
		}
	}
	return n
}

// checkDecisionsFromFollower reads /v1/decisions through a follower (it is
// forwarded to the leader) and expects the leader's creates in it.
func checkDecisionsFromFollower(t *testing.T, c *clustertest.Cluster, leader *clustertest.Node, ep uint64) {
	t.Helper()
	for _, n := range c.Running() {
		if n == leader {
			continue
		}
		code, b := n.Do(http.MethodGet, fmt.Sprintf("/v1/decisions?endpoint=%d", ep), nil)
		if code != http.StatusOK || !strings.Contains(string(b), `"kind":"create"`) || !strings.Contains(string(b), `"leader":"`+leader.ID+`"`) {
			t.Errorf("decisions via follower %s = %d %.1500s", n.ID, code, b)
		}
		return
	}
}

// TestE2EProcessProviderScales: load on an endpoint with no worker makes
// the leader create a real `drover worker` + `drover fake-model` pair that
// serves it; once idle, the worker is stopped (its processes end, its
// files stay). Short windows keep it bounded.
func TestE2EProcessProviderScales(t *testing.T) {
	dir := t.TempDir()
	c := clustertest.Start(t, 1, "--provider-dir="+dir, "--scheduler-window=3s", "--scheduler-pool-window=3s")
	t.Cleanup(func() { killInstances(dir) })
	n := c.Nodes[0]
	ep, key := schedEndpoint(t, n, map[string]any{"endpoint_name": "proc", "cold_workers": 0, "max_workers": 2},
		map[string]any{"provider": "process",
			"launch_args": "fake-model --tokens-per-sec -1 -- --max-perf 1000 --idle-report-interval 500ms"})
	var idx json.Number
	var url string
	c.WaitFor(60*time.Second, "a created worker to serve a queued request", func() string {
		body := map[string]any{"endpoint": "proc", "api_key": key, "cost": 100, "replay_timeout": 60.0}
		if idx != "" {
			body["request_idx"] = idx
		}
		code, b := n.Do(http.MethodPost, "/route/", body)
		var a struct {
			URL        string      `json:"url"`
			RequestIdx json.Number `json:"request_idx"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &a) != nil {
			return fmt.Sprintf("route = %d %s", code, b)
		}
		if a.RequestIdx != "" {
			idx = a.RequestIdx
		}
		if a.URL == "" {
			return "queued; workers: " + fmt.Sprint(workersOf(n, ep))
		}
		url = a.URL
		return ""
	})
	ws := workersOf(n, ep)
	if len(ws) != 1 || ws[0].State != "ready" || ws[0].InstanceID == "" || ws[0].URL != url {
		t.Fatalf("workers = %+v, want one ready process worker at %s", ws, url)
	}
	pids := instancePIDs(t, dir, ws[0].InstanceID)
	c.WaitFor(90*time.Second, "the idle worker to be stopped", func() string {
		ws := workersOf(n, ep)
		if len(ws) != 1 || ws[0].State != "stopped" {
			return fmt.Sprintf("workers %+v", ws)
		}
		return ""
	})
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("process %d of the stopped worker still runs", pid)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ws[0].InstanceID, "meta.json")); err != nil {
		t.Errorf("the stopped instance's files are gone: %v", err)
	}
	code, b := n.Do(http.MethodGet, fmt.Sprintf("/v1/decisions?endpoint=%d", ep), nil)
	if code != http.StatusOK || !strings.Contains(string(b), `"kind":"create"`) || !strings.Contains(string(b), `"kind":"stop"`) {
		t.Errorf("decisions = %d %.2000s, want the create and the stop", code, b)
	}
}

// instancePIDs reads the pids a process-provider instance runs.
func instancePIDs(t *testing.T, dir, id string) []int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, id, "meta.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		WorkerPID int `json:"worker_pid"`
		ModelPID  int `json:"model_pid"`
	}
	json.Unmarshal(b, &m)
	if m.WorkerPID == 0 || m.ModelPID == 0 {
		t.Fatalf("meta.json of %s has no pids: %s", id, b)
	}
	return []int{m.WorkerPID, m.ModelPID}
}

// killInstances ends every process the process provider left in dir.
func killInstances(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "meta.json"))
		if err != nil {
			continue
		}
		var m struct {
			WorkerPID int `json:"worker_pid"`
			ModelPID  int `json:"model_pid"`
		}
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for _, pid := range []int{m.WorkerPID, m.ModelPID} {
			if pid > 0 {
				if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err == nil &&
					strings.Contains(string(env), "DROVER_INSTANCE="+e.Name()) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
	}
}

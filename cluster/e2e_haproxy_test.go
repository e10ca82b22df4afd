package cluster_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster/clustertest"
	"github.com/drover-io/drover/worker/fakemodel"
)

// startHAProxy runs deploy/haproxy.cfg (the documented example) in front of
// the cluster's nodes and returns its address. It skips the test when
// haproxy is not installed (make test installs it from Debian).
func startHAProxy(t *testing.T, c *clustertest.Cluster) string {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy; make test installs it when it can)")
	}
	example, err := os.ReadFile(filepath.Join("..", "deploy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := strings.Replace(string(example), "bind :7000", "bind "+addr, 1)
	for i, n := range c.Nodes {
		cfg = strings.ReplaceAll(cfg, fmt.Sprintf("10.0.0.%d:7001", i+1), n.HTTP)
	}
	if strings.Contains(cfg, "10.0.0.") || !strings.Contains(cfg, "bind "+addr) {
		t.Fatalf("deploy/haproxy.cfg no longer has the example addresses this test replaces:\n%s", cfg)
	}
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "haproxy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", path)
	clustertest.DieWithTest(cmd)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("haproxy log (tail):\n%s", tailLines(string(b), 40))
		}
	})
	c.WaitFor(20*time.Second, "haproxy forwarding to a healthy node", func() string {
		resp, err := http.Get("http://" + addr + "/v1/health")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	})
	return addr
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// One stable address in front of the nodes (deploy/haproxy.cfg): workers
// report only to it and clients route only through it, as Vast's PyWorker
// (one REPORT_ADDR) and client (one URL) do. The leader behind it is
// killed: no client request fails, and the workers' reports keep them
// ready (their TTL is shorter than the test).
func TestE2EHAProxyStableAddress(t *testing.T) {
	d := newDataPlane(t, "--worker-ttl=4s")
	lb := startHAProxy(t, d.c)
	for i := range 2 {
		m := httptest.NewServer(fakemodel.New(fakemodel.Config{TokensPerSec: -1}))
		t.Cleanup(m.Close)
		d.c.StartWorkerReportingTo(uint64(801+i), d.token, m.URL, []string{"http://" + lb})
	}
	d.waitReady(t, 2)
	cl, err := client.New(client.Config{Addrs: []string{lb}, Endpoint: d.endpoint, APIKey: d.apiKey, PollMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed, okAfterKill atomic.Int64
	var killed atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pace := time.NewTicker(20 * time.Millisecond) // 4 × 50 requests/s: the shared CPU
			defer pace.Stop()
			for {
				select {
				case <-stop:
					return
				case <-pace.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				_, err := d.send(ctx, cl)
				cancel()
				switch {
				case err != nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				case killed.Load():
					okAfterKill.Add(1)
					fallthrough
				default:
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // traffic before the kill
	leader := d.c.WaitLeader(20 * time.Second)
	leader.Kill()
	killed.Store(true)
	t.Logf("killed the leader %s behind %s", leader.ID, lb)
	// Longer than the workers' TTL: reports lost for that long would make
	// them lost on the survivors.
	deadline := time.Now().Add(10 * time.Second)
	minReady := 2
	for time.Now().Before(deadline) {
		for _, n := range d.c.Running() {
			code, b := n.Do(http.MethodPost, "/get_endpoint_workers/", map[string]any{"id": 1})
			if code == http.StatusOK {
				minReady = min(minReady, strings.Count(string(b), `"status":"Ready"`))
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("through %s: %d requests ok (%d after the kill), %d failed", lb, ok.Load(), okAfterKill.Load(), failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d requests through the stable address failed; first: %v", failed.Load(), firstErr.Load())
	}
	if okAfterKill.Load() < 20 {
		t.Fatalf("only %d requests served after the kill", okAfterKill.Load())
	}
	if minReady < 2 {
		t.Fatalf("a surviving node saw %d ready workers after the kill, want 2 throughout (reports lost)", minReady)
	}
}

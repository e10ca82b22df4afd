package cluster_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/cluster/clustertest"
	"github.com/drover-io/drover/worker/fakemodel"
	"github.com/drover-io/drover/worker/token"
)

// These tests run the data plane end to end: drover agent processes,
// drover worker processes, fake model servers and the Go client.

type dataPlane struct {
	c        *clustertest.Cluster
	endpoint string
	apiKey   string
	token    string // the static group's worker token
	models   []*httptest.Server
}

// newDataPlane starts a 3-node cluster with an endpoint and a static group.
func newDataPlane(t *testing.T, args ...string) *dataPlane {
	t.Helper()
	c := clustertest.Start(t, 3, args...)
	d := &dataPlane{c: c, endpoint: "chat"}
	id := createEndpoint(t, c.Nodes[0], d.endpoint)
	code, b := c.Nodes[1].Do(http.MethodGet, fmt.Sprintf("/api/v0/endptjobs/%d/", id), nil)
	if code != http.StatusOK {
		t.Fatalf("get endpoint = %d %s", code, b)
	}
	d.apiKey = jsonField(t, b, "result", "api_key").(string)
	code, b = c.Nodes[2].Do(http.MethodPost, "/api/v0/workergroups/", map[string]any{"endpoint_name": d.endpoint, "provider": "static"})
	if code != http.StatusOK {
		t.Fatalf("create group = %d %s", code, b)
	}
	d.token = jsonField(t, b, "worker_token").(string)
	return d
}

// startWorkers starts n fake models and a drover worker in front of each.
func (d *dataPlane) startWorkers(t *testing.T, first uint64, n int) []*clustertest.Worker {
	t.Helper()
	var ws []*clustertest.Worker
	for i := 0; i < n; i++ {
		m := httptest.NewServer(fakemodel.New(fakemodel.Config{TokensPerSec: -1}))
		t.Cleanup(m.Close)
		d.models = append(d.models, m)
		ws = append(ws, d.c.StartWorker(first+uint64(i), d.token, m.URL, nil))
	}
	return ws
}

func (d *dataPlane) client(t *testing.T, nodes ...*clustertest.Node) *client.Client {
	t.Helper()
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.HTTP)
	}
	cl, err := client.New(client.Config{Addrs: addrs, Endpoint: d.endpoint, APIKey: d.apiKey, PollMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// waitReady waits until every node routes to all want workers.
func (d *dataPlane) waitReady(t *testing.T, want int) {
	t.Helper()
	d.c.WaitFor(60*time.Second, fmt.Sprintf("%d ready workers on every node", want), func() string {
		for _, n := range d.c.Running() {
			code, b := n.Do(http.MethodPost, "/get_endpoint_workers/", map[string]any{"id": 1})
			if code != http.StatusOK {
				return fmt.Sprintf("%s: %d %s", n.ID, code, b)
			}
			if got := strings.Count(string(b), `"status":"Ready"`); got != want {
				return fmt.Sprintf("%s sees %d ready: %s", n.ID, got, b)
			}
		}
		return ""
	})
}

// send makes one request through cl and returns the route answer.
func (d *dataPlane) send(ctx context.Context, cl *client.Client) (*client.RouteAnswer, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	r, err := cl.Send(ctx, "/v1/completions", map[string]any{"prompt": "hi", "max_tokens": 4}, 100)
	if err != nil {
		return nil, err
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("worker answered %d %s", r.StatusCode, body)
	}
	return r.Route, nil
}

// tokenWorker is the worker id a drover_token names.
func tokenWorker(tok string) uint64 {
	parts := strings.SplitN(tok, ".", 3)
	if len(parts) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(parts[1], 10, 64)
	return id
}

func publicKey(t *testing.T, n *clustertest.Node) *rsa.PublicKey {
	t.Helper()
	code, b := n.Do(http.MethodGet, "/pubkey/", nil)
	block, _ := pem.Decode(b)
	if code != http.StatusOK || block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("/pubkey/ = %d %q", code, b)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PublicKey)
}

// (1) Requests succeed through every node, routes spread across workers,
// and every signature verifies against /pubkey/ with a standard verifier.
func TestE2EDataPlaneEndToEnd(t *testing.T) {
	d := newDataPlane(t)
	d.startWorkers(t, 101, 3)
	d.waitReady(t, 3)
	pub := publicKey(t, d.c.Nodes[0])
	seen := map[uint64]int{}
	for i := 0; i < 30; i++ {
		n := d.c.Nodes[i%3]
		ans, err := d.send(context.Background(), d.client(t, n))
		if err != nil {
			t.Fatalf("request %d through %s: %v", i, n.ID, err)
		}
		digest := sha256.Sum256(token.AppendSignedURL(nil, ans.URL))
		sig, err := base64.StdEncoding.DecodeString(ans.Signature)
		if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
			t.Fatalf("signature of %s from %s does not verify: %v", ans.URL, n.ID, err)
		}
		seen[tokenWorker(ans.DroverToken)]++
	}
	if len(seen) != 3 {
		t.Fatalf("routes went to workers %v, want all 3", seen)
	}
}

// (3) A killed worker is not routed to by any node after the TTL, and is
// routed to again when it comes back.
func TestE2EDeadWorkerLeavesRotation(t *testing.T) {
	d := newDataPlane(t, "--worker-ttl=3s")
	ws := d.startWorkers(t, 201, 2)
	d.waitReady(t, 2)
	victim := ws[0]
	victim.Kill()
	d.c.WaitFor(30*time.Second, "every node stops routing to the dead worker", func() string {
		for _, n := range d.c.Nodes {
			for i := 0; i < 10; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				ans, err := d.client(t, n).Route(ctx, 100)
				cancel()
				if err != nil {
					return fmt.Sprintf("%s: %v", n.ID, err)
				}
				if tokenWorker(ans.DroverToken) == victim.ID {
					return n.ID + " still routes to the dead worker"
				}
			}
		}
		return ""
	})
	victim.Start()
	d.c.WaitFor(30*time.Second, "the worker is routed to again", func() string {
		for i := 0; i < 20; i++ {
			ans, err := d.send(context.Background(), d.client(t, d.c.Nodes[i%3]))
			if err == nil && tokenWorker(ans.DroverToken) == victim.ID {
				return ""
			}
		}
		return "not routed to yet"
	})
}

// (4) kill -9 of a node in the middle of a client's run: zero failed
// requests for that client.
func TestE2EClientSurvivesNodeKill(t *testing.T) {
	d := newDataPlane(t)
	d.startWorkers(t, 301, 2)
	d.waitReady(t, 2)
	cl := d.client(t, d.c.Nodes...)
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				_, err := d.send(ctx, cl)
				cancel()
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	d.c.WaitFor(30*time.Second, "requests flowing", func() string {
		if ok.Load() < 20 {
			return fmt.Sprintf("%d ok", ok.Load())
		}
		return ""
	})
	d.c.Nodes[0].Kill() // the client's first address
	before := ok.Load()
	d.c.WaitFor(30*time.Second, "requests flowing after the kill", func() string {
		if ok.Load() < before+50 {
			return fmt.Sprintf("%d ok since the kill", ok.Load()-before)
		}
		return ""
	})
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed (first: %v)", f, f+ok.Load(), firstErr.Load())
	}
	t.Logf("%d requests, none failed, across kill -9 of %s", ok.Load(), d.c.Nodes[0].ID)
}

// (5) Requests queued while no worker is ready, polled through different
// nodes, are served once a worker becomes ready.
func TestE2EQueuedRequestsServedWhenWorkerReady(t *testing.T) {
	d := newDataPlane(t)
	const queued = 4
	idx := make([]json.Number, queued)
	for i := range idx {
		code, b := routeRaw(t, d, d.c.Nodes[i%3], "")
		if code != http.StatusOK || strings.Contains(string(b), `"url"`) {
			t.Fatalf("first call with no worker = %d %s, want the not-ready form", code, b)
		}
		idx[i] = json.Number(fmt.Sprint(jsonField(t, b, "request_idx")))
	}
	for i := range idx { // poll through another node: still waiting, same index
		if code, b := routeRaw(t, d, d.c.Nodes[(i+1)%3], idx[i]); code != http.StatusOK || strings.Contains(string(b), `"url"`) {
			t.Fatalf("poll = %d %s, want not-ready", code, b)
		}
	}
	d.startWorkers(t, 401, 1)
	served := map[int]bool{}
	d.c.WaitFor(60*time.Second, "queued requests served", func() string {
		for i := range idx {
			if served[i] {
				continue
			}
			code, b := routeRaw(t, d, d.c.Nodes[(i+2)%3], idx[i])
			if code != http.StatusOK {
				return fmt.Sprintf("poll %d: %d %s", i, code, b)
			}
			if strings.Contains(string(b), `"url"`) {
				served[i] = true
			}
		}
		if len(served) < queued {
			return fmt.Sprintf("%d of %d served", len(served), queued)
		}
		return ""
	})
}

// routeRaw posts /route/ to n with an optional request_idx.
func routeRaw(t *testing.T, d *dataPlane, n *clustertest.Node, idx json.Number) (int, []byte) {
	t.Helper()
	body := map[string]any{"endpoint": d.endpoint, "api_key": d.apiKey, "cost": 100, "replay_timeout": 60.0}
	if idx != "" {
		body["request_idx"] = idx
	}
	return n.Do(http.MethodPost, "/route/", body)
}

// (6) A node cut off from its peers keeps routing from its replica and
// reports itself stale.
func TestE2EIsolatedNodeKeepsRouting(t *testing.T) {
	d := newDataPlane(t, "--stale-after=2s", "--worker-ttl=60s")
	d.startWorkers(t, 501, 2)
	d.waitReady(t, 2)
	alone := d.c.Nodes[2]
	d.c.Nodes[0].Kill()
	d.c.Nodes[1].Kill()
	d.c.WaitFor(20*time.Second, "isolated node reports stale", func() string {
		s, ok := alone.Status()
		if !ok || !s.Stale {
			return fmt.Sprintf("status %+v", s)
		}
		return ""
	})
	for i := 0; i < 10; i++ {
		if _, err := d.send(context.Background(), d.client(t, alone)); err != nil {
			t.Fatalf("request %d through the isolated node: %v", i, err)
		}
	}
	code, b := alone.Do(http.MethodGet, "/metrics", nil)
	if code != http.StatusOK || !strings.Contains(string(b), "drover_raft_stale 1") {
		t.Fatalf("/metrics of the isolated node = %d, want drover_raft_stale 1:\n%.2000s", code, b)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/edge"
	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/transport/pki"
	"github.com/valyala/fasthttp"
)

// The data-plane benchmarks run a real 3-node cluster in this process:
// three startAgent calls on 127.0.0.1:0 ports, each edge served on its
// listener, and simulated workers that are nothing but /worker_status/
// bodies. Knobs (environment, all optional):
//
//	DROVER_BENCH_DURATION      /route/ and bare load window (3s)
//	DROVER_BENCH_CONC          concurrent load-generator goroutines (32)
//	DROVER_BENCH_VIS_DURATION  report-visibility load window (10s)
//	DROVER_BENCH_VIS_WORKERS   workers reporting at 1 Hz (5000)
//	DROVER_BENCH_TTL           --worker-ttl of the dead-worker benchmark (3s)
//	DROVER_BENCH_LOG           node log level to stderr (default: none)

// benchEnvDuration reads a duration knob.
func benchEnvDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		tb.Fatalf("%s=%q: want a positive duration", name, s)
	}
	return d
}

// benchEnvInt reads an integer knob.
func benchEnvInt(tb testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return n
}

// benchNode is one in-process node: the cluster node, its edge server and
// a keep-alive client to that edge.
type benchNode struct {
	node   *cluster.Node
	srv    *edge.Server
	addr   string // edge host:port
	client *fasthttp.HostClient
	served chan struct{} // closed when Serve returned
}

// benchCluster is a 3-node cluster with one endpoint and one static group.
type benchCluster struct {
	tb       testing.TB
	nodes    []*benchNode
	admin    string // admin token
	endpoint string
	apiKey   string
	epID     uint64
	groupID  uint64
	wtoken   string        // the static group's worker_token
	seq      atomic.Uint64 // drover_seq of simulated reports (unique, increasing)
	rounds   sync.Mutex    // held by a keep-alive round
}

// startBenchCluster starts three nodes with --bootstrap-expect 3 (the
// second and third --join the first), waits for a leader seen by all and
// creates the endpoint "bench" with a static group through the console
// API. extra flags go to every node. Everything is shut down by Cleanup.
func startBenchCluster(tb testing.TB, extra ...string) *benchCluster {
	tb.Helper()
	dir := tb.TempDir()
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	c := &benchCluster{tb: tb, admin: hex.EncodeToString(tok[:]), endpoint: "bench"}
	tokFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokFile, []byte(c.admin), 0o600); err != nil {
		tb.Fatal(err)
	}
	// Quiet by default: a shutdown in parallel logs harmless raft errors.
	level, logger := "error", slog.New(slog.DiscardHandler)
	if l := os.Getenv("DROVER_BENCH_LOG"); l != "" {
		var err error
		if logger, err = newLogger(os.Stderr, l); err != nil {
			tb.Fatal(err)
		}
		level = l
	}
	tb.Cleanup(c.close)
	kit, err := pki.NewKit(filepath.Join(dir, "pki"), "")
	if err != nil {
		tb.Fatal(err)
	}
	join := ""
	for i := 1; i <= 3; i++ {
		args := []string{fmt.Sprintf("--id=bench%d", i), "--data-dir=" + filepath.Join(dir, fmt.Sprintf("n%d", i)),
			"--http=127.0.0.1:0", "--cluster=127.0.0.1:0", "--gossip=127.0.0.1:0",
			"--bootstrap-expect=3", "--admin-token-file=" + tokFile, "--log-level=" + level}
		if join != "" {
			args = append(args, "--join="+join)
		}
		secure, err := kit.AgentArgs(fmt.Sprintf("bench%d", i))
		if err != nil {
			tb.Fatal(err)
		}
		args = append(args, secure...)
		ac, err := parseAgentArgs(append(args, extra...), io.Discard)
		if err != nil {
			tb.Fatalf("node %d flags: %v", i, err)
		}
		node, srv, ln, err := startAgent(ac, logger.With("node", i))
		if err != nil {
			tb.Fatalf("start node %d: %v", i, err)
		}
		n := &benchNode{node: node, srv: srv, addr: ln.Addr().String(), served: make(chan struct{})}
		n.client = &fasthttp.HostClient{Addr: n.addr, MaxConns: 512, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
		go func() { defer close(n.served); _ = srv.Serve(ln) }()
		c.nodes = append(c.nodes, n)
		if join == "" {
			join = node.GossipAddr()
		}
	}
	c.waitFor(60*time.Second, "a leader seen by all three nodes, caught up", c.leaderProblem)
	c.createEndpoint()
	return c
}

// leaderProblem is "" once every node sees the same leader and 3 voters.
func (c *benchCluster) leaderProblem() string {
	leader := ""
	for i, n := range c.nodes {
		st := n.node.Status()
		switch {
		case st.Leader == "":
			return fmt.Sprintf("node %d sees no leader", i+1)
		case leader != "" && st.Leader != leader:
			return "nodes disagree on the leader"
		case len(st.Voters) != 3:
			return fmt.Sprintf("node %d sees %d voters", i+1, len(st.Voters))
		case !n.node.CaughtUp():
			return fmt.Sprintf("node %d not caught up", i+1)
		}
		leader = st.Leader
	}
	return ""
}

// close shuts every edge and node down, in parallel (a leader hands over
// first), and closes the clients.
func (c *benchCluster) close() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = n.srv.Shutdown()
			<-n.served
			if err := n.node.Shutdown(); err != nil {
				c.tb.Logf("node shutdown: %v", err)
			}
			n.client.CloseIdleConnections()
		}()
	}
	wg.Wait()
}

// waitFor polls problem every 50 ms until it returns "" or timeout passes.
func (c *benchCluster) waitFor(timeout time.Duration, what string, problem func() string) {
	c.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p := problem()
		if p == "" {
			return
		}
		if time.Now().After(deadline) {
			c.tb.Fatalf("waited %v for %s: %s", timeout, what, p)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// console sends one console API call to node 1 and decodes the answer.
func (c *benchCluster) console(method, path string, body, out any) {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+c.nodes[0].addr+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		c.tb.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		c.tb.Fatalf("%s %s answer %s: %v", method, path, b, err)
	}
}

// createEndpoint creates the endpoint and its static group.
func (c *benchCluster) createEndpoint() {
	var ep struct {
		Result uint64 `json:"result"`
	}
	c.console(http.MethodPost, "/api/v0/endptjobs/", map[string]any{"endpoint_name": c.endpoint}, &ep)
	c.epID = ep.Result
	var got struct {
		Result struct {
			APIKey string `json:"api_key"`
		} `json:"result"`
	}
	c.console(http.MethodGet, fmt.Sprintf("/api/v0/endptjobs/%d/", c.epID), nil, &got)
	c.apiKey = got.Result.APIKey
	var g struct {
		ID          uint64 `json:"id"`
		WorkerToken string `json:"worker_token"`
	}
	c.console(http.MethodPost, "/api/v0/workergroups/", map[string]any{"endpoint_name": c.endpoint, "provider": "static"}, &g)
	c.groupID, c.wtoken = g.ID, g.WorkerToken
	if c.epID == 0 || c.apiKey == "" || c.groupID == 0 || c.wtoken == "" {
		c.tb.Fatalf("endpoint %d key %q group %d token %q: something missing", c.epID, c.apiKey, c.groupID, c.wtoken)
	}
}

// benchMaxPerf is the simulated workers' max_perf: large, so routed load
// never pushes a worker past max_queue_time.
const benchMaxPerf = 1e9

// workerURL is the (never dialled) URL of simulated worker id.
func workerURL(id uint64) string {
	return "http://127.0.0.1:" + strconv.FormatUint(10000+id%50000, 10)
}

// appendReport appends a loaded worker's /worker_status/ body with the
// spec's 17 fields plus drover_seq; curLoad is the report's marker.
func (c *benchCluster) appendReport(b []byte, id uint64, curLoad float64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, `,"mtoken":"`...)
	b = append(b, c.wtoken...)
	b = append(b, `","version":"1.1.0","loadtime":1.5,"new_load":0,"cur_load":`...)
	b = strconv.AppendFloat(b, curLoad, 'f', -1, 64)
	b = append(b, `,"rej_load":0,"max_perf":`...)
	b = strconv.AppendFloat(b, benchMaxPerf, 'f', -1, 64)
	b = append(b, `,"cur_perf":0,"error_msg":"","num_requests_working":0,"num_requests_recieved":0,`+
		`"additional_disk_usage":0,"working_request_idxs":[],"cur_capacity":0,"max_capacity":0,"url":"`...)
	b = append(b, workerURL(id)...)
	b = append(b, `","drover_seq":`...)
	b = strconv.AppendUint(b, c.seq.Add(1), 10)
	return append(b, '}')
}

// report posts one report of worker id to node n.
func (c *benchCluster) report(n *benchNode, id uint64, curLoad float64) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + n.addr + "/worker_status/")
	req.SetBodyRaw(c.appendReport(make([]byte, 0, 512), id, curLoad))
	if err := n.client.Do(req, resp); err != nil {
		return err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("worker %d report = %d %s", id, resp.StatusCode(), resp.Body())
	}
	return nil
}

// reportAll reports every worker of ids once (node by id), from conc
// goroutines, retrying a failed report (a registration waiting for the
// leader) until deadline.
func (c *benchCluster) reportAll(ids []uint64, conc int, deadline time.Time) error {
	var next atomic.Int64
	errs := make(chan error, conc)
	for range conc {
		go func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(ids)) {
					errs <- nil
					return
				}
				id := ids[i]
				for {
					err := c.report(c.nodes[id%3], id, 0)
					if err == nil {
						break
					}
					if time.Now().After(deadline) {
						errs <- err
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	var first error
	for range conc {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// workerIDs is 1…n.
func workerIDs(n int) []uint64 {
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	return ids
}

// readyIn counts the group's ready workers in v.
func (c *benchCluster) readyIn(v *fsm.View) int {
	n := 0
	for _, w := range v.Workers {
		if w.GroupID == c.groupID && w.State == fsm.WorkerReady {
			n++
		}
	}
	return n
}

// states counts the group's workers by state in v.
func (c *benchCluster) states(v *fsm.View) map[string]int {
	m := map[string]int{}
	for _, w := range v.Workers {
		if w.GroupID == c.groupID {
			m[w.State]++
		}
	}
	return m
}

// startWorkers registers workers 1…n through /worker_status/ (spread over
// the nodes) and re-reports them every round, as live workers do, until
// every node's View has all n ready.
func (c *benchCluster) startWorkers(n int) {
	c.tb.Helper()
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	ids := workerIDs(n)
	problem := func() string {
		for i, nd := range c.nodes {
			if got := c.readyIn(nd.node.View()); got != n {
				return fmt.Sprintf("node %d sees %d ready (states %v)", i+1, got, c.states(nd.node.View()))
			}
		}
		return ""
	}
	for {
		if err := c.reportAll(ids, 32, deadline); err != nil {
			c.tb.Fatalf("registering %d workers: %v", n, err)
		}
		round := time.Now().Add(3 * time.Second)
		p := problem()
		for ; p != "" && time.Now().Before(round); p = problem() {
			time.Sleep(50 * time.Millisecond)
		}
		if p != "" {
			c.tb.Logf("after %v, not all ready yet (re-reporting): %s", time.Since(start).Round(time.Millisecond), p)
		} else {
			c.tb.Logf("%d workers ready on every node after %v", n, time.Since(start).Round(time.Millisecond))
			return
		}
		if p != "" && time.Now().After(deadline) {
			c.tb.Fatalf("waited %v for %d ready workers on every node: %s", time.Since(start), n, p)
		}
	}
}

// keepAlive re-reports the workers ids() returns every period (cur_load
// 0), spread over the nodes, until the returned stop is called. A round
// holds c.rounds, so a caller holding it knows no round is reporting.
func (c *benchCluster) keepAlive(ids func() []uint64, period time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.rounds.Lock()
				if err := c.reportAll(ids(), 4, time.Now().Add(period)); err != nil {
					c.tb.Logf("keep-alive report: %v", err)
				}
				c.rounds.Unlock()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// loadResult is what one closed-loop load run measured.
type loadResult struct {
	n, errs int
	elapsed time.Duration
	lat     []time.Duration // sorted
	lastErr string
}

func (r loadResult) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// add merges o into r (latencies re-sorted).
func (r *loadResult) add(o loadResult) {
	r.n += o.n
	r.errs += o.errs
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
	slices.Sort(r.lat)
	if o.lastErr != "" {
		r.lastErr = o.lastErr
	}
}

// pct is the p-th percentile (0 < p ≤ 1) of the sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// runLoad posts body to http://addr/path from conc goroutines (one
// keep-alive connection each) back to back for d, recording every
// latency. An answer counts only when it is 200 and has a worker url.
func runLoad(addr, path string, body []byte, conc int, d time.Duration) loadResult {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conc, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	want := []byte(`"url":"http`)
	lats := make([][]time.Duration, conc)
	errs := make([]int, conc)
	var lastErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(d)
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI("http://" + addr + path)
			req.SetBodyRaw(body)
			l := make([]time.Duration, 0, 1<<16)
			for {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := client.Do(req, resp)
				if err != nil || resp.StatusCode() != fasthttp.StatusOK || !bytes.Contains(resp.Body(), want) {
					errs[g]++
					lastErr.Store(fmt.Sprintf("%v %d %.200s", err, resp.StatusCode(), resp.Body()))
					continue
				}
				l = append(l, time.Since(t0))
			}
			lats[g] = l
		}()
	}
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), lat: slices.Concat(lats...)}
	slices.Sort(r.lat)
	r.n = len(r.lat)
	for _, e := range errs {
		r.errs += e
	}
	if s, ok := lastErr.Load().(string); ok {
		r.lastErr = s
	}
	return r
}

// routeBody is a /route/ request for the bench endpoint.
func (c *benchCluster) routeBody() []byte {
	return []byte(`{"endpoint":"` + c.endpoint + `","api_key":"` + c.apiKey + `","cost":100}`)
}

// routeOnce posts one /route/ to n and returns the answer's url ("" for
// the not-ready form).
func (c *benchCluster) routeOnce(client *fasthttp.HostClient, n *benchNode) (string, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + n.addr + "/route/")
	req.SetBodyRaw(c.routeBody())
	if err := client.Do(req, resp); err != nil {
		return "", err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return "", fmt.Errorf("route = %d %s", resp.StatusCode(), resp.Body())
	}
	var a struct {
		URL string `json:"url"`
	}
	if err := json.Unmarshal(resp.Body(), &a); err != nil {
		return "", fmt.Errorf("route answer %s: %v", resp.Body(), err)
	}
	return a.URL, nil
}

// follower returns a node that is not the leader.
func (c *benchCluster) follower() *benchNode {
	for _, n := range c.nodes {
		if n.node.Status().State == "follower" {
			return n
		}
	}
	c.tb.Fatal("no follower")
	return nil
}

package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// Data-plane benchmarks of issue 3 (`make bench`), each on a real 3-node
// cluster started in this process (see bench_dataplane_helpers_test.go).
// Each does its whole measurement once per b.N (time windows, not
// iterations): run them with -benchtime 1x. Figures are b.ReportMetric
// values; ns/op is only the wall time of the measurement.

// skipShort skips the cluster benchmarks under -short.
func skipShort(tb testing.TB) {
	if testing.Short() {
		tb.Skip("starts a 3-node cluster: skipped with -short")
	}
}

// BenchmarkRouteVsBare: /route/ on one follower of a 3-node cluster with
// 1,000 ready workers, next to a bare fasthttp handler answering a
// constant body of the same size, with the same closed-loop load
// generator (DROVER_BENCH_CONC goroutines, one connection each, for
// DROVER_BENCH_DURATION per side, in alternating 500 ms slices).
func BenchmarkRouteVsBare(b *testing.B) {
	skipShort(b)
	const workers = 1000
	conc := benchEnvInt(b, "DROVER_BENCH_CONC", 32)
	window := benchEnvDuration(b, "DROVER_BENCH_DURATION", 3*time.Second)
	c := startBenchCluster(b)
	c.startWorkers(workers)
	ids := workerIDs(workers)
	b.Cleanup(c.keepAlive(func() []uint64 { return ids }, 5*time.Second)) // default TTL 30 s
	n := c.follower()
	body := c.routeBody()

	client := &fasthttp.HostClient{Addr: n.addr}
	defer client.CloseIdleConnections()
	answer := sampleAnswer(b, client, n.addr, body)
	bareAddr := startBare(b, answer)
	// Warm up: every worker URL signed and every token key derived once,
	// as on a node that has been routing for a while.
	runLoad(n.addr, "/route/", body, conc, time.Second)
	runLoad(bareAddr, "/route/", body, conc, 300*time.Millisecond)

	b.Run(fmt.Sprintf("workers=%d/conc=%d", workers, conc), func(b *testing.B) {
		// Alternate route and bare slices, so that the other load on a
		// shared machine falls on both alike.
		rounds := max(1, int(window*time.Duration(b.N)/benchSlice))
		var route, bare loadResult
		for range rounds {
			route.add(runLoad(n.addr, "/route/", body, conc, benchSlice))
			bare.add(runLoad(bareAddr, "/route/", body, conc, benchSlice))
		}
		for name, r := range map[string]loadResult{"route": route, "bare": bare} {
			if r.errs > 0 || r.n == 0 {
				b.Errorf("%s: %d ok, %d failed (last: %s)", name, r.n, r.errs, r.lastErr)
			}
		}
		b.ReportMetric(route.rate(), "route-req/s")
		b.ReportMetric(msOf(pct(route.lat, .5)), "route-p50-ms")
		b.ReportMetric(msOf(pct(route.lat, .99)), "route-p99-ms")
		b.ReportMetric(bare.rate(), "bare-req/s")
		b.ReportMetric(msOf(pct(bare.lat, .5)), "bare-p50-ms")
		b.ReportMetric(msOf(pct(bare.lat, .99)), "bare-p99-ms")
		b.ReportMetric(route.rate()/bare.rate(), "route/bare")
		b.ReportMetric(float64(len(answer)), "answer-bytes")
	})
}

// benchSlice is the length of one route or bare load slice.
const benchSlice = 500 * time.Millisecond

// sampleAnswer is one /route/ answer (ready, with a url) of the node.
func sampleAnswer(b *testing.B, client *fasthttp.HostClient, addr string, body []byte) []byte {
	b.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("http://" + addr + "/route/")
	req.SetBodyRaw(body)
	if err := client.Do(req, resp); err != nil || resp.StatusCode() != fasthttp.StatusOK {
		b.Fatalf("route = %d %s (%v)", resp.StatusCode(), resp.Body(), err)
	}
	return append([]byte(nil), resp.Body()...)
}

// startBare serves a constant JSON body on 127.0.0.1:0 until Cleanup.
func startBare(b *testing.B, answer []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ct := []byte("application/json")
	srv := &fasthttp.Server{Name: "drover", NoDefaultContentType: true, CloseOnShutdown: true,
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.Response.Header.SetContentTypeBytes(ct)
			ctx.SetBody(answer)
		}}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	b.Cleanup(func() { _ = srv.Shutdown(); <-done })
	return ln.Addr().String()
}

// BenchmarkReportVisibility: DROVER_BENCH_VIS_WORKERS workers (5,000)
// reporting at 1 Hz each, spread over the three nodes, for
// DROVER_BENCH_VIS_DURATION; for a sample of the reports, the time from
// the POST's start until every node's overlay shows its cur_load marker.
func BenchmarkReportVisibility(b *testing.B) {
	skipShort(b)
	workers := benchEnvInt(b, "DROVER_BENCH_VIS_WORKERS", 5000)
	window := benchEnvDuration(b, "DROVER_BENCH_VIS_DURATION", 10*time.Second)
	c := startBenchCluster(b)
	c.startWorkers(workers)
	b.Run(fmt.Sprintf("workers=%d/rate=1Hz", workers), func(b *testing.B) {
		r := c.measureVisibility(workers, window*time.Duration(b.N))
		if len(r.lat) == 0 {
			b.Fatalf("no sample became visible (%d unseen, %d failed reports: %s)", r.unseen, r.failed, r.lastErr)
		}
		if r.failed > 0 {
			b.Errorf("%d reports failed (last: %s)", r.failed, r.lastErr)
		}
		b.ReportMetric(msOf(pct(r.lat, .5)), "p50-ms")
		b.ReportMetric(msOf(pct(r.lat, .99)), "p99-ms")
		b.ReportMetric(msOf(r.lat[len(r.lat)-1]), "max-ms")
		b.ReportMetric(r.rate, "reports/s")
		b.ReportMetric(float64(workers), "target-reports/s")
		b.ReportMetric(float64(len(r.lat)), "samples")
		b.ReportMetric(float64(r.unseen), "unseen")
	})
}

// visResult is what measureVisibility measured.
type visResult struct {
	lat            []time.Duration // sorted, of the samples seen on every node
	unseen, failed int
	rate           float64 // reports/s answered 200
	lastErr        string
}

// Visibility load shape.
const (
	visSenders     = 64                     // concurrent report POSTs at most
	visSampleEvery = 25                     // every 25th report is timed
	visGiveUp      = 10 * time.Second       // a sample not visible by then is unseen
	visPacerTick   = 5 * time.Millisecond   // the pacer releases reports this often
	visPollEvery   = 500 * time.Microsecond // overlay polling period
)

// visSample is a timed report: worker id, its cur_load marker, POST start.
type visSample struct {
	id     uint64
	marker float64
	start  time.Time
}

// measureVisibility sends workers reports/s (worker k%workers+1, node k%3,
// cur_load marker k+1) from a pacer through visSenders goroutines for d,
// and times every visSampleEvery-th report until all overlays show it.
func (c *benchCluster) measureVisibility(workers int, d time.Duration) visResult {
	var (
		res     visResult
		mu      sync.Mutex
		pending []visSample
		okN     atomic.Int64
		failN   atomic.Int64
		lastErr atomic.Value
	)
	jobs := make(chan uint64, visSenders)
	var senders sync.WaitGroup
	for range visSenders {
		senders.Add(1)
		go func() {
			defer senders.Done()
			for k := range jobs {
				id, marker := k%uint64(workers)+1, float64(k+1)
				start := time.Now()
				if err := c.report(c.nodes[k%3], id, marker); err != nil {
					failN.Add(1)
					lastErr.Store(err.Error())
					continue
				}
				okN.Add(1)
				if k%visSampleEvery == 0 {
					mu.Lock()
					pending = append(pending, visSample{id, marker, start})
					mu.Unlock()
				}
			}
		}()
	}
	pollCtx, stopPoll := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		c.pollVisibility(pollCtx, &mu, &pending, &res)
	}()
	start := time.Now()
	c.pace(jobs, workers, start, d)
	close(jobs)
	senders.Wait()
	elapsed := time.Since(start)
	drainSamples(&mu, &pending)
	stopPoll()
	<-polled
	res.unseen += len(pending)
	res.failed = int(failN.Load())
	res.rate = float64(okN.Load()) / elapsed.Seconds()
	if s, ok := lastErr.Load().(string); ok {
		res.lastErr = s
	}
	slices.Sort(res.lat)
	return res
}

// drainSamples waits until no sample is pending or visGiveUp passed.
func drainSamples(mu *sync.Mutex, pending *[]visSample) {
	deadline := time.Now().Add(visGiveUp)
	for time.Now().Before(deadline) {
		mu.Lock()
		left := len(*pending)
		mu.Unlock()
		if left == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pace releases report k at start + k/rate for d (rate = workers per
// second); a send blocks when every sender is busy, so a machine that
// cannot keep up shows in the achieved rate.
func (c *benchCluster) pace(jobs chan<- uint64, rate int, start time.Time, d time.Duration) {
	var k uint64
	t := time.NewTicker(visPacerTick)
	defer t.Stop()
	for now := range t.C {
		el := now.Sub(start)
		if el >= d {
			return
		}
		due := uint64(el.Seconds() * float64(rate))
		for ; k < due; k++ {
			jobs <- k
		}
	}
}

// pollVisibility moves each pending sample that every node's overlay shows
// (cur_load ≥ its marker: markers grow per worker) into res.lat, and
// counts as unseen those older than visGiveUp, until ctx ends.
func (c *benchCluster) pollVisibility(ctx context.Context, mu *sync.Mutex, pending *[]visSample, res *visResult) {
	for ctx.Err() == nil {
		time.Sleep(visPollEvery)
		now := time.Now()
		mu.Lock()
		keep := (*pending)[:0]
		for _, s := range *pending {
			switch {
			case c.visibleEverywhere(s.id, s.marker):
				res.lat = append(res.lat, now.Sub(s.start))
			case now.Sub(s.start) > visGiveUp:
				res.unseen++
			default:
				keep = append(keep, s)
			}
		}
		*pending = keep
		mu.Unlock()
	}
}

// visibleEverywhere reports whether every node's overlay has worker id at
// a cur_load of at least marker.
func (c *benchCluster) visibleEverywhere(id uint64, marker float64) bool {
	for _, n := range c.nodes {
		if l := n.node.Overlay().Load(id); l == nil || l.CurLoad < marker {
			return false
		}
	}
	return true
}

// BenchmarkDeadWorkerStopsRouting: workers report every second under a
// short --worker-ttl (DROVER_BENCH_TTL, 3 s); one stops. Measured from its
// last report: when every node's View shows it no longer ready, and the
// last time any node's /route/ answered its url (each node is routed to
// every few ms). A route to it after its state changed on that node fails
// the benchmark.
func BenchmarkDeadWorkerStopsRouting(b *testing.B) {
	skipShort(b)
	const workers = 16
	ttl := benchEnvDuration(b, "DROVER_BENCH_TTL", 3*time.Second)
	c := startBenchCluster(b, "--worker-ttl="+ttl.String())
	c.startWorkers(workers)
	var deadMu sync.Mutex
	dead := map[uint64]bool{}
	alive := func() []uint64 {
		deadMu.Lock()
		defer deadMu.Unlock()
		var out []uint64
		for _, id := range workerIDs(workers) {
			if !dead[id] {
				out = append(out, id)
			}
		}
		return out
	}
	b.Cleanup(c.keepAlive(alive, time.Second))
	victim := uint64(workers)
	b.Run(fmt.Sprintf("workers=%d/ttl=%s", workers, ttl), func(b *testing.B) {
		var stopS, routeS []float64
		for range b.N {
			if victim <= workers/2 {
				b.Fatal("out of victims: run with -benchtime 1x")
			}
			kill := func() {
				deadMu.Lock()
				dead[victim] = true
				deadMu.Unlock()
			}
			s, r := c.measureDeath(b, victim, kill, ttl)
			stopS, routeS = append(stopS, s), append(routeS, r)
			victim--
		}
		b.ReportMetric(slices.Max(stopS), "stopped-everywhere-s")
		b.ReportMetric(slices.Max(routeS), "last-route-s")
		b.ReportMetric(ttl.Seconds(), "ttl-s")
		b.ReportMetric(slices.Max(stopS)-ttl.Seconds(), "after-ttl-s")
	})
}

// deathWatch is what measureDeath records per node (unix nanos).
type deathWatch struct {
	flipped   atomic.Int64 // first time the View showed the victim not ready
	lastRoute atomic.Int64 // last time /route/ answered the victim's url
	bad       atomic.Int64 // routes to the victim after flipped
	routes    atomic.Int64
	err       atomic.Value
}

// measureDeath stops worker victim (kill removes it from the keep-alive,
// under the keep-alive's round lock, then its last report is sent) and
// returns the seconds from that last report until every node's View shows
// it not ready (and no node routes to it), and until the last route to it.
func (c *benchCluster) measureDeath(b *testing.B, victim uint64, kill func(), ttl time.Duration) (stopped, lastRoute float64) {
	b.Helper()
	c.rounds.Lock()
	kill()
	last := time.Now()
	err := c.report(c.nodes[0], victim, 0)
	c.rounds.Unlock()
	if err != nil {
		b.Fatalf("last report: %v", err)
	}
	watch := make([]deathWatch, len(c.nodes))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); c.routeWatch(ctx, n, victim, &watch[i]) }()
	}
	deadline := last.Add(ttl + 30*time.Second)
	for !c.allFlipped(victim, watch) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Second) // keep routing: no node may pick it any more
	cancel()
	wg.Wait()
	var end, lastR int64
	for i := range watch {
		w := &watch[i]
		if e, ok := w.err.Load().(string); ok {
			b.Errorf("node %d: route: %s", i+1, e)
		}
		if w.flipped.Load() == 0 {
			b.Fatalf("node %d still has worker %d ready %v after its last report", i+1, victim, time.Since(last))
		}
		if w.bad.Load() > 0 {
			b.Errorf("node %d routed %d requests to worker %d after it was no longer ready", i+1, w.bad.Load(), victim)
		}
		if w.routes.Load() == 0 {
			b.Errorf("node %d answered no route", i+1)
		}
		end = max(end, w.flipped.Load(), w.lastRoute.Load())
		lastR = max(lastR, w.lastRoute.Load())
	}
	stopped = float64(end-last.UnixNano()) / 1e9
	if lastR > 0 {
		lastRoute = float64(lastR-last.UnixNano()) / 1e9
	}
	return stopped, lastRoute
}

// allFlipped stamps, per node, the first time its View shows the victim
// not ready and reports whether all do.
func (c *benchCluster) allFlipped(victim uint64, watch []deathWatch) bool {
	all := true
	for i, n := range c.nodes {
		if watch[i].flipped.Load() != 0 {
			continue
		}
		if w := n.node.View().Workers[victim]; w == nil || w.State != fsm.WorkerReady {
			watch[i].flipped.Store(time.Now().UnixNano())
			continue
		}
		all = false
	}
	return all
}

// routeWatch routes through n every 2 ms until ctx ends, stamping answers
// naming the victim's url; such an answer to a request sent when the
// node's View already showed the victim not ready is counted as bad.
func (c *benchCluster) routeWatch(ctx context.Context, n *benchNode, victim uint64, w *deathWatch) {
	url := workerURL(victim)
	client := &fasthttp.HostClient{Addr: n.addr, MaxConns: 1}
	defer client.CloseIdleConnections()
	for ctx.Err() == nil {
		vw := n.node.View().Workers[victim]
		gone := vw == nil || vw.State != fsm.WorkerReady
		got, err := c.routeOnce(client, n)
		switch {
		case err != nil:
			w.err.Store(err.Error())
		case got == url:
			w.lastRoute.Store(time.Now().UnixNano())
			if gone {
				w.bad.Add(1)
			}
		}
		w.routes.Add(1)
		time.Sleep(2 * time.Millisecond)
	}
}

// TestDataPlaneBenchSmoke runs the benchmarks' machinery at toy size: a
// 3-node cluster, 3 workers, a short /route/ load on a follower, and one
// report timed until every overlay shows it.
func TestDataPlaneBenchSmoke(t *testing.T) {
	skipShort(t)
	c := startBenchCluster(t)
	c.startWorkers(3)
	r := runLoad(c.follower().addr, "/route/", c.routeBody(), 2, 200*time.Millisecond)
	if r.errs > 0 || r.n == 0 {
		t.Fatalf("route load: %d ok, %d failed (last: %s)", r.n, r.errs, r.lastErr)
	}
	v := c.measureVisibility(3, 1500*time.Millisecond)
	if len(v.lat) == 0 || v.unseen > 0 || v.failed > 0 {
		t.Fatalf("visibility: %d seen, %d unseen, %d failed (%s)", len(v.lat), v.unseen, v.failed, v.lastErr)
	}
}

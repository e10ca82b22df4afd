package main

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// BenchmarkRouteUnderQueueFlood: /route/ of a served endpoint on one node
// of a 3-node cluster, first alone, then while another endpoint (no
// workers) holds DROVER_BENCH_HELD requests (default 100,000; the node runs
// with --queue-cap above it) and a flood of new ones keeps arriving on that
// node. Before the per-endpoint queues, 100k held requests cut a node to
// 306 req/s and took the other endpoint's /route/ from p99 1.5 ms to 333 ms.
// Run with -benchtime 1x.
func BenchmarkRouteUnderQueueFlood(b *testing.B) {
	skipShort(b)
	held := benchEnvInt(b, "DROVER_BENCH_HELD", 100_000)
	conc := benchEnvInt(b, "DROVER_BENCH_CONC", 16)
	window := benchEnvDuration(b, "DROVER_BENCH_DURATION", 3*time.Second)
	c := startBenchCluster(b, fmt.Sprintf("--queue-cap=%d", held+held/2))
	c.startWorkers(10)
	ids := workerIDs(10)
	b.Cleanup(c.keepAlive(func() []uint64 { return ids }, 5*time.Second))
	var ep struct {
		Result uint64 `json:"result"`
	}
	c.console(http.MethodPost, "/api/v0/endptjobs/", map[string]any{"endpoint_name": "flood"}, &ep)
	var got struct {
		Result struct {
			APIKey string `json:"api_key"`
		} `json:"result"`
	}
	c.console(http.MethodGet, fmt.Sprintf("/api/v0/endptjobs/%d/", ep.Result), nil, &got)
	floodBody := []byte(`{"endpoint":"flood","api_key":"` + got.Result.APIKey + `","cost":100,"replay_timeout":60.0}`)
	n := c.follower()
	body := c.routeBody()
	runLoad(n.addr, "/route/", body, conc, time.Second) // warm up

	b.Run(fmt.Sprintf("held=%d/conc=%d", held, conc), func(b *testing.B) {
		alone := runLoad(n.addr, "/route/", body, conc, window)
		start := time.Now()
		if sent := flood(n.addr, floodBody, held, 32, nil); sent != held {
			b.Fatalf("flood: %d of %d held", sent, held)
		}
		fill := time.Since(start)
		stop := make(chan struct{})
		var more atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); more.Store(int64(flood(n.addr, floodBody, 1<<30, 8, stop))) }()
		during := runLoad(n.addr, "/route/", body, conc, window)
		close(stop)
		wg.Wait()
		for name, r := range map[string]loadResult{"alone": alone, "during": during} {
			if r.errs > 0 || r.n == 0 {
				b.Errorf("%s: %d ok, %d failed (last: %s)", name, r.n, r.errs, r.lastErr)
			}
		}
		b.ReportMetric(float64(held)/fill.Seconds(), "fill-req/s")
		b.ReportMetric(float64(more.Load())/window.Seconds(), "flood-req/s")
		b.ReportMetric(alone.rate(), "alone-req/s")
		b.ReportMetric(msOf(pct(alone.lat, .5)), "alone-p50-ms")
		b.ReportMetric(msOf(pct(alone.lat, .99)), "alone-p99-ms")
		b.ReportMetric(during.rate(), "during-req/s")
		b.ReportMetric(msOf(pct(during.lat, .5)), "during-p50-ms")
		b.ReportMetric(msOf(pct(during.lat, .99)), "during-p99-ms")
	})
}

// flood posts up to total new /route/ requests (each held: the endpoint
// has no worker) from conc connections until stop closes; it returns how
// many were answered 200 not-ready.
func flood(addr string, body []byte, total, conc int, stop <-chan struct{}) int {
	client := &fasthttp.HostClient{Addr: addr, MaxConns: conc, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var left, ok atomic.Int64
	left.Store(int64(total))
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.Header.SetMethod(fasthttp.MethodPost)
			req.SetRequestURI("http://" + addr + "/route/")
			req.SetBodyRaw(body)
			for left.Add(-1) >= 0 {
				select {
				case <-stop:
					return
				default:
				}
				if client.Do(req, resp) == nil && resp.StatusCode() == fasthttp.StatusOK {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

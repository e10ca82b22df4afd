package worker

import (
	"bytes"
	"encoding/json"
	"net"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/fakemodel"
	"github.com/drover-io/drover/worker/workertest"
)

// The spec's 17 fields plus drover_seq, and whether each is an integer
// ("int"), a float written as one ("float"), a string or a list.
var reportTypes = map[string]string{
	"id": "int", "mtoken": "string", "version": "string", "loadtime": "float", "new_load": "float",
	"cur_load": "float", "rej_load": "float", "max_perf": "float", "cur_perf": "float",
	"error_msg": "string", "num_requests_working": "int", "num_requests_recieved": "int",
	"additional_disk_usage": "float", "working_request_idxs": "list", "cur_capacity": "int",
	"max_capacity": "int", "url": "string", "drover_seq": "int",
}

func kindOf(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	switch {
	case strings.HasPrefix(s, `"`):
		return "string"
	case strings.HasPrefix(s, "["):
		return "list"
	case strings.ContainsAny(s, ".eE"):
		return "float"
	default:
		return "int"
	}
}

func TestReportFieldsAndTypes(t *testing.T) {
	m := newBlockModel()
	h := startWorker(t, testConfig(), m)
	h.waitReady()
	postAsync("http://"+h.w.Addr()+"/v1/block", request(h.route(100), nil))
	<-m.started
	var busy workertest.Report
	waitFor(t, "a report with a request working", 5*time.Second, func() bool {
		reps := h.eng.Reports()
		busy = reps[len(reps)-1] // waitReady saw at least one
		return busy.Number("num_requests_working") == 1
	})
	close(m.release)
	for i, r := range []workertest.Report{h.eng.Reports()[0], busy} {
		var keys []string
		for k, v := range r.Fields {
			keys = append(keys, k)
			if want, ok := reportTypes[k]; !ok || kindOf(v) != want {
				t.Errorf("report %d: %s = %s is a %s, want %q", i, k, v, kindOf(v), want)
			}
		}
		sort.Strings(keys)
		if len(keys) != len(reportTypes) {
			t.Errorf("report %d has fields %v, want the %d of the spec + drover_seq", i, keys, len(reportTypes))
		}
	}
	if busy.String("url") != h.w.URL() || busy.String("mtoken") != "mtok" || busy.Number("id") != testWorkerID ||
		busy.Number("cur_load") != 100 || busy.Number("max_perf") != 1000 || busy.String("version") != "1.1.0" {
		t.Fatalf("busy report = %s, want url, mtoken, id, cur_load 100, max_perf 1000, version 1.1.0", busy.Raw)
	}
	var idxs []json.Number
	json.Unmarshal(busy.Fields["working_request_idxs"], &idxs)
	if len(idxs) != 1 || idxs[0] != "501" {
		t.Fatalf("working_request_idxs = %s, want [501]", busy.Fields["working_request_idxs"])
	}
	reps := h.eng.Reports()
	for i := 1; i < len(reps); i++ {
		if reps[i].Number("drover_seq") <= reps[i-1].Number("drover_seq") {
			t.Fatalf("drover_seq %v after %v, want increasing", reps[i].Number("drover_seq"), reps[i-1].Number("drover_seq"))
		}
	}
}

func TestReportAtOnceWhenLoaded(t *testing.T) {
	tests := []struct {
		name      string
		model     fakemodel.Config
		wantError bool
	}{
		{"loaded", fakemodel.Config{LoadTime: 300 * time.Millisecond, TokensPerSec: 1000}, false},
		{"failed", fakemodel.Config{LoadTime: 100 * time.Millisecond, FailLoad: "CUDA out of memory"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.MaxPerf = 0 // benchmark the fake model
			cfg.BusyInterval, cfg.IdleInterval = time.Hour, time.Hour
			cfg.BenchmarkRequests, cfg.BenchmarkPayload = 4, []byte(`{"max_tokens":4}`)
			h := startWorker(t, cfg, fakeModel(tt.model))
			var r workertest.Report
			// Report periods are an hour: only the immediate report can
			// carry the outcome within the deadline.
			waitFor(t, "the load outcome reported at once", 5*time.Second, func() bool {
				for _, rep := range h.eng.Reports() {
					if rep.Number("loadtime") > 0 || rep.String("error_msg") != "" {
						r = rep
						return true
					}
				}
				return false
			})
			if tt.wantError {
				if !strings.Contains(r.String("error_msg"), "CUDA out of memory") || r.Number("max_perf") != 0 {
					t.Fatalf("report = %s, want error_msg with the model's error", r.Raw)
				}
				return
			}
			if lt := r.Number("loadtime"); lt < 0.3 || lt > 3 || r.Number("max_perf") <= 0 || r.String("error_msg") != "" {
				t.Fatalf("report = %s, want loadtime ≈ 0.3 s and max_perf > 0", r.Raw)
			}
		})
	}
}

func TestReportCadence(t *testing.T) {
	cfg := testConfig()
	cfg.BusyInterval, cfg.IdleInterval = 40*time.Millisecond, 400*time.Millisecond
	m := newBlockModel()
	h := startWorker(t, cfg, m)
	h.waitReady()
	n := len(h.eng.Reports())
	waitFor(t, "two idle reports", 5*time.Second, func() bool { return len(h.eng.Reports()) >= n+2 })
	reps := h.eng.Reports()
	if gap := reps[n+1].Arrived.Sub(reps[n].Arrived); gap < 300*time.Millisecond {
		t.Fatalf("idle reports %v apart, want ≈ %v", gap, cfg.IdleInterval)
	}
	postAsync("http://"+h.w.Addr()+"/v1/block", request(h.route(100), nil))
	<-m.started
	start := time.Now()
	waitFor(t, "three busy reports", 5*time.Second, func() bool {
		k := 0
		for _, r := range h.eng.Reports() {
			if r.Arrived.After(start) && r.Number("num_requests_working") == 1 {
				k++
			}
		}
		return k >= 3
	})
	if took := time.Since(start); took >= cfg.IdleInterval {
		t.Fatalf("three busy reports took %v, want the busy cadence (%v)", took, cfg.BusyInterval)
	}
	close(m.release)
}

func TestSumsKeptAfterFailedReport(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	h.eng.FailReports.Store(true)
	for range 2 {
		if resp, body := h.post("/v1/completions", request(h.route(100), map[string]any{})); resp.StatusCode != 200 {
			t.Fatalf("request = %d %s", resp.StatusCode, body)
		}
	}
	failed := h.eng.FailedReports()
	waitFor(t, "failed reports", 5*time.Second, func() bool { return h.eng.FailedReports() >= failed+2 })
	n := len(h.eng.Reports())
	h.eng.FailReports.Store(false)
	waitFor(t, "a report after the failures", 5*time.Second, func() bool { return len(h.eng.Reports()) > n })
	r := h.eng.Reports()[n]
	if r.Number("cur_perf") != 200 || r.Number("new_load") != 200 || r.Number("num_requests_recieved") != 2 {
		t.Fatalf("first report after failures = %s, want cur_perf and new_load 200 (both requests)", r.Raw)
	}
	waitFor(t, "the next report", 5*time.Second, func() bool { return len(h.eng.Reports()) > n+1 })
	if r := h.eng.Reports()[n+1]; r.Number("cur_perf") != 0 || r.Number("new_load") != 0 {
		t.Fatalf("next report = %s, want the sums reset after success", r.Raw)
	}
}

func TestReportAddrFailover(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	dead.Close() // connection refused from now on
	cfg := testConfig()
	eng := workertest.NewEngine(t)
	cfg.ReportAddrs = []string{deadURL, eng.URL}
	h := startWorker(t, cfg, fakeModel(fakemodel.Config{}))
	h.eng = eng
	h.waitReady()
	if resp, body := h.post("/v1/completions", request(h.route(1), map[string]any{})); resp.StatusCode != 200 {
		t.Fatalf("request after failover = %d %s, want 200", resp.StatusCode, body)
	}
	waitFor(t, "the delete entry through the second address", 5*time.Second, func() bool {
		return len(eng.Deletes()) == 1
	})
}

// A worker that cannot authenticate requests yet (no drover key) reports
// itself as still loading, and reports loaded at once when the key comes.
func TestNotReadyUntilItHasItsKey(t *testing.T) {
	eng := workertest.NewEngine(t)
	eng.KeyDown.Store(true)
	cfg := testConfig()
	cfg.ReportAddrs = []string{eng.URL}
	cfg.IdleInterval = time.Hour
	startWorker(t, cfg, fakeModel(fakemodel.Config{}))
	waitFor(t, "several reports without a key", 5*time.Second, func() bool { return len(eng.Reports()) >= 4 })
	for _, r := range eng.Reports() {
		if r.Number("loadtime") != 0 || r.Number("max_perf") != 0 {
			t.Fatalf("report without a drover key = %s, want loadtime and max_perf 0", r.Raw)
		}
	}
	eng.KeyDown.Store(false)
	waitFor(t, "the loaded report once the key arrived", 5*time.Second, func() bool {
		reps := eng.Reports()
		return len(reps) > 0 && reps[len(reps)-1].Number("loadtime") > 0 && reps[len(reps)-1].Number("max_perf") > 0
	})
}

package edge

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

var workerInfoKeys = []string{"cur_load", "cur_load_rolling_avg", "cur_perf", "disk_usage", "dlperf", "id",
	"loaded_at", "measured_perf", "new_load", "perf", "reliability", "reqs_working", "started_at", "status"}

func TestMonitoringWorkers(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	e.addWorker(t, 12, e.grpB, fsm.WorkerLoading, 0)
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 11, CurLoad: 50, MaxPerf: 120, NumRequestsWorking: 2, LastReport: 1})
	admin := `"api_key":"` + testToken + `"`
	tests := []struct {
		name, path, auth, body string
		want                   []uint64
	}{
		{"endpoint, key in body", "/get_endpoint_workers/", "", `{"id":` + itoa(e.epID) + `,` + admin + `}`, []uint64{11, 12}},
		{"endpoint, bearer", "/get_endpoint_workers/", "Bearer " + testToken, `{"id":` + itoa(e.epID) + `}`, []uint64{11, 12}},
		{"group", "/get_workergroup_workers/", "", `{"id":` + itoa(e.grpA) + `,` + admin + `}`, []uint64{11}},
		{"autogroup alias", "/get_autogroup_workers/", "", `{"id":` + itoa(e.grpB) + `,` + admin + `}`, []uint64{12}},
	}
	// drover's own /v1/workers keeps its lower-case states.
	if status, raw := e.do(t, "GET", "/v1/workers?stale=true", "Bearer "+testToken, ""); status != 200 ||
		!strings.Contains(string(raw), `"state":"ready"`) || strings.Contains(string(raw), `"Ready"`) {
		t.Fatalf("/v1/workers = %d %s, want lower-case states", status, raw)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, raw := e.do(t, "POST", tt.path, tt.auth, tt.body)
			var list []map[string]any
			if err := json.Unmarshal(raw, &list); status != 200 || err != nil {
				t.Fatalf("%s = %d %s (%v), want 200 and a bare list", tt.path, status, raw, err)
			}
			var ids []uint64
			for _, w := range list {
				if got := slices.Sorted(maps.Keys(w)); !slices.Equal(got, workerInfoKeys) {
					t.Fatalf("worker keys = %v, want %v", got, workerInfoKeys)
				}
				ids = append(ids, num(t, w, "id"))
				if w["id"] == 11.0 && (w["cur_load"] != 50.0 || w["measured_perf"] != 120.0 || w["reqs_working"] != 2.0 || w["status"] != "Ready") {
					t.Fatalf("worker 11 = %v", w)
				}
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("worker ids = %v, want %v", ids, tt.want)
			}
		})
	}
}

func TestMonitoringStats(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	e.addWorker(t, 12, e.grpB, fsm.WorkerLoading, 0)
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 11, CurLoad: 50, MaxPerf: 120, NewLoadRate: 30, LastReport: 1})
	e.route(t, 0)
	for _, body := range []string{`{"id":` + itoa(e.epID) + `}`, `{"endpoint":"chat"}`} {
		status, m := e.doJSON(t, "POST", "/get_endpoint_stats/", "Bearer "+testToken, body)
		want := []string{"capacity", "curload", "endpoint", "id", "nworkers", "reliable", "reqrate", "totreqs"}
		if got := slices.Sorted(maps.Keys(m)); status != 200 || !slices.Equal(got, want) {
			t.Fatalf("get_endpoint_stats %s = %d %v, want keys %v", body, status, m, want)
		}
		if m["capacity"] != 120.0 || m["curload"] != 50.0 || m["nworkers"] != 2.0 || m["reliable"] != 1.0 ||
			m["reqrate"] != 30.0 || m["totreqs"] != 1.0 || m["endpoint"] != "chat" {
			t.Fatalf("stats = %v", m)
		}
	}
}

func TestMonitoringErrors(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	tests := []struct {
		name, path, auth, body string
		status                 int
	}{
		{"no key", "/get_endpoint_workers/", "", `{"id":1}`, 401},
		{"wrong key", "/get_endpoint_workers/", "", `{"id":1,"api_key":"nope"}`, 401},
		{"wrong bearer", "/get_endpoint_stats/", "Bearer nope", `{"id":1}`, 401},
		{"endpoint api key is not admin", "/get_endpoint_stats/", "", `{"id":1,"api_key":"` + testAPIKey + `"}`, 401},
		{"unknown endpoint", "/get_endpoint_workers/", "Bearer " + testToken, `{"id":999}`, 404},
		{"unknown group", "/get_workergroup_workers/", "Bearer " + testToken, `{"id":999}`, 404},
		{"unknown stats", "/get_endpoint_stats/", "Bearer " + testToken, `{"endpoint":"nope"}`, 404},
		{"no id", "/get_endpoint_workers/", "Bearer " + testToken, `{}`, 400},
		{"bad id", "/get_endpoint_workers/", "Bearer " + testToken, `{"id":"x"}`, 400},
		{"malformed", "/get_endpoint_stats/", "Bearer " + testToken, `{`, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := e.doJSON(t, "POST", tt.path, tt.auth, tt.body)
			if status != tt.status || m["error_msg"] == nil {
				t.Fatalf("%s %s = %d %v, want %d with error_msg", tt.path, tt.body, status, m, tt.status)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.ov.fresh = map[string]time.Duration{"n2": 150 * time.Millisecond}
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	e.route(t, 0)
	e.do(t, "POST", "/route/", "", `{"endpoint":"chat","api_key":"nope"}`)
	e.addWorker(t, 11, e.grpA, fsm.WorkerLoading, 100)
	e.route(t, 0)
	e.node.set(func(n *fakeNode) { n.status.Stale = true })
	status, raw := e.do(t, "GET", "/metrics", "", "")
	if status != 200 {
		t.Fatalf("GET /metrics = %d", status)
	}
	for _, want := range []string{
		`drover_route_requests_total{outcome="ready"} 1`,
		`drover_route_requests_total{outcome="unauthorized"} 1`,
		`drover_route_requests_total{outcome="not_ready"} 1`,
		`drover_route_duration_seconds_count 3`,
		`drover_queue_length{endpoint="chat"} 1`,
		`drover_workers{state="loading"} 1`,
		`drover_overlay_freshness_seconds{peer="n2"} 0.15`,
		`drover_raft_state{state="Leader"} 1`,
		`drover_raft_stale 1`,
		`drover_caught_up 1`,
	} {
		if !strings.Contains(string(raw), want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", raw)
	}
}

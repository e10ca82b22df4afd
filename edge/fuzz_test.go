package edge

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/drover-io/drover/fsm"
)

// FuzzRouteRequest: the /route/ parser never panics, its fast path agrees
// with encoding/json wherever it accepts a body, and the handler answers
// 200, 400, 401 or 404 to anything. Seeds: testdata/fuzz/FuzzRouteRequest.
func FuzzRouteRequest(f *testing.F) {
	f.Add([]byte(`{"endpoint":"chat","api_key":"` + testAPIKey + `","cost":100,"request_idx":0,"replay_timeout":60.0}`))
	e := newDPEnv(f, DataPlane{})
	e.addWorker(f, 11, e.grpA, fsm.WorkerReady, 1e9)
	f.Fuzz(func(t *testing.T, body []byte) {
		var fast routeRequest
		if parseRouteFast(body, &fast) {
			if !json.Valid(body) {
				t.Fatalf("fast path accepted invalid JSON %q", body)
			}
			var slow routeRequest
			if err := parseRouteSlow(body, &slow); err != nil {
				t.Fatalf("fast path accepted %q, encoding/json refuses it: %v", body, err)
			}
			if !sameRouteRequest(fast, slow) {
				t.Fatalf("parse(%q): fast %+v, slow %+v", body, fast, slow)
			}
		}
		status, raw := e.do(t, "POST", "/route/", "", string(body))
		switch status {
		case 200, 400, 401, 404:
		default:
			t.Fatalf("route %q = %d %s", body, status, raw)
		}
		if !json.Valid(raw) {
			t.Fatalf("route %q answered invalid JSON %q", body, raw)
		}
	})
}

func sameRouteRequest(a, b routeRequest) bool {
	return bytes.Equal(a.endpoint, b.endpoint) && bytes.Equal(a.apiKey, b.apiKey) &&
		a.hasEndpoint == b.hasEndpoint && a.hasKey == b.hasKey &&
		bytes.Equal(a.cost, b.cost) && bytes.Equal(a.idx, b.idx) && bytes.Equal(a.replay, b.replay)
}

// FuzzWorkerStatus: /worker_status/ never panics, answers 200, 400 or 401,
// and only a 200 reaches the overlay. Seeds: testdata/fuzz/FuzzWorkerStatus.
func FuzzWorkerStatus(f *testing.F) {
	f.Add([]byte(pyWorkerReport))
	e := newDPEnv(f, DataPlane{})
	e.addWorker(f, 11, e.grpA, fsm.WorkerReady, 100)
	f.Fuzz(func(t *testing.T, body []byte) {
		before := e.ov.reportCount()
		workers := len(e.node.View().Workers)
		status, raw := e.do(t, "POST", "/worker_status/", "", string(body))
		after := e.ov.reportCount()
		switch {
		case status == 200:
			if after != before+1 {
				t.Fatalf("worker_status %q = 200 without a report", body)
			}
		case status == 400 || status == 401 || status == 503:
			if after != before || len(e.node.View().Workers) != workers {
				t.Fatalf("worker_status %q = %d but changed state", body, status)
			}
		default:
			t.Fatalf("worker_status %q = %d %s", body, status, raw)
		}
	})
}

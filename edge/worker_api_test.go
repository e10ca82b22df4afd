package edge

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/worker/token"
)

// pyWorkerReport is a full report as Vast's PyWorker 1.1.0 sends it.
const pyWorkerReport = `{"id":11,"mtoken":"` + testMToken + `","version":"1.1.0","loadtime":12.5,` +
	`"new_load":300,"cur_load":100.0,"rej_load":0,"max_perf":250.5,"cur_perf":200,"error_msg":"",` +
	`"num_requests_working":1,"num_requests_recieved":42,"additional_disk_usage":0.0,` +
	`"working_request_idxs":[5,6],"cur_capacity":0,"max_capacity":0,"url":"http://10.0.0.11:8080"}`

func TestWorkerStatusKnownWorker(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	status, m := e.doJSON(t, "POST", "/worker_status/", "", pyWorkerReport)
	if status != 200 || m["success"] != true {
		t.Fatalf("worker_status = %d %v, want 200 success", status, m)
	}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, []string{"drover_key", "success"}) {
		t.Fatalf("answer keys = %v", got)
	}
	key, _ := base64.StdEncoding.DecodeString(m["drover_key"].(string))
	if want := e.srv.tables().sig.workerKey(11); string(key) != string(want) || len(key) != 32 {
		t.Fatalf("drover_key = %x, want %x", key, want)
	}
	if string(key) == string(token.WorkerKey(e.srv.tables().sig.secret, 12)) {
		t.Fatal("workers 11 and 12 share a key")
	}
	r := e.ov.reports[0]
	want := fsm.LoadReport{WorkerID: 11, MToken: testMToken, Version: "1.1.0", LoadTime: 12.5, NewLoad: 300,
		CurLoad: 100, MaxPerf: 250.5, CurPerf: 200, NumRequestsWorking: 1, NumRequestsReceived: 42,
		WorkingRequestIdxs: []uint64{5, 6}, URL: "http://10.0.0.11:8080"}
	if r.WorkerID != want.WorkerID || r.LoadTime != want.LoadTime || r.MaxPerf != want.MaxPerf ||
		r.NumRequestsReceived != 42 || !slices.Equal(r.WorkingRequestIdxs, want.WorkingRequestIdxs) || r.URL != want.URL {
		t.Fatalf("report = %+v, want %+v", *r, want)
	}
	// A partial report from a failed start.
	partial := `{"id":11,"mtoken":"` + testMToken + `","version":"0","error_msg":"CUDA OOM","url":""}`
	if status, m := e.doJSON(t, "POST", "/worker_status", "", partial); status != 200 || m["success"] != true {
		t.Fatalf("partial worker_status = %d %v", status, m)
	}
}

func TestWorkerStatusRegistersUnknownWorker(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	body := `{"id":77,"mtoken":"` + testMTokenB + `","loadtime":0.0,"url":"http://10.0.0.77:8080"}`
	if status, m := e.doJSON(t, "POST", "/worker_status/", "", body); status != 200 || m["success"] != true {
		t.Fatalf("worker_status of a new worker = %d %v", status, m)
	}
	w := e.node.View().Workers[77]
	if w == nil || w.GroupID != e.grpB || w.EndpointID != e.epID || w.State != fsm.WorkerLoading || w.URL != "http://10.0.0.77:8080" {
		t.Fatalf("registered worker = %+v, want loading in group %d", w, e.grpB)
	}
	if e.ov.reportCount() != 1 {
		t.Fatalf("reports = %d, want 1", e.ov.reportCount())
	}
	// Later reports of the now known worker need group B's token.
	body = `{"id":77,"mtoken":"` + testMToken + `"}`
	if status, _ := e.do(t, "POST", "/worker_status/", "", body); status != 401 {
		t.Fatalf("report with another group's token = %d, want 401", status)
	}
}

func TestWorkerStatusBadInput(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	tok := `"mtoken":"` + testMToken + `"`
	tests := []struct {
		name, body string
		status     int
	}{
		{"empty", ``, 400},
		{"array", `[1]`, 400},
		{"malformed", `{"id":11,`, 400},
		{"no id", `{` + tok + `}`, 400},
		{"zero id", `{"id":0,` + tok + `}`, 400},
		{"negative id", `{"id":-11,` + tok + `}`, 400},
		{"fractional id", `{"id":11.5,` + tok + `}`, 400},
		{"bool id", `{"id":true,` + tok + `}`, 400},
		{"NaN load", `{"id":11,` + tok + `,"cur_load":"NaN"}`, 400},
		{"Infinity", `{"id":11,` + tok + `,"max_perf":1e999}`, 400},
		{"negative load", `{"id":11,` + tok + `,"cur_load":-1}`, 400},
		{"absurd perf", `{"id":11,` + tok + `,"max_perf":1e15}`, 400},
		{"negative count", `{"id":11,` + tok + `,"num_requests_working":-2}`, 400},
		{"fractional count", `{"id":11,` + tok + `,"num_requests_recieved":1.5}`, 400},
		{"disk use past the bound", `{"id":11,` + tok + `,"additional_disk_usage":-2e9}`, 400},
		{"idxs not a list", `{"id":11,` + tok + `,"working_request_idxs":5}`, 400},
		{"url scheme", `{"id":11,` + tok + `,"url":"ftp://x"}`, 400},
		{"mtoken number", `{"id":11,"mtoken":5}`, 400},
		{"no mtoken", `{"id":11}`, 401},
		{"wrong mtoken", `{"id":11,"mtoken":"nope"}`, 401},
		{"unknown id, unknown mtoken", `{"id":99,"mtoken":"nope"}`, 401},
		{"unknown id, no mtoken", `{"id":99}`, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if status, raw := e.do(t, "POST", "/worker_status/", "", tt.body); status != tt.status {
				t.Fatalf("worker_status %s = %d %s, want %d", tt.body, status, raw, tt.status)
			}
		})
	}
	if n := e.ov.reportCount(); n != 0 {
		t.Fatalf("bad reports reached the overlay: %d", n)
	}
	if e.node.View().Workers[99] != nil || e.node.View().Workers[11].State != fsm.WorkerReady {
		t.Fatal("bad reports changed workers")
	}
}

func TestDeleteRequests(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	for idx := uint64(1); idx <= 6; idx++ {
		e.ov.Enqueue(fsm.QueueEntry{EndpointID: e.epID, RequestIdx: idx, Enqueued: int64(idx)})
	}
	tok := `"worker_id":11,"mtoken":"` + testMToken + `"`
	current := `{` + tok + `,"requests":[` +
		`{"request_idx":1,"success":true,"status":"Success","entered_queue_at":1.5,"work_started_at":2,"work_completed_at":3.25},` +
		`{"request_idx":2,"success":false,"status":"Error"},` +
		`{"request_idx":3,"success":true,"status":"Cancelled"},` +
		`{"request_idx":4,"success":false,"status":"Rejected"},` +
		`{"request_idx":1,"success":true,"status":"Success"},` +
		`{"request_idx":987654,"success":false,"status":"Rejected"}]}`
	if status, raw := e.do(t, "POST", "/delete_requests/", "", current); status != 200 || string(raw) != `{"success":true}` {
		t.Fatalf("delete_requests = %d %s", status, raw)
	}
	if got := queuedIdxs(e); !slices.Equal(got, []uint64{4, 5, 6}) {
		t.Fatalf("queue after delete_requests = %v, want [4 5 6] (Rejected stays)", got)
	}
	if status, _ := e.do(t, "POST", "/delete_requests/", "", `{`+tok+`,"request_idxs":[6,12345],"success":false}`); status != 200 {
		t.Fatalf("old form failure = %d", status)
	}
	if status, _ := e.do(t, "POST", "/delete_requests/", "", `{`+tok+`,"request_idxs":[5,12345],"success":true}`); status != 200 {
		t.Fatalf("old form = %d", status)
	}
	if got := queuedIdxs(e); !slices.Equal(got, []uint64{4, 6}) {
		t.Fatalf("queue after the old form = %v, want [4 6]", got)
	}
	bad := []struct {
		name, body string
		status     int
	}{
		{"malformed", `{"worker_id":11,`, 400},
		{"no worker id", `{"mtoken":"` + testMToken + `","request_idxs":[4]}`, 400},
		{"requests not a list", `{` + tok + `,"requests":4}`, 400},
		{"request_idxs not a list", `{` + tok + `,"request_idxs":{}}`, 400},
		{"wrong mtoken", `{"worker_id":11,"mtoken":"nope","request_idxs":[4,6]}`, 401},
		{"no mtoken", `{"worker_id":11,"request_idxs":[4,6]}`, 401},
		{"unknown worker", `{"worker_id":99,"mtoken":"` + testMToken + `","request_idxs":[4,6]}`, 401},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if status, raw := e.do(t, "POST", "/delete_requests/", "", tt.body); status != tt.status {
				t.Fatalf("delete_requests %s = %d %s, want %d", tt.body, status, raw, tt.status)
			}
			if got := queuedIdxs(e); !slices.Equal(got, []uint64{4, 6}) {
				t.Fatalf("queue after a refused call = %v, want [4 6]", got)
			}
		})
	}
}

func queuedIdxs(e *dpEnv) []uint64 {
	var out []uint64
	for _, q := range e.ov.Queue(e.epID) {
		out = append(out, q.RequestIdx)
	}
	return out
}

func TestWorkerStatusUnknownTokenRateLimit(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	limited := 0
	for id := range uint64(unknownTokenRate + 5) {
		status, _ := e.do(t, "POST", "/worker_status/", "", `{"id":`+itoa(100+id)+`,"mtoken":"guess"}`)
		switch status {
		case 401:
		case 503:
			limited++
		default:
			t.Fatalf("unknown token = %d, want 401 or 503", status)
		}
	}
	if limited != 5 {
		t.Fatalf("%d of %d registrations limited, want 5", limited, unknownTokenRate+5)
	}
	// A token the replica knows is never limited.
	if status, _ := e.do(t, "POST", "/worker_status/", "", `{"id":500,"mtoken":"`+testMToken+`"}`); status != 200 {
		t.Fatalf("known token while limited = %d, want 200", status)
	}
}

// The PyWorker sends additional_disk_usage as disk use now minus at its
// last report: negative whenever disk use shrank. That exact report is
// accepted; bad working_request_idxs entries are skipped, not fatal.
func TestWorkerStatusNegativeDiskUseAndBadIdxs(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	shrunk := strings.Replace(pyWorkerReport, `"additional_disk_usage":0.0`, `"additional_disk_usage":-0.0390625`, 1)
	if status, raw := e.do(t, "POST", "/worker_status/", "", shrunk); status != 200 {
		t.Fatalf("PyWorker report with negative disk use = %d %s, want 200", status, raw)
	}
	if r := e.ov.reports[0]; r.AdditionalDiskUsage != -0.0390625 {
		t.Fatalf("additional_disk_usage = %v, want -0.0390625", r.AdditionalDiskUsage)
	}
	tok := `"id":11,"mtoken":"` + testMToken + `"`
	body := `{` + tok + `,"working_request_idxs":[5,-1,"7",1e30,null,{},8,9223372036854775808]}`
	if status, raw := e.do(t, "POST", "/worker_status/", "", body); status != 200 {
		t.Fatalf("report with bad working_request_idxs = %d %s, want 200", status, raw)
	}
	if r := e.ov.reports[1]; !slices.Equal(r.WorkingRequestIdxs, []uint64{5, 8}) {
		t.Fatalf("working_request_idxs = %v, want [5 8]", r.WorkingRequestIdxs)
	}
	long := strings.Repeat("é", maxErrorBytes) // 2 bytes each: twice the bound
	if status, raw := e.do(t, "POST", "/worker_status/", "", `{`+tok+`,"error_msg":"`+long+`"}`); status != 200 {
		t.Fatalf("report with a long error_msg = %d %s, want 200", status, raw)
	}
	if r := e.ov.reports[2]; len(r.ErrorMsg) != maxErrorBytes || !utf8.ValidString(r.ErrorMsg) {
		t.Fatalf("error_msg kept %d bytes (valid UTF-8: %v), want %d", len(r.ErrorMsg), utf8.ValidString(r.ErrorMsg), maxErrorBytes)
	}
	wantMetric(t, e, `drover_worker_input_skipped_total{call="worker_status",reason="bad_request_idx"} 6`)
	wantMetric(t, e, `drover_worker_input_skipped_total{call="worker_status",reason="error_msg_truncated"} 1`)
}

// Entries with indexes from unauthenticated callers (Rejected 401s) or
// otherwise bad are skipped and counted; the rest of the batch applies and
// the answer is 200, so one bad entry never stops a worker's deletes.
func TestDeleteRequestsSkipsBadEntries(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 100)
	for idx := uint64(1); idx <= 4; idx++ {
		e.ov.Enqueue(fsm.QueueEntry{EndpointID: e.epID, RequestIdx: idx, Enqueued: int64(idx)})
	}
	body := `{"worker_id":11,"mtoken":"` + testMToken + `","requests":[` +
		`{"request_idx":-1,"success":false,"status":"Rejected","entered_queue_at":1.5,"work_started_at":1.5,"work_completed_at":1.5},` +
		`{"request_idx":"abc","success":false,"status":"Rejected"},` +
		`{"request_idx":1,"success":true,"status":"Success","entered_queue_at":1.5,"work_started_at":2,"work_completed_at":3.25},` +
		`{"request_idx":"2","success":true,"status":"Cancelled"},` +
		`{"request_idx":1e30,"success":true,"status":"Cancelled"},` +
		`{"request_idx":18446744073709551616,"success":false,"status":"Rejected"},` +
		`{"success":true,"status":"Cancelled"},` +
		`{"request_idx":3,"success":true,"status":"Cancelled","work_started_at":"later"},` +
		`{"request_idx":4,"success":"yes","status":"Success"},` +
		`7,` +
		`{"request_idx":2.5,"success":false,"status":"Error"}]}`
	status, m := e.doJSON(t, "POST", "/delete_requests/", "", body)
	if status != 200 || m["success"] != true || m["skipped"] != 9.0 {
		t.Fatalf("delete_requests with bad entries = %d %v, want 200 success, 9 skipped", status, m)
	}
	if got := queuedIdxs(e); !slices.Equal(got, []uint64{2, 4}) {
		t.Fatalf("queue after delete_requests = %v, want [2 4] (1 and 3 closed, the bad entries skipped)", got)
	}
	old := `{"worker_id":11,"mtoken":"` + testMToken + `","request_idxs":[2,-1,"x"],"success":true}`
	if status, m := e.doJSON(t, "POST", "/delete_requests/", "", old); status != 200 || m["skipped"] != 2.0 {
		t.Fatalf("old form with bad entries = %d %v, want 200, 2 skipped", status, m)
	}
	if got := queuedIdxs(e); !slices.Equal(got, []uint64{4}) {
		t.Fatalf("queue after the old form = %v, want [4]", got)
	}
	wantMetric(t, e, `drover_worker_input_skipped_total{call="delete_requests",reason="bad_request_idx"} 9`)
	wantMetric(t, e, `drover_worker_input_skipped_total{call="delete_requests",reason="bad_entry"} 2`)
	// Entries past the list bound are skipped too.
	var sb strings.Builder
	for i := range maxListEntries + 5 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"request_idx":1000,"success":true,"status":"Success"}`)
	}
	long := `{"worker_id":11,"mtoken":"` + testMToken + `","requests":[` + sb.String() + `]}`
	if status, m := e.doJSON(t, "POST", "/delete_requests/", "", long); status != 200 || m["skipped"] != 5.0 {
		t.Fatalf("delete_requests past the list bound = %d %v, want 200, 5 skipped", status, m)
	}
}

// wantMetric fails unless GET /metrics has the line.
func wantMetric(t *testing.T, e *dpEnv, line string) {
	t.Helper()
	_, raw := e.do(t, "GET", "/metrics", "", "")
	if !strings.Contains(string(raw), line+"\n") {
		t.Fatalf("/metrics lacks %q", line)
	}
}

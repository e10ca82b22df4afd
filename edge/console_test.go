package edge

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"testing"

	"github.com/drover-io/drover/fsm"
)

var hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestEndpointLifecycle(t *testing.T) {
	ts := startAdmin(t)
	created := ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"llama","min_load":10,"client_id":"me","api_key":"ignored"}`)
	id := num(t, created, "result")
	if id != 1 || num(t, created, "revision") == 0 {
		t.Fatalf("create = %v, want result 1 and a revision", created)
	}

	got := ts.mustOK(t, "GET", "/api/v0/endptjobs/1/", "")
	e := got["result"].(map[string]any)
	want := map[string]any{"id": 1.0, "endpoint_name": "llama", "min_load": 10.0, "min_cold_load": 0.0,
		"target_util": 0.9, "cold_mult": 2.5, "cold_workers": 5.0, "max_workers": 20.0,
		"max_queue_time": 30.0, "target_queue_time": 10.0, "endpoint_state": "active",
		"inactivity_timeout": nil, "user_id": 1.0}
	for k, v := range want {
		if ev, ok := e[k]; !ok || ev != v {
			t.Errorf("GET endpoint: %s = %v, want %v", k, e[k], v)
		}
	}
	if key, _ := e["api_key"].(string); !hex32.MatchString(key) || key == "ignored" {
		t.Errorf("api_key = %q, want 32 fresh hex chars", key)
	}
	if ca, _ := e["created_at"].(float64); ca < 1.7e9 {
		t.Errorf("created_at = %v, want unix seconds", e["created_at"])
	}

	list := ts.mustOK(t, "GET", "/api/v0/endptjobs", "")
	if rs := list["results"].([]any); len(rs) != 1 || rs[0].(map[string]any)["endpoint_name"] != "llama" {
		t.Errorf("list = %v, want the one endpoint", list)
	}

	// Vast's client sends every option, null when not given, plus extras.
	put := ts.mustOK(t, "PUT", "/api/v0/endptjobs/1/", `{"client_id":"me","endptjob_id":1,"min_load":null,
		"target_util":0.5,"endpoint_state":"suspended","autoscaler_instance":"prod","id":1}`)
	rev := num(t, put, "revision")
	e = ts.mustOK(t, "GET", "/api/v0/endptjobs/1", "")["result"].(map[string]any)
	if e["target_util"] != 0.5 || e["min_load"] != 10.0 || e["endpoint_state"] != "suspended" || num(t, e, "revision") != rev {
		t.Errorf("after PUT: %v, want target_util .5, min_load 10, suspended, revision %d", e, rev)
	}

	ts.mustOK(t, "PUT", fmt.Sprintf("/api/v0/endptjobs/1/?if_revision=%d", rev), `{"max_workers":7}`)
	status, m := ts.call(t, "PUT", fmt.Sprintf("/api/v0/endptjobs/1/?if_revision=%d", rev), `{"max_workers":8}`)
	if status != http.StatusConflict || m["error"] != "revision_mismatch" {
		t.Errorf("PUT with stale if_revision = %d %v, want 409 revision_mismatch", status, m)
	}

	del := ts.mustOK(t, "DELETE", "/api/v0/endptjobs/1/", "")
	if fmt.Sprint(del["deleted_workers"]) != "[]" || fmt.Sprint(del["failed_workers"]) != "[]" || del["msg"] == "" {
		t.Errorf("DELETE = %v, want empty deleted_workers and failed_workers and a msg", del)
	}
	status, m = ts.call(t, "GET", "/api/v0/endptjobs/1/", "")
	if status != http.StatusNotFound || m["error"] != "no_such_endptjob" || m["success"] != false {
		t.Errorf("GET deleted = %d %v, want 404 no_such_endptjob", status, m)
	}
}

func TestGroupLifecycle(t *testing.T) {
	ts := startAdmin(t)
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"llama"}`)
	static := ts.mustOK(t, "POST", "/api/v0/workergroups/", `{"endpoint_name":"llama","provider":"static","name":"canary"}`)
	token, _ := static["worker_token"].(string)
	if num(t, static, "id") != 1 || !hex32.MatchString(token) || num(t, static, "revision") == 0 {
		t.Fatalf("create static group = %v, want id 1, a worker_token, a revision", static)
	}
	other := ts.mustOK(t, "POST", "/api/v0/autojobs", `{"endpoint_id":1,"template_hash":"abc","gpu_ram":48,"cold_workers":2}`)
	if _, ok := other["worker_token"]; ok || num(t, other, "id") != 2 {
		t.Errorf("create non-static group = %v, want id 2 and no worker_token", other)
	}

	g := ts.mustOK(t, "GET", "/api/v0/workergroups/1/", "")["result"].(map[string]any)
	if g["worker_token"] != token || g["endpoint_id"] != 1.0 || g["provider"] != "static" || g["name"] != "canary" {
		t.Errorf("GET static group = %v, want its worker_token, endpoint 1", g)
	}
	ep := ts.mustOK(t, "GET", "/api/v0/endptjobs/1/", "")["result"].(map[string]any)
	g = ts.mustOK(t, "GET", "/api/v0/autojobs/2", "")["result"].(map[string]any)
	want := map[string]any{"gpu_ram": 48.0, "test_workers": 3.0, "weight": 1.0, "cold_workers": 2.0,
		"template_hash": "abc", "api_key": ep["api_key"]}
	for k, v := range want {
		if g[k] != v {
			t.Errorf("GET group 2: %s = %v, want %v", k, g[k], v)
		}
	}

	list := ts.mustOK(t, "GET", "/api/v0/workergroups/", "")["results"].([]any)
	if len(list) != 2 || list[1].(map[string]any)["endpoint_id"] != 1.0 {
		t.Errorf("list groups = %v, want 2 groups of endpoint 1", list)
	}

	// Vast's update workergroup body: nulls, endpoint fields, its own endpoint_id.
	put := ts.mustOK(t, "PUT", "/api/v0/autojobs/2/", `{"client_id":"me","autojob_id":2,"min_load":null,
		"target_util":0.9,"test_workers":5,"endpoint_id":1,"endpoint_name":"llama","search_params":"gpu_ram>=23"}`)
	rev := num(t, put, "revision")
	g = ts.mustOK(t, "GET", "/api/v0/workergroups/2/", "")["result"].(map[string]any)
	if g["test_workers"] != 5.0 || g["search_params"] != "gpu_ram>=23" || num(t, g, "revision") != rev {
		t.Errorf("after PUT: %v, want test_workers 5, revision %d", g, rev)
	}
	status, m := ts.call(t, "PUT", fmt.Sprintf("/api/v0/workergroups/2/?if_revision=%d", rev-1), `{"weight":2}`)
	if status != http.StatusConflict || m["error"] != "revision_mismatch" {
		t.Errorf("PUT with stale if_revision = %d %v, want 409 revision_mismatch", status, m)
	}

	del := ts.mustOK(t, "DELETE", "/api/v0/workergroups/2/", "")
	if fmt.Sprint(del["deleted_workers"]) != "[]" || fmt.Sprint(del["failed_workers"]) != "[]" {
		t.Errorf("DELETE group = %v, want empty worker lists", del)
	}
	status, m = ts.call(t, "GET", "/api/v0/autojobs/2/", "")
	if status != http.StatusNotFound || m["error"] != "no_such_workergroup" {
		t.Errorf("GET deleted group = %d %v, want 404 no_such_workergroup", status, m)
	}
	// Deleting the endpoint deletes its remaining group.
	ts.mustOK(t, "DELETE", "/api/v0/endptjobs/1/", "")
	if status, _ := ts.call(t, "GET", "/api/v0/workergroups/1/", ""); status != http.StatusNotFound {
		t.Errorf("GET group of deleted endpoint = %d, want 404", status)
	}
}

func TestEmptyLists(t *testing.T) {
	ts := startAdmin(t)
	for _, path := range []string{"/api/v0/endptjobs/", "/api/v0/workergroups/", "/api/v0/autojobs/"} {
		m := ts.mustOK(t, "GET", path, "")
		if rs, ok := m["results"].([]any); !ok || len(rs) != 0 {
			t.Errorf("GET %s = %v, want results []", path, m)
		}
	}
}

func TestDeleteEndpointListsDeletedWorkers(t *testing.T) {
	ts := startAdmin(t)
	seed(t, ts)
	for _, id := range []uint64{7, 9} {
		cmd, err := fsm.NewCommand(fsm.CmdRegisterWorker, fsm.RequestID{},
			fsm.RegisterWorker{Worker: fsm.Worker{ID: id, GroupID: 1, EndpointID: 1, State: fsm.WorkerReady}})
		if err != nil {
			t.Fatal(err)
		}
		if rs, err := ts.node.Apply(context.Background(), cmd); err != nil || rs[0].Code != "" {
			t.Fatalf("RegisterWorker(%d) = %v, %v", id, rs, err)
		}
	}
	del := ts.mustOK(t, "DELETE", "/api/v0/endptjobs/1/", "")
	if fmt.Sprint(del["deleted_workers"]) != "[7 9]" || fmt.Sprint(del["failed_workers"]) != "[]" {
		t.Errorf("DELETE endpoint = %v, want deleted_workers [7 9]", del)
	}
}

package fsm

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"
)

// baseSetup: endpoint 1 "llama" with groups 1 "a" and 2 "b", workers 10, 11
// in group 1 and 20 in group 2; endpoint 2 "mistral" with group 3 "a".
func baseSetup(t testing.TB) []Command {
	return []Command{
		cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("llama")}),
		cmd(t, CmdCreateGroup, CreateGroup{Group: group(1, "a")}),
		cmd(t, CmdCreateGroup, CreateGroup{Group: group(0, "b"), EndpointName: "llama"}),
		cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(11, 1)}),
		cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(10, 1)}),
		cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(20, 2)}),
		cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("mistral")}),
		cmd(t, CmdCreateGroup, CreateGroup{Group: group(2, "a")}),
	}
}

const baseEntries = 8 // len(baseSetup): the command under test is entry 9

func TestApply(t *testing.T) {
	bad := func(mut func(e *Endpoint)) Command {
		e := endpoint("new")
		mut(&e)
		return cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: e})
	}
	tests := []struct {
		name      string
		cmd       Command
		want      Result // Msg is not compared
		unchanged bool   // the state (all but the index) must not change
		check     func(t *testing.T, before, after *View)
	}{
		{name: "create endpoint", cmd: cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("new")}),
			want: Result{ID: 3, Revision: 9}, check: func(t *testing.T, _, v *View) {
				e, ok := v.EndpointByName("new")
				if !ok || e.ID != 3 || e.APIKey != "key-new" || e.CreatedAt != 1700000000.5 || e.Revision != 9 {
					t.Errorf("EndpointByName(new) = %+v, %v", e, ok)
				}
			}},
		{name: "endpoint name taken", cmd: cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("llama")}),
			want: Result{Code: CodeNameTaken}, unchanged: true},
		{name: "target_util 0", cmd: bad(func(e *Endpoint) { e.TargetUtil = 0 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "target_util 1.5", cmd: bad(func(e *Endpoint) { e.TargetUtil = 1.5 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "cold_mult 0.5", cmd: bad(func(e *Endpoint) { e.ColdMult = 0.5 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "cold_workers 10001", cmd: bad(func(e *Endpoint) { e.ColdWorkers = 10001 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "max_workers -1", cmd: bad(func(e *Endpoint) { e.MaxWorkers = -1 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "min_load -1", cmd: bad(func(e *Endpoint) { e.MinLoad = -1 }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "bad name", cmd: bad(func(e *Endpoint) { e.Name = "a b" }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "bad state", cmd: bad(func(e *Endpoint) { e.State = "paused" }), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "payload not JSON of the type", cmd: Command{Type: CmdCreateEndpoint, Version: 1, Payload: []byte(`[1]`)},
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "update if_revision mismatch",
			cmd:  cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, IfRevision: 2, Patch: patch(t, map[string]any{"max_workers": 3})}),
			want: Result{Code: CodeRevision}, unchanged: true},
		{name: "update if_revision match",
			cmd:  cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, IfRevision: 1, Patch: patch(t, map[string]any{"max_workers": 3})}),
			want: Result{ID: 1, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if e := v.Endpoints[1]; e.MaxWorkers != 3 || e.Revision != 9 {
					t.Errorf("after update: %+v, want max_workers 3 revision 9", e)
				}
			}},
		{name: "update keeps read-only fields", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, Patch: patch(t, map[string]any{
			"id": 99, "api_key": "stolen", "created_at": 1, "revision": 1234, "user_id": 5, "endpoint_name": "llama2"})}),
			want: Result{ID: 1, Revision: 9}, check: func(t *testing.T, before, v *View) {
				e, old := v.Endpoints[1], before.Endpoints[1]
				if e.ID != 1 || e.APIKey != old.APIKey || e.CreatedAt != old.CreatedAt || e.UserID != old.UserID ||
					e.Revision != 9 || e.Name != "llama2" {
					t.Errorf("after patch: %+v, want read-only fields of %+v and name llama2", e, old)
				}
				if _, ok := v.EndpointByName("llama"); ok {
					t.Errorf("EndpointByName(llama) still found after rename")
				}
				if e2, ok := v.EndpointByName("llama2"); !ok || e2.ID != 1 {
					t.Errorf("EndpointByName(llama2) = %v, %v", e2, ok)
				}
			}},
		{name: "update does not write through to the old view", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 2,
			Patch: []byte(`{"inactivity_timeout": 60}`)}), want: Result{ID: 2, Revision: 9},
			check: func(t *testing.T, before, v *View) {
				if old := before.Endpoints[2].InactivityTimeout; old == nil || *old != -1 {
					t.Errorf("old view's inactivity_timeout = %v, want -1", old)
				}
				if now := v.Endpoints[2].InactivityTimeout; now == nil || *now != 60 {
					t.Errorf("inactivity_timeout = %v, want 60", now)
				}
			}},
		{name: "update invalid range", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, Patch: patch(t, map[string]any{"target_util": 2})}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "update bad patch type", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, Patch: []byte(`{"max_workers":"many"}`)}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "update rename to taken name", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 1, Patch: patch(t, map[string]any{"endpoint_name": "mistral"})}),
			want: Result{Code: CodeNameTaken}, unchanged: true},
		{name: "update unknown endpoint", cmd: cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 77, Patch: []byte(`{}`)}),
			want: Result{Code: CodeNoEndpoint}, unchanged: true},
		{name: "delete endpoint cascades", cmd: cmd(t, CmdDeleteEndpoint, DeleteEndpoint{ID: 1}),
			want: Result{ID: 1, Deleted: []uint64{10, 11, 20}}, check: func(t *testing.T, _, v *View) {
				if len(v.Endpoints) != 1 || len(v.Groups) != 1 || len(v.Workers) != 0 {
					t.Errorf("after delete: %d endpoints, %d groups, %d workers, want 1, 1, 0", len(v.Endpoints), len(v.Groups), len(v.Workers))
				}
				if len(v.GroupsOf(1)) != 0 || len(v.WorkersOf(1)) != 0 || len(v.GroupsOf(2)) != 1 {
					t.Errorf("indexes not updated: GroupsOf(1)=%v WorkersOf(1)=%v GroupsOf(2)=%v", v.GroupsOf(1), v.WorkersOf(1), v.GroupsOf(2))
				}
				if _, ok := v.EndpointByName("llama"); ok {
					t.Errorf("EndpointByName(llama) found after delete")
				}
			}},
		{name: "delete unknown endpoint", cmd: cmd(t, CmdDeleteEndpoint, DeleteEndpoint{ID: 9}), want: Result{Code: CodeNoEndpoint}, unchanged: true},
		{name: "create group by name copies api key", cmd: cmd(t, CmdCreateGroup, CreateGroup{Group: group(0, "c"), EndpointName: "mistral"}),
			want: Result{ID: 4, Revision: 9}, check: func(t *testing.T, _, v *View) {
				g := v.Groups[4]
				if g.EndpointID != 2 || g.APIKey != "key-mistral" || g.WorkerToken != "tok-c" {
					t.Errorf("group 4 = %+v", g)
				}
				if gs := v.GroupsOf(2); len(gs) != 2 || gs[0].ID != 3 || gs[1].ID != 4 {
					t.Errorf("GroupsOf(2) = %v, want groups 3, 4", gs)
				}
			}},
		{name: "group name taken in endpoint", cmd: cmd(t, CmdCreateGroup, CreateGroup{Group: group(1, "b")}),
			want: Result{Code: CodeNameTaken}, unchanged: true},
		{name: "group unknown endpoint name", cmd: cmd(t, CmdCreateGroup, CreateGroup{Group: group(0, "b"), EndpointName: "nope"}),
			want: Result{Code: CodeNoEndpoint}, unchanged: true},
		{name: "group test_workers 1001", cmd: cmd(t, CmdCreateGroup, CreateGroup{Group: func() Group { g := group(1, "z"); g.TestWorkers = 1001; return g }()}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "update group keeps read-only fields", cmd: cmd(t, CmdUpdateGroup, UpdateGroup{ID: 1, Patch: patch(t, map[string]any{
			"endpoint_id": 2, "worker_token": "x", "api_key": "y", "weight": 3, "max_workers": 2})}),
			want: Result{ID: 1, Revision: 9}, check: func(t *testing.T, _, v *View) {
				g := v.Groups[1]
				if g.EndpointID != 1 || g.WorkerToken != "tok-a" || g.APIKey != "key-llama" || g.Weight != 3 || *g.MaxWorkers != 2 {
					t.Errorf("group 1 = %+v", g)
				}
				if gs := v.GroupsOf(1); gs[0] != g {
					t.Errorf("GroupsOf(1)[0] = %+v, want the updated group", gs[0])
				}
			}},
		{name: "update group if_revision mismatch", cmd: cmd(t, CmdUpdateGroup, UpdateGroup{ID: 1, IfRevision: 3, Patch: []byte(`{"weight":2}`)}),
			want: Result{Code: CodeRevision}, unchanged: true},
		{name: "rename group to taken name", cmd: cmd(t, CmdUpdateGroup, UpdateGroup{ID: 1, Patch: []byte(`{"name":"b"}`)}),
			want: Result{Code: CodeNameTaken}, unchanged: true},
		{name: "delete group cascades", cmd: cmd(t, CmdDeleteGroup, DeleteGroup{ID: 1}),
			want: Result{ID: 1, Deleted: []uint64{10, 11}}, check: func(t *testing.T, _, v *View) {
				if len(v.Workers) != 1 || v.Workers[20] == nil || len(v.GroupsOf(1)) != 1 {
					t.Errorf("after delete: workers %v, GroupsOf(1) %v", v.Workers, v.GroupsOf(1))
				}
			}},
		{name: "register worker unknown group", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 9)}),
			want: Result{Code: CodeNoGroup}, unchanged: true},
		{name: "register worker moves group", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(10, 3)}),
			want: Result{ID: 10, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if w := v.Workers[10]; w.EndpointID != 2 || len(v.WorkersOf(1)) != 1 || len(v.WorkersOf(3)) != 1 {
					t.Errorf("worker 10 = %+v, WorkersOf(1) = %v, WorkersOf(3) = %v", w, v.WorkersOf(1), v.WorkersOf(3))
				}
			}},
		{name: "register worker by mtoken", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 0), MToken: "tok-b"}),
			want: Result{ID: 30, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if w := v.Workers[30]; w == nil || w.GroupID != 2 || w.EndpointID != 1 || len(v.WorkersOf(2)) != 2 {
					t.Errorf("worker 30 = %+v, WorkersOf(2) = %v, want group 2 endpoint 1", w, v.WorkersOf(2))
				}
			}},
		{name: "register worker by mtoken overrides group id", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 3), MToken: "tok-b"}),
			want: Result{ID: 30, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if w := v.Workers[30]; w == nil || w.GroupID != 2 {
					t.Errorf("worker 30 = %+v, want group 2", w)
				}
			}},
		{name: "register worker by shared mtoken picks lowest group id", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 0), MToken: "tok-a"}),
			want: Result{ID: 30, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if w := v.Workers[30]; w == nil || w.GroupID != 1 || w.EndpointID != 1 {
					t.Errorf("worker 30 = %+v, want group 1 endpoint 1", w)
				}
			}},
		{name: "register worker unknown mtoken", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 1), MToken: "tok-zzz"}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "register worker mtoken prefix", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(30, 1), MToken: "tok-"}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "register worker by mtoken already there", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: Worker{ID: 10, URL: "http://other", State: WorkerLoading}, MToken: "tok-a"}),
			want: Result{ID: 10, Revision: 5}, unchanged: true},
		{name: "register worker by mtoken moves group", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(20, 0), MToken: "tok-a"}),
			want: Result{ID: 20, Revision: 9}, check: func(t *testing.T, _, v *View) {
				if w := v.Workers[20]; w.GroupID != 1 || len(v.WorkersOf(2)) != 0 || len(v.WorkersOf(1)) != 3 {
					t.Errorf("worker 20 = %+v, WorkersOf(1) = %v, WorkersOf(2) = %v", w, v.WorkersOf(1), v.WorkersOf(2))
				}
			}},
		{name: "register worker by mtoken invalid worker", cmd: cmd(t, CmdRegisterWorker, RegisterWorker{Worker: Worker{ID: 30, State: "sleepy"}, MToken: "tok-b"}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "set worker state", cmd: cmd(t, CmdSetWorkerState, SetWorkerState{ID: 10, State: WorkerReady, MaxPerf: 100}),
			want: Result{ID: 10, Revision: 9}, check: func(t *testing.T, _, v *View) {
				w := v.Workers[10]
				if w.State != WorkerReady || w.MaxPerf != 100 || w.URL != "http://10.0.0.1:8000" || v.WorkersOf(1)[0] != w {
					t.Errorf("worker 10 = %+v, WorkersOf(1) = %v", w, v.WorkersOf(1))
				}
			}},
		{name: "set worker state unknown state", cmd: cmd(t, CmdSetWorkerState, SetWorkerState{ID: 10, State: "sleepy"}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "set worker state negative perf", cmd: cmd(t, CmdSetWorkerState, SetWorkerState{ID: 10, State: WorkerReady, MaxPerf: -1}),
			want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "set worker state unknown worker", cmd: cmd(t, CmdSetWorkerState, SetWorkerState{ID: 99, State: WorkerReady}),
			want: Result{Code: CodeNoWorker}, unchanged: true},
		{name: "remove worker", cmd: cmd(t, CmdRemoveWorker, RemoveWorker{ID: 11}), want: Result{ID: 11, Deleted: []uint64{11}},
			check: func(t *testing.T, _, v *View) {
				if ws := v.WorkersOf(1); len(ws) != 1 || ws[0].ID != 10 {
					t.Errorf("WorkersOf(1) = %v, want worker 10", ws)
				}
			}},
		{name: "remove unknown worker", cmd: cmd(t, CmdRemoveWorker, RemoveWorker{ID: 12}), want: Result{Code: CodeNoWorker}, unchanged: true},
		{name: "signing key not PEM", cmd: cmd(t, CmdSetSigningKey, SetSigningKey{PEM: []byte("nope")}), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "remove server", cmd: cmd(t, CmdRemoveServer, RemoveServer{ID: "n3"}), want: Result{},
			check: func(t *testing.T, _, v *View) {
				if !v.RemovedServers["n3"] {
					t.Errorf("RemovedServers = %v, want n3", v.RemovedServers)
				}
			}},
		{name: "remove server empty id", cmd: cmd(t, CmdRemoveServer, RemoveServer{}), want: Result{Code: CodeInvalid}, unchanged: true},
		{name: "intent result unknown key", cmd: cmd(t, CmdIntentResult, IntentResult{Key: "x", State: IntentDone}),
			want: Result{Code: CodeNoIntent}, unchanged: true},
		{name: "noop", cmd: cmd(t, CmdNoop, Noop{}), want: Result{}, unchanged: true},
		{name: "ignorable unknown command skipped", cmd: Command{Type: 100, Ignorable: true, Version: 1, Payload: []byte(`{}`)},
			want: Result{Code: CodeUnknown}, unchanged: true},
		{name: "ignorable future version skipped", cmd: Command{Type: CmdDeleteEndpoint, Ignorable: true, Version: 2, Payload: []byte(`{"ID":1}`)},
			want: Result{Code: CodeUnknown}, unchanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for _, c := range baseSetup(t) {
				h.mustOK(c)
			}
			h.mustOK(cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: 2, Patch: []byte(`{"inactivity_timeout":-1}`)}))
			h.index = baseEntries // the update above is entry 9 too: revisions stay predictable
			before := h.f.View()
			got := h.apply(tt.cmd)[0]
			after := h.f.View()
			if got.Code != tt.want.Code || got.ID != tt.want.ID || got.Revision != tt.want.Revision || !slices.Equal(got.Deleted, tt.want.Deleted) {
				t.Errorf("apply(%s) = %+v, want %+v", tt.cmd.Type, got, tt.want)
			}
			if (got.Code == "") != (got.Err() == nil) {
				t.Errorf("Result.Err() = %v for code %q", got.Err(), got.Code)
			}
			if after.Index != baseEntries+1 {
				t.Errorf("View().Index = %d, want %d", after.Index, baseEntries+1)
			}
			if tt.unchanged && !bytes.Equal(stateBytes(t, before), stateBytes(t, after)) {
				t.Errorf("apply(%s) changed the state, want unchanged", tt.cmd.Type)
			}
			if tt.check != nil {
				tt.check(t, before, after)
			}
		})
	}
}

func TestSigningKeyFirstWins(t *testing.T) {
	h := newHarness(t)
	k1 := []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	k2 := []byte("-----BEGIN PUBLIC KEY-----\nBBBB\n-----END PUBLIC KEY-----\n")
	h.mustOK(cmd(t, CmdSetSigningKey, SetSigningKey{PEM: k1}))
	h.mustOK(cmd(t, CmdSetSigningKey, SetSigningKey{PEM: k2}))
	if got := h.f.View().SigningKey; !bytes.Equal(got, k1) {
		t.Errorf("SigningKey = %q, want the first key %q", got, k1)
	}
}

func TestIntents(t *testing.T) {
	h := newHarness(t)
	h.term = 4
	in := Intent{Key: "i-1", Kind: IntentCreate, EndpointID: 1, GroupID: 1, Term: 99, CreatedAt: 5}
	r1 := h.mustOK(cmd(t, CmdPutIntent, PutIntent{Intent: in}))
	in.Reason = "changed"
	r2 := h.mustOK(cmd(t, CmdPutIntent, PutIntent{Intent: in}))
	got := h.f.View().Intents["i-1"]
	if r1.Revision != 1 || r2.Revision != 1 || got.Reason != "" || got.Term != 4 || got.State != IntentPending {
		t.Errorf("PutIntent twice = %+v, %+v, intent %+v; want revision 1 both times, term 4, pending, first reason", r1, r2, got)
	}
	tests := []struct {
		name string
		res  IntentResult
		want string
	}{
		{"bad state", IntentResult{Key: "i-1", State: "meh"}, CodeInvalid},
		{"done", IntentResult{Key: "i-1", State: IntentDone, InstanceID: "vast-1"}, ""},
		{"done again", IntentResult{Key: "i-1", State: IntentDone, Result: "again"}, ""},
		{"failed after done", IntentResult{Key: "i-1", State: IntentFailed}, CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := h.apply(cmd(t, CmdIntentResult, tt.res))[0]; r.Code != tt.want {
				t.Errorf("IntentResult(%+v) = %+v, want code %q", tt.res, r, tt.want)
			}
		})
	}
	if got := h.f.View().Intents["i-1"]; got.State != IntentDone || got.InstanceID != "vast-1" || got.Result != "again" {
		t.Errorf("intent = %+v, want done, vast-1, result again", got)
	}
}

func TestDedup(t *testing.T) {
	h := newHarness(t)
	id := rid(1)
	create := cmdID(t, CmdCreateEndpoint, id, CreateEndpoint{Endpoint: endpoint("a")})
	first := h.apply(create)[0]
	again := h.apply(create, create)
	if first.Code != "" || !equalResults(again, []Result{first, first}) {
		t.Fatalf("create with the same request id = %+v then %+v, want %+v each time", first, again, first)
	}
	if n := len(h.f.View().Endpoints); n != 1 {
		t.Errorf("%d endpoints after a repeated request, want 1", n)
	}
	// A rejected command is remembered too.
	other := cmdID(t, CmdCreateEndpoint, rid(2), CreateEndpoint{Endpoint: endpoint("a")})
	r1 := h.apply(other)[0]
	h.mustOK(cmd(t, CmdDeleteEndpoint, DeleteEndpoint{ID: 1}))
	if r2 := h.apply(other)[0]; r1.Code != CodeNameTaken || !equalResults([]Result{r2}, []Result{r1}) {
		t.Errorf("rejected request repeated = %+v then %+v, want the stored rejection", r1, r2)
	}
	if n := len(h.f.View().Endpoints); n != 0 {
		t.Errorf("%d endpoints, want 0: a repeated request must not apply", n)
	}
}

func TestDedupEvictsOldest(t *testing.T) {
	h := newHarness(t)
	create := cmdID(t, CmdCreateEndpoint, RequestID{0xff}, CreateEndpoint{Endpoint: endpoint("a")})
	h.mustOK(create)
	noops := make([]Command, dedupCap-1)
	for i := range noops {
		var id RequestID
		id[0], id[1], id[2] = 1, byte(i>>8), byte(i)
		noops[i] = cmdID(t, CmdNoop, id, Noop{})
	}
	h.apply(noops...)
	if r := h.apply(create)[0]; r.Code != "" || r.ID != 1 {
		t.Fatalf("repeat within the window = %+v, want the stored result", r)
	}
	var newest RequestID
	newest[0] = 2
	h.apply(cmdID(t, CmdNoop, newest, Noop{}))
	if r := h.apply(create)[0]; r.Code != CodeNameTaken {
		t.Errorf("repeat after eviction = %+v, want a fresh apply (name_taken)", r)
	}
	v := h.f.View()
	if len(v.dedup) != dedupCap || len(h.f.seen) != dedupCap {
		t.Errorf("dedup window %d / index %d, want %d", len(v.dedup), len(h.f.seen), dedupCap)
	}
}

func equalResults(a, b []Result) bool {
	return slices.EqualFunc(a, b, func(x, y Result) bool {
		return x.Code == y.Code && x.Msg == y.Msg && x.ID == y.ID && x.Revision == y.Revision && slices.Equal(x.Deleted, y.Deleted)
	})
}

func TestApplyPanicsOnUndecodable(t *testing.T) {
	good := EncodeBatch([]Command{cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("a")})})
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 1
	tests := []struct {
		name string
		data []byte
	}{
		{"unknown non-ignorable type", EncodeBatch([]Command{{Type: 100, Version: 1, Payload: []byte(`{}`)}})},
		{"future version not ignorable", EncodeBatch([]Command{{Type: CmdNoop, Version: 2}})},
		{"bad checksum", corrupt},
		{"malformed", []byte("hello")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := New()
			before := f.View()
			defer func() {
				if recover() == nil {
					t.Errorf("ApplyBatch(%s) did not panic", tt.name)
				}
				if f.View() != before {
					t.Errorf("ApplyBatch(%s) published a new view before panicking", tt.name)
				}
				if r := f.ApplyBatch([]Entry{{Index: 1, Data: good}}); r[0][0].Code != "" {
					t.Errorf("FSM unusable after a recovered panic: %+v", r)
				}
			}()
			f.ApplyBatch([]Entry{{Index: 1, Data: good}, {Index: 2, Data: tt.data}})
		})
	}
}

func TestNonCommandEntries(t *testing.T) {
	f := New()
	got := f.ApplyBatch([]Entry{{Index: 1}, {Index: 2, Data: EncodeBatch([]Command{cmd(t, CmdNoop, Noop{})})}, {Index: 3, Data: []byte{}}})
	if len(got) != 3 || got[0] != nil || len(got[1]) != 1 || got[2] != nil || f.View().Index != 3 {
		t.Errorf("ApplyBatch = %v, index %d; want [nil [ok] nil], index 3", got, f.View().Index)
	}
	if got := f.ApplyBatch(nil); got != nil {
		t.Errorf("ApplyBatch(nil) = %v, want nil", got)
	}
}

func TestResultErr(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{CodeInvalid, ErrInvalid}, {CodeNoEndpoint, ErrNotFound}, {CodeNoGroup, ErrNotFound},
		{CodeNoWorker, ErrNotFound}, {CodeNoIntent, ErrNotFound}, {CodeNameTaken, ErrNameTaken},
		{CodeRevision, ErrRevisionMismatch}, {CodeUnknown, ErrUnknownCommand},
	}
	for _, tt := range tests {
		err := Result{Code: tt.code, Msg: "m"}.Err()
		if !errors.Is(err, tt.want) {
			t.Errorf("Result{Code: %q}.Err() = %v, want %v", tt.code, err, tt.want)
		}
	}
	if err := (Result{}).Err(); err != nil {
		t.Errorf("Result{}.Err() = %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name string
		mut  func(e *Endpoint, g *Group)
		ok   bool
	}{
		{"defaults", func(*Endpoint, *Group) {}, true},
		{"target_util 1", func(e *Endpoint, _ *Group) { e.TargetUtil = 1 }, true},
		{"inactivity negative", func(e *Endpoint, _ *Group) { e.InactivityTimeout = f64(-5) }, true},
		{"inactivity infinite", func(e *Endpoint, _ *Group) { e.InactivityTimeout = f64(inf) }, false},
		{"min_load infinite", func(e *Endpoint, _ *Group) { e.MinLoad = inf }, false},
		{"target_queue_time -1", func(e *Endpoint, _ *Group) { e.TargetQueueTime = -1 }, false},
		{"slo_target 0 (default)", func(e *Endpoint, _ *Group) { e.SLOTarget = 0 }, true},
		{"slo_target 0.99", func(e *Endpoint, _ *Group) { e.SLOTarget = 0.99 }, true},
		{"slo_target 1", func(e *Endpoint, _ *Group) { e.SLOTarget = 1 }, false},
		{"slo_target NaN", func(e *Endpoint, _ *Group) { e.SLOTarget = math.NaN() }, false},
		{"name 255", func(e *Endpoint, _ *Group) { e.Name = string(bytes.Repeat([]byte("a"), 255)) }, true},
		{"name 256", func(e *Endpoint, _ *Group) { e.Name = string(bytes.Repeat([]byte("a"), 256)) }, false},
		{"name empty", func(e *Endpoint, _ *Group) { e.Name = "" }, false},
		{"name unicode", func(e *Endpoint, _ *Group) { e.Name = "é" }, false},
		{"group gpu_ram -1", func(_ *Endpoint, g *Group) { g.GPURAM = -1 }, false},
		{"group weight 0", func(_ *Endpoint, g *Group) { g.Weight = 0 }, true},
		{"group cold_workers 10001", func(_ *Endpoint, g *Group) { g.ColdWorkers = i64(10001) }, false},
		{"group max_workers 100000", func(_ *Endpoint, g *Group) { g.MaxWorkers = i64(100000) }, true},
		{"group min_cold_load -1", func(_ *Endpoint, g *Group) { g.MinColdLoad = f64(-1) }, false},
		{"group name bad", func(_ *Endpoint, g *Group) { g.Name = "a/b" }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, g := endpoint("ok"), group(1, "")
			tt.mut(&e, &g)
			err := errors.Join(e.Validate(), g.Validate())
			if (err == nil) != tt.ok {
				t.Errorf("Validate(%s) = %v, want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate(%s) = %v, want it to wrap %v", tt.name, err, ErrInvalid)
			}
		})
	}
	want := Endpoint{TargetUtil: 0.9, ColdMult: 2.5, ColdWorkers: 5, MaxWorkers: 20, MaxQueueTime: 30, TargetQueueTime: 10, SLOTarget: 0.95, State: EndpointActive}
	if d := EndpointDefaults(); d != want {
		t.Errorf("EndpointDefaults() = %+v", d)
	}
	if g := GroupDefaults(); g.GPURAM != 24 || g.TestWorkers != 3 || g.Weight != 1 {
		t.Errorf("GroupDefaults() = %+v", g)
	}
}

package edge

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/worker/token"
)

// Signatures made with `openssl dgst -sha256 -sign testdata/signing_key.pem`
// over the indent-4 bytes written by hand (printf), independent of Go.
var signatureVectors = []struct{ url, signed, sig string }{
	{"http://10.0.0.1:8080", "{\n    \"url\": \"http://10.0.0.1:8080\"\n}",
		"X/beC3Ax9zSPhVFvOxBo1Adxe0JnHUyqkcH41htMkbNOP45rPqLlOV/mPjpl6Ftqc6tdRjyBQ9lNMG7yuz7uay/Yz1ZCxjKTPHb65yOKcC9/bsPKfnquNnkf+CMUjTD598RJToAsRhJ6fn31DmHs4kFQafknjKNfp56A6RpniHLXbYyg1GIWMj2cDBIdtMBDTaG7r9ldBmgkV2n3diuMI9k7z0qXKxbwK6B5Cjm4Z9Fx91YoGEq8NlMEdt91rqvgJAZaoVaoC/oTOm0N8W9Vjv/5odfgg6z5w6Ps53MmyOQ847Gk3tRwJqah4fuRBEB4ipHmsLFeLTwB+truRFXeyA=="},
	{"http://h/ä?x=<&>", "{\n    \"url\": \"http://h/\\u00e4?x=<&>\"\n}",
		"XMalBvXMuu11cSosmjEjOEF30VxI7mt1cJQQYbtnm10XeZjTxpAlI3hchYXZ/WFeKJ+UDG8s+LZ/0Mti1h614lxARIpMGBGyp8dyOBKea6iR+MH0lFvtc5qGtie7/8GzweNDMcDs4SJ1VBlJa963sh2Wam0ucKkDaKJLIVXkU6SnHaGpsB8NQVzJrV9epXnVk973h7eAhU1D+s7SxPNQ/EkQoRtGJ3vw5YynmejvqvOgIxcPCv7DUkBD1nnljCfpO9MjtVJbL/VsKjAjN+EQENF/DB86s8gJC/+TRxQS1Q5gnOEkyWSNTY/0bCzPCPeosjCIryxoiuzr7ZZsjB8NZQ=="},
}

// pubkey fetches and parses GET /pubkey/.
func pubkey(t *testing.T, e *dpEnv) *rsa.PublicKey {
	t.Helper()
	status, raw := e.do(t, "GET", "/pubkey/", "", "")
	if status != 200 || !strings.HasPrefix(string(raw), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("GET /pubkey/ = %d %q, want 200 PUBLIC KEY PEM", status, raw)
	}
	block, _ := pem.Decode(raw)
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	k := pub.(*rsa.PublicKey)
	if k.N.BitLen() < 2048 {
		t.Fatalf("pubkey has %d bits, want ≥ 2048", k.N.BitLen())
	}
	return k
}

func verifySig(t *testing.T, pub *rsa.PublicKey, url, sig string) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		t.Fatalf("signature %q is not standard base64: %v", sig, err)
	}
	digest := sha256.Sum256(token.AppendSignedURL(nil, url))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw); err != nil {
		t.Fatalf("signature of %q does not verify: %v", url, err)
	}
}

func TestSignatureVectors(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	pub := pubkey(t, e)
	sg := e.srv.tables().sig
	for _, v := range signatureVectors {
		t.Run(v.url, func(t *testing.T) {
			if got := string(token.AppendSignedURL(nil, v.url)); got != v.signed {
				t.Fatalf("AppendSignedURL(%q) = %q, want %q", v.url, got, v.signed)
			}
			got, err := sg.signature(v.url)
			if err != nil || got != v.sig {
				t.Fatalf("signature(%q) = %q, %v, want %q", v.url, got, err, v.sig)
			}
			verifySig(t, pub, v.url, got)
		})
	}
}

func TestPubkeyWithoutKey(t *testing.T) {
	node := newFakeNode()
	srv := New(Config{Logger: discardLogger()}, node, node, node, node)
	e := &dpEnv{srv: srv, node: node}
	if status, raw := e.do(t, "GET", "/pubkey/", "", ""); status != 503 {
		t.Fatalf("GET /pubkey/ without a key = %d %q, want 503", status, raw)
	}
}

func TestRouteReadyAnswer(t *testing.T) {
	e := newDPEnv(t, DataPlane{NodeIndex: 7})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 1000)
	status, m := e.route(t, 0)
	if status != 200 {
		t.Fatalf("route = %d %v, want 200", status, m)
	}
	want := []string{"__request_id", "cost", "drover_token", "endpoint", "reqnum", "request_idx", "signature", "url"}
	if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, want) {
		t.Fatalf("route answer keys = %v, want %v", got, want)
	}
	if m["endpoint"] != testEndpoint || m["url"] != "http://10.0.0.11:8080" || m["cost"] != 100.0 {
		t.Fatalf("route answer = %v", m)
	}
	reqnum, idx := num(t, m, "reqnum"), num(t, m, "request_idx")
	if reqnum&maxNodeIndex != 7 || idx&maxNodeIndex != 7 || reqnum == idx || float64(reqnum) >= 1<<53 {
		t.Fatalf("reqnum %d, request_idx %d: want distinct, node index 7 in the low bits, < 2^53", reqnum, idx)
	}
	verifySig(t, pubkey(t, e), "http://10.0.0.11:8080", m["signature"].(string))

	status, ws := e.doJSON(t, "POST", "/worker_status/", "", `{"id":11,"mtoken":"`+testMToken+`","cur_load":0}`)
	if status != 200 || ws["success"] != true {
		t.Fatalf("worker_status = %d %v", status, ws)
	}
	key, err := base64.StdEncoding.DecodeString(ws["drover_key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := token.Verify(key, m["drover_token"].(string), e.clock.Now())
	wantClaims := token.Claims{WorkerID: 11, Endpoint: testEndpoint, Reqnum: reqnum, RequestIdx: idx, Cost: 100,
		Expires: e.clock.Now().Add(DefaultTokenTTL).UnixMilli()}
	if err != nil || claims != wantClaims {
		t.Fatalf("token.Verify = %+v, %v, want %+v", claims, err, wantClaims)
	}
}

func TestRouteKeySourcesAndErrors(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 1000)
	tests := []struct {
		name, uri, auth, body string
		status                int
		wantBody              string // "" = any
	}{
		{"body key", "/route/", "", `{"endpoint":"chat","api_key":"` + testAPIKey + `"}`, 200, ""},
		{"bearer key", "/route/", "Bearer " + testAPIKey, `{"endpoint":"chat","cost":1.5}`, 200, ""},
		{"query key", "/route/?api_key=" + testAPIKey, "", `{"endpoint":"chat"}`, 200, ""},
		{"no slash, escapes", "/route", "", `{"endpoint":"ch\u0061t","api_key":"` + testAPIKey + `","request_idx":null}`, 200, ""},
		{"wrong key", "/route/", "", `{"endpoint":"chat","api_key":"nope"}`, 401, `{"error":"Authentication failed"}`},
		{"wrong bearer", "/route/", "Bearer nope", `{"endpoint":"chat"}`, 401, `{"error":"Authentication failed"}`},
		{"no key", "/route/", "", `{"endpoint":"chat"}`, 401, `{"error":"Authentication failed"}`},
		{"unknown endpoint", "/route/", "", `{"endpoint":"nope","api_key":"` + testAPIKey + `"}`, 404, ""},
		{"no endpoint", "/route/", "", `{"api_key":"` + testAPIKey + `"}`, 400, ""},
		{"empty body", "/route/", "", ``, 400, ""},
		{"array", "/route/", "", `[]`, 400, ""},
		{"malformed", "/route/", "", `{"endpoint":"chat",`, 400, ""},
		{"cost string", "/route/", "", `{"endpoint":"chat","cost":"x"}`, 400, ""},
		{"negative cost", "/route/", "", `{"endpoint":"chat","api_key":"k","cost":-1}`, 400, ""},
		{"huge cost", "/route/", "", `{"endpoint":"chat","api_key":"k","cost":1e300}`, 400, ""},
		{"fractional idx", "/route/", "", `{"endpoint":"chat","request_idx":1.5}`, 400, ""},
		{"negative idx", "/route/", "", `{"endpoint":"chat","request_idx":-3}`, 400, ""},
		{"negative replay", "/route/", "", `{"endpoint":"chat","replay_timeout":-1}`, 400, ""},
		{"endpoint number", "/route/", "", `{"endpoint":5}`, 400, ""},
		{"GET", "/route/", "", ``, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if tt.name == "GET" {
				method = "GET"
			}
			status, raw := e.do(t, method, tt.uri, tt.auth, tt.body)
			if status != tt.status || (tt.wantBody != "" && string(raw) != tt.wantBody) {
				t.Fatalf("%s %s = %d %s, want %d %s", tt.uri, tt.body, status, raw, tt.status, tt.wantBody)
			}
			if status >= 400 && !strings.Contains(string(raw), `"error"`) {
				t.Fatalf("error answer %s lacks \"error\"", raw)
			}
		})
	}
}

func TestRouteSpreadsOverWorkers(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	for id := uint64(1); id <= 3; id++ {
		e.addWorker(t, id, e.grpA, fsm.WorkerReady, 1e6)
	}
	e.addWorker(t, 4, e.grpA, fsm.WorkerLoading, 1e6)
	seen := map[uint64]int{}
	for range 300 {
		_, m := e.route(t, 0)
		seen[routedTo(t, m)]++
	}
	if len(seen) != 3 || seen[4] != 0 || seen[0] != 0 {
		t.Fatalf("routes per worker = %v, want workers 1-3 only", seen)
	}
	for id, n := range seen {
		if n < 60 {
			t.Fatalf("worker %d got %d of 300 routes, want a fair share (%v)", id, n, seen)
		}
	}
}

func TestRoutePrefersShortQueue(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 100)
	e.addWorker(t, 2, e.grpA, fsm.WorkerReady, 100)
	// Worker 1 reports 10 s of work, worker 2 none: with two workers P2C
	// always compares both, so every route goes to 2 until it has 10 s.
	now := time.Now().UnixNano()
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, CurLoad: 1000, MaxPerf: 100, LastReport: now})
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 2, MaxPerf: 100, LastReport: now})
	for i := range 10 {
		if _, m := e.route(t, 0); routedTo(t, m) != 2 {
			t.Fatalf("route %d went to %d, want 2 (shorter queue)", i, routedTo(t, m))
		}
	}
}

func TestRouteWeights(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	canary := e.addGroup(t, "canary", 0.25, "tok-c")
	e.mustApply(t, fsm.CmdUpdateGroup, fsm.UpdateGroup{ID: e.grpA, Patch: []byte(`{"weight":0.75}`)})
	e.mustApply(t, fsm.CmdUpdateGroup, fsm.UpdateGroup{ID: e.grpB, Patch: []byte(`{"weight":0}`)})
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 1e9)
	e.addWorker(t, 2, e.grpB, fsm.WorkerReady, 1e9)
	e.addWorker(t, 3, canary, fsm.WorkerReady, 1e9)
	er := e.srv.tables().byID[e.epID]
	seen := map[uint64]int{}
	const n = 4000
	for range n {
		seen[er.pick(e.ov, 0).w.ID]++
	}
	if seen[2] != 0 || math.Abs(float64(seen[3])/n-0.25) > 0.04 {
		t.Fatalf("picks per worker = %v, want ~75%% worker 1, ~25%% worker 3, none for weight 0", seen)
	}
}

func TestRouteSkipsPastMaxQueueTime(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 100)
	e.addWorker(t, 2, e.grpB, fsm.WorkerReady, 100)
	now := time.Now().UnixNano()
	// max_queue_time 30 s: worker 1 has 40 s of work, worker 2 has 25 s;
	// each route adds 1 s (cost 100 at perf 100).
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, CurLoad: 4000, MaxPerf: 100, LastReport: now})
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 2, CurLoad: 2500, MaxPerf: 100, LastReport: now})
	for i := range 6 {
		if _, m := e.route(t, 0); routedTo(t, m) != 2 {
			t.Fatalf("route %d = worker %d, want 2 (1 is past max_queue_time)", i, routedTo(t, m))
		}
	}
	status, m := e.route(t, 0) // worker 2 now holds 31 s
	if status != 200 || m["url"] != nil || m["status"] == nil {
		t.Fatalf("route with every worker past max_queue_time = %d %v, want the not-ready form", status, m)
	}
	// A new report resets what this node routed since.
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 2, CurLoad: 0, MaxPerf: 100, LastReport: now + 1})
	if _, m := e.route(t, num(t, m, "request_idx")); routedTo(t, m) != 2 {
		t.Fatalf("route after a fresh report = %v, want worker 2", m)
	}
}

func TestRouteNotReadyStates(t *testing.T) {
	caught := true
	e := newDPEnv(t, DataPlane{CaughtUp: func() bool { return caught }})
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 1000)
	e.addWorker(t, 2, e.grpA, fsm.WorkerLoading, 0)
	tests := []struct {
		name  string
		setup func()
		ready bool
	}{
		{"active", func() {}, true},
		{"suspended routes", func() { e.setEndpointState(t, fsm.EndpointSuspended) }, true},
		{"stopped", func() { e.setEndpointState(t, fsm.EndpointStopped) }, false},
		{"not caught up", func() { e.setEndpointState(t, fsm.EndpointActive); caught = false }, false},
		{"caught up again", func() { caught = true }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			status, m := e.route(t, 0)
			if status != 200 || (m["url"] != nil) != tt.ready {
				t.Fatalf("route = %d %v, want 200 ready=%v", status, m, tt.ready)
			}
			if !tt.ready {
				st, _ := m["status"].(map[string]any)
				if st["ready"] != 1.0 || st["loading"] != 1.0 || num(t, m, "request_idx") == 0 {
					t.Fatalf("not-ready answer %v: want status counts and a request_idx", m)
				}
			}
		})
	}
}

func (e *dpEnv) setEndpointState(t *testing.T, state string) {
	t.Helper()
	e.mustApply(t, fsm.CmdUpdateEndpoint, fsm.UpdateEndpoint{ID: e.epID, Patch: []byte(`{"endpoint_state":"` + state + `"}`)})
}

func TestRouteQueueKeepsPlace(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 1, e.grpA, fsm.WorkerLoading, 0)
	_, first := e.route(t, 0)
	idx1 := num(t, first, "request_idx")
	want := []string{"__request_id", "cost", "endpoint", "reqnum", "request_idx", "signature", "status"}
	if got := slices.Sorted(maps.Keys(first)); !slices.Equal(got, want) {
		t.Fatalf("not-ready keys = %v, want %v", got, want)
	}
	e.clock.Add(time.Second)
	_, second := e.route(t, 0)
	idx2 := num(t, second, "request_idx")
	e.clock.Add(time.Second)
	// Polls keep their place: the first entry keeps its Enqueued time.
	if _, m := e.route(t, idx1); num(t, m, "request_idx") != idx1 || m["url"] != nil {
		t.Fatalf("poll = %v, want not-ready with request_idx %d", m, idx1)
	}
	q := e.ov.Queue(e.epID)
	if len(q) != 2 || q[0].RequestIdx != idx1 || q[1].RequestIdx != idx2 {
		t.Fatalf("queue = %+v, want [%d %d]", q, idx1, idx2)
	}
	// A worker becomes ready (no report yet: its room cannot be judged):
	// every held request is served on its next poll, newest first or not.
	e.mustApply(t, fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: 1, State: fsm.WorkerReady, MaxPerf: 1000})
	if _, m := e.route(t, idx2); routedTo(t, m) != 1 || num(t, m, "request_idx") != idx2 {
		t.Fatalf("newer poll = %v, want served by worker 1 with its request_idx", m)
	}
	if _, m := e.route(t, idx1); routedTo(t, m) != 1 {
		t.Fatalf("oldest poll = %v, want served", m)
	}
	if q := e.ov.Queue(e.epID); len(q) != 0 {
		t.Fatalf("queue after serving = %+v, want none", q)
	}
}

// Vast's model: a worker takes requests while its queued cost fits
// max_queue_time. Held requests are released as fast as that room allows,
// whoever polls first, and the room is kept for the older ones.
func TestRouteHeldQueueDrainsAtWorkerSpeed(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 1, e.grpA, fsm.WorkerLoading, 0)
	var held []uint64
	for range 40 { // cost 100 each
		_, m := e.route(t, 0)
		held = append(held, num(t, m, "request_idx"))
		e.clock.Add(time.Millisecond)
	}
	// Ready with perf 100, idle: max_queue_time 30 s holds 3,000 of load,
	// room for the 30 oldest.
	e.setState(t, 1, fsm.WorkerReady)
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, MaxPerf: 100, LastReport: 1})
	served := map[uint64]bool{}
	for i := len(held) - 1; i >= 0; i-- { // the newest poll first
		if _, m := e.route(t, held[i]); m["url"] != nil {
			served[held[i]] = true
		}
	}
	for i, idx := range held {
		if served[idx] != (i < 30) {
			t.Fatalf("held request %d served = %v, want the 30 oldest served (all served: %d)", i, served[idx], len(served))
		}
	}
	// A new request waits behind the 10 still held.
	if _, m := e.route(t, 0); m["url"] != nil {
		t.Fatalf("new request = %v, want held behind the queue", m)
	}
	// The worker reports its work done: the rest goes at once.
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, MaxPerf: 100, LastReport: 2})
	for _, idx := range held[30:] {
		if _, m := e.route(t, idx); routedTo(t, m) != 1 {
			t.Fatalf("held request %d after the report = %v, want served", idx, m)
		}
	}
}

// A new request that finds the endpoint's held queue full is refused with
// 429 in the engine's error shape; held requests still poll.
func TestRouteQueueFull(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	e.ov.cap = 2
	e.addWorker(t, 1, e.grpA, fsm.WorkerLoading, 0)
	_, m := e.route(t, 0)
	idx := num(t, m, "request_idx")
	e.route(t, 0)
	status, m := e.route(t, 0)
	if status != 429 || m["error"] == nil || len(m) != 1 {
		t.Fatalf("route with a full queue = %d %v, want 429 {\"error\":…}", status, m)
	}
	if status, m := e.route(t, idx); status != 200 || num(t, m, "request_idx") != idx {
		t.Fatalf("poll of a held request with a full queue = %d %v, want 200 not-ready", status, m)
	}
	wantMetric(t, e, `drover_route_requests_total{outcome="queue_full"} 1`)
}

func TestRouteIDsUnique(t *testing.T) {
	e := newDPEnv(t, DataPlane{NodeIndex: 1023})
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 1e9)
	seen := map[uint64]bool{}
	for range 200 {
		_, m := e.route(t, 0)
		for _, k := range []string{"reqnum", "request_idx"} {
			n := num(t, m, k)
			if seen[n] || n&maxNodeIndex != 1023 {
				t.Fatalf("%s %d repeated or without node index 1023", k, n)
			}
			seen[n] = true
		}
	}
}

// TestRouteConcurrentWithViewChanges routes from several goroutines while
// workers change state (run with -race): every answer is a ready or a
// not-ready form, never an error.
func TestRouteConcurrentWithViewChanges(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	for id := uint64(1); id <= 4; id++ {
		e.addWorker(t, id, e.grpA, fsm.WorkerReady, 1e9)
	}
	done := make(chan struct{})
	errs := make(chan string, 4)
	for range 4 {
		go func() {
			for {
				select {
				case <-done:
					errs <- ""
					return
				default:
				}
				if status, raw := e.do(t, "POST", "/route/", "", benchRouteBody); status != 200 {
					errs <- string(raw)
					return
				}
			}
		}()
	}
	for i := range 50 {
		state := fsm.WorkerReady
		if i%2 == 0 {
			state = fsm.WorkerLost
		}
		e.setState(t, uint64(i%4+1), state)
	}
	close(done)
	for range 4 {
		if msg := <-errs; msg != "" {
			t.Fatalf("concurrent route failed: %s", msg)
		}
	}
}

// A node that lost its leader routes only to workers whose reports it has
// seen within StaleAfter: it cannot learn that the others were removed.
func TestStaleNodeRoutesOnlyToWorkersSeenAlive(t *testing.T) {
	var stale atomic.Bool
	e := newDPEnv(t, DataPlane{Stale: stale.Load})
	e.srv.cfg.StaleAfter = 5 * time.Second
	e.addWorker(t, 1, e.grpA, fsm.WorkerReady, 1e9)
	e.addWorker(t, 2, e.grpA, fsm.WorkerReady, 1e9)
	now := e.clock.Now()
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, MaxPerf: 1e9, LastReport: now.UnixNano()})
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 2, MaxPerf: 1e9, LastReport: now.Add(-6 * time.Second).UnixNano()})
	seen := map[uint64]int{}
	for range 50 {
		_, m := e.route(t, 0)
		seen[routedTo(t, m)]++
	}
	if seen[1] == 0 || seen[2] == 0 {
		t.Fatalf("in touch with the leader: routes %v, want both workers", seen)
	}
	stale.Store(true)
	for i := range 50 {
		if _, m := e.route(t, 0); routedTo(t, m) != 1 {
			t.Fatalf("stale node, route %d went to %d, want only worker 1 (seen alive)", i, routedTo(t, m))
		}
	}
	e.ov.setLoad(fsm.WorkerLoad{WorkerID: 1, MaxPerf: 1e9, LastReport: now.Add(-6 * time.Second).UnixNano()})
	if code, m := e.route(t, 0); code != 200 || m["url"] != nil {
		t.Fatalf("stale node with no worker seen alive = %d %v, want the not-ready form", code, m)
	}
}

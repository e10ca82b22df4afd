package edge

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// fakeOverlay is an in-memory Overlay: Load is lock-free (copy-on-write
// map), the rest takes a mutex.
type fakeOverlay struct {
	loads atomic.Pointer[map[uint64]*fsm.WorkerLoad]

	mu      sync.Mutex
	reports []*fsm.LoadReport
	queue   map[[2]uint64]fsm.QueueEntry
	cap     int // held requests before Enqueue refuses new ones; 0: no cap
	fresh   map[string]time.Duration
}

var _ Overlay = (*fakeOverlay)(nil)

func newFakeOverlay() *fakeOverlay {
	o := &fakeOverlay{queue: map[[2]uint64]fsm.QueueEntry{}}
	o.loads.Store(&map[uint64]*fsm.WorkerLoad{})
	return o
}

func (o *fakeOverlay) Report(r *fsm.LoadReport) bool {
	o.mu.Lock()
	o.reports = append(o.reports, r)
	o.mu.Unlock()
	o.setLoad(fsm.WorkerLoad{WorkerID: r.WorkerID, CurLoad: r.CurLoad, MaxPerf: r.MaxPerf,
		LoadTime: r.LoadTime, URL: r.URL, LastReport: time.Now().UnixNano()})
	return false
}

// setLoad publishes a worker's load (a new LastReport resets the routed
// counter, as a real report does).
func (o *fakeOverlay) setLoad(wl fsm.WorkerLoad) {
	o.mu.Lock()
	defer o.mu.Unlock()
	old := *o.loads.Load()
	m := make(map[uint64]*fsm.WorkerLoad, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[wl.WorkerID] = &wl
	o.loads.Store(&m)
}

func (o *fakeOverlay) Load(id uint64) *fsm.WorkerLoad { return (*o.loads.Load())[id] }

func (o *fakeOverlay) Enqueue(e fsm.QueueEntry) (fsm.QueueEntry, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := [2]uint64{e.EndpointID, e.RequestIdx}
	old, ok := o.queue[k]
	if ok {
		e.Enqueued = old.Enqueued
	} else if o.cap > 0 && len(o.queue) >= o.cap {
		return e, false
	}
	o.queue[k] = e
	return e, true
}

func (o *fakeOverlay) QueueAhead(endpointID, idx uint64) (held bool, n int, cost float64) {
	for _, e := range o.Queue(endpointID) {
		if e.RequestIdx == idx {
			return true, n, cost
		}
		n++
		cost += e.Cost
	}
	return false, n, cost
}

func (o *fakeOverlay) Dequeue(endpointID, idx uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.queue, [2]uint64{endpointID, idx})
}

func (o *fakeOverlay) Queue(endpointID uint64) []fsm.QueueEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []fsm.QueueEntry
	for k, e := range o.queue {
		if k[0] == endpointID {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b fsm.QueueEntry) int {
		return cmp.Or(cmp.Compare(a.Enqueued, b.Enqueued), cmp.Compare(a.RequestIdx, b.RequestIdx))
	})
	return out
}

func (o *fakeOverlay) Freshness() map[string]time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fresh
}

func (o *fakeOverlay) reportCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.reports)
}

// testClock is a settable clock for DataPlane.Now.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Add(d time.Duration)     { c.ns.Add(int64(d)) }
func (c *testClock) Since(t time.Time) int64 { return c.ns.Load() - t.UnixNano() }

// Fixed test objects.
const (
	testEndpoint = "chat"
	testAPIKey   = "ep-key-0123456789"
	testMToken   = "worker-token-a"
	testMTokenB  = "worker-token-b"
)

// dpEnv is a Server with a fake node (real fsm), a fake overlay, the test
// signing key, and one endpoint with static groups.
type dpEnv struct {
	srv   *Server
	node  *fakeNode
	ov    *fakeOverlay
	clock *testClock
	epID  uint64
	grpA  uint64 // weight 1, token testMToken
	grpB  uint64 // weight 1, token testMTokenB
}

var (
	testKeyOnce sync.Once
	testKeyPEM  []byte
)

func testSigningKey(t testing.TB) []byte {
	t.Helper()
	testKeyOnce.Do(func() {
		b, err := os.ReadFile("testdata/signing_key.pem")
		if err != nil {
			t.Fatal(err)
		}
		testKeyPEM = b
	})
	return testKeyPEM
}

func newDPEnv(t testing.TB, dp DataPlane) *dpEnv {
	t.Helper()
	node := newFakeNode()
	e := &dpEnv{node: node, ov: newFakeOverlay(), clock: newTestClock()}
	if dp.Overlay == nil {
		dp.Overlay = e.ov
	}
	if dp.Now == nil {
		dp.Now = e.clock.Now
	}
	cfg := Config{Logger: discardLogger(), AdminTokenHash: sha256.Sum256([]byte(testToken)), DataPlane: dp}
	e.srv = New(cfg, node, node, node, node)
	e.mustApply(t, fsm.CmdSetSigningKey, fsm.SetSigningKey{PEM: testSigningKey(t)})
	ep := fsm.EndpointDefaults()
	ep.Name, ep.APIKey = testEndpoint, testAPIKey
	e.epID = e.mustApply(t, fsm.CmdCreateEndpoint, fsm.CreateEndpoint{Endpoint: ep}).ID
	e.grpA = e.addGroup(t, "a", 1, testMToken)
	e.grpB = e.addGroup(t, "b", 1, testMTokenB)
	return e
}

func (e *dpEnv) addGroup(t testing.TB, name string, weight float64, tok string) uint64 {
	t.Helper()
	g := fsm.GroupDefaults()
	g.EndpointID, g.Name, g.Weight, g.Provider, g.WorkerToken = e.epID, name, weight, "static", tok
	return e.mustApply(t, fsm.CmdCreateGroup, fsm.CreateGroup{Group: g}).ID
}

func (e *dpEnv) mustApply(t testing.TB, typ fsm.CmdType, payload any) fsm.Result {
	t.Helper()
	cmd, err := fsm.NewCommand(typ, fsm.RequestID{}, payload)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.node.Apply(t.Context(), cmd)
	if err != nil || res[0].Code != "" {
		t.Fatalf("Apply(%d, %+v) = %+v, %v", typ, payload, res, err)
	}
	return res[0]
}

// addWorker registers a worker in group g in state with perf.
func (e *dpEnv) addWorker(t testing.TB, id, g uint64, state string, perf float64) {
	t.Helper()
	url := "http://10.0.0." + itoa(id) + ":8080"
	e.mustApply(t, fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: fsm.Worker{ID: id, GroupID: g,
		URL: url, State: state, MaxPerf: perf}})
}

func (e *dpEnv) setState(t testing.TB, id uint64, state string) {
	t.Helper()
	e.mustApply(t, fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: id, State: state})
}

func itoa(n uint64) string { b, _ := json.Marshal(n); return string(b) }

// do runs one request through the server's handler in memory.
func (e *dpEnv) do(t testing.TB, method, uri, auth, body string) (int, []byte) {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	if auth != "" {
		ctx.Request.Header.Set("Authorization", auth)
	}
	ctx.Request.SetBodyString(body)
	e.srv.handle(&ctx)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...)
}

// doJSON is do with a JSON object answer.
func (e *dpEnv) doJSON(t testing.TB, method, uri, auth, body string) (int, map[string]any) {
	t.Helper()
	status, raw := e.do(t, method, uri, auth, body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s %s: answer %q is not a JSON object: %v", method, uri, body, raw, err)
	}
	return status, m
}

// route posts a /route/ body with the endpoint key in the body.
func (e *dpEnv) route(t testing.TB, idx uint64) (int, map[string]any) {
	t.Helper()
	body := `{"endpoint":"` + testEndpoint + `","api_key":"` + testAPIKey +
		`","cost":100,"request_idx":` + itoa(idx) + `,"replay_timeout":60.0}`
	return e.doJSON(t, "POST", "/route/", "", body)
}

// routedTo returns the worker id an answer routes to (0 when not ready).
func routedTo(t testing.TB, m map[string]any) uint64 {
	t.Helper()
	u, ok := m["url"].(string)
	if !ok {
		return 0
	}
	var id uint64
	for i := len("http://10.0.0."); i < len(u) && u[i] != ':'; i++ {
		id = id*10 + uint64(u[i]-'0')
	}
	return id
}

package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

const (
	testEndpoint = "ep"
	testKey      = "key-1"
)

// fakeEngine is the engine state shared by the fake nodes of one test: it
// assigns request_idx values, holds each one not-ready for notReady polls,
// then names workers[k] for the k-th ready answer (the last one afterwards).
type fakeEngine struct {
	mu       sync.Mutex
	notReady int
	workers  []string
	nextIdx  uint64
	reqnum   uint64
	polls    map[uint64]int
	calls    []engineCall
	answers  map[uint64][]byte // last raw ready answer per request_idx
}

// engineCall is one /route/ call as a node saw it.
type engineCall struct {
	node string
	idx  uint64 // request_idx the client sent
	body map[string]any
	auth string // Authorization header
	qkey string // ?api_key=
}

func newEngine(notReady int, workers ...string) *fakeEngine {
	return &fakeEngine{notReady: notReady, workers: workers, nextIdx: 1000,
		polls: map[uint64]int{}, answers: map[uint64][]byte{}}
}

func (e *fakeEngine) setWorkers(urls ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workers = urls
}

// callsSnapshot returns a copy of the calls seen so far.
func (e *fakeEngine) callsSnapshot() []engineCall {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]engineCall(nil), e.calls...)
}

// route answers one /route/ call the way drover's edge does.
func (e *fakeEngine) route(node string, w http.ResponseWriter, r *http.Request) {
	var req struct {
		Endpoint   string  `json:"endpoint"`
		APIKey     string  `json:"api_key"`
		Cost       float64 `json:"cost"`
		RequestIdx uint64  `json:"request_idx"`
	}
	raw, _ := io.ReadAll(r.Body)
	var body map[string]any
	if json.Unmarshal(raw, &req) != nil || json.Unmarshal(raw, &body) != nil {
		http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, engineCall{node: node, idx: req.RequestIdx, body: body,
		auth: r.Header.Get("Authorization"), qkey: r.URL.Query().Get("api_key")})
	switch {
	case req.APIKey != testKey:
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":"Authentication failed"}`)
		return
	case req.Endpoint != testEndpoint:
		http.Error(w, `{"error":"no such endpoint"}`, http.StatusNotFound)
		return
	}
	idx := req.RequestIdx
	if idx == 0 {
		e.nextIdx++
		idx = e.nextIdx
	}
	e.polls[idx]++
	if e.polls[idx] <= e.notReady || len(e.workers) == 0 {
		fmt.Fprintf(w, `{"endpoint":%q,"cost":%v,"reqnum":0,"signature":"","request_idx":%d,"__request_id":"r%d","status":{"ready":0,"loading":1}}`,
			testEndpoint, req.Cost, idx, idx)
		return
	}
	url := e.workers[min(int(e.reqnum), len(e.workers)-1)]
	e.reqnum++
	ans := fmt.Appendf(nil, `{"endpoint":%q,"url":%q,"cost":%v,"reqnum":%d,"signature":"c2ln+/=","request_idx":%d,"__request_id":"r%d","drover_token":"tok<&>"}`,
		testEndpoint, url, req.Cost, e.reqnum, idx, idx)
	e.answers[idx] = ans
	w.Write(ans)
}

// fakeNode is one node of the fake cluster, on 127.0.0.1:0.
type fakeNode struct {
	name string
	srv  *httptest.Server
	mode func(w http.ResponseWriter, r *http.Request) bool // non-nil: may answer instead of the engine
	done chan struct{}                                     // closed when the test ends
}

// hang is a mode that never answers: it returns when the client gives up or
// the test ends.
func (n *fakeNode) hang(w http.ResponseWriter, r *http.Request) bool {
	io.Copy(io.Discard, r.Body) // lets the server notice the client hanging up
	select {
	case <-r.Context().Done():
	case <-n.done:
	}
	return true
}

func startNode(t *testing.T, e *fakeEngine, name string) *fakeNode {
	t.Helper()
	n := &fakeNode{name: name, done: make(chan struct{})}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/route/" {
			http.NotFound(w, r)
			return
		}
		if n.mode != nil && n.mode(w, r) {
			return
		}
		e.route(n.name, w, r)
	}))
	t.Cleanup(n.srv.Close)
	t.Cleanup(func() { close(n.done) }) // runs first
	return n
}

// kill stops the node the way kill -9 does: no new connections, every open
// one cut.
func (n *fakeNode) kill() {
	n.srv.Listener.Close()
	n.srv.CloseClientConnections()
}

func (n *fakeNode) addr() string { return n.srv.Listener.Addr().String() }

// fakeWorker records each request and answers with the next status of
// statuses (200 once they are used up).
type fakeWorker struct {
	mu       sync.Mutex
	statuses []int
	reqs     []workerReq
	srv      *httptest.Server
}

type workerReq struct {
	body  []byte
	path  string
	auth  string
	qkey  string
	ctype string
}

func startWorker(t *testing.T, statuses ...int) *fakeWorker {
	t.Helper()
	fw := &fakeWorker{statuses: statuses}
	fw.srv = httptest.NewServer(http.HandlerFunc(fw.serve))
	t.Cleanup(fw.srv.Close)
	return fw
}

func (fw *fakeWorker) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	fw.mu.Lock()
	fw.reqs = append(fw.reqs, workerReq{body: b, path: r.URL.Path, auth: r.Header.Get("Authorization"),
		qkey: r.URL.Query().Get("api_key"), ctype: r.Header.Get("Content-Type")})
	status := http.StatusOK
	if len(fw.statuses) > 0 {
		status, fw.statuses = fw.statuses[0], fw.statuses[1:]
	}
	fw.mu.Unlock()
	w.WriteHeader(status)
	if status == http.StatusOK {
		io.WriteString(w, "served")
	}
}

func (fw *fakeWorker) requests() []workerReq {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return append([]workerReq(nil), fw.reqs...)
}

// newTestClient builds a Client over nodes with fast polling.
func newTestClient(t *testing.T, cfg Config, nodes ...*fakeNode) *Client {
	t.Helper()
	for _, n := range nodes {
		cfg.Addrs = append(cfg.Addrs, n.addr())
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = testEndpoint
	}
	if cfg.APIKey == "" {
		cfg.APIKey = testKey
	}
	if cfg.PollMin == 0 {
		cfg.PollMin = 5 * time.Millisecond
	}
	if cfg.PollMax == 0 {
		cfg.PollMax = 20 * time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// readAll reads and closes resp's body.
func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the worker's answer: %v", err)
	}
	return string(b)
}

// startServer runs h on 127.0.0.1:0 until the test ends.
func startServer(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

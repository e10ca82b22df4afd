package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/fakemodel"
	"github.com/drover-io/drover/worker/workertest"
)

const testWorkerID = 7

// harness is one worker in front of a model, reporting to a fake engine.
type harness struct {
	t      *testing.T
	eng    *workertest.Engine
	model  *httptest.Server
	w      *Worker
	reqnum atomic.Uint64
}

// testConfig is a quick config: fixed max_perf (no benchmark), fast cadence.
func testConfig() Config {
	return Config{
		ID: testWorkerID, MToken: "mtok", MaxPerf: 1000, HealthInterval: 20 * time.Millisecond,
		BusyInterval: 50 * time.Millisecond, IdleInterval: 200 * time.Millisecond,
		DeleteDelay: 20 * time.Millisecond, PubkeyBackoffMax: 100 * time.Millisecond,
		HTTPListen: "127.0.0.1:0", Logger: testLogger(),
	}
}

// startWorker runs a worker with cfg (ModelURL and ReportAddrs filled in
// when empty) in front of model; everything stops when the test ends.
func startWorker(t *testing.T, cfg Config, model http.Handler) *harness {
	t.Helper()
	h := &harness{t: t, eng: workertest.NewEngine(t), model: httptest.NewServer(model)}
	t.Cleanup(h.model.Close)
	if cfg.ModelURL == "" {
		cfg.ModelURL = h.model.URL
	}
	if cfg.ReportAddrs == nil {
		cfg.ReportAddrs = []string{h.eng.URL}
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.w = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitReady waits until the worker has the public key, its drover key and
// a loaded model.
func (h *harness) waitReady() {
	h.t.Helper()
	waitFor(h.t, "worker ready", 10*time.Second, func() bool {
		return h.w.pub.Load() != nil && h.w.key.Load() != nil && h.w.st.ready()
	})
}

// route returns fresh auth_data for this worker.
func (h *harness) route(cost float64) map[string]any {
	n := h.reqnum.Add(1)
	return h.eng.AuthData(workertest.Route{WorkerID: testWorkerID, URL: h.w.URL(), Endpoint: "ep",
		Reqnum: 1000 + n, RequestIdx: 500 + n, Cost: cost})
}

// post sends body as JSON to path on the main port.
func (h *harness) post(path string, body any) (*http.Response, []byte) {
	h.t.Helper()
	return postJSON(h.t, "http://"+h.w.Addr()+path, body)
}

func postJSON(t *testing.T, url string, body any) (*http.Response, []byte) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, out
}

func request(auth map[string]any, payload any) map[string]any {
	return map[string]any{"auth_data": auth, "session_id": nil, "payload": payload}
}

// fakeModel returns a quick fake model server.
func fakeModel(cfg fakemodel.Config) *fakemodel.Server {
	if cfg.TokensPerSec == 0 {
		cfg.TokensPerSec = -1
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	return fakemodel.New(cfg)
}

// blockModel answers /health 200 and holds each /v1/block request until
// release is closed (or the caller goes away).
type blockModel struct {
	started chan struct{}
	release chan struct{}
	calls   atomic.Int64
}

func newBlockModel() *blockModel {
	return &blockModel{started: make(chan struct{}, 100), release: make(chan struct{})}
}

func (m *blockModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/health" {
		w.WriteHeader(http.StatusOK)
		return
	}
	io.Copy(io.Discard, r.Body) // the server notices a closed connection only after the body
	m.calls.Add(1)
	m.started <- struct{}{}
	select {
	case <-m.release:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":true}`))
	case <-r.Context().Done():
	}
}

// deletesWith returns the delete entries with status st.
func deletesWith(eng *workertest.Engine, st string) []workertest.DeleteEntry {
	var out []workertest.DeleteEntry
	for _, d := range eng.Deletes() {
		if d.Status == st {
			out = append(out, d)
		}
	}
	return out
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// postAsync posts body in the background and delivers the status (0 on a
// transport error); safe to use from any goroutine.
func postAsync(url string, body any) <-chan int {
	ch := make(chan int, 1)
	b, _ := json.Marshal(body)
	go func() {
		resp, err := http.Post(url, "application/json", bytes.NewReader(b))
		if err != nil {
			ch <- 0
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ch <- resp.StatusCode
	}()
	return ch
}

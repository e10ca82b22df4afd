package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoSendsTheWholeRouteAnswerAsAuthData(t *testing.T) {
	fw := startWorker(t)
	e := newEngine(0, fw.srv.URL)
	c := newTestClient(t, Config{}, startNode(t, e, "n1"))
	payload := map[string]any{"prompt": "a<b", "max_tokens": 3}
	r, err := c.Send(context.Background(), "/v1/completions", payload, 7)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := readAll(t, r.Response); r.StatusCode != 200 || got != "served" {
		t.Fatalf("Send = %d %q, want 200 served", r.StatusCode, got)
	}
	reqs := fw.requests()
	if len(reqs) != 1 {
		t.Fatalf("worker got %d requests, want 1", len(reqs))
	}
	wr := reqs[0]
	var body struct {
		AuthData  json.RawMessage `json:"auth_data"`
		SessionID *string         `json:"session_id"`
		Payload   map[string]any  `json:"payload"`
	}
	if err := json.Unmarshal(wr.body, &body); err != nil {
		t.Fatalf("worker body %q: %v", wr.body, err)
	}
	want := e.answers[r.Route.RequestIdx]
	if !bytes.Equal(body.AuthData, want) {
		t.Errorf("auth_data = %s, want the route answer byte for byte: %s", body.AuthData, want)
	}
	if !bytes.Contains(wr.body, []byte(`"session_id":null`)) || body.SessionID != nil {
		t.Errorf("worker body %s: want session_id null", wr.body)
	}
	if body.Payload["prompt"] != "a<b" || body.Payload["max_tokens"] != 3.0 {
		t.Errorf("payload = %v, want %v", body.Payload, payload)
	}
	if wr.path != "/v1/completions" || wr.auth != "Bearer "+testKey || wr.qkey != testKey || wr.ctype != "application/json" {
		t.Errorf("worker request: path %q bearer %q query key %q content-type %q", wr.path, wr.auth, wr.qkey, wr.ctype)
	}
	if r.Attempts != 1 || r.Route.DroverToken != "tok<&>" || r.Route.Signature != "c2ln+/=" {
		t.Errorf("Send: attempts %d token %q signature %q", r.Attempts, r.Route.DroverToken, r.Route.Signature)
	}
}

func TestDoRoutesAgainWithTheSameRequestIdx(t *testing.T) {
	tests := []struct {
		name     string
		statuses []int
	}{
		{"429", []int{429}},
		{"503 then 408", []int{503, 408}},
		{"500", []int{500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := startWorker(t, tt.statuses...)
			e := newEngine(1, fw.srv.URL)
			c := newTestClient(t, Config{}, startNode(t, e, "n1"), startNode(t, e, "n2"))
			r, err := c.Send(context.Background(), "/gen", json.RawMessage(`{"x":1}`), 1)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			readAll(t, r.Response)
			if r.Attempts != len(tt.statuses)+1 {
				t.Errorf("Attempts = %d, want %d", r.Attempts, len(tt.statuses)+1)
			}
			calls := e.callsSnapshot()
			if calls[0].idx != 0 {
				t.Errorf("first /route/ request_idx = %d, want 0", calls[0].idx)
			}
			for i, call := range calls[1:] {
				if call.idx != r.Route.RequestIdx {
					t.Errorf("/route/ call %d: request_idx = %d, want %d", i+1, call.idx, r.Route.RequestIdx)
				}
			}
			if n := len(fw.requests()); n != len(tt.statuses)+1 {
				t.Errorf("worker got %d requests, want %d", n, len(tt.statuses)+1)
			}
		})
	}
}

func TestDoRoutesAgainWhenTheWorkerIsDown(t *testing.T) {
	dead := startWorker(t)
	dead.srv.Close()
	live := startWorker(t)
	e := newEngine(0, dead.srv.URL, live.srv.URL)
	c := newTestClient(t, Config{}, startNode(t, e, "n1"))
	r, err := c.Send(context.Background(), "/gen", nil, 1)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	readAll(t, r.Response)
	if r.Attempts != 2 || r.Route.URL != live.srv.URL {
		t.Errorf("Send: %d attempts, served by %s; want 2 and the live worker", r.Attempts, r.Route.URL)
	}
}

func TestDoGivesUpAfterWorkerAttempts(t *testing.T) {
	fw := startWorker(t, 503, 503, 503, 503)
	e := newEngine(0, fw.srv.URL)
	c := newTestClient(t, Config{WorkerAttempts: 3}, startNode(t, e, "n1"))
	_, err := c.Do(context.Background(), "/gen", nil, 1)
	var se *StatusError
	if !errors.Is(err, ErrWorker) || !errors.As(err, &se) || se.Code != 503 {
		t.Fatalf("Do = %v, want ErrWorker with the last 503", err)
	}
	if n := len(fw.requests()); n != 3 {
		t.Errorf("worker got %d requests, want 3", n)
	}
}

func TestDoDeadline(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	slow := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	tests := []struct {
		name    string
		workers []string
		status  int
	}{
		{"queued past the deadline", nil, 0},
		{"worker slower than the deadline", []string{slow.URL}, 0},
		{"worker always 429", nil, 429},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			workers := tt.workers
			if tt.status != 0 {
				workers = []string{startWorker(t, repeat(tt.status, 1000)...).srv.URL}
			}
			e := newEngine(0, workers...)
			c := newTestClient(t, Config{WorkerAttempts: 1000}, startNode(t, e, "n1"))
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Do(ctx, "/gen", nil, 1)
			if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Do = %v, want ErrDeadline", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Do returned after %v, want about 200ms", d)
			}
		})
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestStreamPassesTheBodyThrough(t *testing.T) {
	chunks := make(chan string)
	fw := startServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		for c := range chunks {
			io.WriteString(w, c)
			w.(http.Flusher).Flush()
		}
	})
	e := newEngine(0, fw.URL)
	c := newTestClient(t, Config{}, startNode(t, e, "n1"))
	body, err := c.Stream(context.Background(), "/gen", map[string]bool{"stream": true}, 1)
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	defer body.Close()
	buf := make([]byte, 16)
	for _, want := range []string{"data: 1\n", "data: 2\n"} {
		chunks <- want // the next chunk is sent only after this one was read
		n, err := io.ReadAtLeast(body, buf, len(want))
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, want)
		}
	}
	close(chunks)
	if rest, _ := io.ReadAll(body); len(rest) != 0 {
		t.Errorf("trailing bytes %q", rest)
	}
}

func TestStreamRefusesNon2xx(t *testing.T) {
	fw := startWorker(t, 401)
	e := newEngine(0, fw.srv.URL)
	c := newTestClient(t, Config{}, startNode(t, e, "n1"))
	_, err := c.Stream(context.Background(), "/gen", nil, 1)
	var se *StatusError
	if !errors.Is(err, ErrWorker) || !errors.As(err, &se) || se.Code != 401 {
		t.Fatalf("Stream = %v, want ErrWorker with 401", err)
	}
}

// TestNodeKilledMidRun is issue 3's test (4) at the client's level: a node
// dies (listener closed, open connections cut) while several goroutines keep
// sending requests that are first queued, so polls are in flight on it; not
// one request may fail.
func TestNodeKilledMidRun(t *testing.T) {
	fw := startWorker(t)
	e := newEngine(2, fw.srv.URL)
	nodes := []*fakeNode{startNode(t, e, "n0"), startNode(t, e, "n1"), startNode(t, e, "n2")}
	c := newTestClient(t, Config{RouteTimeout: time.Second}, nodes...)
	const workers, total, killAt = 4, 200, 60
	var sent, served atomic.Int64
	var killOnce sync.Once
	var killed string
	var callsAtKill int
	var wg sync.WaitGroup
	errs := make(chan error, total)
	for range workers {
		wg.Go(func() {
			for sent.Add(1) <= total {
				if err := doOne(c); err != nil {
					errs <- err
					continue
				}
				if served.Add(1) == killAt {
					killOnce.Do(func() {
						n := nodes[int(c.healthy.Load())]
						killed, callsAtKill = n.name, len(e.callsSnapshot())
						n.kill()
					})
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("request failed: %v", err)
	}
	if got := served.Load(); got != total {
		t.Errorf("served %d requests, want %d", got, total)
	}
	calls := e.callsSnapshot()
	if callsAtKill == 0 || len(calls) <= callsAtKill+total-killAt {
		t.Fatalf("%d /route/ calls, %d before the kill: the run did not go on after it", len(calls), callsAtKill)
	}
	onKilled := 0
	for _, call := range calls[callsAtKill+workers:] { // calls in flight at the kill may still land
		if call.node == killed {
			onKilled++
		}
	}
	if onKilled != 0 {
		t.Errorf("%d /route/ calls reached the killed node %s after the kill", onKilled, killed)
	}
}

// doOne sends one request through c and reads the answer.
func doOne(c *Client) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, "/gen", nil, 1)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

package worker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/fakemodel"
)

func TestForwardStreams(t *testing.T) {
	fm := fakeModel(fakemodel.Config{TokensPerSec: 40})
	h := startWorker(t, testConfig(), fm)
	h.waitReady()
	auth := h.route(100)
	b, _ := json.Marshal(request(auth, map[string]any{"prompt": "hi", "max_tokens": 8, "stream": true}))
	resp, err := http.Post("http://"+h.w.Addr()+"/v1/completions?api_key=k", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, content type %q, want 200 text/event-stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rd := bufio.NewReader(resp.Body)
	first, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: {") {
		t.Fatalf("first line = %q, %v, want an SSE data event", first, err)
	}
	// 8 tokens at 40/s: the model is still generating when the first event arrives.
	if fm.Active() != 1 {
		t.Fatalf("model Active() = %d after the first chunk, want 1 (streamed, not buffered)", fm.Active())
	}
	rest, _ := io.ReadAll(rd)
	if n := strings.Count(first+string(rest), "data: {"); n != 9 || !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Fatalf("stream has %d events, ends %q; want 9 events then [DONE]", n, rest[max(0, len(rest)-20):])
	}
	waitFor(t, "a Success delete entry", 5*time.Second, func() bool { return len(deletesWith(h.eng, "Success")) == 1 })
	d := deletesWith(h.eng, "Success")[0]
	if d.RequestIdx.String() != jsonNum(auth["request_idx"]) || !d.Success || d.WorkCompletedAt < d.WorkStartedAt || d.WorkStartedAt < d.EnteredQueueAt {
		t.Fatalf("delete entry = %+v, want request_idx %v, success, ordered times", d, auth["request_idx"])
	}
	// Non-streamed chat.
	resp2, body := h.post("/v1/chat/completions", request(h.route(100), map[string]any{"messages": []any{}, "max_tokens": 2}))
	if resp2.StatusCode != 200 || !strings.Contains(string(body), `"chat.completion"`) {
		t.Fatalf("chat = %d %s, want 200 chat.completion", resp2.StatusCode, body)
	}
}

func jsonNum(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestNotRouted(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	if resp, _ := h.post("/admin/x", request(h.route(1), nil)); resp.StatusCode != 404 {
		t.Fatalf("POST /admin/x = %d, want 404", resp.StatusCode)
	}
}

func TestQueueLimit429(t *testing.T) {
	cfg := testConfig()
	cfg.MaxPerf, cfg.MaxQueueTime = 10, time.Second // 100 load in flight = 10 s > 1 s
	m := newBlockModel()
	h := startWorker(t, cfg, m)
	h.waitReady()
	first := postAsync("http://"+h.w.Addr()+"/v1/block", request(h.route(100), nil))
	<-m.started
	rejected := h.route(5)
	if resp, _ := h.post("/v1/block", request(rejected, nil)); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("second request = %d, want 429", resp.StatusCode)
	}
	close(m.release)
	if got := <-first; got != 200 {
		t.Fatalf("first request = %d, want 200", got)
	}
	waitFor(t, "a Rejected delete entry and rej_load", 5*time.Second, func() bool {
		rej := deletesWith(h.eng, "Rejected")
		var rejLoad float64
		for _, r := range h.eng.Reports() {
			rejLoad += r.Number("rej_load")
		}
		return len(rej) == 1 && !rej[0].Success && rej[0].RequestIdx.String() == jsonNum(rejected["request_idx"]) && rejLoad == 5
	})
	// Once the load is gone, requests are admitted again.
	if resp, _ := h.post("/v1/block", request(h.route(100), nil)); resp.StatusCode != 200 {
		t.Fatalf("after the load drained = %d, want 200", resp.StatusCode)
	}
}

func TestClientCancel(t *testing.T) {
	cfg := testConfig()
	cfg.IdleInterval, cfg.BusyInterval = time.Hour, time.Hour // only kicks report
	m := newBlockModel()
	h := startWorker(t, cfg, m)
	h.waitReady()
	before := len(h.eng.Reports())
	b, _ := json.Marshal(request(h.route(100), nil))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+h.w.Addr()+"/v1/block", bytes.NewReader(b))
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	<-m.started
	cancel() // the client goes away
	<-done
	waitFor(t, "a Cancelled entry and an immediate report", 5*time.Second, func() bool {
		c := deletesWith(h.eng, "Cancelled")
		return len(c) == 1 && c[0].Success && len(h.eng.Reports()) > before
	})
	last := h.eng.Reports()[len(h.eng.Reports())-1]
	if last.Number("cur_load") != 0 || last.Number("num_requests_working") != 0 {
		t.Fatalf("report after cancel = %s, want cur_load 0, no request working", last.Raw)
	}
}

func TestPyworkerUpdate(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no auth", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"master token", "Bearer mtok", 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "http://"+h.w.Addr()+"/pyworker/update", strings.NewReader("{}"))
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("/pyworker/update with %q = %d, want %d", tt.auth, resp.StatusCode, tt.want)
			}
		})
	}
}

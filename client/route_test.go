package client

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRoutePollsWithTheSameRequestIdx(t *testing.T) {
	e := newEngine(3, "http://worker.invalid")
	n := startNode(t, e, "n1")
	c := newTestClient(t, Config{}, n)
	ans, err := c.Route(context.Background(), 42)
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	if ans.URL != "http://worker.invalid" || ans.Polls != 4 || ans.Cost != 42 || ans.ReqNum != 1 {
		t.Errorf("Route = url %q polls %d cost %v reqnum %d, want worker.invalid, 4, 42, 1", ans.URL, ans.Polls, ans.Cost, ans.ReqNum)
	}
	calls := e.callsSnapshot()
	want := []uint64{0, ans.RequestIdx, ans.RequestIdx, ans.RequestIdx}
	if len(calls) != len(want) {
		t.Fatalf("engine saw %d calls, want %d", len(calls), len(want))
	}
	for i, call := range calls {
		if call.idx != want[i] {
			t.Errorf("call %d: request_idx = %d, want %d", i, call.idx, want[i])
		}
		if call.auth != "Bearer "+testKey || call.qkey != testKey || call.body["api_key"] != testKey {
			t.Errorf("call %d: key not sent three ways: bearer %q query %q body %v", i, call.auth, call.qkey, call.body["api_key"])
		}
		if call.body["replay_timeout"] != 60.0 || call.body["endpoint"] != testEndpoint {
			t.Errorf("call %d: body = %v, want replay_timeout 60 and endpoint %q", i, call.body, testEndpoint)
		}
	}
}

func TestRouteFailover(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(n *fakeNode)
	}{
		{"first node down", func(n *fakeNode) { n.kill() }},
		{"first node answers 503", func(n *fakeNode) {
			n.mode = func(w http.ResponseWriter, r *http.Request) bool {
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
				return true
			}
		}},
		{"first node hangs", func(n *fakeNode) { n.mode = n.hang }},
		{"first node answers garbage", func(n *fakeNode) {
			n.mode = func(w http.ResponseWriter, r *http.Request) bool {
				w.Write([]byte("<html>proxy error</html>"))
				return true
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(0, "http://worker.invalid")
			bad, good := startNode(t, e, "bad"), startNode(t, e, "good")
			tt.break_(bad)
			c := newTestClient(t, Config{RouteTimeout: 100 * time.Millisecond}, bad, good)
			for i := range 3 {
				ans, err := c.Route(context.Background(), 1)
				if err != nil {
					t.Fatalf("Route #%d: %v", i, err)
				}
				if ans.Node != "http://"+good.addr() {
					t.Errorf("Route #%d answered by %s, want the good node", i, ans.Node)
				}
			}
			for _, call := range e.callsSnapshot() {
				if call.node != "good" {
					t.Errorf("engine call through %s, want only the good node", call.node)
				}
			}
		})
	}
}

func TestRouteFinalErrorsAreNotRetried(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		key      string
		want     error
		code     int
	}{
		{"wrong key", testEndpoint, "wrong", ErrAuth, 401},
		{"unknown endpoint", "nope", testKey, ErrNoEndpoint, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(0, "http://worker.invalid")
			n1, n2 := startNode(t, e, "n1"), startNode(t, e, "n2")
			c := newTestClient(t, Config{Endpoint: tt.endpoint, APIKey: tt.key}, n1, n2)
			_, err := c.Do(context.Background(), "/x", nil, 1)
			var se *StatusError
			if !errors.Is(err, tt.want) || !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("Do = %v, want %v with status %d", err, tt.want, tt.code)
			}
			if calls := e.callsSnapshot(); len(calls) != 1 {
				t.Errorf("engine saw %d calls, want 1 (no retry, no other node)", len(calls))
			}
		})
	}
}

func TestRouteBadRequest(t *testing.T) {
	e := newEngine(0, "http://worker.invalid")
	n := startNode(t, e, "n1")
	n.mode = func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, `{"error":"bad cost"}`, http.StatusBadRequest)
		return true
	}
	c := newTestClient(t, Config{}, n)
	if _, err := c.Route(context.Background(), 1); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Route = %v, want ErrBadRequest", err)
	}
	if _, err := c.Route(context.Background(), -1); !errors.Is(err, ErrBadRequest) {
		t.Errorf("Route(cost -1) = %v, want ErrBadRequest", err)
	}
}

func TestRouteDeadline(t *testing.T) {
	tests := []struct {
		name  string
		setup func(e *fakeEngine, n *fakeNode)
	}{
		{"never ready", func(e *fakeEngine, n *fakeNode) {}},
		{"every node down", func(e *fakeEngine, n *fakeNode) { n.kill() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(1 << 30)
			n := startNode(t, e, "n1")
			tt.setup(e, n)
			c := newTestClient(t, Config{}, n)
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := c.Route(ctx, 1)
			if !errors.Is(err, ErrDeadline) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Route = %v, want ErrDeadline and context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("Route returned after %v, want about 150ms", d)
			}
		})
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no address", Config{Endpoint: "e"}},
		{"blank addresses", Config{Addrs: []string{" ", ""}, Endpoint: "e"}},
		{"no endpoint", Config{Addrs: []string{"127.0.0.1:1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("New(%+v) = %v, want ErrConfig", tt.cfg, err)
			}
		})
	}
	c, err := New(Config{Addrs: []string{"a:1/", "https://b:2"}, Endpoint: "e"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Nodes(); len(got) != 2 || got[0] != "http://a:1" || got[1] != "https://b:2" {
		t.Errorf("Nodes() = %q, want [http://a:1 https://b:2]", got)
	}
}

package fakemodel

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s := New(cfg)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHealthLoadTime(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want int
	}{
		{"loads", Config{LoadTime: 150 * time.Millisecond}, 200},
		{"fails to load", Config{LoadTime: 50 * time.Millisecond, FailLoad: "boom"}, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, url := start(t, tt.cfg)
			if got := status(t, url+"/health"); got != 503 {
				t.Fatalf("/health while loading = %d, want 503", got)
			}
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{}`))
			if err != nil || resp.StatusCode != 503 {
				t.Fatalf("completion while loading = %v, %v, want 503", resp.StatusCode, err)
			}
			resp.Body.Close()
			waitFor(t, "the load outcome", func() bool { return status(t, url+"/health") != 503 })
			if got := status(t, url+"/health"); got != tt.want {
				t.Fatalf("/health after the load time = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCompletions(t *testing.T) {
	_, url := start(t, Config{TokensPerSec: -1})
	tests := []struct {
		name, path, body, want string
		events                 int
	}{
		{"completion", "/v1/completions", `{"prompt":"x","max_tokens":3}`, `"text":" lorem ipsum dolor"`, 0},
		{"chat", "/v1/chat/completions", `{"messages":[],"max_tokens":2}`, `"content":" lorem ipsum"`, 0},
		{"completion stream", "/v1/completions", `{"max_tokens":3,"stream":true}`, `"text":" dolor"`, 4},
		{"chat stream", "/v1/chat/completions", `{"max_tokens":2,"stream":true}`, `"delta":{"content":" ipsum"}`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(url+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatalf("POST: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(b), tt.want) {
				t.Fatalf("POST %s %s = %d %s, want 200 containing %s", tt.path, tt.body, resp.StatusCode, b, tt.want)
			}
			if tt.events > 0 {
				if n := strings.Count(string(b), "data: {"); n != tt.events || !strings.HasSuffix(string(b), "data: [DONE]\n\n") {
					t.Fatalf("stream has %d events: %s, want %d then [DONE]", n, b, tt.events)
				}
			} else if !json.Valid(b) {
				t.Fatalf("answer is not JSON: %s", b)
			}
		})
	}
}

func TestStreamPacing(t *testing.T) {
	s, url := start(t, Config{TokensPerSec: 50})
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"max_tokens":10,"stream":true}`))
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	start := time.Now()
	rd := bufio.NewReader(resp.Body)
	if _, err := rd.ReadString('\n'); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if s.Active() != 1 {
		t.Fatalf("Active() = %d after the first event, want 1: chunks must arrive as generated", s.Active())
	}
	io.ReadAll(rd)
	if took := time.Since(start); took < 120*time.Millisecond {
		t.Fatalf("10 tokens at 50/s took %v, want ≈ 200 ms", took)
	}
}

func TestConcurrencyQueues(t *testing.T) {
	s, url := start(t, Config{TokensPerSec: 100, Concurrency: 1})
	var wg sync.WaitGroup
	var maxActive int64
	var mu sync.Mutex
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			mu.Lock()
			maxActive = max(maxActive, s.Active())
			mu.Unlock()
			time.Sleep(time.Millisecond)
		}
	}()
	for range 3 {
		wg.Go(func() {
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"max_tokens":5}`))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	close(done)
	<-stopped
	if s.Served() != 3 || maxActive > 1 {
		t.Fatalf("Served() = %d, max active %d; want 3 served, at most 1 at once", s.Served(), maxActive)
	}
}

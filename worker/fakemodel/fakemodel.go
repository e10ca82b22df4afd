package fakemodel

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// Config of a fake model server; zero values are documented per field.
type Config struct {
	// TokensPerSec is each request's generation rate. 0 = 100; < 0 = no delay.
	TokensPerSec float64
	// Concurrency is how many requests generate at once; the rest queue.
	// 0 = 4.
	Concurrency int
	// LoadTime is how long /health answers 503 after New. 0 = loaded at once.
	LoadTime time.Duration
	// FailLoad, when not "", makes /health answer 500 with this message once
	// the load time has passed (a failed model load).
	FailLoad string
	// DefaultMaxTokens is used when a request has no max_tokens. 0 = 16.
	DefaultMaxTokens int
	// MaxTokens caps max_tokens. 0 = 4096.
	MaxTokens int
	// Logger; nil = slog.Default().
	Logger *slog.Logger
}

// Server is a fake model server; it is an http.Handler.
type Server struct {
	cfg      Config
	loadedAt time.Time
	slots    chan struct{}
	mux      *http.ServeMux
	served   atomic.Int64
	active   atomic.Int64
}

// New returns a server whose load time starts now.
func New(cfg Config) *Server {
	if cfg.TokensPerSec == 0 {
		cfg.TokensPerSec = 100
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	if cfg.DefaultMaxTokens <= 0 {
		cfg.DefaultMaxTokens = 16
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 4096
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, loadedAt: time.Now().Add(cfg.LoadTime), slots: make(chan struct{}, cfg.Concurrency)}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("POST /v1/completions", func(w http.ResponseWriter, r *http.Request) { s.handleGenerate(w, r, false) })
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) { s.handleGenerate(w, r, true) })
	s.mux.HandleFunc("GET /v1/models", s.handleModels)
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Served is how many generations completed.
func (s *Server) Served() int64 { return s.served.Load() }

// Active is how many requests are generating now.
func (s *Server) Active() int64 { return s.active.Load() }

// Loaded reports whether the load time has passed.
func (s *Server) Loaded() bool { return !time.Now().Before(s.loadedAt) }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	switch {
	case !s.Loaded():
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "loading"})
	case s.cfg.FailLoad != "":
		writeJSON(w, http.StatusInternalServerError, map[string]string{"status": "error", "error": s.cfg.FailLoad})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list",
		"data": []map[string]any{{"id": "fake-model", "object": "model", "owned_by": "drover"}}})
}

// genRequest is the part of an OpenAI request the fake model reads.
type genRequest struct {
	Model     string `json:"model"`
	MaxTokens *int   `json:"max_tokens"`
	Stream    bool   `json:"stream"`
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request, chat bool) {
	var req genRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, errBody("invalid JSON body"))
		return
	}
	if !s.Loaded() || s.cfg.FailLoad != "" {
		writeJSON(w, http.StatusServiceUnavailable, errBody("model not loaded"))
		return
	}
	n := s.cfg.DefaultMaxTokens
	if req.MaxTokens != nil {
		n = *req.MaxTokens
	}
	if n < 0 || n > s.cfg.MaxTokens {
		writeJSON(w, http.StatusBadRequest, errBody(fmt.Sprintf("max_tokens must be in 0..%d", s.cfg.MaxTokens)))
		return
	}
	if req.Model == "" {
		req.Model = "fake-model"
	}
	select {
	case s.slots <- struct{}{}:
	case <-r.Context().Done():
		return
	}
	s.active.Add(1)
	defer func() { s.active.Add(-1); <-s.slots }()
	g := &generation{id: fmt.Sprintf("cmpl-%d", time.Now().UnixNano()), model: req.Model, chat: chat, n: n, created: time.Now().Unix()}
	var ok bool
	if req.Stream {
		ok = s.stream(w, r.Context(), g)
	} else {
		ok = s.complete(w, r.Context(), g)
	}
	if ok {
		s.served.Add(1)
	}
}

// pace waits one token's time; false when ctx ended.
func (s *Server) pace(ctx context.Context, t *time.Ticker) bool {
	if t == nil {
		return ctx.Err() == nil
	}
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Server) ticker() *time.Ticker {
	if s.cfg.TokensPerSec < 0 {
		return nil
	}
	return time.NewTicker(time.Duration(float64(time.Second) / s.cfg.TokensPerSec))
}

func (s *Server) complete(w http.ResponseWriter, ctx context.Context, g *generation) bool {
	t := s.ticker()
	if t != nil {
		defer t.Stop()
	}
	var text strings.Builder
	for i := range g.n {
		if !s.pace(ctx, t) {
			return false
		}
		text.WriteString(word(i))
	}
	writeJSON(w, http.StatusOK, g.full(text.String()))
	return true
}

func (s *Server) stream(w http.ResponseWriter, ctx context.Context, g *generation) bool {
	t := s.ticker()
	if t != nil {
		defer t.Stop()
	}
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for i := range g.n {
		if !s.pace(ctx, t) {
			return false
		}
		if writeEvent(w, g.chunk(word(i), false)) != nil || rc.Flush() != nil {
			return false
		}
	}
	if writeEvent(w, g.chunk("", true)) != nil {
		return false
	}
	_, err := fmt.Fprint(w, "data: [DONE]\n\n")
	return err == nil && rc.Flush() == nil
}

func writeEvent(w http.ResponseWriter, v any) error {
	b, _ := json.Marshal(v)
	_, err := fmt.Fprintf(w, "data: %s\n\n", b)
	return err
}

func errBody(msg string) map[string]any {
	return map[string]any{"error": map[string]string{"message": msg, "type": "invalid_request_error"}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

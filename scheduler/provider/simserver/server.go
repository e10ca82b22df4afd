// Package simserver serves a simulated fleet (scheduler/provider/sim) over
// HTTP/JSON with the real clock and its state on disk, so that every node
// of a cluster — and a test or the chaos harness checking the outcome —
// drives and inspects one shared fleet: `drover sim-provider`. Client is
// the provider.Provider every node uses to reach it (`--provider-sim`).
//
// The server also keeps a history of every create and destroy with the
// number of live instances of the endpoint right after it, and the peak of
// that number, so a test can assert that no endpoint ever held more than
// its max_workers and no intent ever had two live instances.
//
// simserver owns the wire format and the state file; it never decides
// anything and never imports the scheduler's leader loop.
package simserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
	"github.com/drover-io/drover/scheduler/provider/sim"
)

// stateFile is the name of the state file in the state directory.
const stateFile = "fleet.json"

// maxHistory bounds the kept history of creates and destroys.
const maxHistory = 100_000

// Config configures a Server. Zero values: see each field.
type Config struct {
	// Fleet is the simulated hardware (sim.Config zero values apply).
	Fleet sim.Config
	// StateDir holds fleet.json. Required.
	StateDir string
	// CallDelay is added to every create, start, stop and destroy, which
	// are served one at a time (a slow cloud API). A create whose caller
	// went away during the delay makes nothing. Zero: none.
	CallDelay time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Event is one create or destroy as the fleet saw it.
type Event struct {
	Time       time.Time `json:"time"`
	Op         string    `json:"op"` // create, destroy
	ID         string    `json:"id"`
	Key        string    `json:"key"`
	EndpointID uint64    `json:"endpoint_id"`
	GroupID    uint64    `json:"group_id"`
	// Live is how many instances of the endpoint were live right after.
	Live int `json:"live"`
	// KeyLive is how many live instances carried this key right after.
	KeyLive int `json:"key_live"`
}

// Stats is the answer of GET /stats.
type Stats struct {
	PeakLive    map[uint64]int `json:"peak_live"`     // endpoint → most live at once
	PeakKeyLive int            `json:"peak_key_live"` // most live instances one key ever had
	Creates     int            `json:"creates"`       // create calls that made an instance
	History     []Event        `json:"history"`
}

// persisted is the state file.
type persisted struct {
	Fleet     sim.State         `json:"fleet"`
	Endpoints map[string]uint64 `json:"endpoints"` // instance id → endpoint
	Stats     Stats             `json:"stats"`
}

// Server is the HTTP face of one simulated fleet.
type Server struct {
	cfg   Config
	log   *slog.Logger
	mu    sync.Mutex // serializes mutations and their persistence
	fleet *sim.Fleet
	eps   map[string]uint64
	smu   sync.Mutex // guards stats (read without waiting for a slow call)
	stats Stats
}

// New opens (or creates) the fleet in cfg.StateDir.
func New(cfg Config) (*Server, error) {
	if cfg.StateDir == "" {
		return nil, errors.New("simserver: state dir is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("simserver: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, fleet: sim.New(cfg.Fleet, sim.RealClock{}), eps: map[string]uint64{},
		stats: Stats{PeakLive: map[uint64]int{}}}
	b, err := os.ReadFile(filepath.Join(cfg.StateDir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("simserver: %w", err)
	default:
		var p persisted
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("simserver: corrupt state file: %w", err)
		}
		s.fleet.Import(p.Fleet)
		if p.Endpoints != nil {
			s.eps = p.Endpoints
		}
		s.stats = p.Stats
		if s.stats.PeakLive == nil {
			s.stats.PeakLive = map[uint64]int{}
		}
	}
	return s, nil
}

// save writes the state file atomically (the caller holds mu).
func (s *Server) save() error {
	s.smu.Lock()
	b, err := json.Marshal(persisted{Fleet: s.fleet.Export(), Endpoints: s.eps, Stats: s.stats})
	s.smu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.cfg.StateDir, stateFile+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.cfg.StateDir, stateFile))
}

// Handler serves the fleet: POST /create, /start, /stop, /destroy; GET
// /list and /stats.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /create", s.handleCreate)
	mux.HandleFunc("POST /start", s.handleChange(s.fleet.Start))
	mux.HandleFunc("POST /stop", s.handleChange(s.fleet.Stop))
	mux.HandleFunc("POST /destroy", s.handleDestroy)
	mux.HandleFunc("GET /list", s.handleList)
	mux.HandleFunc("GET /stats", s.handleStats)
	return mux
}

// createRequest is the body of POST /create.
type createRequest struct {
	Key  string             `json:"key"`
	Spec provider.GroupSpec `json:"spec"`
}

// idRequest is the body of start, stop and destroy.
type idRequest struct {
	ID string `json:"id"`
}

func (s *Server) delay(ctx context.Context) {
	if s.cfg.CallDelay <= 0 {
		return
	}
	t := time.NewTimer(s.cfg.CallDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil || req.Key == "" {
		writeErr(w, http.StatusBadRequest, "bad create request")
		return
	}
	s.mu.Lock() // calls are served one at a time, each after CallDelay
	defer s.mu.Unlock()
	s.delay(r.Context())
	if err := r.Context().Err(); err != nil {
		writeErr(w, http.StatusBadGateway, "caller went away: nothing created")
		return
	}
	in, err := s.fleet.Create(r.Context(), req.Key, req.Spec)
	if err != nil {
		writeProviderErr(w, err)
		return
	}
	if _, known := s.eps[in.ID]; !known {
		s.eps[in.ID] = req.Spec.EndpointID
		s.record("create", in, req.Spec.EndpointID)
	}
	if err := s.save(); err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, in)
}

func (s *Server) handleChange(op func(context.Context, string) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req idRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			writeErr(w, http.StatusBadRequest, "bad request")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.delay(r.Context())
		if err := op(r.Context(), req.ID); err != nil {
			writeProviderErr(w, err)
			return
		}
		if err := s.save(); err != nil {
			writeErr(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, struct{}{})
	}
}

func (s *Server) handleDestroy(w http.ResponseWriter, r *http.Request) {
	var req idRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, "bad request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay(r.Context())
	was := s.instance(req.ID)
	if err := s.fleet.Destroy(r.Context(), req.ID); err != nil {
		writeProviderErr(w, err)
		return
	}
	if was != nil && was.State.Live() {
		s.record("destroy", *was, s.eps[req.ID])
	}
	if err := s.save(); err != nil {
		writeErr(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, struct{}{})
}

// instance returns the fleet's instance id, or nil.
func (s *Server) instance(id string) *provider.Instance {
	list, _ := s.fleet.List(context.Background())
	for i := range list {
		if list[i].ID == id {
			return &list[i]
		}
	}
	return nil
}

// record appends an event with the live counts after it and updates the
// peaks (the caller holds mu).
func (s *Server) record(op string, in provider.Instance, ep uint64) {
	list, _ := s.fleet.List(context.Background())
	live, keyLive := 0, 0
	for _, x := range list {
		if !x.State.Live() {
			continue
		}
		if s.eps[x.ID] == ep {
			live++
		}
		if x.IntentKey == in.IntentKey {
			keyLive++
		}
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	if op == "create" {
		s.stats.Creates++
	}
	s.stats.PeakLive[ep] = max(s.stats.PeakLive[ep], live)
	s.stats.PeakKeyLive = max(s.stats.PeakKeyLive, keyLive)
	if len(s.stats.History) >= maxHistory {
		s.stats.History = s.stats.History[1:]
	}
	s.stats.History = append(s.stats.History, Event{Time: time.Now(), Op: op, ID: in.ID, Key: in.IntentKey,
		EndpointID: ep, GroupID: in.GroupID, Live: live, KeyLive: keyLive})
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	list, err := s.fleet.List(r.Context())
	if err != nil {
		writeProviderErr(w, err)
		return
	}
	writeJSON(w, list)
}

func (s *Server) handleStats(w http.ResponseWriter, _ *http.Request) {
	s.smu.Lock()
	defer s.smu.Unlock()
	writeJSON(w, s.stats)
}

// errBody is every error answer.
type errBody struct {
	Error string `json:"error"`
	Code  string `json:"code"` // not_found, state, failed, bad_request, internal
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, msg string) {
	code := map[int]string{http.StatusBadRequest: "bad_request", http.StatusNotFound: "not_found",
		http.StatusConflict: "state", http.StatusBadGateway: "failed"}[status]
	if code == "" {
		code = "internal"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(errBody{Error: msg, Code: code})
}

func writeProviderErr(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, provider.ErrNotFound):
		writeErr(w, http.StatusNotFound, err.Error())
	case errors.Is(err, provider.ErrState):
		writeErr(w, http.StatusConflict, err.Error())
	default:
		writeErr(w, http.StatusBadGateway, err.Error())
	}
}

// Package process is a provider.Provider that runs a group's template as
// local processes — a `drover worker` in front of a model server (by
// default `drover fake-model`) — for single-host setups, demos and tests.
//
// Its state lives in a directory every node on the host shares
// (`--provider-dir`): one sub-directory per instance with meta.json (ids,
// pids, the worker's MASTER_TOKEN, mode 0600) and the two processes' logs,
// so a new leader lists, stops and destroys what an old one started. The
// processes run in their own session: they outlive the agent that started
// them. Mutations take an exclusive flock on the directory.
//
// Create launches both processes; Stop ends them but keeps the directory
// (Start relaunches them with the same worker id and token); Destroy ends
// them and removes the directory. The instance id derives from the intent
// key, so Create is idempotent across nodes.
//
// A group's launch_args say what to run: `[MODEL COMMAND…] [-- WORKER
// FLAGS…]`, split on white space. An empty model command or one starting
// with "fake-model" runs `drover fake-model --listen 127.0.0.1:PORT …`;
// anything else is an executable whose "{port}" arguments (and $PORT) are
// the port to listen on. The worker runs `drover worker --model-url
// http://127.0.0.1:PORT <worker flags>` with CONTAINER_ID, MASTER_TOKEN,
// REPORT_ADDR and WORKER_PORT=0 (it reports the URL it bound).
package process

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// Config configures the provider.
type Config struct {
	// Dir is the shared state directory. Required.
	Dir string
	// Binary is the drover executable. "": this process's executable.
	Binary string
	// ReportAddrs are the drover nodes' HTTP base URLs the workers report
	// to (REPORT_ADDR). Required.
	ReportAddrs []string
	// Env is added to both processes' environment ("K=V").
	Env []string
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL.
	// Zero: 5 s.
	StopTimeout time.Duration
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Provider runs instances as local processes.
type Provider struct {
	cfg Config
	log *slog.Logger
}

var _ provider.Provider = (*Provider)(nil)

// New checks cfg and creates the state directory.
func New(cfg Config) (*Provider, error) {
	if cfg.Dir == "" || len(cfg.ReportAddrs) == 0 {
		return nil, errors.New("process provider: dir and report addresses are required")
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("process provider: %w", err)
		}
		cfg.Binary = exe
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("process provider: %w", err)
	}
	return &Provider{cfg: cfg, log: cfg.Logger}, nil
}

// Instance states in meta.json.
const (
	stateRunning = "running"
	stateStopped = "stopped"
)

// meta is an instance's meta.json.
type meta struct {
	ID          string    `json:"id"`
	IntentKey   string    `json:"intent_key"`
	EndpointID  uint64    `json:"endpoint_id"`
	GroupID     uint64    `json:"group_id"`
	WorkerID    uint64    `json:"worker_id"`
	MasterToken string    `json:"master_token"`
	LaunchArgs  string    `json:"launch_args"`
	State       string    `json:"state"`
	Since       time.Time `json:"since"`
	Created     time.Time `json:"created"`
	WorkerPID   int       `json:"worker_pid,omitempty"`
	ModelPID    int       `json:"model_pid,omitempty"`
	ModelPort   int       `json:"model_port,omitempty"`
}

// instanceID derives the id from the intent key (idempotent creates).
func instanceID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "p" + hex.EncodeToString(sum[:8])
}

func (p *Provider) dir(id string) string { return filepath.Join(p.cfg.Dir, id) }

// lock takes the directory's exclusive flock; the returned func releases it.
func (p *Provider) lock() (func(), error) {
	f, err := os.OpenFile(filepath.Join(p.cfg.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("process provider: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("process provider: lock: %w", err)
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

func (p *Provider) load(id string) (*meta, error) {
	b, err := os.ReadFile(filepath.Join(p.dir(id), "meta.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", provider.ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("process provider: %w", err)
	}
	var m meta
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("process provider: %s: %w", id, err)
	}
	return &m, nil
}

// save writes meta.json atomically, readable by its owner only (it holds
// the worker's token).
func (p *Provider) save(m *meta) error {
	b, _ := json.MarshalIndent(m, "", "  ")
	tmp := filepath.Join(p.dir(m.ID), "meta.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("process provider: %w", err)
	}
	return os.Rename(tmp, filepath.Join(p.dir(m.ID), "meta.json"))
}

// Create implements provider.Provider.
func (p *Provider) Create(ctx context.Context, key string, spec provider.GroupSpec) (provider.Instance, error) {
	unlock, err := p.lock()
	if err != nil {
		return provider.Instance{}, err
	}
	defer unlock()
	id := instanceID(key)
	if m, err := p.load(id); err == nil {
		return p.instance(m), nil
	}
	if err := os.MkdirAll(p.dir(id), 0o700); err != nil {
		return provider.Instance{}, fmt.Errorf("process provider: %w", err)
	}
	now := time.Now()
	m := &meta{ID: id, IntentKey: key, EndpointID: spec.EndpointID, GroupID: spec.GroupID, WorkerID: spec.WorkerID,
		MasterToken: spec.MasterToken, LaunchArgs: spec.LaunchArgs, State: stateRunning, Since: now, Created: now}
	if err := p.launch(m); err != nil {
		os.RemoveAll(p.dir(id))
		return provider.Instance{}, fmt.Errorf("%w: %v", provider.ErrFailed, err)
	}
	if err := p.save(m); err != nil {
		p.kill(m)
		os.RemoveAll(p.dir(id))
		return provider.Instance{}, err
	}
	return p.instance(m), nil
}

// Start implements provider.Provider.
func (p *Provider) Start(ctx context.Context, id string) error {
	return p.change(id, func(m *meta) error {
		if m.State == stateRunning && p.alive(m.WorkerPID, m.ID) && p.alive(m.ModelPID, m.ID) {
			return nil
		}
		p.kill(m) // a half-dead instance restarts whole
		if err := p.launch(m); err != nil {
			return fmt.Errorf("%w: %v", provider.ErrFailed, err)
		}
		m.State, m.Since = stateRunning, time.Now()
		return nil
	})
}

// Stop implements provider.Provider.
func (p *Provider) Stop(ctx context.Context, id string) error {
	return p.change(id, func(m *meta) error {
		p.kill(m)
		if m.State != stateStopped {
			m.State, m.Since = stateStopped, time.Now()
		}
		m.WorkerPID, m.ModelPID = 0, 0
		return nil
	})
}

// Destroy implements provider.Provider.
func (p *Provider) Destroy(ctx context.Context, id string) error {
	unlock, err := p.lock()
	if err != nil {
		return err
	}
	defer unlock()
	m, err := p.load(id)
	if err != nil {
		return err
	}
	p.kill(m)
	if err := os.RemoveAll(p.dir(id)); err != nil {
		return fmt.Errorf("process provider: %w", err)
	}
	return nil
}

// change runs f on an instance's meta under the lock and saves it.
func (p *Provider) change(id string, f func(*meta) error) error {
	unlock, err := p.lock()
	if err != nil {
		return err
	}
	defer unlock()
	m, err := p.load(id)
	if err != nil {
		return err
	}
	if err := f(m); err != nil {
		return err
	}
	return p.save(m)
}

// List implements provider.Provider: every instance directory, sorted.
func (p *Provider) List(ctx context.Context) ([]provider.Instance, error) {
	ents, err := os.ReadDir(p.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("process provider: %w", err)
	}
	var out []provider.Instance
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		m, err := p.load(e.Name())
		if err != nil {
			continue // being created or destroyed
		}
		out = append(out, p.instance(m))
	}
	slices.SortFunc(out, func(a, b provider.Instance) int { return cmpString(a.ID, b.ID) })
	return out, nil
}

// instance is the provider's view of m: ready while both processes run,
// failed when one of them died, stopped when stopped.
func (p *Provider) instance(m *meta) provider.Instance {
	in := provider.Instance{ID: m.ID, IntentKey: m.IntentKey, GroupID: m.GroupID, Since: m.Since, Created: m.Created,
		Hardware: "process", Cost: 1, State: provider.Ready}
	switch {
	case m.State == stateStopped:
		in.State = provider.Stopped
	case !p.alive(m.WorkerPID, m.ID) || !p.alive(m.ModelPID, m.ID):
		in.State, in.Error = provider.Failed, "a process exited; see "+p.dir(m.ID)
	}
	return in
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Package exec is a provider.Provider that calls a user's executable for
// every action: one JSON request on its stdin, one JSON answer on its
// stdout, within a timeout (the whole process group is killed when it
// passes). On-prem users plug their own machine pool in this way (IPMI,
// Slurm, Kubernetes, a cloud API). The protocol is documented in
// deploy/exec-provider.md with an example in deploy/exec-provider-example.sh.
//
// Package exec owns the protocol; it keeps no state (the executable does)
// and decides nothing.
package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// Config configures the provider.
type Config struct {
	// Path is the executable. Required.
	Path string
	// Timeout bounds one call. Zero: 60 s.
	Timeout time.Duration
	// Env is added to the executable's environment ("K=V").
	Env []string
}

// Provider runs Config.Path per action.
type Provider struct{ cfg Config }

var _ provider.Provider = (*Provider)(nil)

// ErrTimeout: the executable did not answer within Config.Timeout.
var ErrTimeout = errors.New("exec provider: timed out")

// New returns the provider; it checks that Path is executable.
func New(cfg Config) (*Provider, error) {
	if cfg.Path == "" {
		return nil, errors.New("exec provider: path is required")
	}
	st, err := os.Stat(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("exec provider: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("exec provider: %s is not executable", cfg.Path)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	return &Provider{cfg: cfg}, nil
}

// Request is what the executable reads on stdin.
type Request struct {
	Action string `json:"action"`         // create, start, stop, destroy, list
	Key    string `json:"key,omitempty"`  // create: the intent key (idempotency)
	ID     string `json:"id,omitempty"`   // start, stop, destroy: the instance id
	Spec   *Spec  `json:"spec,omitempty"` // create
}

// Spec is the group a create is for, and the worker it must run.
type Spec struct {
	EndpointID   uint64  `json:"endpoint_id"`
	GroupID      uint64  `json:"group_id"`
	TemplateHash string  `json:"template_hash,omitempty"`
	LaunchArgs   string  `json:"launch_args,omitempty"`
	SearchParams string  `json:"search_params,omitempty"`
	GPURAM       float64 `json:"gpu_ram,omitempty"`
	WorkerID     uint64  `json:"worker_id"`    // CONTAINER_ID of the worker
	MasterToken  string  `json:"master_token"` // MASTER_TOKEN of the worker
}

// Instance is one instance on the wire.
type Instance struct {
	ID        string    `json:"id"`
	IntentKey string    `json:"intent_key"`
	GroupID   uint64    `json:"group_id"`
	State     string    `json:"state"` // loading, starting, ready, stopped, failed, gone
	Since     time.Time `json:"since,omitzero"`
	Created   time.Time `json:"created,omitzero"`
	Hardware  string    `json:"hardware,omitempty"`
	Perf      float64   `json:"perf,omitempty"`
	Cost      float64   `json:"cost,omitempty"`
	URL       string    `json:"url,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Answer is what the executable writes on stdout.
type Answer struct {
	Instance  *Instance  `json:"instance,omitempty"`  // create
	Instances []Instance `json:"instances,omitempty"` // list
	Error     string     `json:"error,omitempty"`     // non-empty: the action failed
	Code      string     `json:"code,omitempty"`      // not_found, state, or anything else (failed)
}

// Create implements provider.Provider.
func (p *Provider) Create(ctx context.Context, key string, s provider.GroupSpec) (provider.Instance, error) {
	a, err := p.run(ctx, Request{Action: "create", Key: key, Spec: &Spec{EndpointID: s.EndpointID, GroupID: s.GroupID,
		TemplateHash: s.TemplateHash, LaunchArgs: s.LaunchArgs, SearchParams: s.SearchParams, GPURAM: s.GPURAM,
		WorkerID: s.WorkerID, MasterToken: s.MasterToken}})
	if err != nil {
		return provider.Instance{}, err
	}
	if a.Instance == nil || a.Instance.ID == "" {
		return provider.Instance{}, fmt.Errorf("%w: create answered no instance", provider.ErrFailed)
	}
	return a.Instance.toProvider(), nil
}

// Start implements provider.Provider.
func (p *Provider) Start(ctx context.Context, id string) error {
	_, err := p.run(ctx, Request{Action: "start", ID: id})
	return err
}

// Stop implements provider.Provider.
func (p *Provider) Stop(ctx context.Context, id string) error {
	_, err := p.run(ctx, Request{Action: "stop", ID: id})
	return err
}

// Destroy implements provider.Provider.
func (p *Provider) Destroy(ctx context.Context, id string) error {
	_, err := p.run(ctx, Request{Action: "destroy", ID: id})
	return err
}

// List implements provider.Provider.
func (p *Provider) List(ctx context.Context) ([]provider.Instance, error) {
	a, err := p.run(ctx, Request{Action: "list"})
	if err != nil {
		return nil, err
	}
	out := make([]provider.Instance, 0, len(a.Instances))
	for _, in := range a.Instances {
		out = append(out, in.toProvider())
	}
	return out, nil
}

func (in Instance) toProvider() provider.Instance {
	return provider.Instance{ID: in.ID, IntentKey: in.IntentKey, GroupID: in.GroupID, State: provider.State(in.State),
		Since: in.Since, Created: in.Created, Hardware: in.Hardware, Perf: in.Perf, Cost: in.Cost, URL: in.URL, Error: in.Error}
}

// run calls the executable once: request on stdin, answer on stdout,
// stderr kept for the error. A non-zero exit, a malformed answer or an
// answer with "error" fail the call; a timeout kills the process group.
func (p *Provider) run(ctx context.Context, req Request) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	in, _ := json.Marshal(req)
	cmd := osexec.CommandContext(ctx, p.cfg.Path)
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), p.cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return Answer{}, fmt.Errorf("%w: %s after %s", ErrTimeout, req.Action, p.cfg.Timeout)
	}
	if err != nil {
		return Answer{}, fmt.Errorf("%w: %s: %v: %s", provider.ErrFailed, req.Action, err, tail(stderr.String()))
	}
	var a Answer
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &a); err != nil {
		return Answer{}, fmt.Errorf("%w: %s: answer is not JSON: %v", provider.ErrFailed, req.Action, err)
	}
	if a.Error != "" {
		switch a.Code {
		case "not_found":
			return a, fmt.Errorf("%w: %s", provider.ErrNotFound, a.Error)
		case "state":
			return a, fmt.Errorf("%w: %s", provider.ErrState, a.Error)
		}
		return a, fmt.Errorf("%w: %s: %s", provider.ErrFailed, req.Action, a.Error)
	}
	return a, nil
}

// tail keeps the end of an executable's stderr for an error message.
func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 500 {
		return "…" + s[len(s)-500:]
	}
	return s
}

package scheduler

import (
	"errors"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
)

// ErrUnknownPolicy is returned by New for a name it does not know.
var ErrUnknownPolicy = errors.New("scheduler: unknown policy")

// Policy turns an Input into a Plan. Implementations are pure: everything
// they remember between ticks lives in the Memory the caller passes (and
// keeps), so a new leader rebuilds it with NewMemory. A Policy value itself
// is immutable and safe for concurrent use with distinct Memories.
type Policy interface {
	Name() string
	Plan(in *Input, mem *Memory) Plan
}

// Config holds the priors and figures the policies share. Zero values are
// documented per field; DefaultConfig returns them filled in.
type Config struct {
	// DefaultPerf is the perf (load/s per worker) to plan with for a group
	// that has neither a measured nor an assumed perf. Zero: 1000.
	DefaultPerf float64
	// CreateTime and StartTime are the priors for a group with no measured
	// Timing. Zero: 180 s and 15 s.
	CreateTime, StartTime time.Duration
	// StoppedPrice is the price of a stopped worker as a fraction of a
	// loaded one (drover's destroy rule). Zero: 0.05.
	StoppedPrice float64
	// Window is drover's load-statistics window and how long a new leader
	// holds scale-down (a full window of fresh load). Zero: 300 s.
	Window time.Duration
	// PoolWindow is how far back drover looks for the peak its cold pool
	// must cover. Zero: 900 s.
	PoolWindow time.Duration
	// DrainTimeout bounds how long drover waits for a draining worker's
	// in-flight work before stopping it anyway. Zero: 60 s.
	DrainTimeout time.Duration
}

// DefaultConfig returns Config with every zero field filled in.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.DefaultPerf <= 0 {
		c.DefaultPerf = 1000
	}
	if c.StoppedPrice <= 0 {
		c.StoppedPrice = 0.05
	}
	def(&c.CreateTime, 180*time.Second)
	def(&c.StartTime, 15*time.Second)
	def(&c.Window, 300*time.Second)
	def(&c.PoolWindow, 900*time.Second)
	def(&c.DrainTimeout, 60*time.Second)
	return c
}

// Names lists the policies New knows.
func Names() []string { return []string{"vast", "kpa", "drover"} }

// New returns the named policy.
func New(name string, cfg Config) (Policy, error) {
	cfg = cfg.withDefaults()
	switch name {
	case "vast":
		return &Vast{cfg: cfg}, nil
	case "kpa":
		return &KPA{cfg: cfg}, nil
	case "drover":
		return &Drover{cfg: cfg}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownPolicy, name)
}

// Memory is what policies remember between ticks. The caller keeps it; a
// new leader starts with NewMemory(now), which every policy treats as "no
// history before Started". Its zero value is not usable.
type Memory struct {
	Started   time.Time                  `json:"started"`
	Endpoints map[uint64]*EndpointMemory `json:"endpoints"`
}

// EndpointMemory is one endpoint's timers. A zero time means "not running".
type EndpointMemory struct {
	LastActive time.Time `json:"last_active"` // last tick with arrivals, queue or work (inactivity_timeout)
	ReadyOver  time.Time `json:"ready_over"`  // vast: ready > A since
	LoadedOver time.Time `json:"loaded_over"` // vast: loaded > C since
	PanicUntil time.Time `json:"panic_until"` // kpa: panicking until
	DownSince  time.Time `json:"down_since"`  // drover: ready capacity above need since
	PoolOver   time.Time `json:"pool_over"`   // drover: loaded beyond the pool since
	// LateTicks and BusyTicks are drover's decaying counts (time constant:
	// the pool window) of ticks with traffic and of those whose oldest
	// queued request had waited past the SLO: its online SLO measurement.
	LateTicks float64   `json:"late_ticks"`
	BusyTicks float64   `json:"busy_ticks"`
	LastTick  time.Time `json:"last_tick"` // the previous tick's Now
	// ColdPending is how many of vast's cold-pool creates have not landed;
	// Loading the ids of the workers that were loading at LastTick.
	ColdPending int      `json:"cold_pending"`
	Loading     []uint64 `json:"loading"`
}

// NewMemory returns an empty memory whose history starts at now.
func NewMemory(now time.Time) *Memory {
	return &Memory{Started: now, Endpoints: map[uint64]*EndpointMemory{}}
}

// endpoint returns the endpoint's memory, creating it.
func (m *Memory) endpoint(id uint64) *EndpointMemory {
	em, ok := m.Endpoints[id]
	if !ok {
		em = &EndpointMemory{}
		m.Endpoints[id] = em
	}
	return em
}

// overFor runs a hysteresis timer: it starts *since at now when cond first
// holds, clears it when cond fails, and returns how long cond has held.
func overFor(since *time.Time, cond bool, now time.Time) time.Duration {
	if !cond {
		*since = time.Time{}
		return 0
	}
	if since.IsZero() {
		*since = now
	}
	return now.Sub(*since)
}

// endpointPlanner decides for one active endpoint with scalable groups:
// its actions and a note.
type endpointPlanner func(ep *EndpointInput, em *EndpointMemory, mem *Memory, f *fleet, now time.Time) ([]Action, Note)

// planEndpoints runs a policy over every endpoint of the input, in order,
// and records the tick in each endpoint's memory.
func planEndpoints(policy string, cfg Config, in *Input, mem *Memory, decide endpointPlanner) Plan {
	p := Plan{Policy: policy, Now: in.Now}
	for i := range in.Endpoints {
		ep := &in.Endpoints[i]
		em := mem.endpoint(ep.Endpoint.ID)
		acts, note := planEndpoint(cfg, ep, em, mem, in.Now, decide)
		p.Actions = append(p.Actions, acts...)
		p.Notes = append(p.Notes, note)
		em.LastTick = in.Now
	}
	return p
}

// planEndpoint applies the endpoint states every policy honours the same
// way (stopped: stop every worker; suspended: no scaling; nothing to
// scale) and leaves the rest to the policy.
func planEndpoint(cfg Config, ep *EndpointInput, em *EndpointMemory, mem *Memory, now time.Time, decide endpointPlanner) ([]Action, Note) {
	note := Note{EndpointID: ep.Endpoint.ID}
	f := newFleet(ep, now, cfg)
	switch {
	case ep.Endpoint.State == fsm.EndpointStopped:
		note.Text = "endpoint stopped: stop every worker"
		return f.stopAll(), note
	case ep.Endpoint.State == fsm.EndpointSuspended:
		note.Text = "endpoint suspended: no scaling"
		return nil, note
	case len(f.groups) == 0:
		note.Text = "no scalable group"
		return nil, note
	}
	return decide(ep, em, mem, f, now)
}

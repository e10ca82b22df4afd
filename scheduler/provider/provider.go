package provider

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors of every provider.
var (
	ErrNotFound = errors.New("provider: no such instance")
	ErrState    = errors.New("provider: action not allowed in the instance's state")
	ErrFailed   = errors.New("provider: action failed")
)

// State is an instance's lifecycle state as the provider sees it.
type State string

// Instance states.
const (
	Loading  State = "loading"  // created, model loading (billed)
	Starting State = "starting" // stopped → ready in progress (billed)
	Ready    State = "ready"    // serving (billed)
	Stopped  State = "stopped"  // model on disk (storage price)
	Failed   State = "failed"   // create or start failed; destroy it
	Gone     State = "gone"     // destroyed (kept in List so a reconciler sees it)
)

// Live reports whether an instance in state s may be running or billed:
// everything but Gone.
func (s State) Live() bool { return s != Gone }

// GroupSpec is what Create needs to know about the worker group.
type GroupSpec struct {
	EndpointID   uint64
	GroupID      uint64
	TemplateHash string
	LaunchArgs   string
	SearchParams string
	GPURAM       float64
	// WorkerID is the id the new worker reports as (its CONTAINER_ID);
	// MasterToken its own MASTER_TOKEN (the registry keeps only its
	// sha256). Providers that start real workers pass both to them.
	WorkerID    uint64
	MasterToken string
}

// Instance is one machine (or process) the provider runs.
type Instance struct {
	ID        string
	IntentKey string // the create intent that made it
	GroupID   uint64
	State     State
	Since     time.Time // when it entered State
	Created   time.Time
	Hardware  string
	Perf      float64 // load/s the hardware serves, 0 if unknown
	Cost      float64 // price per second while billed at full price
	URL       string
	Error     string // why it Failed
}

// Provider changes and lists a fleet. Implementations are safe for
// concurrent use.
type Provider interface {
	// Create starts creating an instance for the intent key, idempotently.
	Create(ctx context.Context, key string, spec GroupSpec) (Instance, error)
	// Start starts a stopped instance.
	Start(ctx context.Context, id string) error
	// Stop stops a ready (or starting) instance, keeping its disk.
	Stop(ctx context.Context, id string) error
	// Destroy removes an instance and everything it holds.
	Destroy(ctx context.Context, id string) error
	// List returns every instance, sorted by ID.
	List(ctx context.Context) ([]Instance, error)
}

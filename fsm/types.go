package fsm

// The replicated objects. JSON tags are the console API's field names
// (docs/protocol.md), so edge/ can answer with these structs
// directly; command payloads are the same JSON, so the encoding is pinned by
// the golden files in testdata/.

// Endpoint states.
const (
	EndpointActive    = "active"
	EndpointSuspended = "suspended" // routes, but the scheduler stops scaling it
	EndpointStopped   = "stopped"   // every worker inactive; /route/ answers not-ready
)

// Worker lifecycle states.
const (
	WorkerCreating = "creating"
	WorkerLoading  = "loading"
	WorkerReady    = "ready"
	WorkerDraining = "draining" // no new routes; in-flight work finishes
	WorkerStopped  = "stopped"  // model on disk, starts in seconds
	WorkerError    = "error"
	WorkerLost     = "lost" // no report for --worker-ttl
)

// Endpoint is a named service. Zero values of the optional numbers are
// meaningful (0 is a valid min_load), so defaults are filled in by
// EndpointDefaults before a create, never by Apply.
type Endpoint struct {
	ID              uint64  `json:"id"`
	UserID          uint64  `json:"user_id"`
	Name            string  `json:"endpoint_name"`
	MinLoad         float64 `json:"min_load"`
	MinColdLoad     float64 `json:"min_cold_load"`
	TargetUtil      float64 `json:"target_util"`
	ColdMult        float64 `json:"cold_mult"`
	ColdWorkers     int64   `json:"cold_workers"`
	MaxWorkers      int64   `json:"max_workers"`
	MaxQueueTime    float64 `json:"max_queue_time"`
	TargetQueueTime float64 `json:"target_queue_time"`
	// SLOTarget is drover's cost/SLO knob: the share of requests that should
	// wait no more than target_queue_time. 0 (records from before the
	// field): the default, 0.95.
	SLOTarget         float64  `json:"slo_target"`
	InactivityTimeout *float64 `json:"inactivity_timeout"` // nil: unset; < 0: never scale to zero
	State             string   `json:"endpoint_state"`
	APIKey            string   `json:"api_key"`    // issued by the proposer, read-only
	CreatedAt         float64  `json:"created_at"` // unix seconds, stamped by the proposer
	Revision          uint64   `json:"revision"`   // Raft index of the last change
}

// Group is a worker group of an endpoint. Pointer fields are optional
// overrides of the endpoint's value (nil: inherit).
type Group struct {
	ID           uint64   `json:"id"`
	EndpointID   uint64   `json:"endpoint_id"`
	Name         string   `json:"name,omitempty"` // unique within its endpoint when set
	TemplateHash string   `json:"template_hash"`
	TemplateID   int64    `json:"template_id"`
	SearchParams string   `json:"search_params"`
	LaunchArgs   string   `json:"launch_args"`
	GPURAM       float64  `json:"gpu_ram"`
	TestWorkers  int64    `json:"test_workers"`
	ColdWorkers  *int64   `json:"cold_workers,omitempty"`
	MaxWorkers   *int64   `json:"max_workers,omitempty"`
	MinColdLoad  *float64 `json:"min_cold_load,omitempty"`
	Provider     string   `json:"provider"`
	Weight       float64  `json:"weight"`
	WorkerToken  string   `json:"worker_token,omitempty"` // static groups: workers report with it
	APIKey       string   `json:"api_key"`                // the endpoint's key, copied at create
	CreatedAt    float64  `json:"created_at"`
	Revision     uint64   `json:"revision"`
}

// Worker is a registered worker (a GPU instance or a static worker).
type Worker struct {
	ID         uint64  `json:"id"` // the container id the worker reports as
	GroupID    uint64  `json:"group_id"`
	EndpointID uint64  `json:"endpoint_id"`
	URL        string  `json:"url"`
	State      string  `json:"state"`
	ErrorMsg   string  `json:"error_msg,omitempty"`
	MaxPerf    float64 `json:"max_perf"` // load units per second, measured by the worker
	Hardware   string  `json:"hardware,omitempty"`
	Cost       float64 `json:"cost"`                 // price per second while loaded
	IntentKey  string  `json:"intent_key,omitempty"` // the create intent that made it
	InstanceID string  `json:"instance_id,omitempty"`
	// TokenHash is the hex sha256 of the MASTER_TOKEN a provider-created
	// worker reports with (each gets its own); "" for static workers, which
	// report with their group's worker_token.
	TokenHash    string  `json:"token_hash,omitempty"`
	RegisteredAt float64 `json:"registered_at"`
	Revision     uint64  `json:"revision"`
}

// Intent kinds and states.
const (
	IntentCreate  = "create"
	IntentStart   = "start"
	IntentStop    = "stop"
	IntentDestroy = "destroy"

	IntentPending   = "pending"
	IntentDone      = "done"
	IntentFailed    = "failed"
	IntentAbandoned = "abandoned"
)

// Intent is a scheduler action committed before it is executed.
type Intent struct {
	Key        string  `json:"key"` // idempotency key, unique
	Kind       string  `json:"kind"`
	EndpointID uint64  `json:"endpoint_id"`
	GroupID    uint64  `json:"group_id"`
	WorkerID   uint64  `json:"worker_id,omitempty"`
	Term       uint64  `json:"term"` // Raft term of the leader that committed it
	State      string  `json:"state"`
	InstanceID string  `json:"instance_id,omitempty"`
	Result     string  `json:"result,omitempty"`
	Reason     string  `json:"reason,omitempty"`
	CreatedAt  float64 `json:"created_at"`
	Revision   uint64  `json:"revision"`
}

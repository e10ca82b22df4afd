package fsm

import "encoding/json"

// Command payloads, JSON-encoded into Command.Payload by NewCommand. Field
// names are the wire format (pinned by testdata/*.golden): add fields, never
// rename them.

// CreateEndpoint creates an endpoint. Apply assigns ID and Revision; the
// proposer fills defaults (EndpointDefaults) and sets APIKey and CreatedAt.
type CreateEndpoint struct{ Endpoint Endpoint }

// UpdateEndpoint changes the console fields in Patch (a JSON object of
// endpoint fields). IfRevision 0 means unconditional. Read-only fields in
// Patch are ignored.
type UpdateEndpoint struct {
	ID         uint64
	IfRevision uint64
	Patch      json.RawMessage
}

// DeleteEndpoint deletes an endpoint, its groups and their workers.
type DeleteEndpoint struct{ ID uint64 }

// CreateGroup creates a worker group. When Group.EndpointID is 0 the group
// belongs to the endpoint named EndpointName. Apply assigns ID and Revision
// and copies the endpoint's APIKey; the proposer sets CreatedAt and, for
// static groups, WorkerToken.
type CreateGroup struct {
	Group        Group
	EndpointName string
}

// UpdateGroup is UpdateEndpoint for groups.
type UpdateGroup struct {
	ID         uint64
	IfRevision uint64
	Patch      json.RawMessage
}

// DeleteGroup deletes a group and its workers.
type DeleteGroup struct{ ID uint64 }

// RegisterWorker inserts or replaces the worker with Worker.ID. Its group
// must exist; EndpointID is taken from the group.
//
// MToken, when set, is the worker_token a self-registering worker reported
// with: Apply registers the worker in the static group holding that token
// (Worker.GroupID is ignored) or refuses with CodeInvalid "unknown mtoken".
// Registering again a worker already in that group changes nothing, so two
// nodes racing to register the same first report are harmless.
type RegisterWorker struct {
	Worker Worker
	MToken string `json:",omitempty"`
}

// SetWorkerState records a worker's report. State and ErrorMsg are always
// set; MaxPerf only when > 0 and URL only when non-empty, so a partial
// report does not erase what is known.
type SetWorkerState struct {
	ID       uint64
	State    string
	ErrorMsg string
	MaxPerf  float64
	URL      string
}

// RemoveWorker deletes one worker.
type RemoveWorker struct{ ID uint64 }

// SetSigningKey sets the route-signing key (PEM). The first one wins; later
// ones succeed without changing anything, so every node can propose its key
// at start.
type SetSigningKey struct{ PEM []byte }

// PutIntent records a scheduler intent. A Key already present is a no-op
// that answers the existing intent's revision. Apply sets Term from the log
// entry and State to pending when empty.
type PutIntent struct{ Intent Intent }

// IntentResult records how an intent ended (or that it is still pending).
type IntentResult struct {
	Key        string
	State      string
	InstanceID string
	Result     string
}

// RemoveServer marks a server id as removed by hand: it stays out of the
// cluster until an operator undoes it.
type RemoveServer struct{ ID string }

// Prune is the leader's garbage collection. Apply deletes each intent of
// Intents that is finished (not pending) or whose group no longer exists,
// and each worker of Workers that is lost; keys and ids that no longer
// qualify (or are gone) are skipped, so a Prune decided on a slightly old
// View never removes live state. The leader decides what is old enough
// (see cluster's gc loop); Apply needs no clock.
type Prune struct {
	Intents []string `json:",omitempty"`
	Workers []uint64 `json:",omitempty"`
}

// MaxPruneItems bounds the keys plus ids of one Prune (so it stays far
// under the size of a log entry).
const MaxPruneItems = 512

// Noop changes nothing but the applied index.
type Noop struct{}

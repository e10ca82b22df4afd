package fsm

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"sync"
)

// View is the replicated state after some applied index. A published View
// is immutable: readers may hold and read it from any goroutine without
// locks, and must not modify it, its maps, slices or the objects they point
// to. Each ApplyBatch publishes a new View; maps the batch did not touch are
// shared with the previous one.
type View struct {
	Index          uint64               // last applied Raft index
	Endpoints      map[uint64]*Endpoint // by ID
	Groups         map[uint64]*Group    // by ID
	Workers        map[uint64]*Worker   // by ID
	Intents        map[string]*Intent   // by Key
	SigningKey     []byte               // PEM, nil until set
	RemovedServers map[string]bool      // server ids removed by hand

	byName    map[string]uint64    // endpoint name → id
	groupsOf  map[uint64][]*Group  // endpoint id → groups sorted by ID
	workersOf map[uint64][]*Worker // group id → workers sorted by ID

	nextEndpointID uint64 // id of the next endpoint created, starts at 1
	nextGroupID    uint64 // id of the next group created, starts at 1

	// dedup holds the last dedupCap request ids with their Results,
	// oldest first. The backing array is shared with later Views, which
	// only append beyond this View's length.
	dedup []dedupEntry

	hashOnce sync.Once
	hash     string
}

// dedupEntry is one remembered request id.
type dedupEntry struct {
	ID     RequestID `json:"id"`
	Result Result    `json:"result"`
}

// dedupCap is how many request ids the FSM remembers.
const dedupCap = 16384

func emptyView() *View {
	return &View{
		Endpoints:      map[uint64]*Endpoint{},
		Groups:         map[uint64]*Group{},
		Workers:        map[uint64]*Worker{},
		Intents:        map[string]*Intent{},
		RemovedServers: map[string]bool{},
		byName:         map[string]uint64{},
		groupsOf:       map[uint64][]*Group{},
		workersOf:      map[uint64][]*Worker{},
		nextEndpointID: 1,
		nextGroupID:    1,
	}
}

// successor returns an unpublished View that shares everything with v.
func (v *View) successor() *View {
	return &View{
		Index:          v.Index,
		Endpoints:      v.Endpoints,
		Groups:         v.Groups,
		Workers:        v.Workers,
		Intents:        v.Intents,
		SigningKey:     v.SigningKey,
		RemovedServers: v.RemovedServers,
		byName:         v.byName,
		groupsOf:       v.groupsOf,
		workersOf:      v.workersOf,
		nextEndpointID: v.nextEndpointID,
		nextGroupID:    v.nextGroupID,
		dedup:          v.dedup,
	}
}

// EndpointByName returns the endpoint called name.
func (v *View) EndpointByName(name string) (*Endpoint, bool) {
	id, ok := v.byName[name]
	if !ok {
		return nil, false
	}
	return v.Endpoints[id], true
}

// GroupsOf returns the groups of an endpoint, sorted by ID. The slice is
// shared: do not modify it.
func (v *View) GroupsOf(endpointID uint64) []*Group { return v.groupsOf[endpointID] }

// WorkersOf returns the workers of a group, sorted by ID. The slice is
// shared: do not modify it.
func (v *View) WorkersOf(groupID uint64) []*Worker { return v.workersOf[groupID] }

// SortedEndpoints returns every endpoint sorted by ID (a new slice).
func (v *View) SortedEndpoints() []*Endpoint {
	return sortedValues(v.Endpoints, func(e *Endpoint) uint64 { return e.ID })
}

// SortedGroups returns every group sorted by ID (a new slice).
func (v *View) SortedGroups() []*Group {
	return sortedValues(v.Groups, func(g *Group) uint64 { return g.ID })
}

// SortedWorkers returns every worker sorted by ID (a new slice).
func (v *View) SortedWorkers() []*Worker {
	return sortedValues(v.Workers, func(w *Worker) uint64 { return w.ID })
}

// SortedIntents returns every intent sorted by Key (a new slice).
func (v *View) SortedIntents() []*Intent {
	out := make([]*Intent, 0, len(v.Intents))
	for _, in := range v.Intents {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b *Intent) int { return cmp.Compare(a.Key, b.Key) })
	return out
}

// Hash returns the hex sha256 of the View's canonical (uncompressed)
// snapshot bytes. Replicas that applied the same log have the same Hash. It
// is computed on first use and cached.
func (v *View) Hash() string {
	v.hashOnce.Do(func() {
		h := sha256.New()
		if err := writeCanonical(h, v); err != nil {
			panic("fsm: hashing view: " + err.Error()) // only invalid (non-finite) state can fail
		}
		v.hash = hex.EncodeToString(h.Sum(nil))
	})
	return v.hash
}

func sortedValues[T any](m map[uint64]T, id func(T) uint64) []T {
	out := make([]T, 0, len(m))
	for _, x := range m {
		out = append(out, x)
	}
	slices.SortFunc(out, func(a, b T) int { return cmp.Compare(id(a), id(b)) })
	return out
}

// withByID returns a copy of s (sorted by id) with x inserted or replacing
// the element with the same id.
func withByID[T any](s []T, x T, id func(T) uint64) []T {
	i, found := slices.BinarySearchFunc(s, id(x), func(e T, k uint64) int { return cmp.Compare(id(e), k) })
	out := make([]T, 0, len(s)+1)
	out = append(out, s[:i]...)
	out = append(out, x)
	if found {
		i++
	}
	return append(out, s[i:]...)
}

// withoutID returns a copy of s without the element with id k (nil when
// nothing is left).
func withoutID[T any](s []T, k uint64, id func(T) uint64) []T {
	i, found := slices.BinarySearchFunc(s, k, func(e T, k uint64) int { return cmp.Compare(id(e), k) })
	if !found {
		return s
	}
	if len(s) == 1 {
		return nil
	}
	out := make([]T, 0, len(s)-1)
	out = append(out, s[:i]...)
	return append(out, s[i+1:]...)
}

func groupID(g *Group) uint64   { return g.ID }
func workerID(w *Worker) uint64 { return w.ID }

func sortedKeys(m map[string]bool) []string { return slices.Sorted(maps.Keys(m)) }

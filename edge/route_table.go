package edge

import (
	"encoding/json"
	"math"
	"strconv"
	"sync/atomic"

	"github.com/drover-io/drover/fsm"
)

// routeTables is what /route/ reads, built once per View and swapped
// atomically: per endpoint, its groups with ready workers and their weights.
// Immutable after publication; the per-worker counters it points to are
// atomic and outlive the table.
type routeTables struct {
	view   *fsm.View
	sig    *signer // nil until a valid signing key is replicated
	byName map[string]*endpointRoute
	byID   map[uint64]*endpointRoute
}

// endpointRoute is one endpoint's routing table.
type endpointRoute struct {
	ep         *fsm.Endpoint
	nameJSON   []byte // the name as a JSON string
	apiKey     []byte
	groups     []groupRoute // groups with at least one ready worker
	total      float64      // sum of the groups' weights
	ready      int          // ready workers of the endpoint
	statusJSON []byte       // {"creating":0,…} counts of workers by state
	stats      *endpointState
}

// groupRoute is a group with its ready workers and the upper bound of its
// weight range in [0, total).
type groupRoute struct {
	id      uint64
	upper   float64
	workers []*workerRoute
}

// workerRoute is one ready worker in a table.
type workerRoute struct {
	w       *fsm.Worker
	urlJSON []byte // the URL as a JSON string
	st      *workerState
}

// workerState is the per-worker routing state that survives table rebuilds.
type workerState struct {
	routed     atomic.Uint64 // float64 bits: load this node routed since lastReport
	lastReport atomic.Int64  // WorkerLoad.LastReport the counter was reset at
	sig        atomic.Pointer[cachedSig]
	key        atomic.Pointer[cachedKey]
}

// cachedSig is a worker URL's signature under one signer.
type cachedSig struct {
	sg  *signer
	url string
	sig string
}

// cachedKey is a worker's token key under one signer.
type cachedKey struct {
	sg  *signer
	key []byte
}

// endpointState is per-endpoint state that survives table rebuilds.
type endpointState struct {
	routed          atomic.Uint64 // requests this node routed to a worker
	queueFull       atomic.Uint64 // new requests this node refused because the held queue was full
	queueFullLogged atomic.Int64  // unix nanos of the last "queue full" log line
}

// workerStateOrder is the order of the not-ready status counts.
var workerStateOrder = []string{fsm.WorkerCreating, fsm.WorkerLoading, fsm.WorkerReady,
	fsm.WorkerDraining, fsm.WorkerStopped, fsm.WorkerError, fsm.WorkerLost}

// tables returns the routing tables of the replica's current View,
// rebuilding them when the View changed since the last build.
func (s *Server) tables() *routeTables {
	v := s.replica.View()
	if t := s.table.Load(); t != nil && t.view == v {
		return t
	}
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	if t := s.table.Load(); t != nil && t.view == v {
		return t
	}
	t := s.buildTables(v)
	s.table.Store(t)
	return t
}

// buildTables builds the tables of v; called with buildMu held.
func (s *Server) buildTables(v *fsm.View) *routeTables {
	t := &routeTables{view: v, byName: map[string]*endpointRoute{}, byID: map[uint64]*endpointRoute{}}
	if v == nil {
		return t
	}
	t.sig = s.signerFor(v.SigningKey)
	liveW := make(map[uint64]*workerState, len(v.Workers))
	liveE := make(map[uint64]*endpointState, len(v.Endpoints))
	for _, ep := range v.Endpoints {
		er := s.buildEndpoint(v, ep, liveW)
		if er.stats = s.epStates[ep.ID]; er.stats == nil {
			er.stats = &endpointState{}
		}
		liveE[ep.ID] = er.stats
		t.byName[ep.Name] = er
		t.byID[ep.ID] = er
	}
	s.wStates, s.epStates = liveW, liveE // drop the state of deleted objects
	return t
}

func (s *Server) buildEndpoint(v *fsm.View, ep *fsm.Endpoint, live map[uint64]*workerState) *endpointRoute {
	name, _ := json.Marshal(ep.Name)
	er := &endpointRoute{ep: ep, nameJSON: name, apiKey: []byte(ep.APIKey)}
	counts := make(map[string]int, len(workerStateOrder))
	groups := v.GroupsOf(ep.ID)
	zeroWeights := true
	for _, g := range groups {
		if g.Weight > 0 {
			zeroWeights = false
		}
	}
	for _, g := range groups {
		gr := groupRoute{id: g.ID}
		for _, w := range v.WorkersOf(g.ID) {
			counts[w.State]++
			if w.State != fsm.WorkerReady || w.URL == "" {
				continue
			}
			st := s.wStates[w.ID]
			if st == nil {
				st = &workerState{}
			}
			live[w.ID] = st
			u, _ := json.Marshal(w.URL)
			gr.workers = append(gr.workers, &workerRoute{w: w, urlJSON: u, st: st})
		}
		weight := g.Weight
		if zeroWeights {
			weight = 1 // every weight 0: split evenly rather than not at all
		}
		if len(gr.workers) == 0 || !(weight > 0) {
			continue
		}
		er.total += weight
		gr.upper = er.total
		er.ready += len(gr.workers)
		er.groups = append(er.groups, gr)
	}
	er.statusJSON = statusJSON(counts)
	return er
}

// statusJSON renders counts of workers by state in workerStateOrder (every
// state fsm accepts).
func statusJSON(counts map[string]int) []byte {
	b := []byte{'{'}
	for i, st := range workerStateOrder {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, st)
		b = append(b, ':')
		b = strconv.AppendInt(b, int64(counts[st]), 10)
	}
	return append(b, '}')
}

// addRouted adds load to the worker's routed-since-report counter.
func (st *workerState) addRouted(load float64) {
	for {
		old := st.routed.Load()
		if st.routed.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+load)) {
			return
		}
	}
}

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/scheduler"
)

// Decision is one scheduler action as `drover decisions` shows it: what
// the policy decided, why, the figures it decided on, and how it ended.
type Decision struct {
	Time       time.Time          `json:"time"`
	Term       uint64             `json:"term"`
	Policy     string             `json:"policy"` // the policy, "manual" or "reconcile"
	EndpointID uint64             `json:"endpoint_id"`
	GroupID    uint64             `json:"group_id,omitempty"`
	WorkerID   uint64             `json:"worker_id,omitempty"`
	Kind       string             `json:"kind"`
	Count      int                `json:"count,omitempty"`
	IntentKey  string             `json:"intent_key,omitempty"`
	InstanceID string             `json:"instance_id,omitempty"`
	Reason     string             `json:"reason"`
	Figures    map[string]float64 `json:"figures,omitempty"`
	// Outcome: pending, retrying, done, failed, refused or abandoned.
	Outcome  string `json:"outcome"`
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
}

// EndpointDecisions is one endpoint's recent decisions, newest last, with
// the policy's latest summary.
type EndpointDecisions struct {
	EndpointID uint64             `json:"endpoint_id"`
	NoteTime   time.Time          `json:"note_time,omitzero"`
	Note       string             `json:"note,omitempty"`
	Figures    map[string]float64 `json:"figures,omitempty"`
	Decisions  []Decision         `json:"decisions"`
}

// Decisions is the answer of GET /v1/decisions.
type Decisions struct {
	Leader    string              `json:"leader"`
	Term      uint64              `json:"term"`
	Providers map[string]string   `json:"provider_errors,omitempty"` // provider → last list error
	Endpoints []EndpointDecisions `json:"endpoints"`
}

// decisionLog keeps a ring of recent decisions per endpoint. It holds
// pointers so that an outcome set later (under mu) shows in the ring.
type decisionLog struct {
	mu      sync.Mutex
	keep    int
	term    uint64
	eps     map[uint64]*EndpointDecisions // notes; Decisions unused here
	rings   map[uint64][]*Decision
	provErr map[string]string
}

func newDecisionLog(keep int) *decisionLog {
	return &decisionLog{keep: keep, eps: map[uint64]*EndpointDecisions{}, rings: map[uint64][]*Decision{},
		provErr: map[string]string{}}
}

func (d *decisionLog) endpoint(id uint64) *EndpointDecisions {
	e := d.eps[id]
	if e == nil {
		e = &EndpointDecisions{EndpointID: id}
		d.eps[id] = e
	}
	return e
}

// add appends a decision to its endpoint's ring.
func (d *decisionLog) add(x *Decision) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endpoint(x.EndpointID)
	r := d.rings[x.EndpointID]
	if len(r) >= d.keep {
		r = slices.Delete(r, 0, len(r)-d.keep+1)
	}
	d.rings[x.EndpointID] = append(r, x)
}

// notes records each endpoint's latest policy summary.
func (d *decisionLog) notes(term uint64, p scheduler.Plan, extra map[uint64]string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.term = term
	for _, n := range p.Notes {
		e := d.endpoint(n.EndpointID)
		e.NoteTime, e.Note, e.Figures = p.Now, p.Policy+": "+n.Text+extra[n.EndpointID], figureMap(n.Figures)
	}
}

func (d *decisionLog) setProviderError(name, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if msg == "" {
		delete(d.provErr, name)
		return
	}
	d.provErr[name] = msg
}

// update changes a decision under the log's lock.
func (d *decisionLog) update(x *Decision, f func(*Decision)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(x)
}

// snapshot copies the log, for one endpoint or (0) all.
func (d *decisionLog) snapshot(endpointID uint64) Decisions {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := Decisions{Term: d.term, Endpoints: []EndpointDecisions{}}
	if len(d.provErr) > 0 {
		out.Providers = map[string]string{}
		for k, v := range d.provErr {
			out.Providers[k] = v
		}
	}
	ids := make([]uint64, 0, len(d.eps))
	for id := range d.eps {
		if endpointID == 0 || id == endpointID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := *d.eps[id]
		e.Decisions = make([]Decision, 0, len(d.rings[id]))
		for _, p := range d.rings[id] {
			e.Decisions = append(e.Decisions, *p)
		}
		out.Endpoints = append(out.Endpoints, e)
	}
	return out
}

func figureMap(fs []scheduler.Figure) map[string]float64 {
	if len(fs) == 0 {
		return nil
	}
	m := make(map[string]float64, len(fs))
	for _, f := range fs {
		m[f.Name] = f.Value
	}
	return m
}

// decision builds the log entry of a policy action.
func (l *schedLoop) decision(a scheduler.Action, now time.Time, outcome string) *Decision {
	return &Decision{Time: now, Term: l.term, Policy: l.pol.Name(), EndpointID: a.EndpointID, GroupID: a.GroupID,
		WorkerID: a.WorkerID, Kind: string(a.Kind), Count: a.Count, IntentKey: a.IntentKey, Reason: a.Reason,
		Figures: figureMap(a.Figures), Outcome: outcome}
}

// setDecision changes a decision under the log's lock.
func (l *schedLoop) setDecision(x *Decision, f func(*Decision)) {
	if x != nil {
		l.dec.update(x, f)
	}
}

// finishDecision sets a decision's outcome (and error, attempts).
func (l *schedLoop) finishDecision(x *Decision, outcome, errMsg string, attempts int) {
	if x == nil {
		return
	}
	l.dec.update(x, func(d *Decision) {
		d.Outcome, d.Error = outcome, errMsg
		if attempts > 0 {
			d.Attempts = attempts
		}
	})
}

// rpcDecisions is the peer RPC that asks the leader for its decisions.
const rpcDecisions = "decisions"

// Decisions returns the leader's recent scheduler decisions for one
// endpoint (0: all). A follower asks the leader over the cluster port.
func (n *Node) Decisions(ctx context.Context, endpointID uint64) (Decisions, error) {
	if err := (nodeHost{n}).leading(n.raft.CurrentTerm()); err == nil {
		d := n.decisionLog().snapshot(endpointID)
		d.Leader = n.cfg.ID
		return d, nil
	}
	addr, leaderID := n.raft.LeaderWithID()
	if addr == "" {
		return Decisions{}, ErrNoLeader
	}
	b, err := n.mux.CallAs(ctx, string(addr), string(leaderID), rpcDecisions, fmt.Appendf(nil, "%d", endpointID))
	if err != nil {
		return Decisions{}, remoteErr(err)
	}
	var d Decisions
	if err := json.Unmarshal(b, &d); err != nil {
		return Decisions{}, fmt.Errorf("cluster: bad decisions answer: %w", err)
	}
	return d, nil
}

// handleDecisionsRPC serves rpcDecisions on the leader.
func (n *Node) handleDecisionsRPC(body []byte) ([]byte, error) {
	if err := (nodeHost{n}).leading(n.raft.CurrentTerm()); err != nil {
		return nil, err
	}
	var id uint64
	fmt.Sscanf(string(body), "%d", &id)
	d := n.decisionLog().snapshot(id)
	d.Leader = n.cfg.ID
	return json.Marshal(d)
}

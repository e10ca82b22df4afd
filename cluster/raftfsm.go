package cluster

import (
	"io"
	"sync"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// raftFSM adapts fsm.FSM to raft's BatchingFSM and FSMSnapshot.
type raftFSM struct {
	f *fsm.FSM

	mu      sync.Mutex
	applied chan struct{} // closed and replaced after every batch: wakes readers waiting for an index
}

var (
	_ raft.BatchingFSM = (*raftFSM)(nil)
	_ raft.FSMSnapshot = (*raftSnapshot)(nil)
	_ raft.FSM         = (*raftFSM)(nil)
	_ raft.LogStore    = (*watchedLogStore)(nil)
)

func newRaftFSM(f *fsm.FSM) *raftFSM {
	return &raftFSM{f: f, applied: make(chan struct{})}
}

// ApplyBatch hands command and configuration entries to the FSM. Entries
// that are not commands reach it with nil data so its index advances.
func (r *raftFSM) ApplyBatch(logs []*raft.Log) []interface{} {
	entries := make([]fsm.Entry, len(logs))
	for i, l := range logs {
		entries[i] = fsm.Entry{Index: l.Index, Term: l.Term}
		if l.Type == raft.LogCommand {
			entries[i].Data = l.Data
		}
	}
	results := r.f.ApplyBatch(entries)
	out := make([]interface{}, len(results))
	for i := range results {
		out[i] = results[i]
	}
	r.notify()
	return out
}

// Apply is the non-batching path; raft uses ApplyBatch, this keeps raft.FSM
// satisfied.
func (r *raftFSM) Apply(l *raft.Log) interface{} {
	return r.ApplyBatch([]*raft.Log{l})[0]
}

func (r *raftFSM) Snapshot() (raft.FSMSnapshot, error) {
	return &raftSnapshot{s: r.f.Snapshot()}, nil
}

func (r *raftFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	err := r.f.Restore(rc)
	r.notify()
	return err
}

// notify wakes everyone waiting in waitApplied.
func (r *raftFSM) notify() {
	r.mu.Lock()
	close(r.applied)
	r.applied = make(chan struct{})
	r.mu.Unlock()
}

// appliedCh returns a channel closed at the next applied batch.
func (r *raftFSM) appliedCh() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied
}

// raftSnapshot writes the captured, immutable View in Persist, while
// applies go on.
type raftSnapshot struct{ s *fsm.Snapshot }

func (s *raftSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.s.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *raftSnapshot) Release() {}

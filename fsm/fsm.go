package fsm

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Entry is one committed Raft log entry.
type Entry struct {
	Index uint64
	Term  uint64
	Data  []byte // an EncodeBatch result; nil (or empty): a non-command entry that only advances the index
}

// FSM applies committed entries and publishes the resulting View. ApplyBatch
// and Restore are serialised by the FSM itself; View and Snapshot may be
// called from any goroutine at any time and never block.
type FSM struct {
	mu   sync.Mutex // serialises ApplyBatch and Restore
	view atomic.Pointer[View]

	// seen indexes the current View's dedup window (request id → Result).
	// Only writers touch it, under mu.
	seen map[RequestID]Result
}

// New returns an FSM with the empty state at index 0.
func New() *FSM {
	f := &FSM{seen: map[RequestID]Result{}}
	f.view.Store(emptyView())
	return f
}

// View returns the current View (an atomic load).
func (f *FSM) View() *View { return f.view.Load() }

// ApplyBatch applies entries in order and publishes the new View with one
// atomic swap. It returns one []Result per entry (nil for a non-command
// entry) holding one Result per command.
//
// Every entry is decoded before anything changes; an undecodable entry (bad
// checksum, malformed, unknown type without the ignorable bit, unknown
// payload version of a non-ignorable command) panics, leaving the FSM as it
// was.
func (f *FSM) ApplyBatch(entries []Entry) [][]Result {
	if len(entries) == 0 {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	decoded := make([][]Command, len(entries))
	for i, e := range entries {
		if len(e.Data) == 0 {
			continue
		}
		cmds, err := decodeBatch(e.Data)
		if err != nil {
			panic(fmt.Sprintf("fsm: undecodable committed entry %d: %v", e.Index, err))
		}
		for _, c := range cmds {
			if !c.Ignorable && !applicable(c) {
				panic(fmt.Sprintf("fsm: committed entry %d: unknown non-ignorable command %s version %d",
					e.Index, c.Type, c.Version))
			}
		}
		decoded[i] = cmds
	}
	tx := &txn{v: f.view.Load().successor(), seen: f.seen}
	out := make([][]Result, len(entries))
	for i, e := range entries {
		tx.index, tx.term = e.Index, e.Term
		tx.v.Index = e.Index
		if decoded[i] == nil {
			continue
		}
		res := make([]Result, len(decoded[i]))
		for j, c := range decoded[i] {
			res[j] = tx.applyCommand(c)
		}
		out[i] = res
	}
	f.view.Store(tx.v)
	return out
}

// applicable reports whether this build knows how to apply c.
func applicable(c Command) bool { return c.Type.Known() && c.Version == payloadVersion }

// applyCommand applies one command with request-id deduplication.
func (tx *txn) applyCommand(c Command) Result {
	if !c.RequestID.IsZero() {
		if r, ok := tx.seen[c.RequestID]; ok {
			r.Deleted = slices.Clone(r.Deleted) // callers may not touch the stored copy
			return r
		}
	}
	var r Result
	if applicable(c) {
		r = tx.dispatch(c)
	} else {
		r = reject(CodeUnknown, fmt.Sprintf("%s version %d skipped", c.Type, c.Version))
	}
	if !c.RequestID.IsZero() {
		stored := r
		stored.Deleted = slices.Clone(r.Deleted)
		tx.remember(c.RequestID, stored)
	}
	return r
}

// dispatch decodes c's payload and calls its applyX.
func (tx *txn) dispatch(c Command) Result {
	switch c.Type {
	case CmdCreateEndpoint:
		return applyWith(tx, c, tx.applyCreateEndpoint)
	case CmdUpdateEndpoint:
		return applyWith(tx, c, tx.applyUpdateEndpoint)
	case CmdDeleteEndpoint:
		return applyWith(tx, c, tx.applyDeleteEndpoint)
	case CmdCreateGroup:
		return applyWith(tx, c, tx.applyCreateGroup)
	case CmdUpdateGroup:
		return applyWith(tx, c, tx.applyUpdateGroup)
	case CmdDeleteGroup:
		return applyWith(tx, c, tx.applyDeleteGroup)
	case CmdRegisterWorker:
		return applyWith(tx, c, tx.applyRegisterWorker)
	case CmdSetWorkerState:
		return applyWith(tx, c, tx.applySetWorkerState)
	case CmdRemoveWorker:
		return applyWith(tx, c, tx.applyRemoveWorker)
	case CmdSetSigningKey:
		return applyWith(tx, c, tx.applySetSigningKey)
	case CmdPutIntent:
		return applyWith(tx, c, tx.applyPutIntent)
	case CmdIntentResult:
		return applyWith(tx, c, tx.applyIntentResult)
	case CmdRemoveServer:
		return applyWith(tx, c, tx.applyRemoveServer)
	case CmdNoop:
		return Result{}
	case CmdPrune:
		return applyWith(tx, c, tx.applyPrune)
	}
	panic("fsm: dispatch of unknown command " + c.Type.String()) // applicable() said it was known
}

// applyWith unmarshals c's payload into a P and applies it. A payload that
// is not valid JSON for P is rejected (deterministically, on every replica)
// rather than stopping the cluster.
func applyWith[P any](tx *txn, c Command, apply func(*P) Result) Result {
	var p P
	if err := json.Unmarshal(c.Payload, &p); err != nil {
		return reject(CodeInvalid, fmt.Sprintf("%s payload: %v", c.Type, err))
	}
	return apply(&p)
}

// remember appends id to the dedup window, evicting the oldest id when full.
func (tx *txn) remember(id RequestID, r Result) {
	v := tx.v
	if len(v.dedup) >= dedupCap {
		delete(tx.seen, v.dedup[0].ID)
		v.dedup = v.dedup[1:]
	}
	// Appending writes beyond every earlier View's length, so the shared
	// backing array is never changed under a reader.
	v.dedup = append(v.dedup, dedupEntry{ID: id, Result: r})
	tx.seen[id] = r
}

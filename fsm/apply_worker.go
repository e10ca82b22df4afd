package fsm

import (
	"crypto/subtle"
	"fmt"
)

func (tx *txn) applyRegisterWorker(p *RegisterWorker) Result {
	w := p.Worker
	if p.MToken != "" {
		g := tx.groupByToken(p.MToken)
		if g == nil {
			return reject(CodeInvalid, "unknown mtoken")
		}
		if old := tx.v.Workers[w.ID]; old != nil && old.GroupID == g.ID {
			return Result{ID: old.ID, Revision: old.Revision}
		}
		w.GroupID = g.ID
	}
	g, ok := tx.v.Groups[w.GroupID]
	if !ok {
		return noGroup(w.GroupID)
	}
	w.EndpointID = g.EndpointID
	if err := w.Validate(); err != nil {
		return rejectInvalid(err)
	}
	w.Revision = tx.index
	tx.putWorker(&w, tx.v.Workers[w.ID])
	return Result{ID: w.ID, Revision: w.Revision}
}

func (tx *txn) applySetWorkerState(p *SetWorkerState) Result {
	old, ok := tx.v.Workers[p.ID]
	if !ok {
		return noWorker(p.ID)
	}
	w := *old
	w.State, w.ErrorMsg = p.State, p.ErrorMsg
	if p.MaxPerf != 0 {
		w.MaxPerf = p.MaxPerf // negative or NaN: rejected by Validate below
	}
	if p.URL != "" {
		w.URL = p.URL
	}
	if err := w.Validate(); err != nil {
		return rejectInvalid(err)
	}
	w.Revision = tx.index
	tx.putWorker(&w, old)
	return Result{ID: w.ID, Revision: w.Revision}
}

func (tx *txn) applyRemoveWorker(p *RemoveWorker) Result {
	w, ok := tx.v.Workers[p.ID]
	if !ok {
		return noWorker(p.ID)
	}
	tx.deleteWorker(w)
	return Result{ID: w.ID, Deleted: []uint64{w.ID}}
}

func noWorker(id uint64) Result {
	return reject(CodeNoWorker, fmt.Sprintf("no worker with id %d", id))
}

// groupByToken returns the group with the lowest id whose WorkerToken equals
// token, or nil. Every group's token is compared in constant time, so the
// time taken does not tell how much of a token matched.
func (tx *txn) groupByToken(token string) *Group {
	var found *Group
	for _, g := range tx.v.Groups {
		if g.WorkerToken == "" {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(g.WorkerToken), []byte(token)) == 1 && (found == nil || g.ID < found.ID) {
			found = g
		}
	}
	return found
}

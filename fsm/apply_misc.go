package fsm

import (
	"encoding/pem"
	"fmt"
)

func (tx *txn) applySetSigningKey(p *SetSigningKey) Result {
	if tx.v.SigningKey != nil {
		return Result{} // the first key wins; later proposals are no-ops
	}
	if block, _ := pem.Decode(p.PEM); block == nil {
		return reject(CodeInvalid, "signing key is not PEM")
	}
	tx.v.SigningKey = p.PEM
	return Result{}
}

func (tx *txn) applyPutIntent(p *PutIntent) Result {
	in := p.Intent
	if old, ok := tx.v.Intents[in.Key]; ok {
		return Result{Revision: old.Revision} // idempotent on Key
	}
	if in.State == "" {
		in.State = IntentPending
	}
	if err := in.Validate(); err != nil {
		return rejectInvalid(err)
	}
	in.Term = tx.term
	in.Revision = tx.index
	tx.putIntent(&in)
	return Result{Revision: in.Revision}
}

func (tx *txn) applyIntentResult(p *IntentResult) Result {
	old, ok := tx.v.Intents[p.Key]
	if !ok {
		return reject(CodeNoIntent, fmt.Sprintf("no intent with key %q", p.Key))
	}
	if !validIntentState(p.State) {
		return reject(CodeInvalid, fmt.Sprintf("unknown intent state %q", p.State))
	}
	if old.State != IntentPending && p.State != old.State {
		return reject(CodeInvalid, fmt.Sprintf("intent %q already %s", p.Key, old.State))
	}
	in := *old
	in.State, in.Result = p.State, p.Result
	if p.InstanceID != "" {
		in.InstanceID = p.InstanceID
	}
	in.Revision = tx.index
	tx.putIntent(&in)
	return Result{Revision: in.Revision}
}

func (tx *txn) applyPrune(p *Prune) Result {
	if len(p.Intents)+len(p.Workers) > MaxPruneItems {
		return reject(CodeInvalid, fmt.Sprintf("prune of %d items (at most %d)", len(p.Intents)+len(p.Workers), MaxPruneItems))
	}
	for _, k := range p.Intents {
		in, ok := tx.v.Intents[k]
		if !ok {
			continue
		}
		if _, live := tx.v.Groups[in.GroupID]; live && in.State == IntentPending {
			continue
		}
		delete(own(&tx.v.Intents, &tx.ownIntents), k)
	}
	var deleted []uint64
	for _, id := range p.Workers {
		if w, ok := tx.v.Workers[id]; ok && w.State == WorkerLost {
			tx.deleteWorker(w)
			deleted = append(deleted, id)
		}
	}
	return Result{Deleted: deleted}
}

func (tx *txn) applyRemoveServer(p *RemoveServer) Result {
	if p.ID == "" || len(p.ID) > maxKeyLen {
		return reject(CodeInvalid, fmt.Sprintf("server id must be 1…%d bytes", maxKeyLen))
	}
	tx.addRemovedServer(p.ID)
	return Result{}
}

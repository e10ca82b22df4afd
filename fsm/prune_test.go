package fsm

import (
	"slices"
	"testing"
)

// Prune deletes only what still qualifies when it applies: finished
// intents, pending intents of a deleted group, lost workers.
func TestPrune(t *testing.T) {
	h := newHarness(t)
	h.mustOK(cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint("llama")}))
	h.mustOK(cmd(t, CmdCreateGroup, CreateGroup{Group: group(1, "kept")}))
	h.mustOK(cmd(t, CmdCreateGroup, CreateGroup{Group: group(1, "gone")}))
	put := func(key string, groupID uint64, state string) {
		h.mustOK(cmd(t, CmdPutIntent, PutIntent{Intent: Intent{Key: key, Kind: IntentCreate, EndpointID: 1, GroupID: groupID, CreatedAt: 1}}))
		if state != IntentPending {
			h.mustOK(cmd(t, CmdIntentResult, IntentResult{Key: key, State: state}))
		}
	}
	put("done", 1, IntentDone)
	put("failed", 1, IntentFailed)
	put("pending", 1, IntentPending)
	put("orphan", 2, IntentPending)
	for id, state := range map[uint64]string{10: WorkerLost, 11: WorkerReady, 12: WorkerError} {
		h.mustOK(cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(id, 1)}))
		h.mustOK(cmd(t, CmdSetWorkerState, SetWorkerState{ID: id, State: state}))
	}
	h.mustOK(cmd(t, CmdDeleteGroup, DeleteGroup{ID: 2}))
	r := h.mustOK(cmd(t, CmdPrune, Prune{
		Intents: []string{"done", "failed", "pending", "orphan", "never-was"},
		Workers: []uint64{10, 11, 12, 99},
	}))
	v := h.f.View()
	var intents []string
	for k := range v.Intents {
		intents = append(intents, k)
	}
	var workers []uint64
	for id := range v.Workers {
		workers = append(workers, id)
	}
	slices.Sort(intents)
	slices.Sort(workers)
	if !slices.Equal(intents, []string{"pending"}) || !slices.Equal(workers, []uint64{11, 12}) || !slices.Equal(r.Deleted, []uint64{10}) {
		t.Errorf("after prune: intents %v, workers %v, deleted %v; want [pending], [11 12], [10]", intents, workers, r.Deleted)
	}
	if ws := v.WorkersOf(1); len(ws) != 2 {
		t.Errorf("group 1 lists %d workers after prune, want 2", len(ws))
	}
	tooMany := Prune{Workers: make([]uint64, MaxPruneItems+1)}
	if r := h.apply(cmd(t, CmdPrune, tooMany))[0]; r.Code != CodeInvalid {
		t.Errorf("prune of %d items = %+v, want %s", MaxPruneItems+1, r, CodeInvalid)
	}
}

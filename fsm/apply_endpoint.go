package fsm

import (
	"encoding/json"
	"fmt"
	"slices"
)

// clone returns a deep copy of e (its pointer fields are copied too), so
// that unmarshalling a patch into the copy cannot write through to e.
func (e *Endpoint) clone() Endpoint {
	c := *e
	if e.InactivityTimeout != nil {
		t := *e.InactivityTimeout
		c.InactivityTimeout = &t
	}
	return c
}

func (tx *txn) applyCreateEndpoint(p *CreateEndpoint) Result {
	e := p.Endpoint
	if err := e.Validate(); err != nil {
		return rejectInvalid(err)
	}
	if _, taken := tx.v.byName[e.Name]; taken {
		return reject(CodeNameTaken, fmt.Sprintf("endpoint name %q is taken", e.Name))
	}
	e.ID = tx.v.nextEndpointID
	e.Revision = tx.index
	tx.v.nextEndpointID++
	tx.putEndpoint(&e, nil)
	return Result{ID: e.ID, Revision: e.Revision}
}

func (tx *txn) applyUpdateEndpoint(p *UpdateEndpoint) Result {
	old, ok := tx.v.Endpoints[p.ID]
	if !ok {
		return noEndpoint(p.ID)
	}
	if p.IfRevision != 0 && p.IfRevision != old.Revision {
		return revisionMismatch(p.IfRevision, old.Revision)
	}
	e := old.clone()
	if err := applyPatch(p.Patch, &e); err != nil {
		return rejectInvalid(err)
	}
	// Read-only fields keep their values whatever the patch said.
	e.ID, e.UserID, e.APIKey, e.CreatedAt = old.ID, old.UserID, old.APIKey, old.CreatedAt
	if err := e.Validate(); err != nil {
		return rejectInvalid(err)
	}
	if e.Name != old.Name {
		if _, taken := tx.v.byName[e.Name]; taken {
			return reject(CodeNameTaken, fmt.Sprintf("endpoint name %q is taken", e.Name))
		}
	}
	e.Revision = tx.index
	tx.putEndpoint(&e, old)
	return Result{ID: e.ID, Revision: e.Revision}
}

func (tx *txn) applyDeleteEndpoint(p *DeleteEndpoint) Result {
	e, ok := tx.v.Endpoints[p.ID]
	if !ok {
		return noEndpoint(p.ID)
	}
	var deleted []uint64
	for _, g := range tx.v.groupsOf[e.ID] { // an immutable slice: safe while the map changes
		deleted = append(deleted, tx.removeGroup(g)...)
	}
	tx.deleteEndpoint(e)
	slices.Sort(deleted)
	return Result{ID: e.ID, Deleted: deleted}
}

// removeGroup deletes g and its workers and returns the worker ids.
func (tx *txn) removeGroup(g *Group) []uint64 {
	ws := tx.v.workersOf[g.ID]
	ids := make([]uint64, 0, len(ws))
	for _, w := range ws {
		ids = append(ids, w.ID)
		delete(own(&tx.v.Workers, &tx.ownWorkers), w.ID)
	}
	tx.deleteGroup(g) // also drops the group's worker index
	return ids
}

// applyPatch unmarshals a JSON object of console fields onto dst. An empty
// or null patch changes nothing.
func applyPatch(patch json.RawMessage, dst any) error {
	if len(patch) == 0 {
		return nil
	}
	if err := json.Unmarshal(patch, dst); err != nil {
		return invalid("patch: " + err.Error())
	}
	return nil
}

func noEndpoint(id uint64) Result {
	return reject(CodeNoEndpoint, fmt.Sprintf("no endpoint with id %d", id))
}

func revisionMismatch(want, have uint64) Result {
	return reject(CodeRevision, fmt.Sprintf("if_revision %d does not match revision %d", want, have))
}

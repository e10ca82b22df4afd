package fsm

import "fmt"

// clone returns a deep copy of g (pointer fields included).
func (g *Group) clone() Group {
	c := *g
	if g.ColdWorkers != nil {
		x := *g.ColdWorkers
		c.ColdWorkers = &x
	}
	if g.MaxWorkers != nil {
		x := *g.MaxWorkers
		c.MaxWorkers = &x
	}
	if g.MinColdLoad != nil {
		x := *g.MinColdLoad
		c.MinColdLoad = &x
	}
	return c
}

func (tx *txn) applyCreateGroup(p *CreateGroup) Result {
	g := p.Group
	if g.EndpointID == 0 {
		id, ok := tx.v.byName[p.EndpointName]
		if !ok {
			return reject(CodeNoEndpoint, fmt.Sprintf("no endpoint named %q", p.EndpointName))
		}
		g.EndpointID = id
	}
	e, ok := tx.v.Endpoints[g.EndpointID]
	if !ok {
		return noEndpoint(g.EndpointID)
	}
	if err := g.Validate(); err != nil {
		return rejectInvalid(err)
	}
	if tx.groupNameTaken(g.EndpointID, g.Name, 0) {
		return groupNameTaken(g.Name)
	}
	g.ID = tx.v.nextGroupID
	g.APIKey = e.APIKey
	g.Revision = tx.index
	tx.v.nextGroupID++
	tx.putGroup(&g)
	return Result{ID: g.ID, Revision: g.Revision}
}

func (tx *txn) applyUpdateGroup(p *UpdateGroup) Result {
	old, ok := tx.v.Groups[p.ID]
	if !ok {
		return noGroup(p.ID)
	}
	if p.IfRevision != 0 && p.IfRevision != old.Revision {
		return revisionMismatch(p.IfRevision, old.Revision)
	}
	g := old.clone()
	if err := applyPatch(p.Patch, &g); err != nil {
		return rejectInvalid(err)
	}
	// Read-only fields keep their values whatever the patch said.
	g.ID, g.EndpointID, g.APIKey = old.ID, old.EndpointID, old.APIKey
	g.CreatedAt, g.WorkerToken = old.CreatedAt, old.WorkerToken
	if err := g.Validate(); err != nil {
		return rejectInvalid(err)
	}
	if g.Name != old.Name && tx.groupNameTaken(g.EndpointID, g.Name, g.ID) {
		return groupNameTaken(g.Name)
	}
	g.Revision = tx.index
	tx.putGroup(&g)
	return Result{ID: g.ID, Revision: g.Revision}
}

func (tx *txn) applyDeleteGroup(p *DeleteGroup) Result {
	g, ok := tx.v.Groups[p.ID]
	if !ok {
		return noGroup(p.ID)
	}
	deleted := tx.removeGroup(g) // sorted: the worker index is sorted by id
	if len(deleted) == 0 {
		deleted = nil
	}
	return Result{ID: g.ID, Deleted: deleted}
}

// groupNameTaken reports whether another group (not self) of the endpoint
// is called name. Unnamed groups never clash.
func (tx *txn) groupNameTaken(endpointID uint64, name string, self uint64) bool {
	if name == "" {
		return false
	}
	for _, g := range tx.v.groupsOf[endpointID] {
		if g.Name == name && g.ID != self {
			return true
		}
	}
	return false
}

func groupNameTaken(name string) Result {
	return reject(CodeNameTaken, fmt.Sprintf("group name %q is taken in this endpoint", name))
}

func noGroup(id uint64) Result {
	return reject(CodeNoGroup, fmt.Sprintf("no worker group with id %d", id))
}

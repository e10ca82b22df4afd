package fsm

import "maps"

// txn builds the next View during one ApplyBatch. Maps start shared with
// the published View and are cloned on the first write (copy-on-write);
// objects are never modified in place, only replaced.
type txn struct {
	v            *View
	index, term  uint64 // of the entry being applied
	seen         map[RequestID]Result
	ownEndpoints bool
	ownGroups    bool
	ownWorkers   bool
	ownIntents   bool
	ownRemoved   bool
	ownByName    bool
	ownGroupsOf  bool
	ownWorkersOf bool
}

// own clones *m the first time it is written in this batch.
func own[K comparable, V any](m *map[K]V, owned *bool) map[K]V {
	if !*owned {
		*m = maps.Clone(*m)
		*owned = true
	}
	return *m
}

func (tx *txn) putEndpoint(e, old *Endpoint) {
	own(&tx.v.Endpoints, &tx.ownEndpoints)[e.ID] = e
	if old == nil || old.Name != e.Name {
		byName := own(&tx.v.byName, &tx.ownByName)
		if old != nil {
			delete(byName, old.Name)
		}
		byName[e.Name] = e.ID
	}
}

func (tx *txn) deleteEndpoint(e *Endpoint) {
	delete(own(&tx.v.Endpoints, &tx.ownEndpoints), e.ID)
	delete(own(&tx.v.byName, &tx.ownByName), e.Name)
	if _, ok := tx.v.groupsOf[e.ID]; ok {
		delete(own(&tx.v.groupsOf, &tx.ownGroupsOf), e.ID)
	}
}

func (tx *txn) putGroup(g *Group) {
	own(&tx.v.Groups, &tx.ownGroups)[g.ID] = g
	gs := own(&tx.v.groupsOf, &tx.ownGroupsOf)
	gs[g.EndpointID] = withByID(gs[g.EndpointID], g, groupID)
}

func (tx *txn) deleteGroup(g *Group) {
	delete(own(&tx.v.Groups, &tx.ownGroups), g.ID)
	gs := own(&tx.v.groupsOf, &tx.ownGroupsOf)
	if rest := withoutID(gs[g.EndpointID], g.ID, groupID); rest != nil {
		gs[g.EndpointID] = rest
	} else {
		delete(gs, g.EndpointID)
	}
	if _, ok := tx.v.workersOf[g.ID]; ok {
		delete(own(&tx.v.workersOf, &tx.ownWorkersOf), g.ID)
	}
}

func (tx *txn) putWorker(w, old *Worker) {
	own(&tx.v.Workers, &tx.ownWorkers)[w.ID] = w
	ws := own(&tx.v.workersOf, &tx.ownWorkersOf)
	if old != nil && old.GroupID != w.GroupID {
		tx.unlinkWorker(ws, old)
	}
	ws[w.GroupID] = withByID(ws[w.GroupID], w, workerID)
}

func (tx *txn) deleteWorker(w *Worker) {
	delete(own(&tx.v.Workers, &tx.ownWorkers), w.ID)
	tx.unlinkWorker(own(&tx.v.workersOf, &tx.ownWorkersOf), w)
}

func (tx *txn) unlinkWorker(ws map[uint64][]*Worker, w *Worker) {
	if rest := withoutID(ws[w.GroupID], w.ID, workerID); rest != nil {
		ws[w.GroupID] = rest
	} else {
		delete(ws, w.GroupID)
	}
}

func (tx *txn) putIntent(in *Intent) {
	own(&tx.v.Intents, &tx.ownIntents)[in.Key] = in
}

func (tx *txn) addRemovedServer(id string) {
	own(&tx.v.RemovedServers, &tx.ownRemoved)[id] = true
}

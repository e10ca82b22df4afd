package fsm

import (
	"encoding/json"
	"errors"
	"fmt"
)

// restoreRecord checks one snapshot record against the state rebuilt so far
// and adds it. Records arrive in canonical order, so every reference points
// to something already restored.
func restoreRecord(tx *txn, kind byte, body []byte) error {
	switch kind {
	case recSigningKey:
		if tx.v.SigningKey != nil || len(body) == 0 {
			return errors.New("bad signing key")
		}
		tx.v.SigningKey = append([]byte(nil), body...)
		return nil
	case recEndpoint:
		return restoreJSON(body, tx.restoreEndpoint)
	case recGroup:
		return restoreJSON(body, tx.restoreGroup)
	case recWorker:
		return restoreJSON(body, tx.restoreWorker)
	case recIntent:
		return restoreJSON(body, tx.restoreIntent)
	case recRemoved:
		if len(body) == 0 || tx.v.RemovedServers[string(body)] {
			return errors.New("bad removed server id")
		}
		tx.addRemovedServer(string(body))
		return nil
	case recDedup:
		return restoreJSON(body, tx.restoreDedup)
	}
	return fmt.Errorf("unknown record kind %d", kind)
}

func restoreJSON[T any](body []byte, add func(*T) error) error {
	var x T
	if err := json.Unmarshal(body, &x); err != nil {
		return err
	}
	return add(&x)
}

func (tx *txn) restoreEndpoint(e *Endpoint) error {
	if e.ID == 0 || e.ID >= tx.v.nextEndpointID || tx.v.Endpoints[e.ID] != nil {
		return fmt.Errorf("bad endpoint id %d", e.ID)
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if _, taken := tx.v.byName[e.Name]; taken {
		return fmt.Errorf("duplicate endpoint name %q", e.Name)
	}
	tx.putEndpoint(e, nil)
	return nil
}

func (tx *txn) restoreGroup(g *Group) error {
	if g.ID == 0 || g.ID >= tx.v.nextGroupID || tx.v.Groups[g.ID] != nil {
		return fmt.Errorf("bad group id %d", g.ID)
	}
	if tx.v.Endpoints[g.EndpointID] == nil {
		return fmt.Errorf("group %d: no endpoint %d", g.ID, g.EndpointID)
	}
	if err := g.Validate(); err != nil {
		return err
	}
	if tx.groupNameTaken(g.EndpointID, g.Name, g.ID) {
		return fmt.Errorf("duplicate group name %q", g.Name)
	}
	tx.putGroup(g)
	return nil
}

func (tx *txn) restoreWorker(w *Worker) error {
	if tx.v.Workers[w.ID] != nil {
		return fmt.Errorf("duplicate worker %d", w.ID)
	}
	g := tx.v.Groups[w.GroupID]
	if g == nil || g.EndpointID != w.EndpointID {
		return fmt.Errorf("worker %d: no group %d in endpoint %d", w.ID, w.GroupID, w.EndpointID)
	}
	if err := w.Validate(); err != nil {
		return err
	}
	tx.putWorker(w, nil)
	return nil
}

func (tx *txn) restoreIntent(in *Intent) error {
	if tx.v.Intents[in.Key] != nil {
		return fmt.Errorf("duplicate intent %q", in.Key)
	}
	if err := in.Validate(); err != nil {
		return err
	}
	tx.putIntent(in)
	return nil
}

func (tx *txn) restoreDedup(d *dedupEntry) error {
	if d.ID.IsZero() || len(tx.v.dedup) >= dedupCap {
		return errors.New("bad dedup entry")
	}
	if _, dup := tx.seen[d.ID]; dup {
		return fmt.Errorf("duplicate request id %s", d.ID)
	}
	tx.remember(d.ID, d.Result)
	return nil
}

package edge

import (
	"encoding/json"
	"fmt"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// endpointCreated is the answer of POST /api/v0/endptjobs/.
type endpointCreated struct {
	Success  bool   `json:"success"`
	Result   uint64 `json:"result"`
	Revision uint64 `json:"revision"`
}

type endpointAnswer struct {
	Success bool         `json:"success"`
	Result  vastEndpoint `json:"result"`
}

type endpointList struct {
	Success bool           `json:"success"`
	Results []vastEndpoint `json:"results"`
}

// createEndpoint: spec defaults, the given fields, a new api_key and
// created_at; validated here before it is proposed.
func (s *Server) createEndpoint(ctx *fasthttp.RequestCtx) {
	e, err := endpointFromBody(ctx.PostBody())
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	v := s.lookupView(ctx, func(v *fsm.View) bool { return !endpointNameTaken(v, e.Name, 0) })
	if v == nil || (endpointNameTaken(v, e.Name, 0) && refused(ctx, endpointNameTakenResult(e.Name))) {
		return
	}
	e.UserID = consoleUserID
	e.APIKey = newToken()
	e.CreatedAt = nowSeconds()
	res, ok := s.propose(ctx, fsm.CmdCreateEndpoint, fsm.CreateEndpoint{Endpoint: e})
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, endpointCreated{Success: true, Result: res.ID, Revision: res.Revision})
}

// endpointFromBody builds and validates a new endpoint from a create body.
func endpointFromBody(body []byte) (fsm.Endpoint, error) {
	obj, err := parseObject(body)
	if err != nil {
		return fsm.Endpoint{}, err
	}
	clean, err := cleanFields(obj, endpointFields)
	if err != nil {
		return fsm.Endpoint{}, err
	}
	patch, err := json.Marshal(clean)
	if err != nil {
		return fsm.Endpoint{}, inputErr("%v", err)
	}
	e := fsm.EndpointDefaults()
	if err := applyPatch(&e, patch); err != nil {
		return fsm.Endpoint{}, err
	}
	if err := e.Validate(); err != nil {
		return fsm.Endpoint{}, inputErr("%v", err)
	}
	return e, nil
}

func (s *Server) listEndpoints(ctx *fasthttp.RequestCtx) {
	v := s.readView(ctx)
	if v == nil {
		return
	}
	list := []vastEndpoint{}
	for _, e := range v.SortedEndpoints() {
		list = append(list, toVastEndpoint(e))
	}
	writeJSON(ctx, fasthttp.StatusOK, endpointList{Success: true, Results: list})
}

func (s *Server) getEndpoint(ctx *fasthttp.RequestCtx, id uint64) {
	v := s.readView(ctx)
	if v == nil {
		return
	}
	e, ok := v.Endpoints[id]
	if !ok {
		noSuchEndpoint(ctx, id)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, endpointAnswer{Success: true, Result: toVastEndpoint(e)})
}

func noSuchEndpoint(ctx *fasthttp.RequestCtx, id uint64) {
	writeError(ctx, fasthttp.StatusNotFound, fsm.CodeNoEndpoint, fmt.Sprintf("no endpoint with id %d", id))
}

// updateEndpoint applies the given fields; read-only fields may only repeat
// their value; ?if_revision=N makes it conditional.
func (s *Server) updateEndpoint(ctx *fasthttp.RequestCtx, id uint64) {
	ifRev, err := parseIfRevision(ctx)
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	v := s.lookupView(ctx, func(v *fsm.View) bool { _, ok := v.Endpoints[id]; return ok })
	if v == nil {
		return
	}
	cur, ok := v.Endpoints[id]
	if !ok {
		noSuchEndpoint(ctx, id)
		return
	}
	patch, next, err := endpointPatch(ctx.PostBody(), cur)
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	taken := func(v *fsm.View) bool { return endpointNameTaken(v, next.Name, id) }
	if v = s.lookupView(ctx, func(v *fsm.View) bool { return !taken(v) }); v == nil ||
		(taken(v) && refused(ctx, endpointNameTakenResult(next.Name))) {
		return
	}
	if s.staleRevision(ctx, ifRev, func(v *fsm.View) uint64 {
		if e, ok := v.Endpoints[id]; ok {
			return e.Revision
		}
		return 0
	}) {
		return
	}
	res, ok := s.propose(ctx, fsm.CmdUpdateEndpoint, fsm.UpdateEndpoint{ID: id, IfRevision: ifRev, Patch: patch})
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, okAnswer{Success: true, Revision: res.Revision})
}

// endpointPatch checks a PUT body against cur and returns the canonical
// patch and cur with the patch applied, after checking that it is valid.
func endpointPatch(body []byte, cur *fsm.Endpoint) (json.RawMessage, *fsm.Endpoint, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, nil, err
	}
	if err := checkReadOnly(obj, endpointReadOnly, cur); err != nil {
		return nil, nil, err
	}
	clean, err := cleanFields(obj, endpointFields)
	if err != nil {
		return nil, nil, err
	}
	patch, err := json.Marshal(clean)
	if err != nil {
		return nil, nil, inputErr("%v", err)
	}
	var next fsm.Endpoint
	if err := cloneJSON(cur, &next); err != nil {
		return nil, nil, err
	}
	if err := applyPatch(&next, patch); err != nil {
		return nil, nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, nil, inputErr("%v", err)
	}
	return patch, &next, nil
}

func (s *Server) deleteEndpoint(ctx *fasthttp.RequestCtx, id uint64) {
	has := func(v *fsm.View) bool { _, ok := v.Endpoints[id]; return ok }
	if v := s.lookupView(ctx, has); v == nil || !has(v) {
		if v != nil {
			noSuchEndpoint(ctx, id)
		}
		return
	}
	res, ok := s.propose(ctx, fsm.CmdDeleteEndpoint, fsm.DeleteEndpoint{ID: id})
	if !ok {
		return
	}
	writeDeleted(ctx, res, fmt.Sprintf("deleted endpoint %d with its groups and workers", id))
}

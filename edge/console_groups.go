package edge

import (
	"encoding/json"
	"fmt"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// providerStatic is the provider whose workers are not created by drover:
// they report with the group's worker_token.
const providerStatic = "static"

// groupCreateFields are groupFields plus what only a create may set.
var groupCreateFields = func() map[string]fieldKind {
	m := map[string]fieldKind{"provider": kindString}
	for k, v := range groupFields {
		m[k] = v
	}
	return m
}()

// The endpoint a new group belongs to: endpoint_id, else endpoint_name.
var groupSelectorFields = map[string]fieldKind{"endpoint_id": kindInt, "endpoint_name": kindString}

type groupCreated struct {
	Success     bool   `json:"success"`
	ID          uint64 `json:"id"`
	WorkerToken string `json:"worker_token,omitempty"`
	Revision    uint64 `json:"revision"`
}

type groupAnswer struct {
	Success bool       `json:"success"`
	Result  *fsm.Group `json:"result"`
}

type groupList struct {
	Success bool         `json:"success"`
	Results []*fsm.Group `json:"results"`
}

func (s *Server) createGroup(ctx *fasthttp.RequestCtx) {
	cg, err := groupFromBody(ctx.PostBody())
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	pre := func(v *fsm.View) fsm.Result { return precheckCreateGroup(v, cg) }
	v := s.lookupView(ctx, func(v *fsm.View) bool { return pre(v).Code == "" })
	if v == nil || refused(ctx, pre(v)) {
		return
	}
	cg.Group.CreatedAt = nowSeconds()
	if cg.Group.Provider == providerStatic {
		cg.Group.WorkerToken = newToken()
	}
	res, ok := s.propose(ctx, fsm.CmdCreateGroup, cg)
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, groupCreated{Success: true, ID: res.ID,
		WorkerToken: cg.Group.WorkerToken, Revision: res.Revision})
}

// groupFromBody builds and validates a CreateGroup from a create body.
func groupFromBody(body []byte) (fsm.CreateGroup, error) {
	obj, err := parseObject(body)
	if err != nil {
		return fsm.CreateGroup{}, err
	}
	sel, err := cleanFields(obj, groupSelectorFields)
	if err != nil {
		return fsm.CreateGroup{}, err
	}
	clean, err := cleanFields(obj, groupCreateFields)
	if err != nil {
		return fsm.CreateGroup{}, err
	}
	patch, err := json.Marshal(clean)
	if err != nil {
		return fsm.CreateGroup{}, inputErr("%v", err)
	}
	cg := fsm.CreateGroup{Group: fsm.GroupDefaults()}
	if err := applyPatch(&cg.Group, patch); err != nil {
		return fsm.CreateGroup{}, err
	}
	if err := selectEndpoint(&cg, sel); err != nil {
		return fsm.CreateGroup{}, err
	}
	check := cg.Group
	if check.EndpointID == 0 {
		check.EndpointID = 1 // resolved from endpoint_name by Apply
	}
	if err := check.Validate(); err != nil {
		return fsm.CreateGroup{}, inputErr("%v", err)
	}
	if err := check.CheckBounds(); err != nil {
		return fsm.CreateGroup{}, inputErr("%v", err)
	}
	return cg, nil
}

// selectEndpoint sets the endpoint of a new group from endpoint_id (a
// positive integer) or else endpoint_name.
func selectEndpoint(cg *fsm.CreateGroup, sel map[string]any) error {
	if id, ok := sel["endpoint_id"].(int64); ok {
		if id <= 0 {
			return inputErr("endpoint_id must be a positive integer")
		}
		cg.Group.EndpointID = uint64(id)
		return nil
	}
	name, _ := sel["endpoint_name"].(string)
	if name == "" {
		return inputErr("endpoint_id or endpoint_name is required")
	}
	cg.EndpointName = name
	return nil
}

func (s *Server) listGroups(ctx *fasthttp.RequestCtx) {
	v := s.readView(ctx)
	if v == nil {
		return
	}
	list := v.SortedGroups()
	if list == nil {
		list = []*fsm.Group{}
	}
	writeJSON(ctx, fasthttp.StatusOK, groupList{Success: true, Results: list})
}

func (s *Server) getGroup(ctx *fasthttp.RequestCtx, id uint64) {
	v := s.readView(ctx)
	if v == nil {
		return
	}
	g, ok := v.Groups[id]
	if !ok {
		noSuchGroup(ctx, id)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, groupAnswer{Success: true, Result: g})
}

func noSuchGroup(ctx *fasthttp.RequestCtx, id uint64) {
	writeError(ctx, fasthttp.StatusNotFound, fsm.CodeNoGroup, fmt.Sprintf("no worker group with id %d", id))
}

func (s *Server) updateGroup(ctx *fasthttp.RequestCtx, id uint64) {
	ifRev, err := parseIfRevision(ctx)
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	v := s.lookupView(ctx, func(v *fsm.View) bool { _, ok := v.Groups[id]; return ok })
	if v == nil {
		return
	}
	cur, ok := v.Groups[id]
	if !ok {
		noSuchGroup(ctx, id)
		return
	}
	patch, next, err := groupPatch(ctx.PostBody(), cur, v.Endpoints[cur.EndpointID])
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	taken := func(v *fsm.View) bool { return groupNameTaken(v, cur.EndpointID, next.Name, id) }
	if v = s.lookupView(ctx, func(v *fsm.View) bool { return !taken(v) }); v == nil ||
		(taken(v) && refused(ctx, groupNameTakenResult(next.Name))) {
		return
	}
	if s.staleRevision(ctx, ifRev, func(v *fsm.View) uint64 {
		if g, ok := v.Groups[id]; ok {
			return g.Revision
		}
		return 0
	}) {
		return
	}
	res, ok := s.propose(ctx, fsm.CmdUpdateGroup, fsm.UpdateGroup{ID: id, IfRevision: ifRev, Patch: patch})
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, okAnswer{Success: true, Revision: res.Revision})
}

// groupPatch checks a PUT body against cur (whose endpoint is ep, nil if
// unknown) and returns the canonical patch and cur with it applied. endpoint_name, which Vast's
// client sends with every update, may only name the group's own endpoint.
func groupPatch(body []byte, cur *fsm.Group, ep *fsm.Endpoint) (json.RawMessage, *fsm.Group, error) {
	obj, err := parseObject(body)
	if err != nil {
		return nil, nil, err
	}
	if err := checkReadOnly(obj, groupReadOnly, cur); err != nil {
		return nil, nil, err
	}
	sel, err := cleanFields(obj, map[string]fieldKind{"endpoint_name": kindString})
	if err != nil {
		return nil, nil, err
	}
	if name, ok := sel["endpoint_name"].(string); ok && (ep == nil || ep.Name != name) {
		return nil, nil, inputErr("endpoint_name is read-only")
	}
	clean, err := cleanFields(obj, groupFields)
	if err != nil {
		return nil, nil, err
	}
	patch, err := json.Marshal(clean)
	if err != nil {
		return nil, nil, inputErr("%v", err)
	}
	var next fsm.Group
	if err := cloneJSON(cur, &next); err != nil {
		return nil, nil, err
	}
	if err := applyPatch(&next, patch); err != nil {
		return nil, nil, err
	}
	if err := next.Validate(); err != nil {
		return nil, nil, inputErr("%v", err)
	}
	if err := next.CheckBounds(); err != nil {
		return nil, nil, inputErr("%v", err)
	}
	return patch, &next, nil
}

func (s *Server) deleteGroup(ctx *fasthttp.RequestCtx, id uint64) {
	has := func(v *fsm.View) bool { _, ok := v.Groups[id]; return ok }
	if v := s.lookupView(ctx, has); v == nil || !has(v) {
		if v != nil {
			noSuchGroup(ctx, id)
		}
		return
	}
	res, ok := s.propose(ctx, fsm.CmdDeleteGroup, fsm.DeleteGroup{ID: id})
	if !ok {
		return
	}
	writeDeleted(ctx, res, fmt.Sprintf("deleted worker group %d with its workers", id))
}

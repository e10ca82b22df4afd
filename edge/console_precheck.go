package edge

import (
	"fmt"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// The checks below mirror Apply's state checks, so a request bound to fail
// is refused without writing a log entry. Each runs on the local View first
// and, when that View says "refuse", again on a consistent View (see
// lookupView): a lagging replica never refuses what Apply would take. Apply
// stays the authority for the races between the check and the commit.

// endpointNameTaken reports whether another endpoint than self is called name.
func endpointNameTaken(v *fsm.View, name string, self uint64) bool {
	e, ok := v.EndpointByName(name)
	return ok && e.ID != self
}

// groupNameTaken reports whether another group than self of the endpoint is
// called name; unnamed groups never clash.
func groupNameTaken(v *fsm.View, endpointID uint64, name string, self uint64) bool {
	if name == "" {
		return false
	}
	for _, g := range v.GroupsOf(endpointID) {
		if g.Name == name && g.ID != self {
			return true
		}
	}
	return false
}

// targetEndpoint is the endpoint a group create names in v, or nil.
func targetEndpoint(v *fsm.View, cg fsm.CreateGroup) *fsm.Endpoint {
	if cg.Group.EndpointID != 0 {
		return v.Endpoints[cg.Group.EndpointID]
	}
	e, _ := v.EndpointByName(cg.EndpointName)
	return e
}

// precheckCreateGroup returns the rejection Apply would answer in v, if any.
func precheckCreateGroup(v *fsm.View, cg fsm.CreateGroup) fsm.Result {
	e := targetEndpoint(v, cg)
	switch {
	case e == nil && cg.Group.EndpointID != 0:
		return fsm.Result{Code: fsm.CodeNoEndpoint, Msg: fmt.Sprintf("no endpoint with id %d", cg.Group.EndpointID)}
	case e == nil:
		return fsm.Result{Code: fsm.CodeNoEndpoint, Msg: fmt.Sprintf("no endpoint named %q", cg.EndpointName)}
	case groupNameTaken(v, e.ID, cg.Group.Name, 0):
		return groupNameTakenResult(cg.Group.Name)
	}
	return fsm.Result{}
}

func endpointNameTakenResult(name string) fsm.Result {
	return fsm.Result{Code: fsm.CodeNameTaken, Msg: fmt.Sprintf("endpoint name %q is taken", name)}
}

func groupNameTakenResult(name string) fsm.Result {
	return fsm.Result{Code: fsm.CodeNameTaken, Msg: fmt.Sprintf("group name %q is taken in this endpoint", name)}
}

// revisionMismatchResult is Apply's answer to a failed if_revision.
func revisionMismatchResult(want, have uint64) fsm.Result {
	return fsm.Result{Code: fsm.CodeRevision, Msg: fmt.Sprintf("if_revision %d does not match revision %d", want, have)}
}

// staleRevision refuses a compare-and-set whose revision no longer matches
// (checked on a consistent View before refusing, like the other checks: a
// refused CAS is then a linearizable failure, not a log entry). rev returns
// the object's revision in a View (0 when it is gone: Apply answers that).
// It reports whether it answered.
func (s *Server) staleRevision(ctx *fasthttp.RequestCtx, ifRev uint64, rev func(*fsm.View) uint64) bool {
	if ifRev == 0 {
		return false
	}
	stale := func(v *fsm.View) bool { r := rev(v); return r != 0 && r != ifRev }
	v := s.lookupView(ctx, func(v *fsm.View) bool { return !stale(v) })
	return v == nil || (stale(v) && refused(ctx, revisionMismatchResult(ifRev, rev(v))))
}

// refused answers r when it is a rejection and reports whether it did.
func refused(ctx *fasthttp.RequestCtx, r fsm.Result) bool {
	if r.Code == "" {
		return false
	}
	writeResultError(ctx, r)
	return true
}

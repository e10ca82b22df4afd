package edge

import (
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// Paths served by the admin part of edge.
const (
	pathHealth        = "/v1/health"
	pathCluster       = "/v1/cluster"
	pathClusterRemove = "/v1/cluster/remove"
	pathSnapshot      = "/v1/snapshot"
	consolePrefix     = "/api/v0/"
)

// console resources: endpoints, and groups under two names.
type resource int

const (
	resEndpoints resource = iota + 1
	resGroups
)

var consoleResources = map[string]resource{
	"endptjobs":    resEndpoints,
	"workergroups": resGroups,
	"autojobs":     resGroups,
}

// handle routes by path (and then method); it never panics the process.
func (s *Server) handle(ctx *fasthttp.RequestCtx) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("edge: handler panic", "path", string(ctx.Path()), "panic", r)
			writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "internal error")
		}
	}()
	if p := engineOf(ctx.Path()); p != epNone {
		s.handleEngine(ctx, p)
		return
	}
	path := string(ctx.Path())
	if limit, _ := s.bodyLimit(&ctx.Request.Header); len(ctx.Request.Body()) > limit {
		s.refuseLarge(ctx, limit)
		return
	}
	if strings.HasPrefix(path, consolePrefix) {
		s.routeConsole(ctx, strings.TrimPrefix(path, consolePrefix))
		return
	}
	switch strings.TrimSuffix(path, "/") {
	case pathHealth:
		s.only(ctx, fasthttp.MethodGet, s.handleHealthCheck)
	case pathCluster:
		s.only(ctx, fasthttp.MethodGet, s.handleCluster)
	case pathClusterRemove:
		s.only(ctx, fasthttp.MethodPost, s.admin(s.handleRemoveServer))
	case pathSnapshot:
		switch string(ctx.Method()) {
		case fasthttp.MethodGet:
			s.admin(s.handleSnapshotSave)(ctx)
		case fasthttp.MethodPost:
			s.admin(s.handleSnapshotRestore)(ctx)
		default:
			methodNotAllowed(ctx, "GET, POST")
		}
	case pathDashboard:
		s.only(ctx, fasthttp.MethodGet, s.admin(s.handleDashboard))
	default:
		if !s.routeMembers(ctx, strings.TrimSuffix(path, "/")) && !s.routeUI(ctx, path) && !s.routeSched(ctx, path) {
			writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "no such path")
		}
	}
}

// engine API paths.
type enginePath uint8

const (
	epNone enginePath = iota
	epRoute
	epPubkey
	epWorkerStatus
	epDeleteRequests
	epEndpointWorkers
	epGroupWorkers
	epEndpointStats
	epMetrics
)

// engineMethods is the method each engine path answers.
var engineMethods = [...]string{
	epRoute: fasthttp.MethodPost, epPubkey: fasthttp.MethodGet, epWorkerStatus: fasthttp.MethodPost,
	epDeleteRequests: fasthttp.MethodPost, epEndpointWorkers: fasthttp.MethodPost,
	epGroupWorkers: fasthttp.MethodPost, epEndpointStats: fasthttp.MethodPost, epMetrics: fasthttp.MethodGet,
}

// engineOf returns the engine path of path (with or without its trailing
// slash), or epNone.
func engineOf(path []byte) enginePath {
	if n := len(path); n > 1 && path[n-1] == '/' {
		path = path[:n-1]
	}
	switch string(path) {
	case "/route":
		return epRoute
	case "/pubkey":
		return epPubkey
	case "/worker_status":
		return epWorkerStatus
	case "/delete_requests":
		return epDeleteRequests
	case "/get_endpoint_workers":
		return epEndpointWorkers
	case "/get_workergroup_workers", "/get_autogroup_workers":
		return epGroupWorkers
	case "/get_endpoint_stats":
		return epEndpointStats
	case "/metrics":
		return epMetrics
	}
	return epNone
}

// handleEngine serves an engine API path: body limit, method, handler.
func (s *Server) handleEngine(ctx *fasthttp.RequestCtx, p enginePath) {
	if len(ctx.Request.Body()) > s.cfg.MaxBody {
		writeEngineError(ctx, fasthttp.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	method := engineMethods[p]
	if string(ctx.Method()) != method && !(method == fasthttp.MethodGet && ctx.IsHead()) {
		ctx.Response.Header.Set("Allow", method)
		writeEngineError(ctx, fasthttp.StatusMethodNotAllowed, "method not allowed")
		return
	}
	switch p {
	case epRoute:
		s.handleRoute(ctx)
	case epPubkey:
		s.handlePubkey(ctx)
	case epWorkerStatus:
		s.handleWorkerStatus(ctx)
	case epDeleteRequests:
		s.handleDeleteRequests(ctx)
	case epEndpointWorkers:
		s.handleEndpointWorkers(ctx)
	case epGroupWorkers:
		s.handleGroupWorkers(ctx)
	case epEndpointStats:
		s.handleEndpointStats(ctx)
	case epMetrics:
		s.handleMetrics(ctx)
	}
}

// only runs h when the method matches, else answers 405.
func (s *Server) only(ctx *fasthttp.RequestCtx, method string, h fasthttp.RequestHandler) {
	if string(ctx.Method()) != method {
		methodNotAllowed(ctx, method)
		return
	}
	h(ctx)
}

func methodNotAllowed(ctx *fasthttp.RequestCtx, allow string) {
	ctx.Response.Header.Set("Allow", allow)
	writeError(ctx, fasthttp.StatusMethodNotAllowed, codeInvalid, "method not allowed")
}

// routeConsole serves "<resource>[/]" and "<resource>/<id>[/]".
func (s *Server) routeConsole(ctx *fasthttp.RequestCtx, rest string) {
	name, idPart, hasID := strings.Cut(strings.TrimSuffix(rest, "/"), "/")
	res, ok := consoleResources[name]
	if !ok || strings.Contains(idPart, "/") {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "no such path")
		return
	}
	if !s.authorized(ctx) {
		return
	}
	if !hasID {
		s.routeCollection(ctx, res)
		return
	}
	id, err := strconv.ParseUint(idPart, 10, 64)
	if err != nil || id == 0 {
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalid, "id must be a positive integer")
		return
	}
	s.routeItem(ctx, res, id)
}

func (s *Server) routeCollection(ctx *fasthttp.RequestCtx, res resource) {
	switch m := string(ctx.Method()); {
	case m == fasthttp.MethodGet && res == resEndpoints:
		s.listEndpoints(ctx)
	case m == fasthttp.MethodGet:
		s.listGroups(ctx)
	case m == fasthttp.MethodPost && res == resEndpoints:
		s.createEndpoint(ctx)
	case m == fasthttp.MethodPost:
		s.createGroup(ctx)
	default:
		methodNotAllowed(ctx, "GET, POST")
	}
}

func (s *Server) routeItem(ctx *fasthttp.RequestCtx, res resource, id uint64) {
	switch m := string(ctx.Method()); {
	case m == fasthttp.MethodGet && res == resEndpoints:
		s.getEndpoint(ctx, id)
	case m == fasthttp.MethodGet:
		s.getGroup(ctx, id)
	case m == fasthttp.MethodPut && res == resEndpoints:
		s.updateEndpoint(ctx, id)
	case m == fasthttp.MethodPut:
		s.updateGroup(ctx, id)
	case m == fasthttp.MethodDelete && res == resEndpoints:
		s.deleteEndpoint(ctx, id)
	case m == fasthttp.MethodDelete:
		s.deleteGroup(ctx, id)
	default:
		methodNotAllowed(ctx, "GET, PUT, DELETE")
	}
}

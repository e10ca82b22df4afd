package edge

import (
	"fmt"
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
	path := string(ctx.Path())
	if len(ctx.Request.Body()) > s.cfg.MaxBody && !isSnapshotRestore(ctx, path) {
		writeError(ctx, fasthttp.StatusRequestEntityTooLarge, codeTooLarge,
			fmt.Sprintf("request body over %d bytes", s.cfg.MaxBody))
		return
	}
	if strings.HasPrefix(path, consolePrefix) {
		s.routeConsole(ctx, strings.TrimPrefix(path, consolePrefix))
		return
	}
	switch strings.TrimSuffix(path, "/") {
	case pathHealth:
		s.only(ctx, fasthttp.MethodGet, s.handleHealth)
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
	default:
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "no such path")
	}
}

func isSnapshotRestore(ctx *fasthttp.RequestCtx, path string) bool {
	return string(ctx.Method()) == fasthttp.MethodPost && strings.TrimSuffix(path, "/") == pathSnapshot
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

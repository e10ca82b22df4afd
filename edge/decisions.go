package edge

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// Scheduler is what the scheduler's admin routes need (GET /v1/decisions,
// POST /v1/workers/{id}/drain|stop|destroy). cmd/drover wires the cluster
// node in; the answers are JSON-encoded as they are. Errors wrapping
// fsm.ErrNotFound answer 404, fsm.ErrInvalid 400, Unavailable ones 503.
type Scheduler interface {
	// Decisions returns the leader's recent decisions for one endpoint
	// (0: every endpoint).
	Decisions(ctx context.Context, endpointID uint64) (any, error)
	// WorkerAction drains, stops or destroys one worker by hand.
	WorkerAction(ctx context.Context, workerID uint64, action string) (any, error)
}

// Paths of the scheduler's admin routes.
const (
	pathDecisions = "/v1/decisions"
	pathWorkers   = "/v1/workers"
)

// routeSched serves the scheduler's admin paths; it reports false for any
// other path.
func (s *Server) routeSched(ctx *fasthttp.RequestCtx, path string) bool {
	path = strings.TrimSuffix(path, "/")
	switch {
	case path == pathDecisions:
		s.only(ctx, fasthttp.MethodGet, s.admin(s.handleDecisions))
	case path == pathWorkers:
		s.only(ctx, fasthttp.MethodGet, s.admin(s.handleWorkersList))
	case strings.HasPrefix(path, pathWorkers+"/"):
		s.only(ctx, fasthttp.MethodPost, s.admin(func(ctx *fasthttp.RequestCtx) {
			s.handleWorkerAction(ctx, strings.TrimPrefix(path, pathWorkers+"/"))
		}))
	default:
		return false
	}
	return true
}

// handleDecisions: GET /v1/decisions[?endpoint=ID|NAME].
func (s *Server) handleDecisions(ctx *fasthttp.RequestCtx) {
	if s.cfg.Scheduler == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "this node runs no scheduler")
		return
	}
	var id uint64
	if q := string(ctx.QueryArgs().Peek("endpoint")); q != "" {
		var ok bool
		if id, ok = s.endpointID(q); !ok {
			writeError(ctx, fasthttp.StatusNotFound, fsm.CodeNoEndpoint, "no endpoint "+strconv.Quote(q))
			return
		}
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	d, err := s.cfg.Scheduler.Decisions(c, id)
	if err != nil {
		writeSchedError(ctx, s, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, d)
}

// endpointID resolves an endpoint id or name on the local replica.
func (s *Server) endpointID(q string) (uint64, bool) {
	v := s.replica.View()
	if id, err := strconv.ParseUint(q, 10, 64); err == nil {
		_, ok := v.Endpoints[id]
		return id, ok
	}
	ep, ok := v.EndpointByName(q)
	if !ok {
		return 0, false
	}
	return ep.ID, true
}

// writeSchedError maps a Scheduler error to its status.
func writeSchedError(ctx *fasthttp.RequestCtx, s *Server, err error) {
	switch {
	case errors.Is(err, fsm.ErrNotFound):
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, err.Error())
	case errors.Is(err, fsm.ErrInvalid):
		writeBadInput(ctx, err)
	default:
		writeClusterError(ctx, s.log, err)
	}
}

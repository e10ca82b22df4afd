package edge

import (
	"context"
	"strconv"
	"strings"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// workersAnswer is the body of GET /v1/workers.
type workersAnswer struct {
	Workers []*fsm.Worker `json:"workers"`
}

// handleWorkersList: GET /v1/workers[?endpoint=ID|NAME][&stale=true], every
// registered worker sorted by id (consistent read unless stale).
func (s *Server) handleWorkersList(ctx *fasthttp.RequestCtx) {
	var epID uint64
	if q := string(ctx.QueryArgs().Peek("endpoint")); q != "" {
		var ok bool
		if epID, ok = s.endpointID(q); !ok {
			writeError(ctx, fasthttp.StatusNotFound, fsm.CodeNoEndpoint, "no endpoint "+strconv.Quote(q))
			return
		}
	}
	v := s.readView(ctx)
	if v == nil {
		return
	}
	out := workersAnswer{Workers: []*fsm.Worker{}}
	for _, g := range v.SortedGroups() {
		if epID != 0 && g.EndpointID != epID {
			continue
		}
		out.Workers = append(out.Workers, v.WorkersOf(g.ID)...)
	}
	sortWorkers(out.Workers)
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func sortWorkers(ws []*fsm.Worker) {
	for i := 1; i < len(ws); i++ {
		for j := i; j > 0 && ws[j].ID < ws[j-1].ID; j-- {
			ws[j], ws[j-1] = ws[j-1], ws[j]
		}
	}
}

// handleWorkerAction: POST /v1/workers/{id}/drain|stop|destroy.
func (s *Server) handleWorkerAction(ctx *fasthttp.RequestCtx, rest string) {
	idPart, action, ok := strings.Cut(rest, "/")
	id, err := strconv.ParseUint(idPart, 10, 64)
	if !ok || err != nil || id == 0 {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "want /v1/workers/{id}/drain|stop|destroy")
		return
	}
	switch action {
	case "drain", "stop", "destroy":
	default:
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "action must be drain, stop or destroy")
		return
	}
	if s.cfg.Scheduler == nil {
		writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "this node runs no scheduler")
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.cfg.Scheduler.WorkerAction(c, id, action)
	if err != nil {
		writeSchedError(ctx, s, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, res)
}

package edge

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"math"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// monitorBody is the body of the monitoring calls. Vast's client sends the
// admin key in it (api_key) rather than in a header.
type monitorBody struct {
	ID       json.Number `json:"id"`
	Endpoint string      `json:"endpoint"`
	APIKey   string      `json:"api_key"`
}

// workerInfo is one element of /get_endpoint_workers/ and
// /get_workergroup_workers/ (Vast's field names).
type workerInfo struct {
	ID                uint64  `json:"id"`
	Status            string  `json:"status"`
	CurLoad           float64 `json:"cur_load"`
	NewLoad           float64 `json:"new_load"`
	CurLoadRollingAvg float64 `json:"cur_load_rolling_avg"`
	CurPerf           float64 `json:"cur_perf"`
	Perf              float64 `json:"perf"`
	MeasuredPerf      float64 `json:"measured_perf"`
	DLPerf            float64 `json:"dlperf"`
	Reliability       float64 `json:"reliability"`
	ReqsWorking       int64   `json:"reqs_working"`
	DiskUsage         float64 `json:"disk_usage"`
	LoadedAt          float64 `json:"loaded_at"`
	StartedAt         float64 `json:"started_at"`
}

// endpointStats is the answer of /get_endpoint_stats/.
type endpointStats struct {
	Capacity float64 `json:"capacity"` // load/s the ready workers can serve
	CurLoad  float64 `json:"curload"`  // load in flight
	Endpoint string  `json:"endpoint"`
	ID       uint64  `json:"id"`
	NWorkers int     `json:"nworkers"`
	Reliable int     `json:"reliable"` // ready workers
	ReqRate  float64 `json:"reqrate"`  // load/s arriving (reported new_load rates)
	TotReqs  uint64  `json:"totreqs"`  // requests this node routed to a worker
}

// monitorError is the error shape of the monitoring calls.
type monitorError struct {
	ErrorMsg string `json:"error_msg"`
}

// monitorRequest decodes the body and checks the admin key (Bearer header,
// else the body's api_key). On failure it answers and returns false.
func (s *Server) monitorRequest(ctx *fasthttp.RequestCtx) (monitorBody, bool) {
	var b monitorBody
	if err := decodeObject(ctx.PostBody(), &b); err != nil {
		writeJSON(ctx, fasthttp.StatusBadRequest, monitorError{ErrorMsg: err.Error()})
		return b, false
	}
	key := bearer(ctx)
	if len(key) == 0 {
		key = []byte(b.APIKey)
	}
	var zero [32]byte
	sum := sha256.Sum256(key)
	if s.cfg.AdminTokenHash == zero || len(key) == 0 ||
		subtle.ConstantTimeCompare(sum[:], s.cfg.AdminTokenHash[:]) != 1 {
		writeJSON(ctx, fasthttp.StatusUnauthorized, monitorError{ErrorMsg: "Authentication failed"})
		return b, false
	}
	return b, true
}

// monitorID reads the body's id (a positive integer); on failure it answers.
func monitorID(ctx *fasthttp.RequestCtx, b monitorBody) (uint64, bool) {
	id, err := uintField("id", b.ID, math.MaxInt64, true)
	if err != nil {
		writeJSON(ctx, fasthttp.StatusBadRequest, monitorError{ErrorMsg: err.Error()})
		return 0, false
	}
	return id, true
}

// handleEndpointWorkers answers the workers of an endpoint.
func (s *Server) handleEndpointWorkers(ctx *fasthttp.RequestCtx) {
	b, ok := s.monitorRequest(ctx)
	if !ok {
		return
	}
	id, ok := monitorID(ctx, b)
	if !ok {
		return
	}
	v := s.replica.View()
	if v.Endpoints[id] == nil {
		writeJSON(ctx, fasthttp.StatusNotFound, monitorError{ErrorMsg: "no such endpoint"})
		return
	}
	out := []workerInfo{}
	for _, g := range v.GroupsOf(id) {
		out = s.appendWorkerInfo(out, v.WorkersOf(g.ID))
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

// handleGroupWorkers answers the workers of a worker group.
func (s *Server) handleGroupWorkers(ctx *fasthttp.RequestCtx) {
	b, ok := s.monitorRequest(ctx)
	if !ok {
		return
	}
	id, ok := monitorID(ctx, b)
	if !ok {
		return
	}
	v := s.replica.View()
	if v.Groups[id] == nil {
		writeJSON(ctx, fasthttp.StatusNotFound, monitorError{ErrorMsg: "no such workergroup"})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, s.appendWorkerInfo([]workerInfo{}, v.WorkersOf(id)))
}

func (s *Server) appendWorkerInfo(out []workerInfo, ws []*fsm.Worker) []workerInfo {
	for _, w := range ws {
		wi := workerInfo{ID: w.ID, Status: vastState(w.State), Perf: w.MaxPerf, MeasuredPerf: w.MaxPerf,
			DLPerf: w.MaxPerf, StartedAt: w.RegisteredAt}
		if w.State == fsm.WorkerReady {
			wi.Reliability = 1
		}
		if wl := s.dp.Overlay.Load(w.ID); wl != nil {
			wi.CurLoad, wi.CurLoadRollingAvg = wl.CurLoad, wl.CurLoad
			wi.NewLoad, wi.CurPerf = wl.NewLoadRate, wl.CurPerfRate
			wi.ReqsWorking = wl.NumRequestsWorking
			if wl.MaxPerf > 0 {
				wi.MeasuredPerf = wl.MaxPerf
			}
			if wl.LoadTime > 0 {
				wi.LoadedAt = w.RegisteredAt + wl.LoadTime
			}
		}
		out = append(out, wi)
	}
	return out
}

// vastState is a worker state in Vast's case (ready → Ready), for the
// Vast-facing monitoring answers only; drover's own /v1/workers keeps the
// lower-case states.
func vastState(st string) string {
	if st == "" || st[0] < 'a' || st[0] > 'z' {
		return st
	}
	return string(st[0]-'a'+'A') + st[1:]
}

// handleEndpointStats answers an endpoint's totals (by id or name).
func (s *Server) handleEndpointStats(ctx *fasthttp.RequestCtx) {
	b, ok := s.monitorRequest(ctx)
	if !ok {
		return
	}
	t := s.tables()
	var er *endpointRoute
	if b.ID != "" {
		id, ok := monitorID(ctx, b)
		if !ok {
			return
		}
		er = t.byID[id]
	} else if b.Endpoint != "" {
		er = t.byName[b.Endpoint]
	} else {
		writeJSON(ctx, fasthttp.StatusBadRequest, monitorError{ErrorMsg: "id or endpoint is required"})
		return
	}
	if er == nil {
		writeJSON(ctx, fasthttp.StatusNotFound, monitorError{ErrorMsg: "no such endpoint"})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, s.statsOf(t.view, er))
}

func (s *Server) statsOf(v *fsm.View, er *endpointRoute) endpointStats {
	st := endpointStats{Endpoint: er.ep.Name, ID: er.ep.ID, TotReqs: er.stats.routed.Load()}
	for _, g := range v.GroupsOf(er.ep.ID) {
		for _, w := range v.WorkersOf(g.ID) {
			st.NWorkers++
			perf := w.MaxPerf
			if wl := s.dp.Overlay.Load(w.ID); wl != nil {
				st.CurLoad += wl.CurLoad
				st.ReqRate += wl.NewLoadRate
				if wl.MaxPerf > 0 {
					perf = wl.MaxPerf
				}
			}
			if w.State == fsm.WorkerReady {
				st.Reliable++
				st.Capacity += perf
			}
		}
	}
	return st
}

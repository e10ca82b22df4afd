package edge

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// pathDashboard is the one call the dashboard (GET /ui/) polls: everything
// it draws, from this node's replica, overlay and history, plus every
// member's /v1/cluster answer (who is behind).
const pathDashboard = "/v1/dashboard"

// dashboardAnswer is GET /v1/dashboard.
type dashboardAnswer struct {
	Time      int64              `json:"time"` // unix milliseconds
	Node      Status             `json:"node"`
	Healthy   bool               `json:"healthy"`
	Reason    string             `json:"reason,omitempty"`
	Nodes     []nodeView         `json:"nodes"`
	Members   []Member           `json:"members"`
	Peers     []RaftPeer         `json:"peers"`
	Endpoints []endpointView     `json:"endpoints"`
	History   historyView        `json:"history"`
	Decisions any                `json:"decisions,omitempty"`
	DecErr    string             `json:"decisions_error,omitempty"`
	Routes    []routeSample      `json:"routes"`
	Latency   map[string]float64 `json:"route_latency_ms"` // p50, p90, p99 since the node started
}

// nodeView is one member's own status, asked over HTTP.
type nodeView struct {
	ID     string  `json:"id"`
	HTTP   string  `json:"http,omitempty"`
	Status *Status `json:"status,omitempty"`
	Error  string  `json:"error,omitempty"`
	Behind uint64  `json:"behind"` // entries below the highest commit index seen
}

type historyView struct {
	EverySeconds float64             `json:"every_s"`
	SpanSeconds  float64             `json:"span_s"`
	Endpoints    map[uint64][]sample `json:"endpoints"`
}

type endpointView struct {
	*fsm.Endpoint
	APIKey  string         `json:"api_key,omitempty"` // never shown: hides the embedded field
	Now     sample         `json:"now"`
	ByState map[string]int `json:"workers_by_state"`
	Groups  []groupView    `json:"groups"`
}

type groupView struct {
	ID       uint64       `json:"id"`
	Name     string       `json:"name,omitempty"`
	Provider string       `json:"provider"`
	Weight   float64      `json:"weight"`
	Workers  []workerView `json:"workers"`
}

type workerView struct {
	ID           uint64  `json:"id"`
	State        string  `json:"state"`
	URL          string  `json:"url"`
	Perf         float64 `json:"perf"`
	CurLoad      float64 `json:"cur_load"`
	NewLoad      float64 `json:"new_load"`
	ReqsWorking  int64   `json:"reqs_working"`
	Error        string  `json:"error,omitempty"`
	LastReportMS int64   `json:"last_report_ms"` // age; -1: no report seen
	HeardBy      string  `json:"heard_by,omitempty"`
}

func (s *Server) handleDashboard(ctx *fasthttp.RequestCtx) {
	now := s.dp.Now()
	st := s.cluster.Status()
	reason := s.unhealthy(st)
	ans := dashboardAnswer{Time: now.UnixMilli(), Node: st, Healthy: reason == "", Reason: reason,
		Members: s.members(), Peers: s.raftPeers()}
	ans.Nodes = s.nodeViews(st, ans.Members)
	v := s.replica.View()
	for _, ep := range v.SortedEndpoints() {
		ans.Endpoints = append(ans.Endpoints, s.endpointView(v, ep, now))
	}
	if ans.Endpoints == nil {
		ans.Endpoints = []endpointView{}
	}
	eps, routes := s.hist.snapshot()
	ans.History = historyView{EverySeconds: historyEvery.Seconds(), SpanSeconds: (historyEvery * historyLen).Seconds(), Endpoints: eps}
	ans.Routes = routes
	ans.Latency = s.routeLatency()
	if s.cfg.Scheduler != nil {
		c, cancel := context.WithTimeout(context.Background(), time.Second)
		d, err := s.cfg.Scheduler.Decisions(c, 0)
		cancel()
		if err != nil {
			ans.DecErr = err.Error()
		} else {
			ans.Decisions = d
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, ans)
}

func (s *Server) endpointView(v *fsm.View, ep *fsm.Endpoint, now time.Time) endpointView {
	ev := endpointView{Endpoint: ep, Now: s.endpointSample(v, ep.ID, now.UnixMilli()), ByState: map[string]int{}}
	for _, g := range v.GroupsOf(ep.ID) {
		gv := groupView{ID: g.ID, Name: g.Name, Provider: g.Provider, Weight: g.Weight, Workers: []workerView{}}
		for _, w := range v.WorkersOf(g.ID) {
			ev.ByState[w.State]++
			wv := workerView{ID: w.ID, State: w.State, URL: w.URL, Perf: w.MaxPerf, Error: w.ErrorMsg, LastReportMS: -1}
			if wl := s.dp.Overlay.Load(w.ID); wl != nil {
				wv.CurLoad, wv.NewLoad, wv.ReqsWorking, wv.HeardBy = wl.CurLoad, wl.NewLoadRate, wl.NumRequestsWorking, wl.Node
				if wl.MaxPerf > 0 {
					wv.Perf = wl.MaxPerf
				}
				if wl.ErrorMsg != "" {
					wv.Error = wl.ErrorMsg
				}
				if wl.LastReport > 0 {
					wv.LastReportMS = max(0, now.UnixMilli()-wl.LastReport/1e6)
				}
			}
			gv.Workers = append(gv.Workers, wv)
		}
		ev.Groups = append(ev.Groups, gv)
	}
	if ev.Groups == nil {
		ev.Groups = []groupView{}
	}
	return ev
}

// nodeViews asks every member with an HTTP address for its /v1/cluster
// (in parallel, 1 s each) and marks how far each is behind.
func (s *Server) nodeViews(self Status, members []Member) []nodeView {
	out := make([]nodeView, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		out[i] = nodeView{ID: m.ID, HTTP: m.HTTPAddr}
		if m.Self || m.ID == self.ID {
			st := self
			out[i].Status = &st
			continue
		}
		if m.HTTPAddr == "" {
			out[i].Error = "no HTTP address gossiped"
			continue
		}
		wg.Add(1)
		go func(nv *nodeView) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			req.SetRequestURI("http://" + nv.HTTP + pathCluster)
			if err := dashboardClient.DoTimeout(req, resp, time.Second); err != nil {
				nv.Error = err.Error()
				return
			}
			var st Status
			if err := json.Unmarshal(resp.Body(), &st); err != nil {
				nv.Error = "bad /v1/cluster answer: " + err.Error()
				return
			}
			nv.Status = &st
		}(&out[i])
	}
	wg.Wait()
	var top uint64
	for _, nv := range out {
		if nv.Status != nil {
			top = max(top, nv.Status.CommitIndex, nv.Status.AppliedIndex)
		}
	}
	for i := range out {
		if out[i].Status != nil {
			out[i].Behind = top - min(top, out[i].Status.AppliedIndex)
		}
	}
	return out
}

var dashboardClient = &fasthttp.Client{Name: "drover-dashboard", MaxConnsPerHost: 4}

// routeLatency estimates p50/p90/p99 of /route/ (ms) from the histogram's
// buckets (upper bounds), over the node's life.
func (s *Server) routeLatency() map[string]float64 {
	out := map[string]float64{}
	m := s.metrics.latencySnapshot()
	if m == nil || m.GetSampleCount() == 0 {
		return out
	}
	n := float64(m.GetSampleCount())
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}} {
		for _, b := range m.GetBucket() {
			if float64(b.GetCumulativeCount()) >= q.q*n {
				out[q.name] = b.GetUpperBound() * 1000
				break
			}
		}
	}
	return out
}

package edge

import (
	"bytes"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/valyala/fasthttp"
)

// metrics is edge's Prometheus registry (its own, never the global one).
// Route counters are resolved once, so the hot path only does atomic adds.
type metrics struct {
	reg     *prometheus.Registry
	routes  [numOutcomes]prometheus.Counter
	latency prometheus.Histogram
	skipped *prometheus.CounterVec // worker_status / delete_requests entries left out, by reason
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	routes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drover_route_requests_total",
		Help: "/route/ requests answered by this node, by outcome.",
	}, []string{"outcome"})
	for i := range m.routes {
		m.routes[i] = routes.WithLabelValues(outcomeNames[i])
	}
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "drover_route_duration_seconds",
		Help:    "Time to answer /route/ in the handler.",
		Buckets: prometheus.ExponentialBuckets(5e-6, 2.5, 12),
	})
	m.skipped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "drover_worker_input_skipped_total",
		Help: "Entries of authenticated /worker_status/ and /delete_requests/ bodies skipped (bad request_idx, bad entry, too many entries) or cut (error_msg_truncated), by call and reason.",
	}, []string{"call", "reason"})
	m.reg.MustRegister(routes, m.latency, m.skipped, &stateCollector{s: s})
	return m
}

func (m *metrics) observeRoute(out routeOutcome, d time.Duration) {
	m.routes[out].Inc()
	m.latency.Observe(d.Seconds())
}

// handleMetrics answers the registry in Prometheus' text format.
func (s *Server) handleMetrics(ctx *fasthttp.RequestCtx) {
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		s.log.Warn("edge: gathering metrics", "err", err)
	}
	var buf bytes.Buffer
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	enc := expfmt.NewEncoder(&buf, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			writeEngineError(ctx, fasthttp.StatusInternalServerError, "cannot encode metrics")
			return
		}
	}
	ctx.Response.Header.SetContentType(string(format))
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(buf.Bytes())
}

// Descriptions of the metrics computed at scrape time.
var (
	descQueue = prometheus.NewDesc("drover_queue_length",
		"Requests held for lack of a ready worker, by endpoint (cluster-wide, from the overlay).", []string{"endpoint"}, nil)
	descWorkers = prometheus.NewDesc("drover_workers",
		"Registered workers by lifecycle state (this node's replica).", []string{"state"}, nil)
	descFresh = prometheus.NewDesc("drover_overlay_freshness_seconds",
		"Age of the last load-overlay delta received from each peer.", []string{"peer"}, nil)
	descRaftState = prometheus.NewDesc("drover_raft_state",
		"1 for this node's current Raft state.", []string{"state"}, nil)
	descStale = prometheus.NewDesc("drover_raft_stale",
		"1 when this node lost contact with the leader and routes from a stale replica.", nil, nil)
	descApplied = prometheus.NewDesc("drover_raft_applied_index", "Last applied Raft index.", nil, nil)
	descCommit  = prometheus.NewDesc("drover_raft_commit_index", "Last known Raft commit index.", nil, nil)
	descContact = prometheus.NewDesc("drover_raft_last_contact_seconds",
		"Time since the last contact with the leader (0 on the leader).", nil, nil)
	descCaughtUp = prometheus.NewDesc("drover_caught_up",
		"1 once the replica has caught up with the leader since the node started.", nil, nil)
	descInsecure = prometheus.NewDesc("drover_insecure",
		"1 when the agent runs with --insecure (mTLS on the cluster port or the gossip key not required).", nil, nil)
)

var raftStates = []string{"Leader", "Follower", "Candidate", "Shutdown"}

// stateCollector reports the replica, overlay and Raft state at scrape time.
type stateCollector struct{ s *Server }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueue, descWorkers, descFresh, descRaftState,
		descStale, descApplied, descCommit, descContact, descCaughtUp, descInsecure} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	v := s.replica.View()
	if v != nil {
		counts := make(map[string]int, len(workerStateOrder))
		for _, w := range v.Workers {
			counts[w.State]++
		}
		for _, st := range workerStateOrder {
			ch <- prometheus.MustNewConstMetric(descWorkers, prometheus.GaugeValue, float64(counts[st]), st)
		}
		for _, ep := range v.SortedEndpoints() {
			n := len(s.dp.Overlay.Queue(ep.ID))
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n), ep.Name)
		}
	}
	if f, ok := s.dp.Overlay.(freshnessReporter); ok {
		for peer, age := range f.Freshness() {
			ch <- prometheus.MustNewConstMetric(descFresh, prometheus.GaugeValue, age.Seconds(), peer)
		}
	}
	caught := s.dp.CaughtUp == nil || s.dp.CaughtUp()
	ch <- prometheus.MustNewConstMetric(descCaughtUp, prometheus.GaugeValue, boolFloat(caught))
	if s.cluster == nil {
		return
	}
	st := s.cluster.Status()
	for _, name := range raftStates {
		// The node names its states in lower case ("leader"); the label
		// values keep hashicorp/raft's spelling.
		ch <- prometheus.MustNewConstMetric(descRaftState, prometheus.GaugeValue, boolFloat(strings.EqualFold(st.State, name)), name)
	}
	stale := st.Stale
	if s.dp.Stale != nil {
		stale = s.dp.Stale()
	}
	ch <- prometheus.MustNewConstMetric(descStale, prometheus.GaugeValue, boolFloat(stale))
	ch <- prometheus.MustNewConstMetric(descApplied, prometheus.GaugeValue, float64(st.AppliedIndex))
	ch <- prometheus.MustNewConstMetric(descCommit, prometheus.GaugeValue, float64(st.CommitIndex))
	ch <- prometheus.MustNewConstMetric(descContact, prometheus.GaugeValue, float64(st.LastContactMS)/1000)
	ch <- prometheus.MustNewConstMetric(descInsecure, prometheus.GaugeValue, boolFloat(st.Insecure))
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

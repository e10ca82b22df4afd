package edge

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/worker/token"
	"github.com/valyala/fasthttp"
)

// routeOutcome labels a /route/ answer in /metrics.
type routeOutcome uint8

const (
	outReady routeOutcome = iota
	outNotReady
	outBadRequest
	outUnauthorized
	outNotFound
	outError
	outQueueFull
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"ready", "not_ready", "bad_request", "unauthorized", "not_found", "error", "queue_full"}

var (
	jsonContentType = []byte("application/json")
	authFailedBody  = []byte(`{"error":"Authentication failed"}`)
	noEndpointBody  = []byte(`{"error":"no such endpoint"}`)
	queueFullBody   = []byte(`{"error":"endpoint queue full: too many requests are waiting for a worker; retry later"}`)
)

// bufPool holds answer buffers of /route/.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// handleRoute serves POST /route/.
func (s *Server) handleRoute(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	out := s.route(ctx)
	s.metrics.observeRoute(out, time.Since(start))
}

func (s *Server) route(ctx *fasthttp.RequestCtx) routeOutcome {
	var req routeRequest
	if err := parseRouteRequest(ctx.PostBody(), &req); err != nil {
		writeEngineError(ctx, fasthttp.StatusBadRequest, err.Error())
		return outBadRequest
	}
	vals, err := req.values()
	if err == nil && len(req.endpoint) == 0 {
		err = errNoEndpoint
	}
	if err != nil {
		writeEngineError(ctx, fasthttp.StatusBadRequest, err.Error())
		return outBadRequest
	}
	t := s.tables()
	er := t.byName[string(req.endpoint)]
	if er == nil {
		writeRaw(ctx, fasthttp.StatusNotFound, noEndpointBody)
		return outNotFound
	}
	key := s.routeKey(ctx, &req)
	if len(er.apiKey) == 0 || subtle.ConstantTimeCompare(key, er.apiKey) != 1 {
		writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
		return outUnauthorized
	}
	idx := vals.requestIdx
	if t.sig == nil || er.ep.State == fsm.EndpointStopped || (s.dp.CaughtUp != nil && !s.dp.CaughtUp()) {
		if idx == 0 {
			idx = s.ids.next()
		}
		s.writeNotReady(ctx, er, vals.cost, idx)
		return outNotReady
	}
	now := s.dp.Now()
	w, idx, full := s.admit(er, vals, now)
	if full {
		s.queueFull(ctx, er, now)
		return outQueueFull
	}
	if w == nil {
		s.writeNotReady(ctx, er, vals.cost, idx)
		return outNotReady
	}
	if !s.writeReady(ctx, t.sig, er, w, vals.cost, idx, now) {
		return outError
	}
	er.stats.routed.Add(1)
	return outReady
}

// routeKey is the endpoint key of the request: body api_key, else
// `Authorization: Bearer`, else ?api_key=.
func (s *Server) routeKey(ctx *fasthttp.RequestCtx, req *routeRequest) []byte {
	if len(req.apiKey) > 0 {
		return req.apiKey
	}
	if k := bearer(ctx); len(k) > 0 {
		return k
	}
	return ctx.QueryArgs().Peek("api_key")
}

// bearer returns the token of `Authorization: Bearer <token>`, or nil.
func bearer(ctx *fasthttp.RequestCtx) []byte {
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return nil
	}
	return bytes.TrimSpace(h[len(bearerPrefix):])
}

// freshSince is 0 while this node is in touch with the leader. A node that
// has lost the leader keeps routing from its replica, but cannot learn that
// a worker was removed or died: it then routes only to workers whose
// reports it has seen within StaleAfter (their liveness observed directly),
// so no answer names a worker gone for longer than the staleness bound.
func (s *Server) freshSince(now time.Time) int64 {
	if s.dp.Stale == nil || s.cfg.StaleAfter <= 0 || !s.dp.Stale() {
		return 0
	}
	return now.Add(-s.cfg.StaleAfter).UnixNano()
}

// admit serves held requests in queue order at the workers' speed (Vast's
// model: a worker takes requests while its queued cost fits
// max_queue_time). A request may take a worker when nothing is held ahead
// of it, or when the held requests ahead of it fit in the room the ready
// workers have left (endpointRoute.roomExceeds): that room stays reserved for
// them, and each gets its worker on its own next poll, whoever polled in
// between. It returns the worker (nil: none, the request is held) and the
// request_idx; full: the request is new and the endpoint's queue is full.
func (s *Server) admit(er *endpointRoute, v routeValues, now time.Time) (w *workerRoute, idx uint64, full bool) {
	idx = v.requestIdx
	fresh := s.freshSince(now)
	held, n, aheadCost := s.dp.Overlay.QueueAhead(er.ep.ID, idx)
	if n == 0 || er.roomExceeds(s.dp.Overlay, fresh, aheadCost) {
		if w := er.pick(s.dp.Overlay, fresh); w != nil {
			if idx == 0 {
				idx = s.ids.next()
			}
			if held {
				s.dp.Overlay.Dequeue(er.ep.ID, idx)
			}
			w.st.addRouted(v.cost)
			return w, idx, false
		}
	}
	if idx == 0 {
		idx = s.ids.next()
	}
	replay := s.dp.ReplayTimeout
	if v.replay >= 0 {
		replay = time.Duration(v.replay * float64(time.Second))
	}
	if replay > 0 {
		_, ok := s.dp.Overlay.Enqueue(fsm.QueueEntry{EndpointID: er.ep.ID, RequestIdx: idx, Cost: v.cost,
			Enqueued: now.UnixNano(), Expires: now.Add(replay).UnixNano(), Node: s.nodeID()})
		return nil, idx, !ok
	}
	return nil, idx, false
}

// queueFullLogEvery bounds the "queue full" log lines per endpoint.
const queueFullLogEvery = 10 * time.Second

// queueFull answers a new request refused because the endpoint's held
// queue is full: 429 in the engine's error shape (Vast's client fails the
// request at once, which is the point: the endpoint is overloaded), and
// says so in the log at most every queueFullLogEvery.
func (s *Server) queueFull(ctx *fasthttp.RequestCtx, er *endpointRoute, now time.Time) {
	n := er.stats.queueFull.Add(1)
	last := er.stats.queueFullLogged.Load()
	if now.UnixNano()-last >= int64(queueFullLogEvery) && er.stats.queueFullLogged.CompareAndSwap(last, now.UnixNano()) {
		s.log.Warn("edge: /route/ refused: the endpoint's held queue is full", "endpoint", er.ep.Name,
			"refused_total", n)
	}
	writeRaw(ctx, fasthttp.StatusTooManyRequests, queueFullBody)
}

// nodeID is DataPlane.NodeID, else the cluster's id for this node.
func (s *Server) nodeID() string {
	s.nodeOnce.Do(func() {
		if s.dp.NodeID == "" && s.cluster != nil {
			s.dp.NodeID = s.cluster.Status().ID
		}
	})
	return s.dp.NodeID
}

// writeReady answers the chosen worker; false when signing failed (500).
func (s *Server) writeReady(ctx *fasthttp.RequestCtx, sg *signer, er *endpointRoute, w *workerRoute,
	cost float64, idx uint64, now time.Time) bool {
	sig, err := w.signature(sg)
	if err != nil {
		s.log.Error("edge: signing a route", "worker", w.w.ID, "err", err)
		writeEngineError(ctx, fasthttp.StatusInternalServerError, "cannot sign route")
		return false
	}
	reqnum := s.ids.next()
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"endpoint":`...)
	b = append(b, er.nameJSON...)
	b = append(b, `,"url":`...)
	b = append(b, w.urlJSON...)
	b = append(b, `,"cost":`...)
	b = appendFloat(b, cost)
	b = append(b, `,"reqnum":`...)
	b = strconv.AppendUint(b, reqnum, 10)
	b = append(b, `,"signature":"`...)
	b = append(b, sig...)
	b = append(b, `","request_idx":`...)
	b = strconv.AppendUint(b, idx, 10)
	b = append(b, `,"__request_id":"`...)
	b = strconv.AppendUint(b, reqnum, 16)
	b = append(b, `","drover_token":"`...)
	b = token.Append(b, w.key(sg), token.Claims{WorkerID: w.w.ID, Endpoint: er.ep.Name, Reqnum: reqnum,
		RequestIdx: idx, Cost: cost, Expires: now.Add(s.dp.TokenTTL).UnixMilli()})
	b = append(b, `"}`...)
	writeRaw(ctx, fasthttp.StatusOK, b)
	*bp = b
	bufPool.Put(bp)
	return true
}

// writeNotReady answers Vast's 200 not-ready form: the ready shape without
// url, with status (workers by state) and the request_idx to poll with.
func (s *Server) writeNotReady(ctx *fasthttp.RequestCtx, er *endpointRoute, cost float64, idx uint64) {
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], `{"endpoint":`...)
	b = append(b, er.nameJSON...)
	b = append(b, `,"cost":`...)
	b = appendFloat(b, cost)
	b = append(b, `,"reqnum":0,"signature":"","request_idx":`...)
	b = strconv.AppendUint(b, idx, 10)
	b = append(b, `,"__request_id":"","status":`...)
	b = append(b, er.statusJSON...)
	b = append(b, '}')
	writeRaw(ctx, fasthttp.StatusOK, b)
	*bp = b
	bufPool.Put(bp)
}

// signature is the worker URL's signature under sg, cached on the worker.
func (w *workerRoute) signature(sg *signer) (string, error) {
	if c := w.st.sig.Load(); c != nil && c.sg == sg && c.url == w.w.URL {
		return c.sig, nil
	}
	sig, err := sg.signature(w.w.URL)
	if err != nil {
		return "", err
	}
	w.st.sig.Store(&cachedSig{sg: sg, url: w.w.URL, sig: sig})
	return sig, nil
}

// key is the worker's token key under sg, cached on the worker.
func (w *workerRoute) key(sg *signer) []byte {
	if c := w.st.key.Load(); c != nil && c.sg == sg {
		return c.key
	}
	k := sg.workerKey(w.w.ID)
	w.st.key.Store(&cachedKey{sg: sg, key: k})
	return k
}

// writeRaw answers status with a JSON body (copied).
func writeRaw(ctx *fasthttp.RequestCtx, status int, body []byte) {
	ctx.Response.Header.SetContentTypeBytes(jsonContentType)
	ctx.SetStatusCode(status)
	ctx.SetBody(body)
}

// engineError is the engine API's error shape.
type engineError struct {
	Error string `json:"error"`
}

// writeEngineError answers status with {"error":msg}.
func writeEngineError(ctx *fasthttp.RequestCtx, status int, msg string) {
	b, _ := json.Marshal(engineError{Error: msg})
	writeRaw(ctx, status, b)
}

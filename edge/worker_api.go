package edge

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// unknownTokenRate is how many registrations per second may carry an
// mtoken this node's replica does not know.
const unknownTokenRate = 20

var (
	workerOKBody = []byte(`{"success":true}`)
	noKeyBody    = []byte(`{"error":"no signing key yet"}`)
)

// handlePubkey answers the signing key's public half as PEM.
func (s *Server) handlePubkey(ctx *fasthttp.RequestCtx) {
	sg := s.tables().sig
	if sg == nil {
		writeRaw(ctx, fasthttp.StatusServiceUnavailable, noKeyBody)
		return
	}
	ctx.Response.Header.SetContentType("application/x-pem-file")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(sg.pubPEM)
}

// handleWorkerStatus serves POST /worker_status/: check, authenticate by
// mtoken (registering an unknown worker through Raft), merge into the
// overlay, and answer the worker's token key.
func (s *Server) handleWorkerStatus(ctx *fasthttp.RequestCtx) {
	r, skipped, err := parseLoadReport(ctx.PostBody())
	if err != nil {
		writeEngineError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	if r.MToken == "" {
		writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
		return
	}
	t := s.tables()
	if w := t.view.Workers[r.WorkerID]; w != nil {
		if !workerTokenOK(t.view, w, r.MToken) {
			writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
			return
		}
	} else if !s.registerAllowed(t.view, r.MToken) {
		writeEngineError(ctx, fasthttp.StatusServiceUnavailable, "too many registrations with unknown tokens; retry")
		return
	} else if !s.registerWorker(ctx, r) {
		return
	}
	s.dp.Overlay.Report(r)
	s.countSkipped("worker_status", r.WorkerID, skipped)
	var key string
	if t.sig != nil {
		key = base64.StdEncoding.EncodeToString(t.sig.workerKey(r.WorkerID))
	}
	writeJSON(ctx, fasthttp.StatusOK, workerStatusAnswer{Success: true, DroverKey: key})
}

// workerStatusAnswer is the answer of an authenticated /worker_status/.
type workerStatusAnswer struct {
	Success   bool   `json:"success"`
	DroverKey string `json:"drover_key"`
}

// workerTokenOK reports whether mtoken is the worker_token of w's group, or
// the worker's own token when it has one (a provider-created worker:
// TokenHash is the hex sha256 of its MASTER_TOKEN), in constant time. A
// worker with neither cannot report.
func workerTokenOK(v *fsm.View, w *fsm.Worker, mtoken string) bool {
	if w.TokenHash != "" {
		sum := sha256.Sum256([]byte(mtoken))
		return fsm.ConstantTimeEqual(hex.EncodeToString(sum[:]), w.TokenHash)
	}
	g := v.Groups[w.GroupID]
	return g != nil && g.WorkerToken != "" && fsm.ConstantTimeEqual(mtoken, g.WorkerToken)
}

// registerAllowed limits registrations whose mtoken the local replica does
// not know (they go to the leader, which usually refuses them) to
// unknownTokenRate per second, so unauthenticated callers cannot flood the
// Raft log. Known tokens are never limited.
func (s *Server) registerAllowed(v *fsm.View, mtoken string) bool {
	for _, g := range v.Groups {
		if g.WorkerToken != "" && fsm.ConstantTimeEqual(mtoken, g.WorkerToken) {
			return true
		}
	}
	sec := s.dp.Now().Unix()
	for {
		cur := s.unknownRegs.Load()
		n := int64(1)
		if cur>>16 == sec {
			if n = cur&0xffff + 1; n > unknownTokenRate {
				return false
			}
		}
		if s.unknownRegs.CompareAndSwap(cur, sec<<16|n) {
			return true
		}
	}
}

// registerWorker proposes an unknown worker's registration in the static
// group whose worker_token is its mtoken (checked by the FSM on the
// leader, whose state may be ahead of this replica). On failure it answers
// (401 for an unknown token) and returns false.
func (s *Server) registerWorker(ctx *fasthttp.RequestCtx, r *fsm.LoadReport) bool {
	cmd, err := fsm.NewCommand(fsm.CmdRegisterWorker, newRequestID(), fsm.RegisterWorker{
		Worker: fsm.Worker{ID: r.WorkerID, URL: r.URL, State: fsm.WorkerLoading, RegisteredAt: nowSeconds()},
		MToken: r.MToken,
	})
	if err != nil {
		writeEngineError(ctx, fasthttp.StatusInternalServerError, "cannot encode command")
		return false
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.writer.Apply(c, cmd)
	switch {
	case err != nil && isUnavailable(err):
		writeEngineError(ctx, fasthttp.StatusServiceUnavailable, err.Error())
		return false
	case err != nil || len(res) != 1:
		s.log.Error("edge: registering a worker", "worker", r.WorkerID, "err", err)
		writeEngineError(ctx, fasthttp.StatusInternalServerError, "cannot register worker")
		return false
	case res[0].Code != "":
		writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
		return false
	}
	return true
}

// handleDeleteRequests serves POST /delete_requests/: the worker reports
// requests that ended; each closes its held request_idx, if any.
func (s *Server) handleDeleteRequests(ctx *fasthttp.RequestCtx) {
	c, err := closedIdxs(ctx.PostBody())
	if err != nil {
		writeEngineError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	v := s.tables().view
	w := v.Workers[c.workerID]
	if w == nil || c.mtoken == "" || !workerTokenOK(v, w, c.mtoken) {
		writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
		return
	}
	for _, idx := range c.closed {
		if idx != 0 {
			s.dp.Overlay.Dequeue(w.EndpointID, idx)
		}
	}
	s.countSkipped("delete_requests", w.ID, c.skipped)
	if n := c.skipped.total(); n > 0 {
		writeJSON(ctx, fasthttp.StatusOK, deleteRequestsAnswer{Success: true, Skipped: n})
		return
	}
	writeRaw(ctx, fasthttp.StatusOK, workerOKBody)
}

// deleteRequestsAnswer is the answer of a /delete_requests/ that skipped entries
// (drover's addition to Vast's {"success":true}).
type deleteRequestsAnswer struct {
	Success bool `json:"success"`
	Skipped int  `json:"skipped"`
}

// countSkipped counts what an authenticated worker call skipped in
// drover_worker_input_skipped_total and says so in the log.
func (s *Server) countSkipped(call string, workerID uint64, skipped skipCounts) {
	for reason, n := range skipped {
		s.metrics.skipped.WithLabelValues(call, reason).Add(float64(n))
		s.log.Info("edge: worker input skipped", "call", call, "worker", workerID, "reason", reason, "entries", n)
	}
}

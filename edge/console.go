package edge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// consoleUserID is the user_id every console object answers with: drover
// has one tenant, and Vast's client fails without the field.
const consoleUserID = 1

// newRequestID returns a fresh random idempotency key for one write.
func newRequestID() fsm.RequestID {
	var id fsm.RequestID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	return id
}

// newToken returns 32 random hex characters (api_key, worker_token).
func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nowSeconds is the created_at stamp: unix seconds with microseconds.
func nowSeconds() float64 {
	return float64(time.Now().UnixMicro()) / 1e6
}

// propose sends one command through the Writer. On failure it answers the
// request itself and returns false.
func (s *Server) propose(ctx *fasthttp.RequestCtx, t fsm.CmdType, payload any) (fsm.Result, bool) {
	cmd, err := fsm.NewCommand(t, newRequestID(), payload)
	if err != nil {
		s.log.Error("edge: encode command", "type", t, "err", err)
		writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "cannot encode command")
		return fsm.Result{}, false
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	res, err := s.writer.Apply(c, cmd)
	if err != nil {
		writeClusterError(ctx, s.log, err)
		return fsm.Result{}, false
	}
	if len(res) != 1 {
		s.log.Error("edge: apply answered wrong result count", "type", t, "n", len(res))
		writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, "unexpected apply result")
		return fsm.Result{}, false
	}
	if res[0].Code != "" {
		writeResultError(ctx, res[0])
		return fsm.Result{}, false
	}
	return res[0], true
}

// readView returns the View a read answers from: consistent by default, the
// local replica with ?stale=true. On failure it answers 503 and returns nil.
func (s *Server) readView(ctx *fasthttp.RequestCtx) *fsm.View {
	if stale, _ := strconv.ParseBool(string(ctx.QueryArgs().Peek("stale"))); stale || brokenReads {
		return s.replica.View()
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	v, err := s.reader.ConsistentRead(c)
	if err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, err.Error())
		return nil
	}
	return v
}

// lookupView returns the local View when it has the object (read-only
// fields never change, so the local copy is good enough to check a PUT),
// else a consistent View. On failure it answers 503 and returns nil.
func (s *Server) lookupView(ctx *fasthttp.RequestCtx, has func(*fsm.View) bool) *fsm.View {
	if v := s.replica.View(); v != nil && has(v) {
		return v
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	v, err := s.reader.ConsistentRead(c)
	if err != nil {
		writeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, err.Error())
		return nil
	}
	return v
}

// parseIfRevision reads ?if_revision=N (N ≥ 1); absent means no check (0).
func parseIfRevision(ctx *fasthttp.RequestCtx) (uint64, error) {
	raw := ctx.QueryArgs().Peek("if_revision")
	if len(raw) == 0 {
		return 0, nil
	}
	n, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || n == 0 {
		return 0, inputErr("if_revision must be a positive integer")
	}
	return n, nil
}

// cloneJSON deep-copies src into dst (both console objects), so a patch
// never writes through a pointer shared with an immutable View.
func cloneJSON(src, dst any) error {
	b, err := json.Marshal(src)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// deleteAnswer is the answer of a console DELETE.
type deleteAnswer struct {
	Success        bool     `json:"success"`
	DeletedWorkers []uint64 `json:"deleted_workers"`
	FailedWorkers  []uint64 `json:"failed_workers"`
	Msg            string   `json:"msg"`
	Revision       uint64   `json:"revision,omitempty"`
}

func writeDeleted(ctx *fasthttp.RequestCtx, res fsm.Result, msg string) {
	deleted := res.Deleted
	if deleted == nil {
		deleted = []uint64{}
	}
	writeJSON(ctx, fasthttp.StatusOK, deleteAnswer{Success: true, DeletedWorkers: deleted,
		FailedWorkers: []uint64{}, Msg: msg, Revision: res.Revision})
}

// okAnswer is {"success":true,"revision":R}, the answer of a PUT.
type okAnswer struct {
	Success  bool   `json:"success"`
	Revision uint64 `json:"revision"`
}

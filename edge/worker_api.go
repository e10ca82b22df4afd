package edge

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// Limits of /worker_status/ and /delete_requests/ values (anything beyond is
// refused as absurd).
const (
	maxLoadValue   = 1e12    // load, perf and disk numbers
	maxLoadTime    = 1e8     // seconds
	maxCount       = 1 << 53 // request counts
	maxStringBytes = 4096    // version, url
	maxErrorBytes  = 64 << 10
	maxIdxs        = 100_000 // request indexes in one call
	// unknownTokenRate is how many registrations per second may carry an
	// mtoken this node's replica does not know.
	unknownTokenRate = 20
)

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

// statusBody is a /worker_status/ report as sent; every field is optional.
type statusBody struct {
	ID                  json.Number   `json:"id"`
	MToken              string        `json:"mtoken"`
	Version             string        `json:"version"`
	LoadTime            json.Number   `json:"loadtime"`
	NewLoad             json.Number   `json:"new_load"`
	CurLoad             json.Number   `json:"cur_load"`
	RejLoad             json.Number   `json:"rej_load"`
	MaxPerf             json.Number   `json:"max_perf"`
	CurPerf             json.Number   `json:"cur_perf"`
	ErrorMsg            string        `json:"error_msg"`
	NumRequestsWorking  json.Number   `json:"num_requests_working"`
	NumRequestsReceived json.Number   `json:"num_requests_recieved"`
	AdditionalDiskUsage json.Number   `json:"additional_disk_usage"`
	WorkingRequestIdxs  []json.Number `json:"working_request_idxs"`
	CurCapacity         json.Number   `json:"cur_capacity"`
	MaxCapacity         json.Number   `json:"max_capacity"`
	URL                 string        `json:"url"`
	DroverSeq           json.Number   `json:"drover_seq"`
}

// decodeObject unmarshals body, which must be one JSON object, into v.
func decodeObject(body []byte, v any) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return errors.New("body must be a JSON object")
	}
	if err := json.Unmarshal(t, v); err != nil {
		return fmt.Errorf("malformed body: %v", err)
	}
	return nil
}

// parseLoadReport checks a /worker_status/ body and converts it.
func parseLoadReport(body []byte) (*fsm.LoadReport, error) {
	var b statusBody
	if err := decodeObject(body, &b); err != nil {
		return nil, err
	}
	r := &fsm.LoadReport{MToken: b.MToken, Version: b.Version, ErrorMsg: b.ErrorMsg, URL: b.URL}
	var err error
	if r.WorkerID, err = uintField("id", b.ID, math.MaxInt64, true); err != nil {
		return nil, err
	}
	floats := []struct {
		name string
		n    json.Number
		dst  *float64
		max  float64
	}{
		{"loadtime", b.LoadTime, &r.LoadTime, maxLoadTime},
		{"new_load", b.NewLoad, &r.NewLoad, maxLoadValue},
		{"cur_load", b.CurLoad, &r.CurLoad, maxLoadValue},
		{"rej_load", b.RejLoad, &r.RejLoad, maxLoadValue},
		{"max_perf", b.MaxPerf, &r.MaxPerf, maxLoadValue},
		{"cur_perf", b.CurPerf, &r.CurPerf, maxLoadValue},
		{"additional_disk_usage", b.AdditionalDiskUsage, &r.AdditionalDiskUsage, maxLoadValue},
		{"cur_capacity", b.CurCapacity, new(float64), maxLoadValue},
		{"max_capacity", b.MaxCapacity, new(float64), maxLoadValue},
	}
	for _, f := range floats {
		if *f.dst, err = floatField(f.name, f.n, f.max); err != nil {
			return nil, err
		}
	}
	if err := fillCounts(r, &b); err != nil {
		return nil, err
	}
	return r, checkReportStrings(r)
}

// fillCounts converts the integer fields of a report.
func fillCounts(r *fsm.LoadReport, b *statusBody) error {
	working, err := uintField("num_requests_working", b.NumRequestsWorking, maxCount, false)
	if err != nil {
		return err
	}
	received, err := uintField("num_requests_recieved", b.NumRequestsReceived, maxCount, false)
	if err != nil {
		return err
	}
	r.NumRequestsWorking, r.NumRequestsReceived = int64(working), int64(received)
	if r.ReportSeq, err = uintField("drover_seq", b.DroverSeq, math.MaxUint64, false); err != nil {
		return err
	}
	if len(b.WorkingRequestIdxs) > maxIdxs {
		return fmt.Errorf("working_request_idxs: more than %d entries", maxIdxs)
	}
	if len(b.WorkingRequestIdxs) > 0 {
		r.WorkingRequestIdxs = make([]uint64, len(b.WorkingRequestIdxs))
	}
	for i, n := range b.WorkingRequestIdxs {
		if r.WorkingRequestIdxs[i], err = uintField("working_request_idxs", n, math.MaxInt64, false); err != nil {
			return err
		}
	}
	return nil
}

// checkReportStrings bounds the report's strings; url must be "" or http(s).
func checkReportStrings(r *fsm.LoadReport) error {
	switch {
	case len(r.Version) > maxStringBytes || len(r.URL) > maxStringBytes || len(r.MToken) > maxStringBytes:
		return errors.New("version, url and mtoken are limited to 4096 bytes")
	case len(r.ErrorMsg) > maxErrorBytes:
		return errors.New("error_msg is limited to 64 KiB")
	case r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://"):
		return errors.New("url must be an http(s) URL")
	}
	return nil
}

// floatField parses an optional number: finite, 0…max ("" is 0).
func floatField(name string, n json.Number, max float64) (float64, error) {
	if n == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > max {
		return 0, fmt.Errorf("%s must be a finite number in 0...%g", name, max)
	}
	return f, nil
}

// uintField parses an optional integer (an integral float counts) in
// 0…max; required: it must be present and positive.
func uintField(name string, n json.Number, max uint64, required bool) (uint64, error) {
	if n == "" {
		if required {
			return 0, fmt.Errorf("%s is required", name)
		}
		return 0, nil
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || f < 0 || f != math.Trunc(f) || f >= math.MaxUint64 {
			return 0, fmt.Errorf("%s must be a non-negative integer", name)
		}
		v = uint64(f)
	}
	if v > max || (required && v == 0) {
		return 0, fmt.Errorf("%s out of range", name)
	}
	return v, nil
}

// handleWorkerStatus serves POST /worker_status/: check, authenticate by
// mtoken (registering an unknown worker through Raft), merge into the
// overlay, and answer the worker's token key.
func (s *Server) handleWorkerStatus(ctx *fasthttp.RequestCtx) {
	r, err := parseLoadReport(ctx.PostBody())
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

// deleteBody is a /delete_requests/ body in either form: current workers
// send requests[], older ones request_idxs[] with one success flag.
type deleteBody struct {
	WorkerID    json.Number     `json:"worker_id"`
	MToken      string          `json:"mtoken"`
	Requests    []deleteRequest `json:"requests"`
	RequestIdxs []json.Number   `json:"request_idxs"`
	Success     *bool           `json:"success"`
}

type deleteRequest struct {
	RequestIdx      json.Number `json:"request_idx"`
	Success         *bool       `json:"success"`
	Status          string      `json:"status"`
	EnteredQueueAt  json.Number `json:"entered_queue_at"`
	WorkStartedAt   json.Number `json:"work_started_at"`
	WorkCompletedAt json.Number `json:"work_completed_at"`
}

// Request statuses of /delete_requests/.
const (
	statusSuccess   = "Success"
	statusError     = "Error"
	statusCancelled = "Cancelled"
	statusRejected  = "Rejected"
)

// closedIdxs checks a /delete_requests/ body and returns the worker id and
// the request indexes it closes: every entry but Rejected ones (a rejected
// request is routed again with the same request_idx), entries of an
// unknown status, and failed entries without a status.
func closedIdxs(body []byte) (uint64, string, []uint64, error) {
	var b deleteBody
	if err := decodeObject(body, &b); err != nil {
		return 0, "", nil, err
	}
	id, err := uintField("worker_id", b.WorkerID, math.MaxInt64, true)
	if err != nil {
		return 0, "", nil, err
	}
	if len(b.Requests)+len(b.RequestIdxs) > maxIdxs {
		return 0, "", nil, fmt.Errorf("more than %d requests", maxIdxs)
	}
	var out []uint64
	for _, rq := range b.Requests {
		idx, err := uintField("request_idx", rq.RequestIdx, math.MaxInt64, false)
		if err != nil {
			return 0, "", nil, err
		}
		for _, n := range []json.Number{rq.EnteredQueueAt, rq.WorkStartedAt, rq.WorkCompletedAt} {
			if _, err := floatField("timestamps", n, math.MaxFloat64); err != nil {
				return 0, "", nil, err
			}
		}
		switch rq.Status {
		case statusSuccess, statusError, statusCancelled:
			out = append(out, idx)
		case "":
			if rq.Success == nil || *rq.Success {
				out = append(out, idx)
			}
		}
	}
	closeOld := b.Success == nil || *b.Success // old form: a failure may be a rejection
	for _, n := range b.RequestIdxs {
		idx, err := uintField("request_idxs", n, math.MaxInt64, false)
		if err != nil {
			return 0, "", nil, err
		}
		if closeOld {
			out = append(out, idx)
		}
	}
	return id, b.MToken, out, nil
}

// handleDeleteRequests serves POST /delete_requests/: the worker reports
// requests that ended; each closes its held request_idx, if any.
func (s *Server) handleDeleteRequests(ctx *fasthttp.RequestCtx) {
	id, mtoken, idxs, err := closedIdxs(ctx.PostBody())
	if err != nil {
		writeEngineError(ctx, fasthttp.StatusBadRequest, err.Error())
		return
	}
	v := s.tables().view
	w := v.Workers[id]
	if w == nil || mtoken == "" || !workerTokenOK(v, w, mtoken) {
		writeRaw(ctx, fasthttp.StatusUnauthorized, authFailedBody)
		return
	}
	for _, idx := range idxs {
		if idx != 0 {
			s.dp.Overlay.Dequeue(w.EndpointID, idx)
		}
	}
	writeRaw(ctx, fasthttp.StatusOK, workerOKBody)
}

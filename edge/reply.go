package edge

import (
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// Error codes of the console's error shape that fsm does not define.
const (
	codeInvalid      = fsm.CodeInvalid
	codeTooLarge     = fsm.CodeInvalid // Vast's shape: 413 with invalid_args
	codeUnauthorized = "unauthorized"
	codeNotFound     = "not_found"
	codeUnavailable  = "unavailable"
	codeInternal     = "internal_error"
)

// errorBody is Vast's error shape.
type errorBody struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Msg     string `json:"msg"`
}

// writeJSON answers status with v as JSON.
func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = fasthttp.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: codeInternal, Msg: "cannot encode answer"})
	}
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBody(append(b, '\n'))
}

// writeError answers status with {"success":false,"error":code,"msg":msg}.
func writeError(ctx *fasthttp.RequestCtx, status int, code, msg string) {
	writeJSON(ctx, status, errorBody{Error: code, Msg: msg})
}

// statusOfCode maps an fsm.Result code to an HTTP status.
func statusOfCode(code string) int {
	switch code {
	case fsm.CodeInvalid:
		return fasthttp.StatusBadRequest
	case fsm.CodeNoEndpoint, fsm.CodeNoGroup, fsm.CodeNoWorker:
		return fasthttp.StatusNotFound
	case fsm.CodeNameTaken, fsm.CodeRevision:
		return fasthttp.StatusConflict
	default:
		return fasthttp.StatusInternalServerError
	}
}

// writeResultError answers a rejected command.
func writeResultError(ctx *fasthttp.RequestCtx, r fsm.Result) {
	msg := r.Msg
	if msg == "" {
		msg = r.Code
	}
	writeError(ctx, statusOfCode(r.Code), r.Code, msg)
}

// writeClusterError answers an error from Writer, Reader or Cluster: 503 when
// it means "try later" (Unavailable, deadline), else 500.
func writeClusterError(ctx *fasthttp.RequestCtx, log *slog.Logger, err error) {
	if isUnavailable(err) {
		writeError(ctx, fasthttp.StatusServiceUnavailable, codeUnavailable, err.Error())
		return
	}
	log.Error("edge: cluster call failed", "path", string(ctx.Path()), "err", err)
	writeError(ctx, fasthttp.StatusInternalServerError, codeInternal, err.Error())
}

// writeBadInput answers 400 invalid_args with err's text, without the
// package prefixes.
func writeBadInput(ctx *fasthttp.RequestCtx, err error) {
	msg := strings.TrimPrefix(err.Error(), errInput.Error()+": ")
	msg = strings.TrimPrefix(msg, fsm.ErrInvalid.Error()+": ")
	writeError(ctx, fasthttp.StatusBadRequest, codeInvalid, msg)
}

package jepsen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// errRevision is the console error code of a failed if_revision.
const errRevision = "revision_mismatch"

// answer is a console call's outcome as the history records it.
type answer struct {
	Type  string // TypeOK, TypeFail or TypeInfo
	Error string
	Body  []byte
}

// classify maps an HTTP answer to ok/fail/info. A write that timed out or
// answered 503 may still commit later, so its outcome is unknown (info); a
// refused connection never carried the request (fail); a read has no
// effect, so every failed read is a fail.
func classify(code int, body []byte, write bool) answer {
	a := answer{Type: TypeOK, Body: body}
	if code == http.StatusOK {
		return a
	}
	var e struct {
		Error string `json:"error"`
		Msg   string `json:"msg"`
	}
	json.Unmarshal(body, &e)
	a.Error = e.Error
	if a.Error == "" {
		a.Error = fmt.Sprintf("status %d: %.120s", code, body)
	}
	switch {
	case code == statusNotSent:
		a.Error = "connection refused"
		a.Type = TypeFail
	case code >= 400 && code < 500:
		a.Type = TypeFail
	case write:
		a.Type = TypeInfo
	default:
		a.Type = TypeFail
	}
	return a
}

// endpointBody is the part of a console endpoint the workloads read.
type endpointBody struct {
	ID       uint64  `json:"id"`
	Name     string  `json:"endpoint_name"`
	MinLoad  float64 `json:"min_load"`
	Revision uint64  `json:"revision"`
}

// createEndpoint POSTs a suspended endpoint named name.
func createEndpoint(ctx context.Context, n *Node, name string) (answer, uint64, uint64) {
	code, b := n.Do(ctx, http.MethodPost, "/api/v0/endptjobs/",
		map[string]any{"endpoint_name": name, "endpoint_state": "suspended"})
	a := classify(code, b, true)
	var r struct {
		Result   uint64 `json:"result"`
		Revision uint64 `json:"revision"`
	}
	if a.Type == TypeOK && json.Unmarshal(b, &r) != nil {
		a = answer{Type: TypeInfo, Error: "unparsable create answer"}
	}
	return a, r.Result, r.Revision
}

// getEndpoint reads one endpoint with a consistent read.
func getEndpoint(ctx context.Context, n *Node, id uint64) (answer, endpointBody) {
	code, b := n.Do(ctx, http.MethodGet, "/api/v0/endptjobs/"+strconv.FormatUint(id, 10)+"/", nil)
	a := classify(code, b, false)
	var r struct {
		Result endpointBody `json:"result"`
	}
	if a.Type == TypeOK && json.Unmarshal(b, &r) != nil {
		a = answer{Type: TypeFail, Error: "unparsable read answer"}
	}
	return a, r.Result
}

// putMinLoad sets min_load, conditionally when ifRev > 0.
func putMinLoad(ctx context.Context, n *Node, id uint64, value int64, ifRev uint64) (answer, uint64) {
	path := "/api/v0/endptjobs/" + strconv.FormatUint(id, 10) + "/"
	if ifRev > 0 {
		path += "?if_revision=" + strconv.FormatUint(ifRev, 10)
	}
	code, b := n.Do(ctx, http.MethodPut, path, map[string]any{"min_load": value})
	a := classify(code, b, true)
	var r struct {
		Revision uint64 `json:"revision"`
	}
	if a.Type == TypeOK && (json.Unmarshal(b, &r) != nil || r.Revision == 0) {
		a = answer{Type: TypeInfo, Error: "update answer without revision"}
	}
	return a, r.Revision
}

// listEndpoints reads every endpoint (stale=true reads the local replica).
func listEndpoints(ctx context.Context, n *Node, stale bool) (answer, []endpointBody) {
	path := "/api/v0/endptjobs/"
	if stale {
		path += "?stale=true"
	}
	code, b := n.Do(ctx, http.MethodGet, path, nil)
	a := classify(code, b, false)
	var r struct {
		Results []endpointBody `json:"results"`
	}
	if a.Type == TypeOK && json.Unmarshal(b, &r) != nil {
		a = answer{Type: TypeFail, Error: "unparsable list answer"}
	}
	return a, r.Results
}

package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
)

// healthAnswer is the body of GET /v1/health.
type healthAnswer struct {
	Status   string `json:"status"`           // "ok" or "unavailable"
	Reason   string `json:"reason,omitempty"` // why not ok
	Insecure bool   `json:"insecure"`         // the agent runs with --insecure
}

// handleHealth: 200 when the node knows a leader and is not stale, else 503
// with the reason. Never waits on Raft.
func (s *Server) handleHealth(ctx *fasthttp.RequestCtx) {
	st := s.cluster.Status()
	if reason := s.unhealthy(st); reason != "" {
		if st.Refused != "" {
			reason += " (a peer refused this node: " + st.Refused + ")"
		}
		writeJSON(ctx, fasthttp.StatusServiceUnavailable, healthAnswer{Status: "unavailable", Reason: reason, Insecure: st.Insecure})
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, healthAnswer{Status: "ok", Insecure: st.Insecure})
}

// unhealthy returns why st does not serve, or "".
func (s *Server) unhealthy(st Status) string {
	switch {
	case st.Leader == "":
		return "no leader"
	case st.Stale:
		return "stale: no recent contact with the leader"
	case s.cfg.StaleAfter > 0 && time.Duration(st.LastContactMS)*time.Millisecond > s.cfg.StaleAfter:
		return "stale: last leader contact too old"
	}
	return ""
}

// handleCluster answers Cluster.Status() as JSON; never waits on Raft.
func (s *Server) handleCluster(ctx *fasthttp.RequestCtx) {
	st := s.cluster.Status()
	if st.Voters == nil {
		st.Voters = []string{}
	}
	if st.Nonvoters == nil {
		st.Nonvoters = []string{}
	}
	writeJSON(ctx, fasthttp.StatusOK, st)
}

// handleRemoveServer: POST /v1/cluster/remove {"id":"n3"}.
func (s *Server) handleRemoveServer(ctx *fasthttp.RequestCtx) {
	obj, err := parseObject(ctx.PostBody())
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	f, err := cleanFields(obj, map[string]fieldKind{"id": kindString})
	if err != nil {
		writeBadInput(ctx, err)
		return
	}
	id, _ := f["id"].(string)
	if id == "" {
		writeBadInput(ctx, inputErr("id is required"))
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.RequestTimeout)
	defer cancel()
	if err := s.cluster.RemoveServer(c, id); err != nil {
		writeClusterError(ctx, s.log, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true, "id": id})
}

// snapshotStream is the body of GET /v1/snapshot: the read side of a pipe
// that SnapshotSave writes. Closing it (fasthttp does, also when the client
// goes away) cancels the save.
type snapshotStream struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r snapshotStream) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// handleSnapshotSave streams Cluster.SnapshotSave into the body. A failure
// before the first byte answers 503/500; a later one cuts the chunked body
// short (the client sees an unexpected EOF, and the stream's own checksum
// refuses it on restore).
func (s *Server) handleSnapshotSave(ctx *fasthttp.RequestCtx) {
	c, cancel := context.WithTimeout(context.Background(), s.cfg.SnapshotTimeout)
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(s.cluster.SnapshotSave(c, pw))
	}()
	first := make([]byte, 32<<10)
	n, err := io.ReadAtLeast(pr, first, 1)
	if err != nil && !errors.Is(err, io.EOF) {
		cancel()
		_ = pr.Close()
		writeClusterError(ctx, s.log, err)
		return
	}
	body := io.MultiReader(bytes.NewReader(first[:n]), pr)
	ctx.Response.Header.SetContentType("application/octet-stream")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBodyStream(struct {
		io.Reader
		io.Closer
	}{body, snapshotStream{pr, cancel}}, -1)
}

// handleSnapshotRestore feeds the body (up to Config.MaxSnapshotBody) to
// Cluster.SnapshotRestore.
func (s *Server) handleSnapshotRestore(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	if len(body) == 0 {
		writeBadInput(ctx, inputErr("empty snapshot"))
		return
	}
	c, cancel := context.WithTimeout(context.Background(), s.cfg.SnapshotTimeout)
	defer cancel()
	if err := s.cluster.SnapshotRestore(c, bytes.NewReader(body)); err != nil {
		if errors.Is(err, fsm.ErrCorrupt) {
			writeError(ctx, fasthttp.StatusBadRequest, codeInvalid, err.Error())
			return
		}
		writeClusterError(ctx, s.log, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"success": true})
}

package edge

import (
	"strconv"

	"github.com/valyala/fasthttp"
)

// healthChecks is GET /v1/health?check=live|ready|caught-up: the three
// answers a load balancer or orchestrator asks, each deciding the status
// of its own check, all three in the body.
type healthChecks struct {
	Check    string `json:"check"`
	Status   string `json:"status"` // "ok" or "unavailable"
	Reason   string `json:"reason,omitempty"`
	Live     bool   `json:"live"`      // the process serves HTTP
	Ready    bool   `json:"ready"`     // knows a leader and is not stale: GET /v1/health without check
	CaughtUp bool   `json:"caught_up"` // ready, and its replica has applied the leader's commit index since it started
	Insecure bool   `json:"insecure"`
}

// handleHealthCheck serves /v1/health; without ?check it is handleHealth.
// Never waits on Raft.
func (s *Server) handleHealthCheck(ctx *fasthttp.RequestCtx) {
	check := string(ctx.QueryArgs().Peek("check"))
	if check == "" {
		s.handleHealth(ctx)
		return
	}
	st := s.cluster.Status()
	reason := s.unhealthy(st)
	caught := s.dp.CaughtUp == nil || s.dp.CaughtUp()
	ans := healthChecks{Check: check, Live: true, Ready: reason == "", CaughtUp: reason == "" && caught, Insecure: st.Insecure}
	var ok bool
	switch check {
	case "live":
		ok = true
	case "ready":
		ok = ans.Ready
	case "caught-up":
		ok = ans.CaughtUp
		if reason == "" && !caught {
			reason = "catching up: the replica has not yet applied the leader's commit index"
		}
	default:
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalid, "check: unknown value "+strconv.Quote(check)+" (want live, ready or caught-up)")
		return
	}
	ans.Status = "ok"
	status := fasthttp.StatusOK
	if !ok {
		ans.Status, ans.Reason, status = "unavailable", reason, fasthttp.StatusServiceUnavailable
	}
	writeJSON(ctx, status, ans)
}

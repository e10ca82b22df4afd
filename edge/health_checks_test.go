package edge

import (
	"sync/atomic"
	"testing"
)

func TestHealthChecks(t *testing.T) {
	leader := Status{State: "leader", Leader: "n1"}
	tests := []struct {
		name     string
		st       Status
		caughtUp bool
		check    string
		want     int
	}{
		{"live without leader", Status{State: "candidate"}, false, "live", 200},
		{"ready", leader, false, "ready", 200},
		{"not ready without leader", Status{State: "candidate"}, true, "ready", 503},
		{"caught up on an idle cluster", leader, true, "caught-up", 200},
		{"still catching up", leader, false, "caught-up", 503},
		{"stale is not caught up", Status{State: "follower", Leader: "n1", Stale: true}, true, "caught-up", 503},
		{"unknown check", leader, true, "alive", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var caught atomic.Bool
			caught.Store(tt.caughtUp)
			ts := startServer(t, Config{DataPlane: DataPlane{CaughtUp: caught.Load}})
			ts.node.set(func(n *fakeNode) { n.status = tt.st })
			status, m := ts.callAuth(t, "GET", "/v1/health?check="+tt.check, "", "")
			if status != tt.want {
				t.Fatalf("GET /v1/health?check=%s with %+v (caught up %v) = %d %v, want %d", tt.check, tt.st, tt.caughtUp, status, m, tt.want)
			}
			if status == 503 && m["reason"] == "" {
				t.Errorf("503 without a reason: %v", m)
			}
			if status == 400 && m["msg"] == "" {
				t.Errorf("400 without a message: %v", m)
			}
		})
	}
}

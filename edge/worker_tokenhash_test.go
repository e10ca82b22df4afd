package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/drover-io/drover/fsm"
)

// A provider-created worker reports with its own MASTER_TOKEN, whose
// sha256 the registry keeps; the group's worker_token does not work for it.
func TestWorkerStatusOwnToken(t *testing.T) {
	e := newDPEnv(t, DataPlane{})
	const own = "per-worker-secret"
	sum := sha256.Sum256([]byte(own))
	e.mustApply(t, fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: fsm.Worker{ID: 1 << 50, GroupID: e.grpA,
		State: fsm.WorkerCreating, IntentKey: "t1-1", TokenHash: hex.EncodeToString(sum[:])}})
	tests := []struct {
		name, mtoken string
		want         int
	}{
		{"own token", own, 200},
		{"group token", testMToken, 401},
		{"wrong token", "nope", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"id":1125899906842624,"mtoken":"` + tt.mtoken + `","loadtime":1,"max_perf":10,"url":"http://127.0.0.1:9"}`
			if status, _ := e.do(t, "POST", "/worker_status/", "", body); status != tt.want {
				t.Errorf("worker_status with %s = %d, want %d", tt.name, status, tt.want)
			}
			del := `{"worker_id":1125899906842624,"mtoken":"` + tt.mtoken + `","request_idxs":[]}`
			if status, _ := e.do(t, "POST", "/delete_requests/", "", del); status != tt.want {
				t.Errorf("delete_requests with %s = %d, want %d", tt.name, status, tt.want)
			}
		})
	}
}

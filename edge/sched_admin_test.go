package edge

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/drover-io/drover/fsm"
)

// fakeScheduler records calls and answers what it is told.
type fakeScheduler struct {
	endpoint uint64
	action   string
	worker   uint64
	err      error
}

func (f *fakeScheduler) Decisions(_ context.Context, id uint64) (any, error) {
	f.endpoint = id
	return map[string]any{"endpoints": []any{}, "asked": id}, f.err
}

func (f *fakeScheduler) WorkerAction(_ context.Context, id uint64, action string) (any, error) {
	f.worker, f.action = id, action
	return map[string]any{"worker_id": id, "action": action, "state": "done"}, f.err
}

func TestSchedulerAdminRoutes(t *testing.T) {
	sc := &fakeScheduler{}
	ts := startServer(t, Config{AdminTokenHash: sha256.Sum256([]byte(testToken)), Scheduler: sc})
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a"}`)
	ts.mustOK(t, "POST", "/api/v0/workergroups/", `{"endpoint_id":1}`)
	tests := []struct {
		name, method, path string
		schedErr           error
		want               int
	}{
		{"decisions of all", "GET", "/v1/decisions", nil, 200},
		{"decisions by id", "GET", "/v1/decisions?endpoint=1", nil, 200},
		{"decisions by name", "GET", "/v1/decisions/?endpoint=a", nil, 200},
		{"decisions of an unknown endpoint", "GET", "/v1/decisions?endpoint=zz", nil, 404},
		{"decisions, no leader", "GET", "/v1/decisions", errUnavailable{}, 503},
		{"workers list", "GET", "/v1/workers?endpoint=a", nil, 200},
		{"drain", "POST", "/v1/workers/7/drain", nil, 200},
		{"destroy", "POST", "/v1/workers/7/destroy", nil, 200},
		{"unknown worker", "POST", "/v1/workers/8/stop", fmt.Errorf("%w: no worker 8", fsm.ErrNotFound), 404},
		{"static worker", "POST", "/v1/workers/8/stop", fmt.Errorf("%w: static", fsm.ErrInvalid), 400},
		{"bad action", "POST", "/v1/workers/7/reboot", nil, 404},
		{"bad id", "POST", "/v1/workers/x/stop", nil, 404},
		{"wrong method", "GET", "/v1/workers/7/stop", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc.err = tt.schedErr
			if status, m := ts.call(t, tt.method, tt.path, ""); status != tt.want {
				t.Errorf("%s %s = %d %v, want %d", tt.method, tt.path, status, m, tt.want)
			}
		})
	}
	if sc.worker != 8 || sc.action != "stop" {
		t.Errorf("last action = %d %s, want 8 stop", sc.worker, sc.action)
	}
	if status, _ := ts.callAuth(t, "GET", "/v1/decisions", "", ""); status != 401 {
		t.Errorf("decisions without a token = %d, want 401", status)
	}
}

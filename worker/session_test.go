package worker

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/fakemodel"
)

// createSession creates a session with auth and returns its id.
func (h *harness) createSession(auth map[string]any, payload map[string]any) string {
	h.t.Helper()
	resp, body := h.post("/session/create", request(auth, payload))
	var ans struct {
		SessionID  string  `json:"session_id"`
		Expiration float64 `json:"expiration"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &ans) != nil || ans.SessionID == "" ||
		ans.Expiration <= float64(time.Now().Unix()) {
		h.t.Fatalf("/session/create = %d %s, want 201 with session_id and a future expiration", resp.StatusCode, body)
	}
	return ans.SessionID
}

func inSession(auth map[string]any, id string, payload any) map[string]any {
	return map[string]any{"auth_data": auth, "session_id": id, "payload": payload}
}

func TestSessionLifecycle(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	auth := h.route(100)
	id := h.createSession(auth, map[string]any{"lifetime": 60, "on_close_route": "/v1/completions", "on_close_payload": map[string]any{"max_tokens": 1}})
	for i := range 2 {
		if resp, body := h.post("/v1/completions", inSession(auth, id, map[string]any{"max_tokens": 1})); resp.StatusCode != 200 {
			t.Fatalf("request %d in the session = %d %s, want 200", i, resp.StatusCode, body)
		}
	}
	other := h.route(100)
	if resp, _ := h.post("/v1/completions", inSession(other, id, map[string]any{})); resp.StatusCode != 401 {
		t.Fatalf("session request with other auth_data = %d, want 401", resp.StatusCode)
	}
	if resp, _ := h.post("/v1/completions", inSession(auth, "nope", map[string]any{})); resp.StatusCode != 401 {
		t.Fatalf("request in an unknown session = %d, want 401", resp.StatusCode)
	}
	resp, body := h.post("/session/get", map[string]any{"session_id": id, "session_auth": auth})
	if resp.StatusCode != 200 || !json.Valid(body) {
		t.Fatalf("/session/get = %d %s, want 200", resp.StatusCode, body)
	}
	if resp, _ := h.post("/session/get", map[string]any{"session_id": id, "session_auth": other}); resp.StatusCode != 401 {
		t.Fatalf("/session/get with other auth = %d, want 401", resp.StatusCode)
	}
	if resp, _ := h.post("/session/end", map[string]any{"session_id": id}); resp.StatusCode != 401 {
		t.Fatalf("/session/end without session_auth on the main port = %d, want 401", resp.StatusCode)
	}
	// The plain-HTTP port ends it with the id alone.
	if resp, body := postJSON(t, "http://"+h.w.HTTPAddr()+"/session/end", map[string]any{"session_id": id}); resp.StatusCode != 200 {
		t.Fatalf("/session/end on WORKER_HTTP_PORT = %d %s, want 200", resp.StatusCode, body)
	}
	if resp, _ := h.post("/v1/completions", inSession(auth, id, map[string]any{})); resp.StatusCode != 401 {
		t.Fatalf("request in an ended session = %d, want 401", resp.StatusCode)
	}
	if resp, _ := h.post("/session/get", map[string]any{"session_id": id, "session_auth": auth}); resp.StatusCode != 404 {
		t.Fatalf("/session/get after end = %d, want 404", resp.StatusCode)
	}
	waitFor(t, "the session's request_idx closed", 5*time.Second, func() bool {
		for _, d := range deletesWith(h.eng, "Success") {
			if d.RequestIdx.String() == jsonNum(auth["request_idx"]) {
				return true
			}
		}
		return false
	})
}

func TestSessionChecks(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	t.Run("create checks the signature", func(t *testing.T) {
		a := with(h.route(100), "signature", h.eng.Sign("http://elsewhere:1"))
		if resp, body := h.post("/session/create", request(a, map[string]any{})); resp.StatusCode != 401 || len(body) != 0 {
			t.Fatalf("/session/create with a bad signature = %d %q, want 401 empty", resp.StatusCode, body)
		}
	})
	t.Run("create checks the token", func(t *testing.T) {
		a := with(h.route(100), "drover_token", nil)
		if resp, _ := h.post("/session/create", request(a, map[string]any{})); resp.StatusCode != 401 {
			t.Fatalf("/session/create without a token = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("expires", func(t *testing.T) {
		auth := h.route(100)
		id := h.createSession(auth, map[string]any{"lifetime": 0.2})
		waitFor(t, "the session to expire", 5*time.Second, func() bool {
			resp, _ := h.post("/v1/completions", inSession(auth, id, map[string]any{}))
			return resp.StatusCode == 401
		})
	})
}

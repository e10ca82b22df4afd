package worker

import (
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/fakemodel"
	"github.com/drover-io/drover/worker/token"
	"github.com/drover-io/drover/worker/workertest"
)

// with returns a copy of auth with k set to v (deleted when v is nil).
func with(auth map[string]any, k string, v any) map[string]any {
	c := maps.Clone(auth)
	if v == nil {
		delete(c, k)
	} else {
		c[k] = v
	}
	return c
}

func TestAuthRefused(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	other := workertest.NewEngine(t) // another cluster's RSA key is the same per binary; its secret differs
	other.Secret = []byte("another cluster")
	mint := func(c token.Claims) string { return token.Mint(h.eng.WorkerKey(testWorkerID), c) }
	claims := func(a map[string]any) token.Claims {
		return token.Claims{WorkerID: testWorkerID, Endpoint: "ep", Reqnum: uint64(a["reqnum"].(uint64)),
			RequestIdx: a["request_idx"].(uint64), Cost: a["cost"].(float64), Expires: time.Now().Add(time.Minute).UnixMilli()}
	}
	tests := []struct {
		name string
		auth func() map[string]any
	}{
		{"wrong signature", func() map[string]any { return with(h.route(100), "signature", h.eng.Sign("http://elsewhere:1")) }},
		{"signature not base64", func() map[string]any { return with(h.route(100), "signature", "!!") }},
		{"no drover_token", func() map[string]any { return with(h.route(100), "drover_token", nil) }},
		{"garbage token", func() map[string]any { return with(h.route(100), "drover_token", "v1.garbage") }},
		{"token of another cluster", func() map[string]any {
			a := h.route(100)
			return with(a, "drover_token", token.Mint(other.WorkerKey(testWorkerID), claims(a)))
		}},
		{"expired token", func() map[string]any {
			a := h.route(100)
			c := claims(a)
			c.Expires = time.Now().Add(-time.Second).UnixMilli()
			return with(a, "drover_token", mint(c))
		}},
		{"token for another worker", func() map[string]any {
			a := h.route(100)
			c := claims(a)
			c.WorkerID = testWorkerID + 1
			return with(a, "drover_token", token.Mint(h.eng.WorkerKey(c.WorkerID), c))
		}},
		{"another worker's id under this key", func() map[string]any {
			a := h.route(100)
			c := claims(a)
			c.WorkerID = testWorkerID + 1
			return with(a, "drover_token", mint(c))
		}},
		{"cost differs from the token", func() map[string]any { return with(h.route(100), "cost", 1.0) }},
		{"reqnum differs from the token", func() map[string]any { return with(h.route(100), "reqnum", 99999) }},
		{"request_idx differs from the token", func() map[string]any { return with(h.route(100), "request_idx", 99999) }},
		{"endpoint differs from the token", func() map[string]any { return with(h.route(100), "endpoint", "other") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.post("/v1/completions", request(tt.auth(), map[string]any{}))
			if resp.StatusCode != http.StatusUnauthorized || len(body) != 0 {
				t.Fatalf("POST = %d %q, want 401 with an empty body", resp.StatusCode, body)
			}
		})
	}
}

func TestReplayRefused(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	t.Run("same plain request twice", func(t *testing.T) {
		a := h.route(100)
		if resp, body := h.post("/v1/completions", request(a, map[string]any{})); resp.StatusCode != 200 {
			t.Fatalf("first use = %d %s, want 200", resp.StatusCode, body)
		}
		if resp, _ := h.post("/v1/completions", request(a, map[string]any{})); resp.StatusCode != 401 {
			t.Fatalf("replay = %d, want 401", resp.StatusCode)
		}
	})
	t.Run("token used by /session/create", func(t *testing.T) {
		a := h.route(100)
		if resp, body := h.post("/session/create", request(a, map[string]any{"lifetime": 60})); resp.StatusCode != 201 {
			t.Fatalf("session create = %d %s, want 201", resp.StatusCode, body)
		}
		if resp, _ := h.post("/v1/completions", request(a, map[string]any{})); resp.StatusCode != 401 {
			t.Fatalf("plain request with the session's token = %d, want 401", resp.StatusCode)
		}
		if resp, _ := h.post("/session/create", request(a, map[string]any{})); resp.StatusCode != 401 {
			t.Fatalf("second session with the same token = %d, want 401", resp.StatusCode)
		}
	})
}

func TestMissingFields422(t *testing.T) {
	h := startWorker(t, testConfig(), fakeModel(fakemodel.Config{}))
	h.waitReady()
	var tests []struct {
		name string
		body any
	}
	add := func(name string, body any) {
		tests = append(tests, struct {
			name string
			body any
		}{name, body})
	}
	for _, f := range requiredAuth {
		add("missing "+f, request(with(h.route(1), f, nil), map[string]any{}))
	}
	add("reqnum a string", request(with(h.route(1), "reqnum", "12"), map[string]any{}))
	add("reqnum null", request(with(h.route(1), "reqnum", nil), map[string]any{}))
	add("cost a string", request(with(h.route(1), "cost", "100"), map[string]any{}))
	add("no auth_data", map[string]any{"payload": map[string]any{}})
	add("auth_data not an object", map[string]any{"auth_data": "x"})
	add("body not an object", []int{1})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if resp, body := h.post("/v1/completions", tt.body); resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("POST = %d %s, want 422", resp.StatusCode, body)
			}
		})
	}
}

func TestUnauthorizedUntilPubkey(t *testing.T) {
	cfg := testConfig()
	eng := workertest.NewEngine(t)
	eng.PubkeyDown.Store(true)
	cfg.ReportAddrs = []string{eng.URL}
	h := startWorker(t, cfg, fakeModel(fakemodel.Config{}))
	h.eng = eng
	waitFor(t, "model loaded and drover key", 5*time.Second, func() bool { return h.w.key.Load() != nil && h.w.st.ready() })
	if resp, _ := h.post("/v1/completions", request(h.route(1), map[string]any{})); resp.StatusCode != 401 {
		t.Fatalf("without the public key = %d, want 401", resp.StatusCode)
	}
	eng.PubkeyDown.Store(false)
	h.waitReady()
	if resp, body := h.post("/v1/completions", request(h.route(1), map[string]any{})); resp.StatusCode != 200 {
		t.Fatalf("with the public key = %d %s, want 200", resp.StatusCode, body)
	}
}

func TestUnsecured(t *testing.T) {
	cfg := testConfig()
	cfg.Unsecured = true
	h := startWorker(t, cfg, fakeModel(fakemodel.Config{}))
	waitFor(t, "model loaded", 5*time.Second, h.w.st.ready)
	a := with(with(h.route(1), "signature", "bad"), "drover_token", nil)
	if resp, body := h.post("/v1/completions", request(a, map[string]any{})); resp.StatusCode != 200 {
		t.Fatalf("UNSECURED with a bad signature = %d %s, want 200", resp.StatusCode, body)
	}
	if resp, _ := h.post("/v1/completions", request(with(a, "url", nil), map[string]any{})); resp.StatusCode != 422 {
		t.Fatalf("UNSECURED without url = %d, want 422", resp.StatusCode)
	}
}

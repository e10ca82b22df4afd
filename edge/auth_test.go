package edge

import (
	"crypto/sha256"
	"net/http"
	"testing"
)

func TestAdminAuth(t *testing.T) {
	calls := []struct{ method, path, body string }{
		{"GET", "/api/v0/endptjobs/", ""},
		{"POST", "/api/v0/endptjobs/", `{"endpoint_name":"a"}`},
		{"GET", "/api/v0/endptjobs/1/", ""},
		{"PUT", "/api/v0/endptjobs/1/", `{"min_load":1}`},
		{"DELETE", "/api/v0/endptjobs/1/", ""},
		{"GET", "/api/v0/workergroups/", ""},
		{"POST", "/api/v0/workergroups/", `{"endpoint_id":1}`},
		{"PUT", "/api/v0/autojobs/1/", `{"weight":1}`},
		{"DELETE", "/api/v0/autojobs/1", ""},
		{"POST", "/v1/cluster/remove", `{"id":"n3"}`},
		{"GET", "/v1/snapshot", ""},
		{"POST", "/v1/snapshot", "x"},
	}
	tests := []struct {
		name       string
		configured bool
		auth       string
	}{
		{"no header", true, ""},
		{"wrong token", true, "Bearer nope"},
		{"empty bearer", true, "Bearer "},
		{"basic scheme", true, "Basic " + testToken},
		{"token without scheme", true, testToken},
		{"no token configured", false, "Bearer " + testToken},
		{"no token configured, empty bearer", false, "Bearer "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{}
			if tt.configured {
				cfg.AdminTokenHash = sha256.Sum256([]byte(testToken))
			}
			ts := startServer(t, cfg)
			before := ts.node.hash()
			for _, c := range calls {
				status, m := ts.callAuth(t, c.method, c.path, tt.auth, c.body)
				if status != http.StatusUnauthorized || m["success"] != false || m["error"] != "unauthorized" {
					t.Errorf("%s %s with %q = %d %v, want 401 unauthorized", c.method, c.path, tt.auth, status, m)
				}
			}
			if ts.node.hash() != before {
				t.Errorf("refused calls changed the state hash")
			}
			if len(ts.node.removed) != 0 {
				t.Errorf("refused remove reached the cluster: %v", ts.node.removed)
			}
		})
	}
}

func TestAdminAuthAccepts(t *testing.T) {
	ts := startAdmin(t)
	for _, auth := range []string{"Bearer " + testToken, "bearer " + testToken} {
		if status, m := ts.callAuth(t, "GET", "/api/v0/endptjobs/", auth, ""); status != http.StatusOK {
			t.Errorf("GET with %q = %d %v, want 200", auth, status, m)
		}
	}
}

package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestUnavailableMapsTo503(t *testing.T) {
	tests := []struct {
		name            string
		applyErr, rdErr error
		method, path    string
		body            string
		wantStatus      int
		wantError       string
	}{
		{"apply unavailable", errUnavailable{}, nil, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"b"}`, 503, "unavailable"},
		{"apply wrapped unavailable", fmt.Errorf("forward: %w", errUnavailable{}), nil, "PUT", "/api/v0/endptjobs/1/", `{"min_load":2}`, 503, "unavailable"},
		{"apply deadline", context.DeadlineExceeded, nil, "DELETE", "/api/v0/endptjobs/1/", ``, 503, "unavailable"},
		{"apply other error", errors.New("disk on fire"), nil, "POST", "/api/v0/workergroups/", `{"endpoint_id":1}`, 500, "internal_error"},
		{"consistent read unavailable", nil, errUnavailable{}, "GET", "/api/v0/endptjobs/", ``, 503, "unavailable"},
		{"consistent read any error", nil, errors.New("boom"), "GET", "/api/v0/workergroups/1/", ``, 503, "unavailable"},
		{"stale read ignores reader", nil, errUnavailable{}, "GET", "/api/v0/endptjobs/1/?stale=true", ``, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startAdmin(t)
			ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a"}`)
			ts.mustOK(t, "POST", "/api/v0/workergroups/", `{"endpoint_id":1}`)
			before := ts.node.hash()
			ts.node.set(func(n *fakeNode) { n.applyErr, n.readErr = tt.applyErr, tt.rdErr })
			status, m := ts.call(t, tt.method, tt.path, tt.body)
			if status != tt.wantStatus || (tt.wantError != "" && (m["error"] != tt.wantError || m["success"] != false)) {
				t.Errorf("%s %s = %d %v, want %d %q", tt.method, tt.path, status, m, tt.wantStatus, tt.wantError)
			}
			if ts.node.hash() != before {
				t.Errorf("%s %s changed the state hash", tt.method, tt.path)
			}
		})
	}
}

func TestStaleVersusConsistentRead(t *testing.T) {
	ts := startAdmin(t)
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"a"}`)
	old := ts.node.f.View()
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"b"}`)
	ts.node.set(func(n *fakeNode) { n.frozen = old }) // the local replica lags by one write

	tests := []struct {
		path string
		want int
	}{
		{"/api/v0/endptjobs/", 2},
		{"/api/v0/endptjobs/?stale=false", 2},
		{"/api/v0/endptjobs/?stale=true", 1},
		{"/api/v0/endptjobs/?stale=1", 1},
	}
	for _, tt := range tests {
		m := ts.mustOK(t, "GET", tt.path, "")
		if n := len(m["results"].([]any)); n != tt.want {
			t.Errorf("GET %s = %d endpoints, want %d", tt.path, n, tt.want)
		}
	}
	if status, _ := ts.call(t, "GET", "/api/v0/endptjobs/2/?stale=true", ""); status != http.StatusNotFound {
		t.Errorf("stale GET of a write the replica lacks = %d, want 404", status)
	}
	ts.mustOK(t, "GET", "/api/v0/endptjobs/2/", "")
	// A PUT on an object the lagging replica lacks falls back to a consistent read.
	ts.mustOK(t, "PUT", "/api/v0/endptjobs/2/", `{"min_load":3}`)
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name       string
		staleAfter time.Duration
		st         Status
		want       int
	}{
		{"leader", 0, Status{State: "Leader", Leader: "n1"}, 200},
		{"follower in contact", time.Second, Status{State: "Follower", Leader: "n1", LastContactMS: 50}, 200},
		{"no leader", 0, Status{State: "Candidate"}, 503},
		{"stale flag", 0, Status{State: "Follower", Leader: "n1", Stale: true}, 503},
		{"contact too old", time.Second, Status{State: "Follower", Leader: "n1", LastContactMS: 5000}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Config{StaleAfter: tt.staleAfter}) // no token: health needs none
			ts.node.set(func(n *fakeNode) { n.status = tt.st })
			status, m := ts.callAuth(t, "GET", "/v1/health", "", "")
			wantStatus := "ok"
			if tt.want != 200 {
				wantStatus = "unavailable"
			}
			if status != tt.want || m["status"] != wantStatus || (tt.want != 200 && m["reason"] == "") {
				t.Errorf("GET /v1/health with %+v = %d %v, want %d %s", tt.st, status, m, tt.want, wantStatus)
			}
		})
	}
}

func TestClusterStatus(t *testing.T) {
	ts := startServer(t, Config{})
	st := Status{ID: "n2", State: "Follower", Leader: "n1", Term: 3, AppliedIndex: 9, CommitIndex: 10,
		Voters: []string{"n1", "n2", "n3"}, LastContactMS: 12, StateHash: "abc"}
	ts.node.set(func(n *fakeNode) { n.status = st })
	status, raw := ts.raw(t, "GET", "/v1/cluster", "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /v1/cluster = %d %s, want 200", status, raw)
	}
	var got map[string]any
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "state", "leader", "term", "applied_index", "commit_index",
		"voters", "nonvoters", "last_contact_ms", "stale", "state_hash"} {
		if _, ok := got[k]; !ok {
			t.Errorf("GET /v1/cluster = %s: missing %q", raw, k)
		}
	}
	var back Status
	if err := json.Unmarshal(raw, &back); err != nil || back.CommitIndex != 10 || back.Leader != "n1" ||
		len(back.Voters) != 3 || back.Nonvoters == nil {
		t.Errorf("GET /v1/cluster = %+v (%v), want %+v with nonvoters []", back, err, st)
	}
}

func TestRemoveServer(t *testing.T) {
	tests := []struct {
		name, body string
		opErr      error
		want       int
	}{
		{"ok", `{"id":"n3"}`, nil, 200},
		{"missing id", `{}`, nil, 400},
		{"id not a string", `{"id":3}`, nil, 400},
		{"malformed", `{"id":`, nil, 400},
		{"unavailable", `{"id":"n3"}`, errUnavailable{}, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startAdmin(t)
			ts.node.set(func(n *fakeNode) { n.opErr = tt.opErr })
			status, m := ts.call(t, "POST", "/v1/cluster/remove", tt.body)
			if status != tt.want || (status == 200) != (m["success"] == true) {
				t.Errorf("POST /v1/cluster/remove %s = %d %v, want %d", tt.body, status, m, tt.want)
			}
			if wantRemoved := tt.want == 200; wantRemoved != (len(ts.node.removed) == 1) {
				t.Errorf("removed = %v after %s", ts.node.removed, tt.body)
			}
		})
	}
}

func TestSnapshotSaveRestore(t *testing.T) {
	ts := startAdmin(t)
	seed(t, ts)
	want := ts.node.hash()
	status, snap := ts.raw(t, "GET", "/v1/snapshot", "Bearer "+testToken, nil)
	if status != http.StatusOK || len(snap) == 0 {
		t.Fatalf("GET /v1/snapshot = %d with %d bytes, want 200 and a body", status, len(snap))
	}
	ts.mustOK(t, "DELETE", "/api/v0/endptjobs/1/", "")
	if ts.node.hash() == want {
		t.Fatal("delete did not change the state")
	}
	status, m := ts.call(t, "POST", "/v1/snapshot", string(snap))
	if status != http.StatusOK || m["success"] != true {
		t.Fatalf("POST /v1/snapshot = %d %v, want 200", status, m)
	}
	if got := ts.node.hash(); got != want {
		t.Errorf("state hash after restore = %s, want %s", got, want)
	}

	// Garbage larger than the console's 1 MiB limit is read (this path allows
	// more) and refused by the restore as corrupt.
	garbage := strings.Repeat("x", 2<<20)
	status, m = ts.call(t, "POST", "/v1/snapshot", garbage)
	if status != http.StatusBadRequest || m["success"] != false {
		t.Errorf("POST /v1/snapshot with garbage = %d %v, want 400", status, m)
	}
	if got := ts.node.hash(); got != want {
		t.Errorf("refused restore changed the state hash")
	}
}

func TestSnapshotSaveUnavailable(t *testing.T) {
	ts := startAdmin(t)
	ts.node.set(func(n *fakeNode) { n.opErr = errUnavailable{} })
	status, m := ts.call(t, "GET", "/v1/snapshot", "")
	if status != http.StatusServiceUnavailable || m["error"] != "unavailable" {
		t.Errorf("GET /v1/snapshot while unavailable = %d %v, want 503", status, m)
	}
	status, m = ts.call(t, "POST", "/v1/snapshot", "x")
	if status != http.StatusServiceUnavailable || m["error"] != "unavailable" {
		t.Errorf("POST /v1/snapshot while unavailable = %d %v, want 503", status, m)
	}
}

// TestBodyTooLargeByHeader announces an oversized body without sending it:
// the server must answer 413 in the console's shape from the header alone.
func TestBodyTooLargeByHeader(t *testing.T) {
	ts := startAdmin(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "POST /api/v0/endptjobs/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", testToken, 64<<20)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil || resp.StatusCode != 413 || m["success"] != false || m["msg"] == "" {
		t.Errorf("oversized Content-Length = %d %s, want 413 with the error shape", resp.StatusCode, buf.Bytes())
	}
}

func TestRouting(t *testing.T) {
	ts := startServer(t, Config{AdminTokenHash: sha256.Sum256([]byte(testToken))})
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/health/", 200},
		{"POST", "/v1/health", 405},
		{"POST", "/v1/cluster", 405},
		{"GET", "/v1/cluster/remove", 405},
		{"PUT", "/v1/snapshot", 405},
		{"GET", "/nope", 404},
		{"GET", "/api/v0/", 404},
	}
	for _, tt := range tests {
		status, m := ts.call(t, tt.method, tt.path, "")
		if status != tt.want || m["success"] == true {
			t.Errorf("%s %s = %d %v, want %d", tt.method, tt.path, status, m, tt.want)
		}
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"zero", Config{}, true},
		{"default", DefaultConfig(), true},
		{"negative body", Config{MaxBody: -1}, false},
		{"negative timeout", Config{RequestTimeout: -time.Second}, false},
		{"negative stale", Config{StaleAfter: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate(%+v) = %v, want ok %v", tt.cfg, err, tt.ok)
			}
		})
	}
	s := New(Config{}, nil, nil, nil, nil)
	if s.cfg.MaxBody != DefaultMaxBody || s.cfg.RequestTimeout != DefaultRequestTimeout || s.Addr() != DefaultAddr {
		t.Errorf("New(Config{}) = %+v, want defaults filled in", s.cfg)
	}
	if err := s.Shutdown(); !errors.Is(err, ErrNotServing) {
		t.Errorf("Shutdown before Serve = %v, want ErrNotServing", err)
	}
}

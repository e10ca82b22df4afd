package edge

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

const testToken = "s3cret-admin-token"

// fakeNode is an in-memory cluster node: Apply runs commands on a real
// fsm.FSM synchronously; errors and a frozen (stale) replica can be injected.
type fakeNode struct {
	mu       sync.Mutex
	f        *fsm.FSM
	index    uint64
	applyErr error     // returned by Apply when set
	readErr  error     // returned by ConsistentRead when set
	frozen   *fsm.View // what View returns when set (a lagging replica)
	status   Status
	removed  []string
	opErr    error // returned by RemoveServer and Snapshot* when set
}

var (
	_ Replica = (*fakeNode)(nil)
	_ Writer  = (*fakeNode)(nil)
	_ Reader  = (*fakeNode)(nil)
	_ Cluster = (*fakeNode)(nil)
)

func newFakeNode() *fakeNode {
	return &fakeNode{f: fsm.New(), status: Status{ID: "n1", State: "leader", Leader: "n1", Term: 1,
		Voters: []string{"n1", "n2", "n3"}}}
}

func (n *fakeNode) Apply(_ context.Context, cmds ...fsm.Command) ([]fsm.Result, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.applyErr != nil {
		return nil, n.applyErr
	}
	n.index++
	rs := n.f.ApplyBatch([]fsm.Entry{{Index: n.index, Term: 1, Data: fsm.EncodeBatch(cmds)}})
	return rs[0], nil
}

func (n *fakeNode) ConsistentRead(context.Context) (*fsm.View, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.readErr != nil {
		return nil, n.readErr
	}
	return n.f.View(), nil
}

func (n *fakeNode) View() *fsm.View {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.frozen != nil {
		return n.frozen
	}
	return n.f.View()
}

func (n *fakeNode) Status() Status {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.status
}

func (n *fakeNode) RemoveServer(_ context.Context, id string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.opErr != nil {
		return n.opErr
	}
	n.removed = append(n.removed, id)
	return nil
}

func (n *fakeNode) SnapshotSave(_ context.Context, w io.Writer) error {
	if err := n.err(); err != nil {
		return err
	}
	_, err := n.f.Snapshot().WriteTo(w)
	return err
}

func (n *fakeNode) SnapshotRestore(_ context.Context, r io.Reader) error {
	if err := n.err(); err != nil {
		return err
	}
	return n.f.Restore(r)
}

func (n *fakeNode) err() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.opErr
}

func (n *fakeNode) set(fn func(n *fakeNode)) {
	n.mu.Lock()
	defer n.mu.Unlock()
	fn(n)
}

func (n *fakeNode) hash() string { return n.f.View().Hash() }

// errUnavailable is what cluster's "no leader / no quorum" errors look like.
type errUnavailable struct{}

func (errUnavailable) Error() string     { return "cluster: no leader" }
func (errUnavailable) Unavailable() bool { return true }

// testServer is a Server on a real 127.0.0.1:0 listener.
type testServer struct {
	url  string
	node *fakeNode
	srv  *Server
}

func startServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	node := newFakeNode()
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	srv := New(cfg, node, node, node, node)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		httpClient.CloseIdleConnections()
		if err := srv.Shutdown(); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	return &testServer{url: "http://" + ln.Addr().String(), node: node, srv: srv}
}

// startAdmin is a server with the test admin token configured.
func startAdmin(t *testing.T) *testServer {
	t.Helper()
	return startServer(t, Config{AdminTokenHash: sha256.Sum256([]byte(testToken))})
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends one request with the admin token and decodes a JSON answer.
func (ts *testServer) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	return ts.callAuth(t, method, path, "Bearer "+testToken, body)
}

func (ts *testServer) callAuth(t *testing.T, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	status, raw := ts.raw(t, method, path, auth, strings.NewReader(body))
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: answer %q is not a JSON object: %v", method, path, raw, err)
	}
	return status, m
}

func (ts *testServer) raw(t *testing.T, method, path, auth string, body io.Reader) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, raw
}

// mustOK calls and fails the test unless the answer is 200 success:true.
func (ts *testServer) mustOK(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	status, m := ts.call(t, method, path, body)
	if status != http.StatusOK || m["success"] != true {
		t.Fatalf("%s %s %s = %d %v, want 200 success", method, path, body, status, m)
	}
	return m
}

// num reads a JSON number field as uint64.
func num(t *testing.T, m map[string]any, key string) uint64 {
	t.Helper()
	f, ok := m[key].(float64)
	if !ok {
		t.Fatalf("answer %v: %q is %T, want a number", m, key, m[key])
	}
	return uint64(f)
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

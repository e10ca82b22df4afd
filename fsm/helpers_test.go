package fsm

import (
	"bytes"
	"encoding/json"
	"testing"
)

// harness applies commands to an FSM, one log entry per apply call.
type harness struct {
	t     testing.TB
	f     *FSM
	index uint64
	term  uint64
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	return &harness{t: t, f: New(), term: 1}
}

// apply commits cmds as one entry and returns their Results.
func (h *harness) apply(cmds ...Command) []Result {
	h.t.Helper()
	h.index++
	out := h.f.ApplyBatch([]Entry{{Index: h.index, Term: h.term, Data: EncodeBatch(cmds)}})
	if len(out) != 1 || len(out[0]) != len(cmds) {
		h.t.Fatalf("ApplyBatch returned %d entries / %v, want 1 entry of %d results", len(out), out, len(cmds))
	}
	return out[0]
}

// mustOK applies one command and fails the test if it was rejected.
func (h *harness) mustOK(c Command) Result {
	h.t.Helper()
	r := h.apply(c)[0]
	if r.Code != "" {
		h.t.Fatalf("apply %s = %+v, want ok", c.Type, r)
	}
	return r
}

// cmd builds a command without a request id.
func cmd(t testing.TB, typ CmdType, payload any) Command {
	t.Helper()
	return cmdID(t, typ, RequestID{}, payload)
}

func cmdID(t testing.TB, typ CmdType, id RequestID, payload any) Command {
	t.Helper()
	c, err := NewCommand(typ, id, payload)
	if err != nil {
		t.Fatalf("NewCommand(%s) = %v", typ, err)
	}
	return c
}

func rid(b byte) RequestID {
	var id RequestID
	for i := range id {
		id[i] = b + byte(i)
	}
	return id
}

func endpoint(name string) Endpoint {
	e := EndpointDefaults()
	e.Name = name
	e.APIKey = "key-" + name
	e.CreatedAt = 1700000000.5
	e.UserID = 7
	return e
}

func group(endpointID uint64, name string) Group {
	g := GroupDefaults()
	g.EndpointID = endpointID
	g.Name = name
	g.Provider = "static"
	g.WorkerToken = "tok-" + name
	g.CreatedAt = 1700000001
	return g
}

func worker(id, groupID uint64) Worker {
	return Worker{ID: id, GroupID: groupID, URL: "http://10.0.0.1:8000", State: WorkerLoading, Cost: 0.001, RegisteredAt: 1700000002}
}

func patch(t testing.TB, fields map[string]any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stateBytes is the canonical encoding of v with the applied index zeroed:
// two views with equal stateBytes hold the same state.
func stateBytes(t testing.TB, v *View) []byte {
	t.Helper()
	s := v.successor()
	s.Index = 0
	b, err := canonicalBytes(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func snapshotBytes(t testing.TB, f *FSM) []byte {
	t.Helper()
	var buf bytes.Buffer
	n, err := f.Snapshot().WriteTo(&buf)
	if err != nil || n != int64(buf.Len()) {
		t.Fatalf("WriteTo = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	return buf.Bytes()
}

func f64(x float64) *float64 { return &x }
func i64(x int64) *int64     { return &x }

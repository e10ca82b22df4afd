package jepsen

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"time"
)

// Op types, as in Jepsen: an invocation and its completion.
const (
	TypeInvoke = "invoke"
	TypeOK     = "ok"   // definitely happened
	TypeFail   = "fail" // definitely did not happen
	TypeInfo   = "info" // outcome unknown (timeout, 503 on a write, …)
)

// Op is one line of the history (JSON lines). Time is nanoseconds since the
// run started. Fields not used by an op's workload stay empty.
type Op struct {
	Index    int      `json:"index"`
	Time     int64    `json:"time"`
	Type     string   `json:"type"`
	Process  int      `json:"process"`
	Workload string   `json:"workload"`
	F        string   `json:"f"`
	Node     string   `json:"node,omitempty"`
	Key      string   `json:"key,omitempty"`
	Value    int64    `json:"value,omitempty"`
	Rev      uint64   `json:"rev,omitempty"`    // revision read or written
	Expect   uint64   `json:"expect,omitempty"` // cas: if_revision
	Name     string   `json:"name,omitempty"`   // set: endpoint name
	Names    []string `json:"names,omitempty"`  // set: final read
	Nodes    []string `json:"nodes,omitempty"`  // nemesis targets
	Phase    string   `json:"phase,omitempty"`  // nemesis: start or stop
	Detail   string   `json:"detail,omitempty"`
	Error    string   `json:"error,omitempty"`
	Worker   uint64   `json:"worker,omitempty"` // route: worker registered, removed or named
	Sig      string   `json:"sig,omitempty"`    // route: "ok" or "bad" signature
}

// History records ops in order; safe for concurrent use. It also streams
// them to a JSON lines file when one is given.
type History struct {
	start time.Time
	mu    sync.Mutex
	ops   []Op
	f     *os.File
	w     *bufio.Writer
	procs int
}

// NewHistory starts a history; path may be "" (memory only).
func NewHistory(path string) (*History, error) {
	h := &History{start: time.Now()}
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		h.f, h.w = f, bufio.NewWriter(f)
	}
	return h, nil
}

// Now is the current history time.
func (h *History) Now() int64 { return int64(time.Since(h.start)) }

// At converts a history time back to wall time.
func (h *History) At(t int64) time.Time { return h.start.Add(time.Duration(t)) }

// NewProcess returns a fresh process (client) id.
func (h *History) NewProcess() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.procs
	h.procs++
	return p
}

// Add stamps op with the time and index and records it.
func (h *History) Add(op Op) Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	op.Time = h.Now()
	op.Index = len(h.ops)
	h.ops = append(h.ops, op)
	if h.w != nil {
		b, _ := json.Marshal(op)
		h.w.Write(append(b, '\n'))
	}
	return op
}

// Ops returns a copy of the ops so far.
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...)
}

// Close flushes and closes the file.
func (h *History) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.w == nil {
		return nil
	}
	h.w.Flush()
	err := h.f.Close()
	h.w, h.f = nil, nil
	return err
}

// Pair is an invocation with its completion (Done.Type "" while open).
type Pair struct {
	Call Op
	Done Op
}

// Pairs matches each invocation of workload with the next completion of
// the same process. An invocation without completion is left open.
func Pairs(ops []Op, workload string) []Pair {
	open := map[int]int{}
	var out []Pair
	for _, op := range ops {
		if op.Workload != workload {
			continue
		}
		if op.Type == TypeInvoke {
			open[op.Process] = len(out)
			out = append(out, Pair{Call: op})
			continue
		}
		if i, ok := open[op.Process]; ok {
			out[i].Done = op
			delete(open, op.Process)
		}
	}
	return out
}

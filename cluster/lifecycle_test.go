package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/drover-io/drover/fsm"
)

func TestLifecycleChange(t *testing.T) {
	const ttl = 10 * time.Second
	now := int64(1000 * time.Second)
	fresh, stale := now-int64(time.Second), now-int64(11*time.Second)
	loaded := &fsm.WorkerLoad{LoadTime: 3, MaxPerf: 50, URL: "http://w:1"}
	loading := &fsm.WorkerLoad{URL: "http://w:1"}
	failed := &fsm.WorkerLoad{ErrorMsg: "cuda oom", LoadTime: 3, MaxPerf: 50}
	w := func(state string) *fsm.Worker {
		return &fsm.Worker{ID: 1, State: state, URL: "http://w:1", MaxPerf: 50}
	}
	tests := []struct {
		name   string
		w      *fsm.Worker
		load   *fsm.WorkerLoad
		heard  int64
		grace  int64
		want   string // "" = no change
		wantOK bool
	}{
		{"loading stays loading", w(fsm.WorkerLoading), loading, fresh, 0, "", false},
		{"loading to ready", &fsm.Worker{ID: 1, State: fsm.WorkerLoading}, loaded, fresh, 0, fsm.WorkerReady, true},
		{"ready stays ready", w(fsm.WorkerReady), loaded, fresh, 0, "", false},
		{"ready with a new perf", w(fsm.WorkerReady), &fsm.WorkerLoad{LoadTime: 3, MaxPerf: 60}, fresh, 0, fsm.WorkerReady, true},
		{"error message", w(fsm.WorkerReady), failed, fresh, 0, fsm.WorkerError, true},
		{"error stays error", &fsm.Worker{ID: 1, State: fsm.WorkerError, ErrorMsg: "cuda oom"}, failed, fresh, 0, "", false},
		{"ready to lost", w(fsm.WorkerReady), loaded, stale, 0, fsm.WorkerLost, true},
		{"loading to lost", w(fsm.WorkerLoading), loading, stale, 0, fsm.WorkerLost, true},
		{"never reported, lost after ttl", w(fsm.WorkerLoading), nil, 0, 0, fsm.WorkerLost, true},
		{"fresh leader's grace", w(fsm.WorkerReady), loaded, stale, now - int64(time.Second), "", false},
		{"lost stays lost", w(fsm.WorkerLost), loaded, stale, 0, "", false},
		{"error not lost", &fsm.Worker{ID: 1, State: fsm.WorkerError, ErrorMsg: "x"}, failed, stale, 0, "", false},
		{"lost back to ready", w(fsm.WorkerLost), loaded, fresh, 0, fsm.WorkerReady, true},
		{"lost back but loading", w(fsm.WorkerLost), loading, fresh, 0, fsm.WorkerLoading, true},
		{"restarted ready worker reloads", w(fsm.WorkerReady), loading, fresh, 0, fsm.WorkerLoading, true},
		{"creating to ready", w(fsm.WorkerCreating), loaded, fresh, 0, fsm.WorkerReady, true},
		{"creating never lost", w(fsm.WorkerCreating), nil, 0, 0, "", false},
		{"stopped belongs to the scheduler", w(fsm.WorkerStopped), loaded, fresh, 0, "", false},
		{"draining belongs to the scheduler", w(fsm.WorkerDraining), nil, 0, 0, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := lifecycleChange(tt.w, tt.load, tt.heard, now, tt.grace, ttl)
			if ok != tt.wantOK || got.State != tt.want {
				t.Errorf("lifecycleChange(%s) = %+v, %v, want state %q, %v", tt.w.State, got, ok, tt.want, tt.wantOK)
			}
			if got.State == fsm.WorkerReady && (got.MaxPerf != tt.load.MaxPerf || got.URL != tt.load.URL) {
				t.Errorf("ready change %+v does not carry max_perf/url of %+v", got, tt.load)
			}
		})
	}
}

// startNodesWith is startNodes with a config hook.
func startNodesWith(t *testing.T, n int, mut func(c *Config)) []*Node {
	t.Helper()
	var nodes []*Node
	for i := 0; i < n; i++ {
		cfg := testConfig(t, fmt.Sprintf("n%d", i+1))
		cfg.BootstrapExpect = n
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		mut(&cfg)
		node, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", cfg.ID, err)
		}
		t.Cleanup(func() { node.Shutdown() })
		nodes = append(nodes, node)
	}
	waitLeader(t, nodes)
	return nodes
}

// setupWorker creates endpoint "llama", a static group with token "tok" and
// registers worker id through the group's token; it returns nothing but
// fails the test on error.
func setupWorker(t *testing.T, n *Node, id uint64) {
	t.Helper()
	g := fsm.GroupDefaults()
	g.Name, g.Provider, g.WorkerToken = "static", "static", "tok"
	mk := func(typ fsm.CmdType, p any) fsm.Command {
		c, err := fsm.NewCommand(typ, fsm.NewRequestID(), p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cmds := []fsm.Command{
		createEndpointCmd(t, "llama"),
		mk(fsm.CmdCreateGroup, fsm.CreateGroup{Group: g, EndpointName: "llama"}),
		mk(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: fsm.Worker{ID: id, State: fsm.WorkerLoading}, MToken: "tok"}),
	}
	for _, c := range cmds {
		if res, err := n.Apply(context.Background(), c); err != nil || res[0].Code != "" {
			t.Fatalf("Apply(%s) = %+v, %v", c.Type, res, err)
		}
	}
}

// registerWorkers registers workers ids (loading) in the static group of
// setupWorker, many per write.
func registerWorkers(t *testing.T, n *Node, ids []uint64) {
	t.Helper()
	for len(ids) > 0 {
		k := min(len(ids), 100)
		var cmds []fsm.Command
		for _, id := range ids[:k] {
			c, err := fsm.NewCommand(fsm.CmdRegisterWorker, fsm.NewRequestID(),
				fsm.RegisterWorker{Worker: fsm.Worker{ID: id, State: fsm.WorkerLoading}, MToken: "tok"})
			if err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, c)
		}
		res, err := n.Apply(context.Background(), cmds...)
		if err != nil {
			t.Fatalf("register %d workers: %v", k, err)
		}
		for _, r := range res {
			if r.Code != "" {
				t.Fatalf("register: %+v", r)
			}
		}
		ids = ids[k:]
	}
}

func workerState(nodes []*Node, id uint64, state string) func() bool {
	return func() bool {
		for _, n := range nodes {
			if w := n.View().Workers[id]; w == nil || w.State != state {
				return false
			}
		}
		return true
	}
}

func TestLifecycleTransitions(t *testing.T) {
	const ttl = 1500 * time.Millisecond
	nodes := startNodesWith(t, 3, func(c *Config) { c.WorkerTTL = ttl })
	f := follower(nodes)
	setupWorker(t, f, 500)
	rep := func(mut func(r *fsm.LoadReport)) {
		r := &fsm.LoadReport{WorkerID: 500, URL: "http://127.0.0.1:9000"}
		if mut != nil {
			mut(r)
		}
		f.Overlay().Report(r)
	}
	rep(nil) // alive, not loaded yet
	for _, n := range nodes {
		waitFor(t, 3*time.Second, "report on "+n.ID(), func() bool { return n.Overlay().Load(500) != nil })
	}
	rep(func(r *fsm.LoadReport) { r.LoadTime, r.MaxPerf = 4.5, 120 })
	waitFor(t, 5*time.Second, "ready everywhere", workerState(nodes, 500, fsm.WorkerReady))
	if w := nodes[0].View().Workers[500]; w.MaxPerf != 120 || w.URL != "http://127.0.0.1:9000" {
		t.Errorf("ready worker = %+v, want max_perf 120 and the reported url", w)
	}
	waitFor(t, 10*time.Second, "lost after the ttl", workerState(nodes, 500, fsm.WorkerLost))
	rep(func(r *fsm.LoadReport) { r.LoadTime, r.MaxPerf, r.CurLoad = 4.5, 120, 1 })
	waitFor(t, 5*time.Second, "ready again", workerState(nodes, 500, fsm.WorkerReady))
	rep(func(r *fsm.LoadReport) { r.LoadTime, r.MaxPerf, r.ErrorMsg = 4.5, 120, "cuda oom" })
	waitFor(t, 5*time.Second, "error", workerState(nodes, 500, fsm.WorkerError))
	if w := nodes[1].View().Workers[500]; w.ErrorMsg != "cuda oom" {
		t.Errorf("error worker = %+v, want its error_msg", w)
	}
}

func TestLifecycleOnlyLeaderWrites(t *testing.T) {
	nodes := startNodesWith(t, 3, func(c *Config) { c.WorkerTTL = time.Hour })
	leader := waitLeader(t, nodes)
	setupWorker(t, leader, 600) // never reports: due to be lost once the grace is over
	ctx := context.Background()
	f := follower(nodes)
	waitFor(t, 5*time.Second, "worker on the follower", func() bool { return f.View().Workers[600] != nil })
	if got := lifecycleChanges(f.View(), f.Overlay(), time.Now().UnixNano(), 0, time.Nanosecond); len(got) != 1 {
		t.Fatalf("lifecycleChanges = %+v, want worker 600 due", got)
	}
	later := time.Now().Add(2 * time.Hour).UnixNano() // past any ttl and grace
	f.lifecycleTick(ctx, later, 0)
	if err := leader.raft.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	if w := leader.View().Workers[600]; w.State != fsm.WorkerLoading {
		t.Fatalf("after a follower's lifecycle tick: worker = %+v, want loading", w)
	}
	leader.lifecycleTick(ctx, later, 0)
	waitFor(t, 5*time.Second, "lost written by the leader", workerState(nodes, 600, fsm.WorkerLost))
}

func TestOverlayOnNodes(t *testing.T) {
	nodes := startNodes(t, 3)
	f := follower(nodes)
	f.Overlay().Report(&fsm.LoadReport{WorkerID: 9, CurLoad: 2, MaxPerf: 10, LoadTime: 1})
	start := time.Now()
	for _, n := range nodes {
		waitFor(t, 3*time.Second, "worker 9 on "+n.ID(), func() bool {
			w := n.Overlay().Load(9)
			return w != nil && w.CurLoad == 2 && w.Node == f.ID()
		})
	}
	t.Logf("report visible on every node after %s", time.Since(start))
	for _, n := range nodes {
		waitFor(t, 3*time.Second, "freshness on "+n.ID(), func() bool {
			fr := n.Overlay().Freshness()
			if len(fr) != 2 {
				return false
			}
			for _, age := range fr {
				if age > 2*time.Second {
					return false
				}
			}
			return true
		})
	}
}

func TestLifecycleBatchesBoundedBySize(t *testing.T) {
	huge := strings.Repeat("<", 64<<10) // JSON-escapes to six bytes each
	tests := []struct {
		name    string
		changes []fsm.SetWorkerState
	}{
		{"none", nil},
		{"small, over the count", manyChanges(maxLifecycleBatch*2+3, "")},
		{"largest error messages", manyChanges(300, storedErrorMsg(huge))},
		{"one change over the size alone", []fsm.SetWorkerState{{ID: 1, State: fsm.WorkerError, ErrorMsg: strings.Repeat("<", maxLifecycleBytes)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []fsm.SetWorkerState
			for _, b := range lifecycleBatches(tt.changes, slog.Default()) {
				size := 0
				for _, c := range b.cmds {
					size += len(c.Encode())
				}
				if len(b.cmds) > maxLifecycleBatch || (size > maxLifecycleBytes && len(b.cmds) > 1) {
					t.Errorf("batch of %d commands, %d bytes: over %d commands or %d bytes", len(b.cmds), size, maxLifecycleBatch, maxLifecycleBytes)
				}
				if len(b.cmds) != len(b.changes) {
					t.Fatalf("batch with %d commands for %d changes", len(b.cmds), len(b.changes))
				}
				got = append(got, b.changes...)
			}
			if len(got) != len(tt.changes) {
				t.Fatalf("batches carry %d changes, want %d", len(got), len(tt.changes))
			}
			for i := range got {
				if got[i].ID != tt.changes[i].ID {
					t.Fatalf("change %d is worker %d, want %d (order kept)", i, got[i].ID, tt.changes[i].ID)
				}
			}
		})
	}
	if n := len(storedErrorMsg(huge)); n != maxStoredErrorMsg {
		t.Errorf("stored error_msg of 64 KiB = %d bytes, want %d", n, maxStoredErrorMsg)
	}
	if got := storedErrorMsg(strings.Repeat("é", maxStoredErrorMsg)); !utf8.ValidString(got) || len(got) > maxStoredErrorMsg {
		t.Errorf("stored multi-byte error_msg: %d bytes, valid UTF-8 %v", len(got), utf8.ValidString(got))
	}
}

func manyChanges(n int, msg string) []fsm.SetWorkerState {
	out := make([]fsm.SetWorkerState, n)
	for i := range out {
		out[i] = fsm.SetWorkerState{ID: uint64(i + 1), State: fsm.WorkerError, ErrorMsg: msg}
	}
	return out
}

// Hundreds of workers reporting the largest error message a report may
// carry (64 KiB, all characters JSON escapes) do not freeze the lifecycle:
// they all go to error, a fresh worker becomes ready within seconds and a
// silent one still goes lost.
func TestLifecycleErrorFloodKeepsLifecycleMoving(t *testing.T) {
	const ttl = 2 * time.Second
	const flood = 300
	nodes := startNodesWith(t, 3, func(c *Config) { c.WorkerTTL = ttl })
	leader := waitLeader(t, nodes)
	setupWorker(t, leader, 1) // the silent worker
	var ids []uint64
	for i := uint64(0); i < flood; i++ {
		ids = append(ids, 1000+i)
	}
	registerWorkers(t, leader, append(ids, 2))
	f := follower(nodes)
	huge := strings.Repeat("<", 64<<10)
	report := func(id uint64, mut func(r *fsm.LoadReport)) {
		r := &fsm.LoadReport{WorkerID: id, URL: fmt.Sprintf("http://127.0.0.1:%d", id), LoadTime: 3, MaxPerf: 10}
		mut(r)
		f.Overlay().Report(r)
	}
	start := time.Now()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the flood keeps reporting, as workers do
		defer close(done)
		for {
			for i, id := range ids {
				report(id, func(r *fsm.LoadReport) { r.ErrorMsg = huge + strconv.Itoa(i) })
			}
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	fresh := time.Now()
	waitFor(t, 10*time.Second, "fresh worker ready during the flood", func() bool {
		report(2, func(r *fsm.LoadReport) {})
		return workerState(nodes, 2, fsm.WorkerReady)()
	})
	t.Logf("fresh worker ready on every node %s after its first report", time.Since(fresh).Round(time.Millisecond))
	waitFor(t, 15*time.Second, "flooded workers in error", func() bool {
		report(2, func(r *fsm.LoadReport) {})
		for _, id := range ids {
			if w := leader.View().Workers[id]; w == nil || w.State != fsm.WorkerError {
				return false
			}
		}
		return true
	})
	t.Logf("%d workers in error %s after the flood began", flood, time.Since(start).Round(time.Millisecond))
	if w := leader.View().Workers[ids[0]]; len(w.ErrorMsg) != maxStoredErrorMsg {
		t.Errorf("stored error_msg = %d bytes, want %d", len(w.ErrorMsg), maxStoredErrorMsg)
	}
	waitFor(t, 4*ttl+5*time.Second, "silent worker lost", func() bool {
		report(2, func(r *fsm.LoadReport) {})
		return workerState(nodes, 1, fsm.WorkerLost)()
	})
}

package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler/provider"
	psim "github.com/drover-io/drover/scheduler/provider/sim"
)

// fakeHost is a one-node "cluster" for the scheduler loop: an FSM applied
// in-process with a settable term and leadership.
type fakeHost struct {
	mu        sync.Mutex
	f         *fsm.FSM
	index     uint64
	term      uint64
	leader    bool
	verifyErr error
	loadList  []fsm.WorkerLoad
	queues    map[uint64][]fsm.QueueEntry
}

func newFakeHost() *fakeHost {
	return &fakeHost{f: fsm.New(), term: 1, leader: true, queues: map[uint64][]fsm.QueueEntry{}}
}

func (h *fakeHost) View() *fsm.View { return h.f.View() }

func (h *fakeHost) leaderApply(_ context.Context, term uint64, cmds ...fsm.Command) ([]fsm.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.leader || term != h.term {
		return nil, ErrNotLeader
	}
	return h.applyLocked(cmds), nil
}

func (h *fakeHost) applyLocked(cmds []fsm.Command) []fsm.Result {
	h.index++
	return h.f.ApplyBatch([]fsm.Entry{{Index: h.index, Term: h.term, Data: fsm.EncodeBatch(cmds)}})[0]
}

// apply commits as whoever leads (setup and "old leader" writes).
func (h *fakeHost) apply(t testing.TB, cmds ...fsm.Command) []fsm.Result {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	res := h.applyLocked(cmds)
	for i, r := range res {
		if r.Code != "" {
			t.Fatalf("apply %v: %s %s", cmds[i].Type, r.Code, r.Msg)
		}
	}
	return res
}

func (h *fakeHost) verifyLeader(_ context.Context, term uint64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.verifyErr != nil {
		return h.verifyErr
	}
	if !h.leader || term != h.term {
		return ErrNotLeader
	}
	return nil
}

func (h *fakeHost) loads() []fsm.WorkerLoad {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fsm.WorkerLoad(nil), h.loadList...)
}

func (h *fakeHost) queue(id uint64) []fsm.QueueEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]fsm.QueueEntry(nil), h.queues[id]...)
}

// newTerm makes the host leader of the next term (a leader change).
func (h *fakeHost) newTerm() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.term++
	h.leader = true
	return h.term
}

// addEndpoint creates an endpoint with one group using provider prov.
func (h *fakeHost) addEndpoint(t testing.TB, name, prov string, edit func(*fsm.Endpoint)) (epID, groupID uint64) {
	t.Helper()
	ep := fsm.EndpointDefaults()
	ep.Name, ep.ColdWorkers, ep.MaxWorkers = name, 0, 5
	if edit != nil {
		edit(&ep)
	}
	res := h.apply(t, mustCommand(fsm.CmdCreateEndpoint, fsm.CreateEndpoint{Endpoint: ep}))
	g := fsm.GroupDefaults()
	g.EndpointID, g.Provider, g.Name = res[0].ID, prov, name+"-g"
	res2 := h.apply(t, mustCommand(fsm.CmdCreateGroup, fsm.CreateGroup{Group: g}))
	return res[0].ID, res2[0].ID
}

// testClock is a settable clock for the loop and the sim fleet.
type testClock struct{ *psim.ManualClock }

func newTestClock() testClock { return testClock{psim.NewManualClock(time.Unix(1_700_000_000, 0))} }

// newTestLoop builds a loop in the host's current term.
func newTestLoop(t testing.TB, h *fakeHost, clk testClock, provs map[string]provider.Provider, edit func(*SchedulerConfig)) *schedLoop {
	t.Helper()
	cfg := SchedulerConfig{Providers: provs, Now: clk.Now, RetryBase: time.Millisecond,
		ProviderTimeout: 200 * time.Millisecond, ReconcileEvery: time.Hour}
	if edit != nil {
		edit(&cfg)
	}
	l, err := newSchedLoop(h, cfg, newDecisionLog(100), h.term, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// step runs one tick and waits for every job and reconcile it started.
func (l *schedLoop) step(ctx context.Context) {
	l.tick(ctx)
	l.wg.Wait()
}

// liveInstances counts the fleet's instances that are not gone, per group.
func liveInstances(t testing.TB, p provider.Provider) (total int, perKey map[string]int) {
	t.Helper()
	list, err := p.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perKey = map[string]int{}
	for _, in := range list {
		if in.State.Live() {
			total++
			perKey[in.IntentKey]++
		}
	}
	return total, perKey
}

// capWatch wraps a provider and records the most instances ever live right
// after a Create, and every call made.
type capWatch struct {
	provider.Provider
	mu    sync.Mutex
	peak  int
	calls []string
	fail  func(op string) error // nil: pass through
	block chan struct{}         // non-nil: Create waits on it (or ctx)
}

func (c *capWatch) Create(ctx context.Context, key string, spec provider.GroupSpec) (provider.Instance, error) {
	c.note("create " + key)
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return provider.Instance{}, ctx.Err()
		}
	}
	if c.fail != nil {
		if err := c.fail("create"); err != nil {
			return provider.Instance{}, err
		}
	}
	in, err := c.Provider.Create(ctx, key, spec)
	list, _ := c.Provider.List(ctx)
	n := 0
	for _, x := range list {
		if x.State.Live() {
			n++
		}
	}
	c.mu.Lock()
	c.peak = max(c.peak, n)
	c.mu.Unlock()
	return in, err
}

func (c *capWatch) List(ctx context.Context) ([]provider.Instance, error) {
	if c.fail != nil {
		if err := c.fail("list"); err != nil {
			return nil, err
		}
	}
	return c.Provider.List(ctx)
}

func (c *capWatch) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, s)
}

func (c *capWatch) count(prefix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.calls {
		if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

var errBoom = errors.New("provider: boom")

func dumpJSON(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

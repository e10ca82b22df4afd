package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/provider"
	psim "github.com/drover-io/drover/scheduler/provider/sim"
)

func TestSchedCreatesThroughIntents(t *testing.T) {
	ctx := context.Background()
	h, clk := newFakeHost(), newTestClock()
	fleet := psim.New(psim.Config{CreateDelay: 10 * time.Second}, clk)
	epID, gID := h.addEndpoint(t, "cold", "sim", func(e *fsm.Endpoint) { e.ColdWorkers = 3 })
	l := newTestLoop(t, h, clk, map[string]provider.Provider{"sim": fleet}, nil)
	for range 4 {
		l.step(ctx)
		clk.Advance(time.Second)
	}
	v := h.View()
	ws := v.WorkersOf(gID)
	if len(ws) != 3 {
		t.Fatalf("workers = %d, want the cold pool of 3:\n%s", len(ws), dumpJSON(l.dec.snapshot(0)))
	}
	for _, w := range ws {
		in := v.Intents[w.IntentKey]
		switch {
		case w.ID <= provisionedIDBase || w.InstanceID == "" || len(w.TokenHash) != 64 || w.State != fsm.WorkerCreating:
			t.Errorf("worker = %+v, want a provisioned id, an instance, a token hash, creating", *w)
		case in == nil || in.State != fsm.IntentDone || in.Term != h.term || in.InstanceID != w.InstanceID:
			t.Errorf("intent of worker %d = %+v, want done in term %d with its instance", w.ID, in, h.term)
		}
	}
	total, perKey := liveInstances(t, fleet)
	if total != 3 || len(perKey) != 3 {
		t.Errorf("fleet: %d live over %d keys, want 3 over 3", total, len(perKey))
	}
	d := l.dec.snapshot(epID)
	if n := countDecisions(d, "create", "done"); n != 3 {
		t.Errorf("decisions: %d creates done, want 3:\n%s", n, dumpJSON(d))
	}
}

func countDecisions(d Decisions, kind, outcome string) int {
	n := 0
	for _, e := range d.Endpoints {
		for _, x := range e.Decisions {
			if x.Kind == kind && x.Outcome == outcome {
				n++
			}
		}
	}
	return n
}

func TestSchedMaxWorkersNeverExceeded(t *testing.T) {
	ctx := context.Background()
	h, clk := newFakeHost(), newTestClock()
	fleet := &capWatch{Provider: psim.New(psim.Config{CreateDelay: 10 * time.Second}, clk)}
	epID, gID := h.addEndpoint(t, "capped", "sim", func(e *fsm.Endpoint) { e.ColdWorkers, e.MaxWorkers = 10, 3 })
	// Two orphans the provider still holds: they count until confirmed gone.
	for _, k := range []string{"stray-1", "stray-2"} {
		if _, err := fleet.Provider.Create(ctx, k, provider.GroupSpec{GroupID: gID}); err != nil {
			t.Fatal(err)
		}
	}
	l := newTestLoop(t, h, clk, map[string]provider.Provider{"sim": fleet}, nil)
	for i := range 6 {
		l.step(ctx)
		if total, _ := liveInstances(t, fleet); total > 3 {
			t.Fatalf("tick %d: %d live instances > max_workers 3", i, total)
		}
		clk.Advance(time.Second)
	}
	// A plan asking for far more than the cap is cut by the executor.
	l.dispatch(ctx, h.View(), scheduler.Plan{Actions: []scheduler.Action{
		{Kind: scheduler.Create, EndpointID: epID, GroupID: gID, Count: 10, Reason: "test: too many"}}}, clk.Now())
	l.wg.Wait()
	total, perKey := liveInstances(t, fleet)
	if total != 3 || fleet.peak > 3 {
		t.Errorf("live = %d, peak after a create = %d, want 3 and <= 3", total, fleet.peak)
	}
	if perKey["stray-1"]+perKey["stray-2"] != 0 {
		t.Errorf("orphans still live: %v", perKey)
	}
	if n := countDecisions(l.dec.snapshot(epID), "create", "refused"); n == 0 {
		t.Errorf("no refused create in the decisions:\n%s", dumpJSON(l.dec.snapshot(epID)))
	}
}

func TestSchedReconcileAfterLeaderChange(t *testing.T) {
	ctx := context.Background()
	h, clk := newFakeHost(), newTestClock()
	sim := psim.New(psim.Config{CreateDelay: 10 * time.Second}, clk)
	fleet := &capWatch{Provider: sim}
	_, gID := h.addEndpoint(t, "re", "sim", nil)
	// The old leader (term 1) put creates A and B, registered their workers
	// and created A's instance, then died. It also put a stop, and had
	// finished (and destroyed the worker of) create D.
	put := func(key, kind string, worker uint64) {
		h.apply(t, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: fsm.Intent{Key: key, Kind: kind, GroupID: gID, WorkerID: worker}}))
	}
	reg := func(id uint64, key string) {
		h.apply(t, mustCommand(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: fsm.Worker{ID: id, GroupID: gID, State: fsm.WorkerCreating, IntentKey: key}}))
	}
	put("t1-A", fsm.IntentCreate, 0)
	put("t1-B", fsm.IntentCreate, 0)
	put("t1-D", fsm.IntentCreate, 0)
	reg(provisionedIDBase+1, "t1-A")
	reg(provisionedIDBase+2, "t1-B")
	put("t1-C", fsm.IntentStop, provisionedIDBase+1)
	put("manual-x", fsm.IntentStop, provisionedIDBase+1)
	h.apply(t, mustCommand(fsm.CmdIntentResult, fsm.IntentResult{Key: "t1-D", State: fsm.IntentDone}))
	for _, k := range []string{"t1-A", "t1-D", "unknown-E"} {
		if _, err := sim.Create(ctx, k, provider.GroupSpec{GroupID: gID}); err != nil {
			t.Fatal(err)
		}
	}
	term := h.newTerm()
	l := newTestLoop(t, h, clk, map[string]provider.Provider{"sim": fleet}, nil)
	l.step(ctx)
	l.step(ctx)
	v := h.View()
	want := map[string]string{"t1-A": fsm.IntentDone, "t1-B": fsm.IntentAbandoned, "t1-C": fsm.IntentAbandoned,
		"manual-x": fsm.IntentAbandoned}
	for k, st := range want {
		if in := v.Intents[k]; in == nil || in.State != st || in.Term != 1 {
			t.Errorf("intent %s = %+v, want %s (term 1)", k, in, st)
		}
	}
	if w := v.Workers[provisionedIDBase+1]; w == nil || w.InstanceID == "" {
		t.Errorf("worker of A = %+v, want adopted with its instance", w)
	}
	if w := v.Workers[provisionedIDBase+2]; w != nil {
		t.Errorf("worker of B = %+v, want removed (the provider never started it)", w)
	}
	_, perKey := liveInstances(t, sim)
	if perKey["t1-A"] != 1 || perKey["t1-D"] != 0 || perKey["unknown-E"] != 0 {
		t.Errorf("live per key = %v, want only t1-A (D and E are orphans)", perKey)
	}
	if n := fleet.count("create"); n != 0 {
		t.Errorf("the new leader (term %d) made %d creates, want none (nothing to re-plan)", term, n)
	}

	// A create of an earlier term put just now may still land: it is not
	// abandoned (its worker keeps counting) until its grace has passed.
	h.apply(t, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: fsm.Intent{Key: "t1-F", Kind: fsm.IntentCreate,
		GroupID: gID, CreatedAt: seconds(clk.Now())}}))
	reg(provisionedIDBase+6, "t1-F")
	h.newTerm() // the leader that put it is gone too
	l2 := newTestLoop(t, h, clk, map[string]provider.Provider{"sim": fleet}, nil)
	l2.step(ctx)
	if in := h.View().Intents["t1-F"]; in.State != fsm.IntentPending || h.View().Workers[provisionedIDBase+6] == nil {
		t.Errorf("create in its grace = %+v, want pending with its worker kept", in)
	}
	clk.Advance(l2.createGrace() + time.Second)
	l2.step(ctx)
	if in := h.View().Intents["t1-F"]; in.State != fsm.IntentAbandoned || h.View().Workers[provisionedIDBase+6] != nil {
		t.Errorf("create after its grace = %+v, want abandoned and its worker removed", in)
	}
}

func TestSchedExecutesOnlyItsOwnTerm(t *testing.T) {
	ctx := context.Background()
	h, clk := newFakeHost(), newTestClock()
	fleet := &capWatch{Provider: psim.New(psim.Config{}, clk)}
	epID, gID := h.addEndpoint(t, "own", "sim", func(e *fsm.Endpoint) { e.ColdWorkers = 2 })
	provs := map[string]provider.Provider{"sim": fleet}

	// A loop of term 1 after the cluster moved on to term 2: nothing runs.
	stale := newTestLoop(t, h, clk, provs, nil)
	h.newTerm()
	stale.step(ctx)
	stale.step(ctx)
	if n := fleet.count("create"); n != 0 {
		t.Fatalf("a stale loop made %d creates", n)
	}

	// An intent whose key was committed in another term is never executed.
	l := newTestLoop(t, h, clk, provs, nil)
	h.mu.Lock()
	h.verifyErr = ErrNotLeader // a quorum no longer confirms this leader
	h.mu.Unlock()
	l.step(ctx) // reconcile
	h.apply(t, mustCommand(fsm.CmdPutIntent, fsm.PutIntent{Intent: fsm.Intent{Key: "t9-dup", Kind: fsm.IntentCreate, GroupID: gID}}))
	h.mu.Lock()
	h.term++ // committed in "another" term from l's point of view
	h.mu.Unlock()
	j := &job{intent: fsm.Intent{Key: "t9-dup", Kind: fsm.IntentCreate, EndpointID: epID, GroupID: gID},
		group: h.View().Groups[gID], prov: fleet, dec: &Decision{}}
	l.term = h.term
	if got := l.commit(ctx, []*job{j}, clk.Now()); len(got) != 0 {
		t.Errorf("commit of a key from another term = %d jobs, want none", len(got))
	}

	// Leadership lost before the provider call: intents are committed,
	// the provider is never called.
	l.step(ctx)
	if n := fleet.count("create"); n != 0 {
		t.Errorf("%d creates after VerifyLeader failed, want none", n)
	}
	if n := countDecisions(l.dec.snapshot(epID), "create", "abandoned"); n == 0 {
		t.Errorf("no abandoned create in the decisions:\n%s", dumpJSON(l.dec.snapshot(epID)))
	}
}

func TestSchedProviderErrorsDoNotStallOtherGroups(t *testing.T) {
	ctx := context.Background()
	h, clk := newFakeHost(), newTestClock()
	hang := &capWatch{Provider: psim.New(psim.Config{}, clk), block: make(chan struct{})}
	good := psim.New(psim.Config{}, clk)
	badEP, _ := h.addEndpoint(t, "bad", "hang", func(e *fsm.Endpoint) { e.ColdWorkers = 2 })
	_, goodG := h.addEndpoint(t, "good", "sim", func(e *fsm.Endpoint) { e.ColdWorkers = 2 })
	l := newTestLoop(t, h, clk, map[string]provider.Provider{"hang": hang, "sim": good}, func(c *SchedulerConfig) {
		c.ProviderTimeout = 300 * time.Millisecond
	})
	l.step(ctx) // reconcile both providers
	start := time.Now()
	l.tick(ctx)
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Errorf("tick took %v with a hanging provider, want it not to wait", d)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.View().WorkersOf(goodG)) < 2 || h.View().WorkersOf(goodG)[1].InstanceID == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the good group got no instances while the other hung:\n%s", dumpJSON(l.dec.snapshot(0)))
		}
		time.Sleep(5 * time.Millisecond)
	}
	l.wg.Wait()
	if n := hang.count("create"); n != 6 {
		t.Errorf("the hanging provider got %d creates, want 2 × 3 attempts", n)
	}
	d := l.dec.snapshot(badEP)
	if n := countDecisions(d, "create", "failed"); n != 2 {
		t.Errorf("bad endpoint: %d failed creates, want 2:\n%s", n, dumpJSON(d))
	}
	for _, x := range d.Endpoints[0].Decisions {
		if x.Kind == "create" && (x.Attempts != 3 || !strings.Contains(x.Error, "deadline")) {
			t.Errorf("failed create = %+v, want 3 attempts and the provider's error", x)
		}
	}
	calls := hang.count("create")
	l.step(ctx) // the bad group backs off: no new calls
	if hang.count("create") != calls {
		t.Errorf("the failing group was retried during its backoff")
	}
	if note := l.dec.snapshot(badEP).Endpoints[0].Note; !strings.Contains(note, "backs off") {
		t.Errorf("note = %q, want the backoff explained", note)
	}
	if len(h.View().WorkersOf(l.dec.snapshot(badEP).Endpoints[0].Decisions[0].GroupID)) != 0 {
		t.Errorf("workers of failed creates were kept although the provider lists no instance")
	}
}

func TestDecisionLogRing(t *testing.T) {
	d := newDecisionLog(3)
	for i := range 5 {
		d.add(&Decision{EndpointID: 7, Count: i})
	}
	got := d.snapshot(7).Endpoints[0].Decisions
	if len(got) != 3 || got[0].Count != 2 || got[2].Count != 4 {
		t.Errorf("ring = %+v, want the last 3", got)
	}
	if n := len(d.snapshot(8).Endpoints); n != 0 {
		t.Errorf("snapshot(8) has %d endpoints, want 0", n)
	}
}

package cluster

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

func TestGCCandidates(t *testing.T) {
	now := time.Unix(10_000, 0)
	old, fresh := float64(now.Add(-2*time.Hour).Unix()), float64(now.Unix()-1)
	v := fsm.New().View()
	v.Groups = map[uint64]*fsm.Group{1: {ID: 1, Provider: "static"}, 2: {ID: 2, Provider: "process"}}
	v.Intents = map[string]*fsm.Intent{
		"done-old":        {GroupID: 1, State: fsm.IntentDone, CreatedAt: old},
		"done-fresh":      {GroupID: 1, State: fsm.IntentDone, CreatedAt: fresh},
		"pending-old":     {GroupID: 1, State: fsm.IntentPending, CreatedAt: old},
		"orphan-done":     {GroupID: 9, State: fsm.IntentFailed, CreatedAt: fresh},
		"orphan-pending":  {GroupID: 9, State: fsm.IntentPending, CreatedAt: fresh},
		"orphan-pend-old": {GroupID: 9, State: fsm.IntentPending, CreatedAt: old},
		"abandoned-old":   {GroupID: 2, State: fsm.IntentAbandoned, CreatedAt: old},
	}
	v.Workers = map[uint64]*fsm.Worker{
		10: {ID: 10, GroupID: 1, State: fsm.WorkerLost},
		11: {ID: 11, GroupID: 1, State: fsm.WorkerReady},
		12: {ID: 12, GroupID: 2, State: fsm.WorkerLost}, // its provider's scheduler removes it
	}
	lostSince := map[uint64]time.Time{99: now.Add(-time.Hour)} // gone since: forgotten
	intents, workers := gcCandidates(v, now, lostSince, time.Hour, time.Minute)
	want := []string{"abandoned-old", "done-old", "orphan-done", "orphan-pend-old"}
	if fmt.Sprint(intents) != fmt.Sprint(want) || len(workers) != 0 {
		t.Fatalf("first round: intents %v, workers %v; want %v and no worker yet (just seen lost)", intents, workers, want)
	}
	if _, ok := lostSince[99]; ok || lostSince[10] != now {
		t.Fatalf("lostSince = %v, want only worker 10 since now", lostSince)
	}
	_, workers = gcCandidates(v, now.Add(time.Minute), lostSince, time.Hour, time.Minute)
	if fmt.Sprint(workers) != "[10]" {
		t.Fatalf("after the retention: workers %v, want [10]", workers)
	}
	if got := prunes(make([]string, fsm.MaxPruneItems+3), make([]uint64, 5)); len(got) != 2 ||
		len(got[0].Intents) != fsm.MaxPruneItems || len(got[1].Intents) != 3 || len(got[1].Workers) != 5 {
		t.Fatalf("prunes split = %d commands", len(got))
	}
}

// Replicated state stays bounded under churn: 1,000 cycles each creating
// a group with a finished intent, a static worker (a new id every cycle)
// that goes lost, and deleting the group leave the snapshot as large as it
// was before them. The warm-up fills the FSM's request-id dedup window
// (16,384 ids, bounded by itself; Apply gives every command an id) so
// that what is measured is the objects.
func TestGCKeepsSnapshotFlatUnderChurn(t *testing.T) {
	const cycles = 1000
	const warmUp = 16384/6 + 200 // six commands per cycle
	nodes := startNodesWith(t, 1, func(c *Config) {
		c.GCInterval = 50 * time.Millisecond
		c.IntentRetention = time.Minute // finished intents of deleted groups go at once
		c.LostWorkerRetention = 100 * time.Millisecond
		c.WorkerTTL = time.Hour
	})
	n := nodes[0]
	setupWorker(t, n, 1)
	ctx := context.Background()
	mk := func(typ fsm.CmdType, p any) fsm.Command {
		c, err := fsm.NewCommand(typ, fsm.NewRequestID(), p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	apply := func(cmds ...fsm.Command) []fsm.Result {
		res, err := n.Apply(ctx, cmds...)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Code != "" {
				t.Fatalf("%s: %+v", cmds[i].Type, r)
			}
		}
		return res
	}
	cycle := func(i int) {
		g := fsm.GroupDefaults()
		g.Name, g.Provider, g.WorkerToken = fmt.Sprintf("g%d", i), "static", fmt.Sprintf("tok%d", i)
		gid := apply(mk(fsm.CmdCreateGroup, fsm.CreateGroup{Group: g, EndpointName: "llama"}))[0].ID
		key := fmt.Sprintf("c%d", i)
		wid := uint64(100_000 + i)
		apply(
			mk(fsm.CmdPutIntent, fsm.PutIntent{Intent: fsm.Intent{Key: key, Kind: fsm.IntentCreate, EndpointID: 1,
				GroupID: gid, CreatedAt: float64(time.Now().Unix())}}),
			mk(fsm.CmdIntentResult, fsm.IntentResult{Key: key, State: fsm.IntentDone, InstanceID: "inst-" + key}),
			mk(fsm.CmdRegisterWorker, fsm.RegisterWorker{Worker: fsm.Worker{ID: wid, State: fsm.WorkerLoading}, MToken: "tok"}),
			mk(fsm.CmdSetWorkerState, fsm.SetWorkerState{ID: wid, State: fsm.WorkerLost}),
			mk(fsm.CmdDeleteGroup, fsm.DeleteGroup{ID: gid}),
		)
	}
	settledSize := func() int64 {
		waitFor(t, 10*time.Second, "gc caught up", func() bool {
			v := n.View()
			return len(v.Intents) == 0 && len(v.Workers) == 1
		})
		size, err := n.fsm.Snapshot().WriteTo(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return size
	}
	for i := 0; i < warmUp; i++ {
		cycle(i)
	}
	first := settledSize()
	start := time.Now()
	for i := warmUp; i < warmUp+cycles; i++ {
		cycle(i)
	}
	last := settledSize()
	t.Logf("snapshot after %d warm-up cycles %d bytes, after %d more %d bytes (%s for them)", warmUp, first, cycles, last, time.Since(start).Round(time.Millisecond))
	if last > first+first/20+256 {
		t.Fatalf("snapshot grew from %d to %d bytes over %d create/destroy cycles", first, last, cycles)
	}
}

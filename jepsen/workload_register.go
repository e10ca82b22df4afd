package jepsen

import (
	"context"
	"fmt"
	"math/rand"
	"sync"
	"sync/atomic"
	"time"
)

// regKey is one register: an endpoint whose min_load is the value.
type regKey struct {
	Name  string
	ID    uint64
	ops   atomic.Int64
	infos atomic.Int64 // ops with unknown outcome
}

// Register is the register workload: consistent reads, writes and cas on
// min_load of a few endpoints at a time, through every node. Each key
// takes at most OpsPerKey operations so that porcupine finishes; then the
// clients move to the next key.
type Register struct {
	c         *Cluster
	h         *History
	keys      []*regKey
	next      atomic.Int64 // index of the first key still open
	values    atomic.Int64
	OpsPerKey int64
	// MaxInfoPerKey retires a key after this many ops with unknown outcome:
	// each can be linearized anywhere after its call, which is what makes
	// checking expensive.
	MaxInfoPerKey int64
	Window        int // keys in use at once
	Exhausted     atomic.Bool
}

func newRegister(c *Cluster, h *History) *Register {
	return &Register{c: c, h: h, OpsPerKey: 120, MaxInfoPerKey: 4, Window: 2}
}

// Setup creates nkeys endpoints (through the leader, retried).
func (r *Register) Setup(ctx context.Context, nkeys int, prefix string) error {
	r.keys = make([]*regKey, nkeys)
	var wg sync.WaitGroup
	errs := make(chan error, nkeys)
	sem := make(chan struct{}, 8)
	for i := range r.keys {
		r.keys[i] = &regKey{Name: fmt.Sprintf("%sreg-%d", prefix, i)}
		wg.Add(1)
		go func(k *regKey) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			id, err := createRetry(ctx, r.c, k.Name)
			k.ID = id
			errs <- err
		}(r.keys[i])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// createRetry creates an endpoint, retrying on other nodes for up to 30 s;
// a name_taken answer after an unknown outcome means it exists.
func createRetry(ctx context.Context, c *Cluster, name string) (uint64, error) {
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		nodes := c.Nodes()
		n := nodes[i%len(nodes)]
		cctx, cancel := context.WithTimeout(ctx, c.cfg.ClientTimeout)
		a, id, _ := createEndpoint(cctx, n, name)
		cancel()
		if a.Type == TypeOK {
			return id, nil
		}
		if a.Error == "name_taken" {
			return findEndpoint(ctx, c, name)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return 0, fmt.Errorf("jepsen: cannot create %s", name)
}

func findEndpoint(ctx context.Context, c *Cluster, name string) (uint64, error) {
	for _, n := range c.Nodes() {
		cctx, cancel := context.WithTimeout(ctx, c.cfg.ClientTimeout)
		a, list := listEndpoints(cctx, n, false)
		cancel()
		if a.Type != TypeOK {
			continue
		}
		for _, e := range list {
			if e.Name == name {
				return e.ID, nil
			}
		}
	}
	return 0, fmt.Errorf("jepsen: endpoint %s not found", name)
}

// pickKey returns an open key, or nil when every key is used up.
func (r *Register) pickKey(rng *rand.Rand) *regKey {
	for {
		first := int(r.next.Load())
		if first >= len(r.keys) {
			r.Exhausted.Store(true)
			return nil
		}
		i := first + rng.Intn(r.Window)
		if i >= len(r.keys) {
			i = first
		}
		k := r.keys[i]
		if k.ops.Add(1) <= r.OpsPerKey {
			return k
		}
		r.next.CompareAndSwap(int64(first), int64(first+1))
	}
}

// retire closes k for new ops: its op count jumps to the bound.
func (r *Register) retire(k *regKey) { k.ops.Add(r.OpsPerKey) }

// Client runs one register client until ctx ends.
func (r *Register) Client(ctx context.Context, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	proc := r.h.NewProcess()
	revs := map[*regKey]uint64{} // last revision this client saw per key
	for ctx.Err() == nil {
		k := r.pickKey(rng)
		if k == nil {
			return
		}
		nodes := r.c.Nodes()
		n := nodes[rng.Intn(len(nodes))]
		pause := time.Duration(rng.Intn(30)) * time.Millisecond
		switch r.step(rng, proc, n, k, revs) {
		case TypeInfo:
			proc = r.h.NewProcess() // the open op keeps the old id
			if k.infos.Add(1) >= r.MaxInfoPerKey {
				r.retire(k)
			}
			pause = time.Duration(100+rng.Intn(200)) * time.Millisecond
		case TypeFail:
			pause = time.Duration(100+rng.Intn(200)) * time.Millisecond
		}
		sleepCtx(ctx, pause)
	}
}

// step runs one op and returns its completion type.
func (r *Register) step(rng *rand.Rand, proc int, n *Node, k *regKey, revs map[*regKey]uint64) string {
	cctx, cancel := context.WithTimeout(context.Background(), r.c.cfg.ClientTimeout)
	defer cancel()
	call := Op{Workload: "register", Type: TypeInvoke, Process: proc, Node: n.ID, Key: k.Name}
	p := rng.Float64()
	switch {
	case p < 0.45 || (p < 0.7 && revs[k] == 0):
		call.F = "read"
		r.h.Add(call)
		a, e := getEndpoint(cctx, n, k.ID)
		done := Op{Workload: "register", Type: a.Type, Process: proc, Node: n.ID, Key: k.Name, F: "read", Error: a.Error}
		if a.Type == TypeOK {
			done.Value, done.Rev = int64(e.MinLoad), e.Revision
			revs[k] = e.Revision
		}
		r.h.Add(done)
		return a.Type
	default:
		call.F, call.Value = "write", r.values.Add(1)
		if p < 0.7 {
			call.F, call.Expect = "cas", revs[k]
		}
		r.h.Add(call)
		a, rev := putMinLoad(cctx, n, k.ID, call.Value, call.Expect)
		done := Op{Workload: "register", Type: a.Type, Process: proc, Node: n.ID, Key: k.Name,
			F: call.F, Value: call.Value, Expect: call.Expect, Rev: rev, Error: a.Error}
		if a.Type == TypeOK {
			revs[k] = rev
		}
		r.h.Add(done)
		return a.Type
	}
}

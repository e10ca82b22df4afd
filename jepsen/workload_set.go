package jepsen

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"time"
)

// Set is the set workload: clients create uniquely named endpoints through
// every node; after heal one consistent list must hold every acknowledged
// name and nothing that was never attempted or definitely refused.
type Set struct {
	c      *Cluster
	h      *History
	prefix string
}

func newSet(c *Cluster, h *History, prefix string) *Set {
	return &Set{c: c, h: h, prefix: prefix + "set-"}
}

// Client creates endpoints until ctx ends.
func (s *Set) Client(ctx context.Context, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	proc := s.h.NewProcess()
	for seq := 0; ctx.Err() == nil; seq++ {
		nodes := s.c.Nodes()
		n := nodes[rng.Intn(len(nodes))]
		name := fmt.Sprintf("%s%d-%d", s.prefix, proc, seq)
		s.h.Add(Op{Workload: "set", Type: TypeInvoke, F: "add", Process: proc, Node: n.ID, Name: name})
		cctx, cancel := context.WithTimeout(context.Background(), s.c.cfg.ClientTimeout)
		a, _, _ := createEndpoint(cctx, n, name)
		cancel()
		s.h.Add(Op{Workload: "set", Type: a.Type, F: "add", Process: proc, Node: n.ID, Name: name, Error: a.Error})
		if a.Type == TypeInfo {
			proc = s.h.NewProcess()
		}
		sleepCtx(ctx, time.Duration(20+rng.Intn(40))*time.Millisecond)
	}
}

// FinalRead lists every endpoint with a consistent read (any node, retried
// for up to timeout) and records the names of the set.
func (s *Set) FinalRead(timeout time.Duration) error {
	proc := s.h.NewProcess()
	deadline := time.Now().Add(timeout)
	var last string
	for i := 0; time.Now().Before(deadline); i++ {
		nodes := s.c.Nodes()
		n := nodes[i%len(nodes)]
		s.h.Add(Op{Workload: "set", Type: TypeInvoke, F: "read", Process: proc, Node: n.ID})
		ctx, cancel := context.WithTimeout(context.Background(), s.c.cfg.ClientTimeout)
		a, list := listEndpoints(ctx, n, false)
		cancel()
		done := Op{Workload: "set", Type: a.Type, F: "read", Process: proc, Node: n.ID, Error: a.Error}
		if a.Type == TypeOK {
			for _, e := range list {
				if strings.HasPrefix(e.Name, s.prefix) {
					done.Names = append(done.Names, e.Name)
				}
			}
			sort.Strings(done.Names)
			s.h.Add(done)
			return nil
		}
		s.h.Add(done)
		last = a.Error
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("jepsen: set final read failed for %s: %s", timeout, last)
}

package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// batcher coalesces concurrent writes on the leader into one log entry:
// whatever is waiting when the previous entry has been handed to raft goes
// into the next one (up to maxBatchCmds commands or maxEntryBytes), so a
// single writer pays no added latency and many writers share entries.
type batcher struct {
	n    *Node
	in   chan *pending
	stop chan struct{}
	done chan struct{}
}

const maxBatchCmds = 512

type pending struct {
	cmds    []fsm.Command
	size    int      // encoded bytes
	targets []string // objects the commands change (fsm.Command.Target)
	res     chan batchResult
}

type batchResult struct {
	res []fsm.Result
	err error
}

func newBatcher(n *Node) *batcher {
	b := &batcher{n: n, in: make(chan *pending, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// submit queues cmds for the next entry and waits for their results.
func (b *batcher) submit(ctx context.Context, cmds []fsm.Command) ([]fsm.Result, error) {
	p := &pending{cmds: cmds, res: make(chan batchResult, 1)}
	for _, c := range cmds {
		p.size += len(c.Encode())
		if t := c.Target(); t != "" {
			p.targets = append(p.targets, t)
		}
	}
	if p.size > maxEntryBytes {
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, p.size, maxEntryBytes)
	}
	select {
	case b.in <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-b.stop:
		return nil, ErrShutdown
	}
	select {
	case r := <-p.res:
		return r.res, r.err
	case <-ctx.Done():
		// The entry may still commit; a retry carries the same request
		// ids and is answered from the FSM's dedup table.
		return nil, ctx.Err()
	}
}

func (b *batcher) close() {
	close(b.stop)
	<-b.done
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var first *pending
		select {
		case <-b.stop:
			return
		case first = <-b.in:
		}
		e := newEntry(first)
	fill:
		for e.cmds < maxBatchCmds {
			select {
			case p := <-b.in:
				if e.size+p.size > maxEntryBytes || e.touches(p) {
					b.apply(e.group)
					e = newEntry(p)
					continue
				}
				e.add(p)
			default:
				break fill
			}
		}
		b.apply(e.group)
	}
}

// apply hands one entry to raft and answers its writers when it is applied
// (in a goroutine, so the next entry can be built meanwhile).
func (b *batcher) apply(group []*pending) {
	if len(group) == 0 {
		return
	}
	var all []fsm.Command
	for _, p := range group {
		all = append(all, p.cmds...)
	}
	f := b.n.raft.Apply(fsm.EncodeBatch(all), 5*time.Second)
	go func() {
		err := f.Error()
		var res []fsm.Result
		if err == nil {
			var ok bool
			if res, ok = f.Response().([]fsm.Result); !ok || len(res) != len(all) {
				err = fmt.Errorf("cluster: apply answered %T for %d commands", f.Response(), len(all))
			}
		}
		switch err {
		case raft.ErrNotLeader:
			err = ErrNotLeader
		case raft.ErrLeadershipLost, raft.ErrLeadershipTransferInProgress, raft.ErrEnqueueTimeout:
			err = ErrLeadershipLost
		case raft.ErrRaftShutdown:
			err = ErrShutdown
		}
		off := 0
		for _, p := range group {
			r := batchResult{err: err}
			if err == nil {
				r.res = res[off : off+len(p.cmds)]
			}
			off += len(p.cmds)
			p.res <- r
		}
	}()
}

// entry is the log entry being filled: its writers, their command count
// and size, and the objects they change. Two changes of one object never
// share an entry, so each gets its own revision (the entry's index).
type entry struct {
	group   []*pending
	cmds    int
	size    int
	targets map[string]bool
}

func newEntry(p *pending) *entry {
	e := &entry{targets: map[string]bool{}}
	e.add(p)
	return e
}

func (e *entry) add(p *pending) {
	e.group = append(e.group, p)
	e.cmds += len(p.cmds)
	e.size += p.size
	for _, t := range p.targets {
		e.targets[t] = true
	}
}

// touches reports whether p changes an object the entry already changes.
func (e *entry) touches(p *pending) bool {
	for _, t := range p.targets {
		if e.targets[t] {
			return true
		}
	}
	return false
}

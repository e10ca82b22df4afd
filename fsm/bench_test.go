package fsm

import (
	"fmt"
	"testing"
)

// benchState builds 20 endpoints × 5 groups × 10 workers (1000 workers).
func benchState(b *testing.B) *harness {
	h := newHarness(b)
	for e := range 20 {
		h.mustOK(cmd(b, CmdCreateEndpoint, CreateEndpoint{Endpoint: endpoint(fmt.Sprintf("ep%d", e))}))
		for g := range 5 {
			r := h.mustOK(cmd(b, CmdCreateGroup, CreateGroup{Group: group(uint64(e+1), fmt.Sprintf("g%d", g))}))
			for w := range 10 {
				h.mustOK(cmd(b, CmdRegisterWorker, RegisterWorker{Worker: worker(r.ID*100+uint64(w), r.ID)}))
			}
		}
	}
	return h
}

// BenchmarkApply measures the cost of applying one command (ns/op and
// allocs/op are per command) when commands arrive in log entries of 1 or 64
// commands, against a state of 1000 workers. DedupHit repeats request ids
// already applied (256 distinct entries are replayed round robin).
func BenchmarkApply(b *testing.B) {
	kinds := []struct {
		name string
		make func(b *testing.B, i int) Command
	}{
		{"Noop", func(b *testing.B, _ int) Command { return cmd(b, CmdNoop, Noop{}) }},
		{"SetWorkerState", func(b *testing.B, i int) Command {
			id := uint64(1+i%100)*100 + uint64(i/100%10)
			return cmd(b, CmdSetWorkerState, SetWorkerState{ID: id, State: WorkerReady, MaxPerf: float64(i % 7)})
		}},
		{"UpdateEndpoint", func(b *testing.B, i int) Command {
			return cmd(b, CmdUpdateEndpoint, UpdateEndpoint{ID: uint64(1 + i%20), Patch: []byte(fmt.Sprintf(`{"max_workers":%d}`, i%50))})
		}},
		{"DedupHit", func(b *testing.B, i int) Command {
			c := cmd(b, CmdSetWorkerState, SetWorkerState{ID: uint64(1+i%100) * 100, State: WorkerReady})
			c.RequestID = RequestID{1, byte(i >> 16), byte(i >> 8), byte(i)}
			return c
		}},
	}
	for _, kind := range kinds {
		for _, size := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", kind.name, size), func(b *testing.B) {
				benchApply(b, size, kind.make)
			})
		}
	}
}

func benchApply(b *testing.B, size int, mk func(*testing.B, int) Command) {
	h := benchState(b)
	const distinct = 256 // pre-encoded entries, reused round robin
	datas := make([][]byte, distinct)
	for i := range datas {
		cmds := make([]Command, size)
		for j := range cmds {
			cmds[j] = mk(b, i*size+j)
		}
		datas[i] = EncodeBatch(cmds)
	}
	index := h.index
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += size {
		index++
		h.f.ApplyBatch([]Entry{{Index: index, Term: 1, Data: datas[(i/size)%distinct]}})
	}
}

// BenchmarkSnapshot measures writing and hashing the 1000-worker state.
func BenchmarkSnapshot(b *testing.B) {
	h := benchState(b)
	b.Run("WriteTo", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			snapshotBytes(b, h.f)
		}
	})
	b.Run("Hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			h.f.View().successor().Hash()
		}
	})
}

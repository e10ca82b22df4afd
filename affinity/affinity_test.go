package affinity

import "testing"

func holders(cap int, ids ...uint64) map[uint64]*Holder {
	m := map[uint64]*Holder{}
	for _, id := range ids {
		h := &Holder{}
		h.SetCapacity(cap)
		m[id] = h
	}
	return m
}

func TestIndexRecordLookupBoundsForget(t *testing.T) {
	ix := NewIndex(2 * 100)
	hs := holders(100, 1, 2)
	ix.SetHolders(hs)
	conv := &Hint{Blocks: []uint64{10, 11, 12, 13}}
	ix.Record(conv, 1)
	var tl Tally
	ix.Lookup(&Hint{Blocks: []uint64{10, 11, 12, 13, 14}}, &tl)
	if got := tl.Matched(1); got != 4 {
		t.Fatalf("matched on 1 = %d, want 4", got)
	}
	if tl.Matched(2) != 0 {
		t.Fatalf("worker 2 matched %d", tl.Matched(2))
	}
	// The first unknown block ends the prefix.
	ix.Lookup(&Hint{Blocks: []uint64{99, 10, 11}}, &tl)
	if tl.Any() {
		t.Fatalf("a prefix behind an unknown block matched")
	}
	// Capacity: 100 more new blocks on worker 1 evict the first four.
	var fill []uint64
	for b := uint64(1000); b < 1100; b++ {
		fill = append(fill, b)
	}
	ix.Record(&Hint{Blocks: fill}, 1)
	ix.Lookup(conv, &tl)
	if tl.Any() {
		t.Fatalf("blocks past the worker's kv_blocks still match: %d", tl.Matched(1))
	}
	if live := hs[1].Live(); live != 100 {
		t.Fatalf("live = %d, want the capacity 100", live)
	}
	// Re-touching held blocks evicts nothing.
	ix.Record(&Hint{Blocks: fill[:10]}, 1)
	ix.Lookup(&Hint{Blocks: fill[50:60]}, &tl)
	if tl.Matched(1) != 10 {
		t.Fatalf("a hit evicted blocks: matched %d", tl.Matched(1))
	}
	// A worker that restarted forgets everything.
	hs[1].Forget()
	ix.Lookup(&Hint{Blocks: fill[:10]}, &tl)
	if tl.Any() {
		t.Fatalf("entries survived Forget")
	}
	// Unknown workers are ignored.
	ix.Record(conv, 7)
	ix.Lookup(conv, &tl)
	if tl.Any() {
		t.Fatalf("an unknown worker's entries count")
	}
}

func TestIndexResizedKeepsEntries(t *testing.T) {
	ix := NewIndex(10)
	ix.SetHolders(holders(1000, 1))
	h := &Hint{Session: SessionBlock([]byte("chat-1")), HasSession: true, Blocks: []uint64{1, 2, 3}}
	ix.Record(h, 1)
	nx := ix.Resized(100000)
	if nx == ix || nx.Slots() != SlotsFor(100000) {
		t.Fatalf("not resized: %d slots", nx.Slots())
	}
	var tl Tally
	nx.Lookup(h, &tl)
	if tl.Matched(1) != 4 {
		t.Fatalf("matched %d after resize, want 4", tl.Matched(1))
	}
	if SlotsFor(1<<30) != MaxSlots || SlotsFor(0) != minSlots {
		t.Fatalf("SlotsFor bounds")
	}
}

func TestPickProperties(t *testing.T) {
	tests := []struct {
		name   string
		limit  float64
		cands  []Candidate
		want   int
		wantOK bool
	}{
		{"affinity: the holder wins against a slightly shorter queue", 0,
			[]Candidate{{Queue: 0, Service: 2}, {Queue: 1, Service: 2, Matched: 8}}, 1, true},
		{"bounded imbalance: a queue longer by more than one prefill loses", 0,
			[]Candidate{{Queue: 0, Service: 2}, {Queue: 2.5, Service: 2, Matched: 8}}, 0, true},
		{"capacity: never past max_queue_time to chase a hit", 3,
			[]Candidate{{Queue: 2, Service: 2, Matched: 8}, {Queue: 0.5, Service: 2, Matched: 2}}, 1, true},
		{"fallback: nobody holds anything", 0,
			[]Candidate{{Queue: 0, Service: 2}, {Queue: 1, Service: 2}}, -1, false},
		{"fallback: only the holder, and it is full", 3,
			[]Candidate{{Queue: 5, Service: 2, Matched: 8}, {Queue: 0, Service: 2}}, -1, false},
		{"unjudged workers are not capped", 3,
			[]Candidate{{Queue: 5, Service: 2, Matched: 8, Unjudged: true}, {Queue: 6, Service: 2}}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPicker(8, tt.limit)
			for i, c := range tt.cands {
				p.Offer(i, c)
			}
			i, ok := p.Pick()
			if i != tt.want || ok != tt.wantOK {
				t.Fatalf("Pick = %d, %v; want %d, %v", i, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLRU(t *testing.T) {
	c := NewLRU(3)
	c.Touch([]uint64{1, 2, 3})
	c.Touch([]uint64{1})
	c.Touch([]uint64{4}) // evicts 2
	if c.Has(2) || !c.Has(1) || c.Len() != 3 {
		t.Fatalf("LRU order wrong")
	}
	if got := c.PrefixHit([]uint64{1, 3, 2, 4}); got != 2 {
		t.Fatalf("PrefixHit = %d, want 2", got)
	}
	c.Clear()
	if c.Len() != 0 || c.Has(1) {
		t.Fatalf("Clear")
	}
}

func BenchmarkPick64Blocks8Workers(b *testing.B) {
	ix := NewIndex(8 * 2000)
	ix.SetHolders(holders(2000, 1, 2, 3, 4, 5, 6, 7, 8))
	h := &Hint{Blocks: make([]uint64, 64)}
	for i := range h.Blocks {
		h.Blocks[i] = uint64(i) * 7919
	}
	ix.Record(h, 3)
	b.ReportAllocs()
	for b.Loop() {
		var tl Tally
		ix.Lookup(h, &tl)
		p := NewPicker(h.Len(), 30)
		for w := uint64(1); w <= 8; w++ {
			p.Offer(int(w), Candidate{Queue: float64(w), Service: 1, Matched: tl.Matched(w)})
		}
		if _, ok := p.Pick(); !ok {
			b.Fatal("no pick")
		}
		ix.Record(h, 3)
	}
}

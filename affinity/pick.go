package affinity

import "math"

// Candidate is one worker as the pick sees it.
type Candidate struct {
	// Queue is the worker's estimated queue time in seconds (its backlog
	// over its speed), before this request.
	Queue float64
	// Service is what this request costs the worker in seconds with
	// nothing cached (cost over speed).
	Service float64
	// Matched is the number of the hint's blocks the worker is expected to
	// hold (Tally.Matched).
	Matched int
	// Unjudged: the worker's queue time is unknown, so the capacity limit
	// cannot be applied to it.
	Unjudged bool
}

// Picker chooses among candidates offered one by one by expected time to
// first token: Queue + Service × (share of the hint's blocks not cached).
// A candidate is eligible only while Queue + Service stays within the
// capacity limit (max_queue_time; 0: none): the pick never sends a worker
// over its capacity to chase a hit. Because the least-loaded eligible
// worker scores at most its Queue + Service, the chosen worker's queue is
// at most one uncached Service longer than the shortest one: the bound on
// imbalance. Pick says ok=false when no eligible worker is expected to hold
// any block (then the caller falls back to the load-only pick). The zero
// Picker is not ready: use NewPicker. No allocation.
type Picker struct {
	blocks    int
	limit     float64
	best      int
	bestScore float64
	bestMatch int
	anyMatch  bool
}

// NewPicker returns a picker for a hint of blocks blocks and a capacity
// limit in seconds (≤ 0: none).
func NewPicker(blocks int, limit float64) Picker {
	return Picker{blocks: blocks, limit: limit, best: -1, bestScore: math.Inf(1)}
}

// Score is a candidate's expected time to first token.
func (p *Picker) Score(c Candidate) float64 {
	uncached := 1.0
	if p.blocks > 0 {
		uncached = 1 - float64(min(c.Matched, p.blocks))/float64(p.blocks)
	}
	return c.Queue + c.Service*uncached
}

// Offer considers candidate i.
func (p *Picker) Offer(i int, c Candidate) {
	if !c.Unjudged && p.limit > 0 && c.Queue+c.Service > p.limit {
		return
	}
	if c.Matched > 0 {
		p.anyMatch = true
	}
	s := p.Score(c)
	if s < p.bestScore || (s == p.bestScore && c.Matched > p.bestMatch) {
		p.best, p.bestScore, p.bestMatch = i, s, c.Matched
	}
}

// Pick returns the chosen candidate; ok false: none is eligible or no
// eligible candidate holds anything of the hint (use the load-only pick).
func (p *Picker) Pick() (i int, ok bool) {
	if p.best < 0 || !p.anyMatch {
		return -1, false
	}
	return p.best, true
}

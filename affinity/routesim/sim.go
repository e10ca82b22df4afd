package routesim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/drover-io/drover/affinity"
)

// Request is one trace request.
type Request struct {
	At     float64  // seconds from the start
	Tokens int      // prompt tokens
	Blocks []uint64 // prompt prefix block ids (hash_ids)
}

// ErrTrace is a malformed trace.
var ErrTrace = errors.New("routesim: bad trace")

// ReadMooncake reads Mooncake JSONL: timestamp (ms), input_length, hash_ids.
func ReadMooncake(r io.Reader) ([]Request, error) {
	var out []Request
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec struct {
			Timestamp   *float64 `json:"timestamp"`
			InputLength int      `json:"input_length"`
			HashIDs     []uint64 `json:"hash_ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil || rec.Timestamp == nil || rec.InputLength < 0 {
			return nil, fmt.Errorf("%w: line %d: want a JSON object with timestamp, input_length, hash_ids", ErrTrace, line)
		}
		out = append(out, Request{At: *rec.Timestamp / 1000, Tokens: rec.InputLength, Blocks: rec.HashIDs})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no requests", ErrTrace)
	}
	slices.SortStableFunc(out, func(a, b Request) int { return cmpFloat(a.At, b.At) })
	return out, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Config is the simulated fleet (the defaults of `drover sim --routing`).
type Config struct {
	Workers      int     // 8
	KVBlocks     int     // per worker: 2,000
	PrefillRate  float64 // tokens/s: 10,000
	MaxQueueTime float64 // seconds; the pick's capacity bound (0: none)
	Seed         uint64
}

// DefaultConfig is the setting.
func DefaultConfig() Config {
	return Config{Workers: 8, KVBlocks: 2000, PrefillRate: 10000, MaxQueueTime: 30, Seed: 1}
}

// Routers are the routers Run knows, in table order.
var Routers = []string{"load", "random", "session", "drover", "oracle"}

// Result is one router's score.
type Result struct {
	Name     string  `json:"name"`
	HitRate  float64 `json:"hit_rate"`   // cached prompt blocks / all prompt blocks
	TTFTP50  float64 `json:"ttft_p50_s"` // seconds
	TTFTP90  float64 `json:"ttft_p90_s"`
	MaxLoad  float64 `json:"max_worker_load"` // the busiest worker's prefill-busy share of the trace span
	TTFTP99  float64 `json:"-"`
	Makespan float64 `json:"-"` // seconds until the last first token
}

// worker is a simulated worker.
type worker struct {
	id     uint64
	freeAt float64 // virtual time its queue empties
	busy   float64 // prefill seconds served
	cache  *affinity.LRU
	holder *affinity.Holder
}

// Run replays reqs through each router.
func Run(reqs []Request, routers []string, cfg Config) ([]Result, error) {
	if cfg.Workers < 1 || cfg.PrefillRate <= 0 || cfg.KVBlocks < 0 {
		return nil, fmt.Errorf("routesim: need workers ≥ 1, prefill rate > 0, kv_blocks ≥ 0")
	}
	var out []Result
	for _, name := range routers {
		if !slices.Contains(Routers, name) {
			return nil, fmt.Errorf("routesim: unknown router %q (known: %v)", name, Routers)
		}
		out = append(out, runOne(reqs, name, cfg))
	}
	return out, nil
}

func runOne(reqs []Request, name string, cfg Config) Result {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	ws := make([]*worker, cfg.Workers)
	holders := make(map[uint64]*affinity.Holder, cfg.Workers)
	for i := range ws {
		h := &affinity.Holder{}
		h.SetCapacity(cfg.KVBlocks)
		ws[i] = &worker{id: uint64(i + 1), cache: affinity.NewLRU(cfg.KVBlocks), holder: h}
		holders[ws[i].id] = h
	}
	ix := affinity.NewIndex(cfg.Workers * cfg.KVBlocks)
	ix.SetHolders(holders)
	ttft := make([]float64, 0, len(reqs))
	var hit, total int
	var end float64
	for _, r := range reqs {
		blocks := r.Blocks
		if len(blocks) > affinity.MaxBlocks {
			blocks = blocks[:affinity.MaxBlocks]
		}
		service := float64(r.Tokens) / cfg.PrefillRate
		var hint affinity.Hint
		switch name {
		case "session":
			if len(blocks) > 0 {
				hint = affinity.Hint{Session: blocks[0], HasSession: true}
			}
		case "drover":
			hint = affinity.Hint{Blocks: blocks}
		}
		var w *worker
		switch name {
		case "random":
			w = ws[rng.IntN(len(ws))]
		case "oracle":
			w = oracle(ws, r, service, cfg, r.At)
		case "session", "drover":
			w = cacheAware(ix, &hint, ws, service, cfg, r.At, rng)
		default:
			w = twoChoices(ws, r.At, rng)
		}
		if !hint.Empty() {
			ix.Record(&hint, w.id)
		}
		h := w.cache.PrefixHit(r.Blocks)
		w.cache.Touch(r.Blocks)
		hit += h
		total += len(r.Blocks)
		prefill := float64(max(r.Tokens-h*affinity.BlockTokens, 0)) / cfg.PrefillRate
		start := math.Max(r.At, w.freeAt)
		w.freeAt = start + prefill
		w.busy += prefill
		ttft = append(ttft, w.freeAt-r.At)
		end = math.Max(end, w.freeAt)
	}
	span := reqs[len(reqs)-1].At - reqs[0].At
	var maxBusy float64
	for _, w := range ws {
		maxBusy = math.Max(maxBusy, w.busy)
	}
	slices.Sort(ttft)
	res := Result{Name: name, TTFTP50: quantile(ttft, 0.5), TTFTP90: quantile(ttft, 0.9), TTFTP99: quantile(ttft, 0.99),
		Makespan: end - reqs[0].At}
	if total > 0 {
		res.HitRate = float64(hit) / float64(total)
	}
	if span > 0 {
		res.MaxLoad = maxBusy / span
	}
	return res
}

// twoChoices is today's load-only pick: two distinct random workers, the
// shorter queue.
func twoChoices(ws []*worker, now float64, rng *rand.Rand) *worker {
	if len(ws) == 1 {
		return ws[0]
	}
	i := rng.IntN(len(ws))
	j := rng.IntN(len(ws) - 1)
	if j >= i {
		j++
	}
	if queue(ws[j], now) < queue(ws[i], now) {
		return ws[j]
	}
	return ws[i]
}

func queue(w *worker, now float64) float64 { return math.Max(0, w.freeAt-now) }

// cacheAware is drover's pick: affinity's index and picker, falling back
// to the load-only pick.
func cacheAware(ix *affinity.Index, hint *affinity.Hint, ws []*worker, service float64, cfg Config, now float64,
	rng *rand.Rand) *worker {
	if hint.Empty() {
		return twoChoices(ws, now, rng)
	}
	var t affinity.Tally
	ix.Lookup(hint, &t)
	p := affinity.NewPicker(hint.Len(), cfg.MaxQueueTime)
	for i, w := range ws {
		p.Offer(i, affinity.Candidate{Queue: queue(w, now), Service: service, Matched: t.Matched(w.id)})
	}
	if i, ok := p.Pick(); ok {
		return ws[i]
	}
	return twoChoices(ws, now, rng)
}

// oracle sees every worker's real cache and queue: it takes the worker
// holding the longest real prefix among those whose queue is within one
// uncached prefill of the shortest (the pick's imbalance bound), the
// shorter queue on ties.
func oracle(ws []*worker, r Request, service float64, cfg Config, now float64) *worker {
	minQ := math.Inf(1)
	for _, w := range ws {
		minQ = math.Min(minQ, queue(w, now))
	}
	var best *worker
	bestHit, bestQ := -1, math.Inf(1)
	for _, w := range ws {
		q := queue(w, now)
		if q > minQ+service {
			continue
		}
		h := w.cache.PrefixHit(r.Blocks)
		if h > bestHit || (h == bestHit && q < bestQ) {
			best, bestHit, bestQ = w, h, q
		}
	}
	_ = cfg
	return best
}

func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

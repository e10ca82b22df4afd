package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// Config describes the simulated hardware. Zero values are documented per
// field; DefaultConfig fills them with the fleet model of scaling.md.
type Config struct {
	CreateDelay time.Duration // create → ready; zero: 180 s
	StartDelay  time.Duration // stopped → ready; zero: 15 s
	// CreateFail and StartFail are the share of creates and starts that
	// end Failed instead of Ready; CreateHang the share of creates that
	// never finish loading (a stuck create). Zero: none.
	CreateFail, StartFail, CreateHang float64
	Price                             float64 // per second loading, starting or ready; zero: 1.0
	StoppedPrice                      float64 // per second stopped; zero: 0.05
	Perf                              float64 // load/s an instance serves; zero: 5000
	Hardware                          string  // zero: "sim-gpu"
	Seed                              uint64  // seeds the failure draws
}

// DefaultConfig returns the fleet model's defaults.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	if c.CreateDelay <= 0 {
		c.CreateDelay = 180 * time.Second
	}
	if c.StartDelay <= 0 {
		c.StartDelay = 15 * time.Second
	}
	if c.Price <= 0 {
		c.Price = 1
	}
	if c.StoppedPrice <= 0 {
		c.StoppedPrice = 0.05
	}
	if c.Perf <= 0 {
		c.Perf = 5000
	}
	if c.Hardware == "" {
		c.Hardware = "sim-gpu"
	}
	return c
}

// instance is one simulated machine.
type instance struct {
	provider.Instance
	doneAt  time.Time // when loading/starting finishes
	fail    bool      // the current create/start ends Failed
	hang    bool      // the current create never finishes
	billed  float64
	billedT time.Time
}

// Fleet is the simulated provider.
type Fleet struct {
	mu    sync.Mutex
	cfg   Config
	clock Clock
	rng   *rand.Rand
	inst  map[string]*instance
	byKey map[string]string
	next  int
}

var _ provider.Provider = (*Fleet)(nil)

// New returns an empty fleet driven by clock.
func New(cfg Config, clock Clock) *Fleet {
	cfg = cfg.withDefaults()
	return &Fleet{cfg: cfg, clock: clock, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		inst: map[string]*instance{}, byKey: map[string]string{}}
}

// Config returns the fleet's configuration with defaults filled in.
func (f *Fleet) Config() Config { return f.cfg }

// Create implements provider.Provider.
func (f *Fleet) Create(_ context.Context, key string, spec provider.GroupSpec) (provider.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.settle(now)
	if id, ok := f.byKey[key]; ok {
		return f.inst[id].Instance, nil
	}
	f.next++
	in := &instance{Instance: provider.Instance{
		ID: fmt.Sprintf("sim-%06d", f.next), IntentKey: key, GroupID: spec.GroupID,
		State: provider.Loading, Since: now, Created: now, Hardware: f.cfg.Hardware,
		Perf: f.cfg.Perf, Cost: f.cfg.Price,
	}, doneAt: now.Add(f.cfg.CreateDelay), billedT: now}
	in.fail = f.rng.Float64() < f.cfg.CreateFail
	in.hang = !in.fail && f.rng.Float64() < f.cfg.CreateHang
	f.inst[in.ID] = in
	f.byKey[key] = in.ID
	return in.Instance, nil
}

// Start implements provider.Provider.
func (f *Fleet) Start(_ context.Context, id string) error {
	return f.change(id, func(in *instance, now time.Time) error {
		switch in.State {
		case provider.Starting, provider.Ready:
			return nil
		case provider.Stopped:
			f.to(in, provider.Starting, now)
			in.doneAt = now.Add(f.cfg.StartDelay)
			in.fail, in.hang = f.rng.Float64() < f.cfg.StartFail, false
			return nil
		}
		return fmt.Errorf("%w: start %s in state %s", provider.ErrState, id, in.State)
	})
}

// Stop implements provider.Provider.
func (f *Fleet) Stop(_ context.Context, id string) error {
	return f.change(id, func(in *instance, now time.Time) error {
		switch in.State {
		case provider.Stopped:
			return nil
		case provider.Ready, provider.Starting:
			f.to(in, provider.Stopped, now)
			return nil
		}
		return fmt.Errorf("%w: stop %s in state %s", provider.ErrState, id, in.State)
	})
}

// Destroy implements provider.Provider.
func (f *Fleet) Destroy(_ context.Context, id string) error {
	return f.change(id, func(in *instance, now time.Time) error {
		f.to(in, provider.Gone, now)
		return nil
	})
}

// List implements provider.Provider.
func (f *Fleet) List(_ context.Context) ([]provider.Instance, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.settle(f.clock.Now())
	out := make([]provider.Instance, 0, len(f.inst))
	for _, in := range f.inst {
		out = append(out, in.Instance)
	}
	slices.SortFunc(out, func(a, b provider.Instance) int { return compareStrings(a.ID, b.ID) })
	return out, nil
}

// Billed returns the price-weighted instance-seconds billed up to now.
func (f *Fleet) Billed() float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.settle(now)
	ids := make([]string, 0, len(f.inst))
	for id := range f.inst {
		ids = append(ids, id)
	}
	slices.Sort(ids) // a fixed summation order: the same bill every run
	total := 0.0
	for _, id := range ids {
		in := f.inst[id]
		f.bill(in, now)
		total += in.billed
	}
	return total
}

func (f *Fleet) change(id string, fn func(*instance, time.Time) error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.settle(now)
	in, ok := f.inst[id]
	if !ok {
		return fmt.Errorf("%w: %s", provider.ErrNotFound, id)
	}
	return fn(in, now)
}

// settle finishes every load and start due by now, at its exact time.
func (f *Fleet) settle(now time.Time) {
	for _, in := range f.inst {
		if (in.State != provider.Loading && in.State != provider.Starting) || in.hang || now.Before(in.doneAt) {
			continue
		}
		if in.fail {
			f.to(in, provider.Failed, in.doneAt)
			in.Error = "simulated failure"
			continue
		}
		f.to(in, provider.Ready, in.doneAt)
	}
}

// to moves an instance to state s at t, billing the time before.
func (f *Fleet) to(in *instance, s provider.State, t time.Time) {
	f.bill(in, t)
	in.State, in.Since = s, t
}

func (f *Fleet) bill(in *instance, t time.Time) {
	if !t.After(in.billedT) {
		return
	}
	price := 0.0
	switch in.State {
	case provider.Loading, provider.Starting, provider.Ready:
		price = f.cfg.Price
	case provider.Stopped:
		price = f.cfg.StoppedPrice
	}
	in.billed += price * t.Sub(in.billedT).Seconds()
	in.billedT = t
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

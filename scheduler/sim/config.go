package sim

import (
	"fmt"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
)

// Config is the fleet model and scoring of scaling.md. Zero values are
// documented per field; DefaultConfig returns the pinned defaults.
type Config struct {
	Perf         float64       // load/s one worker serves; zero: 5000
	CreateDelay  time.Duration // create → ready, billed; zero: 180 s
	StartDelay   time.Duration // stopped → ready, billed; zero: 15 s
	MaxWorkers   int           // the endpoint's max_workers; zero: 50
	Price        float64       // per worker-second loading, ready or busy; zero: 1.0
	StoppedPrice float64       // per worker-second stopped; zero: 0.05
	SLO          time.Duration // queue wait target; zero: 10 s
	Bucket       time.Duration // the oracle's bucket; zero: 10 s
	// Tail is how long the replay runs on after the last arrival; zero:
	// the SLO wait (the last request's chance). Idle-cost tests set it.
	Tail time.Duration
	// CreateFail, CreateHang and StartFail are the sim provider's failure
	// shares (zero: none).
	CreateFail, CreateHang, StartFail float64
	Seed                              uint64 // seeds the provider's draws; the same for every policy
	// Endpoint overrides the endpoint's settings; nil: the spec's defaults
	// with max_workers = MaxWorkers and target_queue_time = SLO.
	Endpoint *fsm.Endpoint
	// Sched configures the policies (priors); zero: scheduler defaults.
	Sched scheduler.Config
	// OnPlan, when set, sees every non-empty plan (for --verbose).
	OnPlan func(scheduler.Plan)
}

// DefaultConfig returns the pinned fleet model.
func DefaultConfig() Config { return Config{}.withDefaults() }

func (c Config) withDefaults() Config {
	dur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	num := func(x *float64, v float64) {
		if *x <= 0 {
			*x = v
		}
	}
	num(&c.Perf, 5000)
	num(&c.Price, 1)
	num(&c.StoppedPrice, 0.05)
	dur(&c.CreateDelay, 180*time.Second)
	dur(&c.StartDelay, 15*time.Second)
	dur(&c.SLO, 10*time.Second)
	dur(&c.Bucket, 10*time.Second)
	if c.MaxWorkers <= 0 {
		c.MaxWorkers = 50
	}
	if c.Sched.StoppedPrice <= 0 {
		c.Sched.StoppedPrice = c.StoppedPrice / c.Price
	}
	return c
}

// endpoint is the simulated endpoint.
func (c Config) endpoint() fsm.Endpoint {
	if c.Endpoint != nil {
		e := *c.Endpoint
		e.ID = 1
		return e
	}
	e := fsm.EndpointDefaults()
	e.ID, e.Name = 1, "sim"
	e.MaxWorkers = int64(c.MaxWorkers)
	e.TargetQueueTime = c.SLO.Seconds()
	return e
}

// Validate checks the figures.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, s := range []float64{c.CreateFail, c.CreateHang, c.StartFail} {
		if s < 0 || s > 1 {
			return fmt.Errorf("sim: failure shares must be in [0,1]")
		}
	}
	if c.StoppedPrice > c.Price {
		return fmt.Errorf("sim: stopped price %g above the loaded price %g", c.StoppedPrice, c.Price)
	}
	return nil
}

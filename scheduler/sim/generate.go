package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
)

// Workloads lists the generated workloads Workload knows: statistics the
// synthetic patterns do not have. Each is seeded and deterministic.
var Workloads = map[string]string{
	"heavy-tail":  "Poisson arrivals with Pareto (α 1.5) request loads: a few requests 30–100× the mean",
	"tenants":     "four tenants of different request sizes, each switching on and off for minutes at a time",
	"slow-ramp":   "a linear ramp over four hours from a tenth of the base rate to 4×",
	"flash-crowd": "steady, with three flash crowds that reach 10× the base rate within 10 s and last 1–2 min",
	"idle-gaps":   "5–10 min of traffic separated by 20–40 min of none (scale to zero and back)",
	"failures":    "the bursty pattern with 10 % of creates failing, 5 % hanging and 10 % of starts failing",
}

// WorkloadNames returns the generated workload names, sorted.
func WorkloadNames() []string {
	out := make([]string, 0, len(Workloads))
	for k := range Workloads {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lognormal draws loads with the given mean (sigma 0.8, the patterns' law).
func lognormal(mean float64) func(*rand.Rand) float64 {
	const sigma = 0.8
	mu := math.Log(mean) - sigma*sigma/2
	return func(rng *rand.Rand) float64 { return math.Exp(mu + sigma*rng.NormFloat64()) }
}

// pareto draws loads with the given mean and tail index alpha > 1, capped
// at 100× the mean (one request is at most ~46 s of work at 5,000 load/s
// for the default mean).
func pareto(mean, alpha float64) func(*rand.Rand) float64 {
	xm := mean * (alpha - 1) / alpha
	return func(rng *rand.Rand) float64 {
		return math.Min(xm/math.Pow(1-rng.Float64(), 1/alpha), 100*mean)
	}
}

// arrivals generates a non-homogeneous Poisson process by thinning:
// candidates at the peak rate, each kept with rate(t)/peak.
func arrivals(rate func(float64) float64, duration float64, load func(*rand.Rand) float64, rng *rand.Rand) []Request {
	peak := 0.0
	for t := 0.0; t < duration; t++ {
		peak = math.Max(peak, rate(t))
	}
	var out []Request
	if peak <= 0 {
		return out
	}
	for t := rng.ExpFloat64() / peak; t < duration; t += rng.ExpFloat64() / peak {
		if rng.Float64()*peak <= rate(t) {
			out = append(out, Request{At: t, Load: load(rng)})
		}
	}
	return out
}

// segments is a piecewise-constant rate: segs[i] holds until ends[i].
type segments struct{ ends, rates []float64 }

func (s *segments) add(end, rate float64) {
	s.ends, s.rates = append(s.ends, end), append(s.rates, rate)
}

func (s *segments) at(t float64) float64 {
	i := sort.SearchFloat64s(s.ends, t+1e-12)
	if i >= len(s.rates) {
		return 0
	}
	return s.rates[i]
}

// Workload generates a named workload around baseRate (requests/s) and
// meanLoad over about duration seconds (slow-ramp and idle-gaps run
// longer: 4× and 3× duration). The failures workload also needs its
// Config (WorkloadConfig).
func Workload(name string, duration, baseRate, meanLoad float64, seed uint64) ([]Request, error) {
	rng := rand.New(rand.NewPCG(seed, 0x6e6e))
	steady := func(float64) float64 { return baseRate }
	switch name {
	case "heavy-tail":
		return arrivals(steady, duration, pareto(meanLoad, 1.5), rng), nil
	case "tenants":
		var out []Request
		for _, size := range []float64{0.25, 0.5, 2, 6} {
			var s segments
			for t, on := 0.0, rng.Float64() < 0.5; t < duration; on = !on {
				t += 120 + 900*rng.Float64()
				r := 0.0
				if on {
					r = baseRate / size / 2 // each tenant brings about half the base load when on
				}
				s.add(t, r)
			}
			out = append(out, arrivals(s.at, duration, lognormal(meanLoad*size), rng)...)
		}
		slices.SortStableFunc(out, func(a, b Request) int { return cmpFloat(a.At, b.At) })
		return out, nil
	case "slow-ramp":
		d := 4 * duration
		return arrivals(func(t float64) float64 { return baseRate * (0.1 + 3.9*t/d) }, d, lognormal(meanLoad), rng), nil
	case "flash-crowd":
		starts := []float64{0.2 * duration, 0.5 * duration, 0.8 * duration}
		lens := make([]float64, len(starts))
		for i := range lens {
			lens[i] = 60 + 60*rng.Float64()
		}
		rate := func(t float64) float64 {
			for i, s := range starts {
				switch {
				case t >= s && t < s+10: // reaches 10× within 10 s
					return baseRate * (1 + 9*(t-s)/10)
				case t >= s+10 && t < s+10+lens[i]:
					return 10 * baseRate
				}
			}
			return baseRate
		}
		return arrivals(rate, duration, lognormal(meanLoad), rng), nil
	case "idle-gaps":
		var s segments
		d := 3 * duration
		for t, on := 0.0, true; t < d; on = !on {
			if on {
				t += 300 + 300*rng.Float64()
				s.add(t, baseRate)
			} else {
				t += 1200 + 1200*rng.Float64()
				s.add(t, 0)
			}
		}
		return arrivals(s.at, d, lognormal(meanLoad), rng), nil
	case "failures":
		return Pattern("bursty", duration, baseRate, meanLoad, seed)
	}
	return nil, fmt.Errorf("sim: unknown workload %q (know %v)", name, WorkloadNames())
}

// WorkloadConfig is the fleet model a generated workload runs on: cfg,
// with the failure shares of the failures workload.
func WorkloadConfig(name string, cfg Config) Config {
	if name == "failures" {
		cfg.CreateFail, cfg.CreateHang, cfg.StartFail = 0.1, 0.05, 0.1
	}
	return cfg
}

package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Patterns lists the synthetic workloads Pattern knows, each described.
var Patterns = map[string]string{
	"steady":  "Poisson arrivals at a constant mean rate",
	"diurnal": "a slow ramp from low to a peak and back (one day squeezed into the duration)",
	"bursty":  "on/off: quiet stretches with bursts of 6× the base rate lasting about a minute",
	"ramp":    "a linear ramp from near zero to 3× the base rate",
	"spike":   "steady with one sudden spike of 10× the base rate for 30 s",
}

// PatternNames returns the pattern names, sorted.
func PatternNames() []string {
	var out []string
	for k := range Patterns {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Pattern generates a synthetic workload of the given length (seconds):
// Poisson arrivals whose mean rate follows the pattern around baseRate
// (requests/s), each request's load drawn from a lognormal with the given
// mean (and a heavy-ish tail, sigma 0.8), seeded.
func Pattern(name string, duration, baseRate, meanLoad float64, seed uint64) ([]Request, error) {
	rate, ok := patternRate(name, duration, baseRate, seed)
	if !ok {
		return nil, fmt.Errorf("sim: unknown pattern %q (know %v)", name, PatternNames())
	}
	rng := rand.New(rand.NewPCG(seed, 0xa77e))
	const sigma = 0.8
	mu := math.Log(meanLoad) - sigma*sigma/2
	peak := 0.0
	for t := 0.0; t < duration; t++ {
		peak = math.Max(peak, rate(t))
	}
	var out []Request
	// Thinning: candidate arrivals at the peak rate, kept with rate(t)/peak.
	for t := rng.ExpFloat64() / peak; t < duration; t += rng.ExpFloat64() / peak {
		if rng.Float64()*peak <= rate(t) {
			out = append(out, Request{At: t, Load: math.Exp(mu + sigma*rng.NormFloat64())})
		}
	}
	return out, nil
}

// patternRate returns the mean arrival rate over time of a pattern.
func patternRate(name string, duration, base float64, seed uint64) (func(float64) float64, bool) {
	switch name {
	case "steady":
		return func(float64) float64 { return base }, true
	case "diurnal":
		return func(t float64) float64 {
			return base * (0.2 + 1.6*math.Pow(math.Sin(math.Pi*t/duration), 2))
		}, true
	case "ramp":
		return func(t float64) float64 { return base * (0.05 + 2.95*t/duration) }, true
	case "spike":
		return func(t float64) float64 {
			if t >= duration/2 && t < duration/2+30 {
				return 10 * base
			}
			return base
		}, true
	case "bursty":
		return burstyRate(duration, base, seed), true
	}
	return nil, false
}

// burstyRate alternates quiet stretches (0.5× base, 2–6 min) with bursts
// (6× base, 30–90 s), seeded.
func burstyRate(duration, base float64, seed uint64) func(float64) float64 {
	rng := rand.New(rand.NewPCG(seed, 0xb0b))
	type seg struct{ end, rate float64 }
	var segs []seg
	for t, on := 0.0, false; t < duration; on = !on {
		if on {
			t += 30 + 60*rng.Float64()
			segs = append(segs, seg{t, 6 * base})
		} else {
			t += 120 + 240*rng.Float64()
			segs = append(segs, seg{t, 0.5 * base})
		}
	}
	return func(t float64) float64 {
		i := sort.Search(len(segs), func(i int) bool { return segs[i].end > t })
		if i == len(segs) {
			i--
		}
		return segs[i].rate
	}
}

package scheduler

import (
	"math"
	"slices"
	"time"

	"github.com/drover-io/drover/fsm"
)

// demand is drover's short-term model of one endpoint's load, built from
// its per-second arrival history.
type demand struct {
	span     int     // seconds in a sizing window: reaction horizon + SLO wait
	rate     float64 // forecast arrival rate (load/s): a floor
	short    float64 // mean rate over the SLO wait (the reactive loop's signal)
	peak     float64 // largest mean rate of one span over the pool window
	longRate float64 // mean over the statistics window (at least the SLO wait's worth)
	trend    float64 // load/s per second, from the last two minutes
	react    int     // seconds until a start issued now serves: tick + start time
	burst    float64 // high-quantile load of the burst head ready workers absorb alone
	z        float64 // the quantile's standard deviations, from slo_target
	// quiet is how many seconds nothing has arrived; longestGap the longest
	// such silence between arrivals in the pool window before it; silent
	// that the current silence is longer than both that and a span.
	quiet, longestGap int
	silent            bool
}

// silence returns the current trailing run of empty seconds of h and the
// longest run of empty seconds between two arrivals in the last look
// seconds before it: the endpoint's own burst gaps.
func silence(h []float64, look int) (quiet, longest int) {
	i := len(h) - 1
	for i >= 0 && h[i] == 0 {
		i--
	}
	quiet = len(h) - 1 - i
	start := max(0, len(h)-look)
	run := 0
	for ; i >= start; i-- {
		if h[i] == 0 {
			run++
			continue
		}
		longest, run = max(longest, run), 0
	}
	return quiet, longest
}

// zFor is how many standard deviations of burst-head load drover
// provisions for to meet slo_target: the one-sided slo_target quantile of a
// normal (0.95 → 1.64, 0.99 → 2.33), slo_target ≤ 0 meaning the default.
func zFor(sloTarget float64) float64 {
	if sloTarget <= 0 {
		sloTarget = fsm.DefaultSLOTarget
	}
	sloTarget = math.Min(math.Max(sloTarget, 0.5), 0.9999)
	return math.Sqrt2 * math.Erfinv(2*sloTarget-1)
}

// newDemand builds the model. span is the sizing window in seconds, slo
// the SLO wait, window the statistics window and pool the peak look-back.
// react (span − slo) is how long a burst runs on the ready workers alone.
func newDemand(h []float64, span, slo, window, pool int, z float64) demand {
	d := demand{span: span, react: span - slo, z: z}
	r60, rWin := meanRate(h, 60), meanRate(h, window)
	if len(h) >= 120 {
		d.trend = (r60 - meanRate(h[:len(h)-60], 60)) / 60
	}
	// Forecast: the larger of the recent level extrapolated along a rising
	// trend to the middle of the next span (the 60 s mean is centred 30 s
	// ago), the current span and the window's level.
	ahead := r60 + math.Max(0, d.trend)*(30+float64(span)/2)
	d.rate = max(ahead, meanRate(h, span), rWin)
	d.short = meanRate(h, slo)
	d.quiet, d.longestGap = silence(h, len(h))
	d.silent = len(h) >= span && d.quiet > max(d.longestGap, span)
	d.burst = burstHead(h, d.react-slo, pool, z)
	for _, s := range spanSums(h, span, pool) {
		d.peak = max(d.peak, s/float64(span))
	}
	// The window's mean, trusting no less than the SLO wait of history:
	// one second of a new endpoint's load is not a rate to commit creates
	// on, but waiting longer than the SLO wait to commit them makes every
	// cold-start request behind them late.
	n := min(len(h), window)
	for _, x := range h[len(h)-n:] {
		d.longRate += x
	}
	d.longRate /= float64(max(n, slo, 1))
	return d
}

// burstHead is the load a burst brings in its first head seconds (the
// requests that must start before a start issued at the burst's first
// tick lands, to wait no more than the SLO): the mean plus z standard
// deviations of every head-second window of the last window seconds. It is
// measured on whole windows, not extrapolated from single seconds, because
// bursty arrivals are correlated from one second to the next.
func burstHead(h []float64, head, window int, z float64) float64 {
	if head <= 0 {
		return 0
	}
	sums := spanSums(h, head, window)
	if len(sums) == 0 {
		return 0
	}
	m := 0.0
	for _, x := range sums {
		m += x
	}
	return m/float64(len(sums)) + z*stddev(sums)
}

// spanSums returns the load of every span-second sliding window inside the
// last look seconds of h (one per second), or the whole of a shorter h.
func spanSums(h []float64, span, look int) []float64 {
	if len(h) > look {
		h = h[len(h)-look:]
	}
	if len(h) < span {
		if len(h) == 0 {
			return nil
		}
		s := 0.0
		for _, x := range h {
			s += x
		}
		return []float64{s * float64(span) / float64(len(h))}
	}
	out := make([]float64, 0, len(h)-span+1)
	s := 0.0
	for i, x := range h {
		s += x
		if i >= span {
			s -= h[i-span]
		}
		if i >= span-1 {
			out = append(out, s)
		}
	}
	return out
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)-1))
}

// workersFor is how many workers of perf p serve backlog plus a span's
// arrivals at the forecast rate within the span: the level the ready
// workers must sustain. Variability is burstWorkers' job.
func (d demand) workersFor(backlog, p float64) int {
	load := backlog + d.rate*float64(d.span)
	return ceilDiv(load, p*float64(d.span))
}

// burstWorkers is how many ready workers absorb a burst head on top of
// backlog before started workers land: everything that arrives in the
// head must have started within react seconds.
func (d demand) burstWorkers(backlog, p float64) int {
	return ceilDiv(backlog+d.burst, p*float64(d.react))
}

// projectBacklog runs the fluid queue forward: backlog b now, arrivals at
// rate, capacity p per worker with ready workers now and one more at each
// of the arrivals (offsets from now). It returns the backlog after horizon.
func projectBacklog(b, rate, p float64, ready int, arrivals []time.Duration, horizon time.Duration) float64 {
	arr := slices.Clone(arrivals)
	slices.Sort(arr)
	t, c := 0.0, float64(ready)
	end := horizon.Seconds()
	for _, a := range append(arr, horizon) {
		next := math.Min(math.Max(a.Seconds(), t), end)
		b = math.Max(0, b+(rate-c*p)*(next-t))
		t = next
		c++
		if t >= end {
			break
		}
	}
	return b
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/drover-io/drover/client"
	"github.com/drover-io/drover/scheduler/sim"
)

// Environment variables loadgen reads when the flag is not given.
const (
	endpointEnv = "DROVER_ENDPOINT"
	apiKeyEnv   = "DROVER_API_KEY"
)

// loadgenConfig is the parsed command line of `drover loadgen`.
type loadgenConfig struct {
	addrs        []string
	endpoint     string
	apiKey       string
	route        string
	rate         float64       // arrivals/s; 0 = trace mode
	duration     time.Duration // arrivals stop after it (trace mode: 0 = whole trace)
	arrivals     string        // "poisson" or "constant"
	seed         uint64
	trace        string
	speedup      float64
	limit        int
	cost         float64 // > 0: fixed cost; 0 = prompt + 10 × generated tokens
	promptTokens int     // rate mode
	maxTokens    int     // rate mode
	stream       bool
	maxInflight  int
	timeout      time.Duration
	jsonOut      bool
}

// arrival is one request of the schedule: when (from the start) and its size.
type arrival struct {
	at     time.Duration
	prompt int
	gen    int
}

// runLoadgen is `drover loadgen`: open-loop load through the Go client. It
// exits 1 when any request failed.
func runLoadgen(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseLoadgenArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "drover loadgen: %v\n", err)
		return exitUsage
	}
	sched, err := cfg.schedule()
	if err != nil {
		fmt.Fprintf(stderr, "drover loadgen: %v\n", err)
		return exitFail
	}
	c, err := client.New(client.Config{Addrs: cfg.addrs, Endpoint: cfg.endpoint, APIKey: cfg.apiKey,
		HTTPClient: &http.Client{Transport: client.NewTransport(cfg.maxInflight)}})
	if err != nil {
		fmt.Fprintf(stderr, "drover loadgen: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep := (&loadgen{cfg: cfg, c: c}).run(ctx, sched)
	if err := rep.write(stdout, cfg.jsonOut); err != nil {
		fmt.Fprintf(stderr, "drover loadgen: %v\n", err)
		return exitFail
	}
	if rep.Requests != rep.OK {
		return exitFail
	}
	return exitOK
}

func parseLoadgenArgs(args []string, stderr io.Writer) (loadgenConfig, error) {
	var cfg loadgenConfig
	var addr string
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&addr, "addr", "", "comma list of node HTTP addresses (default: $"+addrEnv+" or "+defaultAddr+")")
	fs.StringVar(&cfg.endpoint, "endpoint", os.Getenv(endpointEnv), "endpoint name (default: $"+endpointEnv+")")
	fs.StringVar(&cfg.apiKey, "api-key", os.Getenv(apiKeyEnv), "the endpoint's api_key (default: $"+apiKeyEnv+")")
	fs.StringVar(&cfg.route, "route", "/v1/completions", "worker route the payload is POSTed to")
	fs.Float64Var(&cfg.rate, "rate", 0, "arrivals per second (rate mode)")
	fs.DurationVar(&cfg.duration, "duration", 0, "how long arrivals go on (rate mode: required; trace mode: 0 = the whole trace)")
	fs.StringVar(&cfg.arrivals, "arrivals", "poisson", "rate mode inter-arrival times: poisson or constant")
	fs.Uint64Var(&cfg.seed, "seed", 1, "random seed of the poisson arrivals")
	fs.StringVar(&cfg.trace, "trace", "", "trace to replay instead of --rate: a built-in name ("+strings.Join(sim.TraceNames(), ", ")+") or a `FILE` (Azure CSV or Mooncake JSONL)")
	fs.Float64Var(&cfg.speedup, "speedup", 1, "trace mode: replay this many times faster")
	fs.IntVar(&cfg.limit, "limit", 0, "trace mode: at most this many requests (0 = no limit)")
	fs.Float64Var(&cfg.cost, "cost", 0, "fixed cost of every request (0 = prompt tokens + 10 × generated tokens)")
	fs.IntVar(&cfg.promptTokens, "prompt-tokens", 100, "rate mode: prompt tokens per request")
	fs.IntVar(&cfg.maxTokens, "max-tokens", 16, "rate mode: tokens to generate per request")
	fs.BoolVar(&cfg.stream, "stream", false, "ask the model for a streamed answer")
	fs.IntVar(&cfg.maxInflight, "max-inflight", 256, "most requests in flight; arrivals beyond it fail as overload")
	fs.DurationVar(&cfg.timeout, "timeout", 60*time.Second, "deadline of each request, routing and queueing included")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the report as JSON")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if addr == "" {
		addr = os.Getenv(addrEnv)
	}
	if addr == "" {
		addr = defaultAddr
	}
	cfg.addrs = strings.Split(addr, ",")
	return cfg, cfg.validate()
}

func (cfg loadgenConfig) validate() error {
	switch {
	case cfg.endpoint == "":
		return errors.New("--endpoint (or $" + endpointEnv + ") is required")
	case (cfg.rate > 0) == (cfg.trace != ""):
		return errors.New("give exactly one of --rate and --trace")
	case cfg.rate > 0 && cfg.duration <= 0:
		return errors.New("--rate needs --duration")
	case math.IsInf(cfg.rate, 0) || math.IsNaN(cfg.rate) || cfg.rate < 0:
		return errors.New("--rate must be a positive number")
	case cfg.arrivals != "poisson" && cfg.arrivals != "constant":
		return fmt.Errorf("--arrivals %q: want poisson or constant", cfg.arrivals)
	case !(cfg.speedup > 0) || math.IsInf(cfg.speedup, 0):
		return errors.New("--speedup must be positive")
	case cfg.cost < 0 || math.IsNaN(cfg.cost) || math.IsInf(cfg.cost, 0):
		return errors.New("--cost must be a finite number ≥ 0")
	case cfg.maxInflight < 1:
		return errors.New("--max-inflight must be at least 1")
	case cfg.timeout <= 0:
		return errors.New("--timeout must be positive")
	case cfg.promptTokens < 0 || cfg.maxTokens < 0 || cfg.limit < 0 || cfg.duration < 0:
		return errors.New("--prompt-tokens, --max-tokens, --limit and --duration must not be negative")
	}
	return nil
}

// schedule builds the arrivals from the rate or the trace.
func (cfg loadgenConfig) schedule() ([]arrival, error) {
	if cfg.trace == "" {
		rng := rand.New(rand.NewPCG(cfg.seed, 0x64726f766572))
		return rateSchedule(cfg.rate, cfg.duration, cfg.arrivals == "poisson", cfg.promptTokens, cfg.maxTokens, rng), nil
	}
	f, err := sim.OpenTrace(cfg.trace)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	arr, err := readTrace(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.trace, err)
	}
	return scaleTrace(arr, cfg.speedup, cfg.duration, cfg.limit), nil
}

// rateSchedule is R arrivals/s over d: evenly spaced, or with exponential
// inter-arrival times (a Poisson process) drawn from rng.
func rateSchedule(rate float64, d time.Duration, poisson bool, prompt, gen int, rng *rand.Rand) []arrival {
	var out []arrival
	t := 0.0
	for i := 0; ; i++ {
		if poisson {
			t += rng.ExpFloat64() / rate
		} else {
			t = float64(i) / rate
		}
		at := time.Duration(t * float64(time.Second))
		if at >= d {
			return out
		}
		out = append(out, arrival{at: at, prompt: prompt, gen: gen})
	}
}

// readTrace parses a trace in either of the formats sim.ReadRows knows
// (the Azure CSV, the Mooncake JSONL with millisecond timestamps). Arrival
// times are offsets from the first arrival, in time order.
func readTrace(r io.Reader) ([]arrival, error) {
	rows, err := sim.ReadRows(r)
	if err != nil {
		return nil, err
	}
	out := make([]arrival, len(rows))
	for i, row := range rows {
		out[i] = arrival{at: row.At, prompt: row.Prompt, gen: row.Output}
	}
	return out, nil
}

// scaleTrace divides arrival times by speedup and keeps those before d (0 =
// all), at most limit (0 = all).
func scaleTrace(arr []arrival, speedup float64, d time.Duration, limit int) []arrival {
	out := make([]arrival, 0, len(arr))
	for _, a := range arr {
		a.at = time.Duration(float64(a.at) / speedup)
		if (d > 0 && a.at >= d) || (limit > 0 && len(out) == limit) {
			break
		}
		out = append(out, a)
	}
	return out
}

// loadgen sends a schedule through the client.
type loadgen struct {
	cfg    loadgenConfig
	c      *client.Client
	prompt string // the longest prompt needed; requests send a prefix
	mu     sync.Mutex
	smp    []sample
}

// sample is the outcome of one arrival.
type sample struct {
	kind               string // "ok" or an error kind
	route, ttfb, total time.Duration
}

// run issues the arrivals open-loop (each at its time whatever the others
// do), at most maxInflight at once, waits for the last ones and reports.
func (lg *loadgen) run(ctx context.Context, sched []arrival) *loadReport {
	maxPrompt := 0
	for _, a := range sched {
		maxPrompt = max(maxPrompt, a.prompt)
	}
	lg.prompt = strings.Repeat("tok ", maxPrompt)
	sem := make(chan struct{}, lg.cfg.maxInflight)
	var wg sync.WaitGroup
	timer := time.NewTimer(0)
	defer timer.Stop()
	start := time.Now()
	for _, a := range sched {
		if d := time.Until(start.Add(a.at)); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case sem <- struct{}{}:
			wg.Go(func() {
				defer func() { <-sem }()
				lg.record(lg.one(ctx, a))
			})
		default:
			lg.record(sample{kind: "overload"})
		}
	}
	offered := time.Since(start)
	wg.Wait()
	return summarize(lg.smp, offered, time.Since(start))
}

func (lg *loadgen) record(s sample) {
	lg.mu.Lock()
	lg.smp = append(lg.smp, s)
	lg.mu.Unlock()
}

// one sends one request and reads its whole answer.
func (lg *loadgen) one(ctx context.Context, a arrival) sample {
	ctx, cancel := context.WithTimeout(ctx, lg.cfg.timeout)
	defer cancel()
	cost := lg.cfg.cost
	if cost == 0 {
		cost = float64(a.prompt + 10*a.gen)
	}
	payload := map[string]any{"model": "fake-model", "prompt": lg.prompt[:4*a.prompt],
		"max_tokens": a.gen, "stream": lg.cfg.stream}
	start := time.Now()
	resp, err := lg.c.Send(ctx, lg.cfg.route, payload, cost)
	if err != nil {
		return sample{kind: errorKind(err)}
	}
	defer resp.Body.Close()
	s := sample{kind: "ok", route: resp.RouteTime}
	if resp.StatusCode/100 != 2 {
		s.kind = fmt.Sprintf("worker_%d", resp.StatusCode)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 && s.ttfb == 0 {
			s.ttfb = time.Since(start)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			if s.kind == "ok" {
				s.kind = errorKind(err)
			}
			break
		}
	}
	s.total = time.Since(start)
	if s.ttfb == 0 {
		s.ttfb = s.total
	}
	return s
}

// errorKind names an error for the report.
func errorKind(err error) string {
	switch {
	case errors.Is(err, client.ErrAuth):
		return "auth"
	case errors.Is(err, client.ErrNoEndpoint):
		return "no_endpoint"
	case errors.Is(err, client.ErrDeadline), errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, client.ErrBadRequest):
		return "bad_request"
	case errors.Is(err, client.ErrWorker):
		return "worker_failed"
	default:
		return "stream"
	}
}

// loadReport is what loadgen prints.
type loadReport struct {
	Requests   int                `json:"requests"`
	OK         int                `json:"ok"`
	Errors     map[string]int     `json:"errors"`
	OfferedS   float64            `json:"offered_s"`   // time spent issuing arrivals
	ElapsedS   float64            `json:"elapsed_s"`   // until the last answer
	OfferedRPS float64            `json:"offered_rps"` // requests / offered_s
	ServedRPS  float64            `json:"served_rps"`  // ok / elapsed_s
	LatencyMS  map[string]latency `json:"latency_ms"`  // "route", "ttfb", "total" of ok requests
}

type latency struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func summarize(smp []sample, offered, elapsed time.Duration) *loadReport {
	rep := &loadReport{Requests: len(smp), Errors: map[string]int{}, OfferedS: offered.Seconds(),
		ElapsedS: elapsed.Seconds(), LatencyMS: map[string]latency{}}
	var route, ttfb, total []time.Duration
	for _, s := range smp {
		if s.kind != "ok" {
			rep.Errors[s.kind]++
			continue
		}
		rep.OK++
		route, ttfb, total = append(route, s.route), append(ttfb, s.ttfb), append(total, s.total)
	}
	if offered > 0 {
		rep.OfferedRPS = float64(rep.Requests) / offered.Seconds()
	}
	if elapsed > 0 {
		rep.ServedRPS = float64(rep.OK) / elapsed.Seconds()
	}
	rep.LatencyMS["route"] = latencyOf(route)
	rep.LatencyMS["ttfb"] = latencyOf(ttfb)
	rep.LatencyMS["total"] = latencyOf(total)
	return rep
}

func latencyOf(d []time.Duration) latency {
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return latency{P50: ms(percentile(d, 50)), P90: ms(percentile(d, 90)), P99: ms(percentile(d, 99)), Max: ms(percentile(d, 100))}
}

// percentile is the nearest-rank p-th percentile of sorted (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func (rep *loadReport) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "requests %d  ok %d  failed %d  offered %.1f/s over %.1fs  served %.1f/s\n",
		rep.Requests, rep.OK, rep.Requests-rep.OK, rep.OfferedRPS, rep.OfferedS, rep.ServedRPS)
	if len(rep.Errors) > 0 {
		kinds := make([]string, 0, len(rep.Errors))
		for k := range rep.Errors {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		fmt.Fprint(w, "errors:")
		for _, k := range kinds {
			fmt.Fprintf(w, " %s=%d", k, rep.Errors[k])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-8s %10s %10s %10s %10s\n", "ms", "p50", "p90", "p99", "max")
	for _, k := range []string{"route", "ttfb", "total"} {
		l := rep.LatencyMS[k]
		fmt.Fprintf(w, "%-8s %10.2f %10.2f %10.2f %10.2f\n", k, l.P50, l.P90, l.P99, l.Max)
	}
	return nil
}

package sim

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrTrace is returned for a malformed trace file.
var ErrTrace = errors.New("sim: malformed trace")

// Request is one request of a workload: when it arrives (seconds from the
// start of the workload) and its load (units).
type Request struct {
	At   float64
	Load float64
}

// traceLayout is the timestamp format of ../shared/traces (7 fractional
// digits).
const traceLayout = "2006-01-02 15:04:05.0000000"

// ReadTrace parses a trace (header TIMESTAMP,ContextTokens,GeneratedTokens;
// CRLF or LF line ends) into requests with load = prompt + genWeight ×
// generated, times relative to the first arrival, sorted by time.
func ReadTrace(r io.Reader, genWeight float64) ([]Request, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var out []Request
	var first time.Time
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if line == 1 || text == "" {
			continue
		}
		req, at, err := parseRow(text, genWeight)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrTrace, line, err)
		}
		if len(out) == 0 {
			first = at
		}
		req.At = at.Sub(first).Seconds()
		out = append(out, req)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no requests", ErrTrace)
	}
	slices.SortStableFunc(out, func(a, b Request) int { return cmpFloat(a.At, b.At) })
	if out[0].At < 0 {
		shift := -out[0].At
		for i := range out {
			out[i].At += shift
		}
	}
	return out, nil
}

func parseRow(text string, genWeight float64) (Request, time.Time, error) {
	f := strings.Split(text, ",")
	if len(f) != 3 {
		return Request{}, time.Time{}, fmt.Errorf("want 3 fields, got %d", len(f))
	}
	at, err := time.Parse(traceLayout, strings.TrimSpace(f[0]))
	if err != nil {
		return Request{}, time.Time{}, err
	}
	ctx, err1 := strconv.ParseFloat(strings.TrimSpace(f[1]), 64)
	gen, err2 := strconv.ParseFloat(strings.TrimSpace(f[2]), 64)
	if err := errors.Join(err1, err2); err != nil {
		return Request{}, time.Time{}, err
	}
	if ctx < 0 || gen < 0 || math.IsNaN(ctx+gen) || math.IsInf(ctx+gen, 0) {
		return Request{}, time.Time{}, fmt.Errorf("bad token counts %q", text)
	}
	return Request{Load: ctx + genWeight*gen}, at, nil
}

// Transform time-scales a workload: arrival times are divided by speedup
// (> 1 compresses), and the arrival rate is multiplied by rateScale by
// copying each request floor(rateScale) times plus once more with the
// fractional probability (seeded), copies spread by up to 1 ms. Zero or
// one leaves the workload as it is.
func Transform(reqs []Request, speedup, rateScale float64, seed uint64) []Request {
	if speedup <= 0 {
		speedup = 1
	}
	if rateScale <= 0 {
		rateScale = 1
	}
	rng := rand.New(rand.NewPCG(seed, 0x7ace))
	out := make([]Request, 0, int(float64(len(reqs))*rateScale)+1)
	whole, frac := math.Modf(rateScale)
	for _, r := range reqs {
		n := int(whole)
		if rng.Float64() < frac {
			n++
		}
		for i := range n {
			out = append(out, Request{At: r.At/speedup + float64(i)*rng.Float64()*1e-3, Load: r.Load})
		}
	}
	slices.SortStableFunc(out, func(a, b Request) int { return cmpFloat(a.At, b.At) })
	return out
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

package sim

import (
	"bufio"
	"cmp"
	"encoding/json"
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

// traceLayout is the timestamp format of the Azure traces (7 fractional
// digits).
const traceLayout = "2006-01-02 15:04:05.0000000"

// Row is one request of a trace file: when it arrived (seconds after the
// trace's first arrival) and its token counts.
type Row struct {
	At             time.Duration
	Prompt, Output int
}

// ReadTrace parses a trace file into requests with load = prompt +
// genWeight × generated tokens, times relative to the first arrival,
// sorted by time. Both formats ReadRows knows are accepted.
func ReadTrace(r io.Reader, genWeight float64) ([]Request, error) {
	rows, err := ReadRows(r)
	if err != nil {
		return nil, err
	}
	out := make([]Request, len(rows))
	for i, row := range rows {
		out[i] = Request{At: row.At.Seconds(), Load: float64(row.Prompt) + genWeight*float64(row.Output)}
	}
	return out, nil
}

// ReadRows parses a trace in either format, told apart by its first
// non-blank byte:
//   - CSV (the Azure LLM traces): header TIMESTAMP,ContextTokens,GeneratedTokens,
//     CRLF or LF line ends, timestamps "YYYY-MM-DD HH:MM:SS.fffffff";
//   - JSONL (the Mooncake traces): one object a line with "timestamp"
//     (milliseconds), "input_length" and "output_length"; other fields
//     (hash_ids) are ignored.
//
// Rows are returned sorted by time, offsets from the earliest arrival.
func ReadRows(r io.Reader) ([]Row, error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err != nil {
		return nil, fmt.Errorf("%w: no requests", ErrTrace)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var base time.Time // the CSV's first timestamp
	parse := func(text string) (Row, error) { return parseCSVRow(text, &base) }
	if first == '{' {
		parse = parseJSONRow
	}
	var out []Row
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || (first != '{' && line == 1 && strings.HasPrefix(strings.ToUpper(text), "TIMESTAMP")) {
			continue
		}
		row, err := parse(text)
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrTrace, line, err)
		}
		out = append(out, row)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no requests", ErrTrace)
	}
	slices.SortStableFunc(out, func(a, b Row) int { return cmp.Compare(a.At, b.At) })
	t0 := out[0].At
	for i := range out {
		out[i].At -= t0
	}
	return out, nil
}

// firstByte peeks at the first non-blank byte of br.
func firstByte(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if err != nil {
			return 0, err
		}
		if c := b[n-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c, nil
		}
	}
}

// parseCSVRow parses one Azure row; At is seconds since *base, the first
// row's timestamp (set by the first call).
func parseCSVRow(text string, base *time.Time) (Row, error) {
	f := strings.Split(text, ",")
	if len(f) != 3 {
		return Row{}, fmt.Errorf("%d fields, want 3", len(f))
	}
	at, err := time.Parse(traceLayout, strings.TrimSpace(f[0]))
	if err != nil {
		return Row{}, fmt.Errorf("timestamp: %w", err)
	}
	ctx, err1 := strconv.Atoi(strings.TrimSpace(f[1]))
	gen, err2 := strconv.Atoi(strings.TrimSpace(f[2]))
	if errors.Join(err1, err2) != nil || ctx < 0 || gen < 0 {
		return Row{}, fmt.Errorf("token counts %q, %q: want integers ≥ 0", f[1], f[2])
	}
	if base.IsZero() {
		*base = at
	}
	return Row{At: at.Sub(*base), Prompt: ctx, Output: gen}, nil
}

// jsonRow is one Mooncake line.
type jsonRow struct {
	Timestamp *float64 `json:"timestamp"`
	Input     *int     `json:"input_length"`
	Output    *int     `json:"output_length"`
}

func parseJSONRow(text string) (Row, error) {
	var j jsonRow
	if err := json.Unmarshal([]byte(text), &j); err != nil {
		return Row{}, err
	}
	if j.Timestamp == nil || j.Input == nil || j.Output == nil {
		return Row{}, errors.New("want timestamp, input_length and output_length")
	}
	ts := *j.Timestamp
	if *j.Input < 0 || *j.Output < 0 {
		return Row{}, fmt.Errorf("token counts %d, %d: want integers ≥ 0", *j.Input, *j.Output)
	}
	if ts < 0 || ts > 1e12 || math.IsNaN(ts) {
		return Row{}, fmt.Errorf("timestamp %v: want milliseconds in [0, 1e12]", ts)
	}
	return Row{At: time.Duration(math.Round(ts * 1e6)), Prompt: *j.Input, Output: *j.Output}, nil
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

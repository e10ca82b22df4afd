package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/scheduler/sim"
)

func TestReadTrace(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []arrival
		wantErr string
	}{
		{"shared format: header, CRLF, 7-digit fraction, no final newline",
			"TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.9799600,4808,10\r\n2023-11-16 18:17:04.0319600,3180,8",
			[]arrival{{0, 4808, 10}, {52 * time.Millisecond, 3180, 8}}, ""},
		{"LF, no header, 100ns resolution",
			"2023-11-16 18:17:03.0000000,1,2\n2023-11-16 18:17:03.0000001,3,4\n\n",
			[]arrival{{0, 1, 2}, {100 * time.Nanosecond, 3, 4}}, ""},
		{"out of order rows are sorted",
			"2023-11-16 18:17:05.0000000,1,1\n2023-11-16 18:17:03.5000000,2,2\n",
			[]arrival{{0, 2, 2}, {1500 * time.Millisecond, 1, 1}}, ""},
		{"mooncake JSONL, ms timestamps, extra fields ignored",
			"{\"timestamp\": 0, \"input_length\": 40160, \"output_length\": 6, \"hash_ids\": [0, 1]}\n{\"timestamp\": 1500, \"input_length\": 7, \"output_length\": 8, \"hash_ids\": []}\n",
			[]arrival{{0, 40160, 6}, {1500 * time.Millisecond, 7, 8}}, ""},
		{"JSONL missing a field", "{\"timestamp\": 0, \"input_length\": 4}\n", nil, "line 1: want timestamp"},
		{"empty", "TIMESTAMP,ContextTokens,GeneratedTokens\r\n", nil, "no requests"},
		{"two fields", "2023-11-16 18:17:03.9799600,4808\r\n", nil, "line 1: 2 fields"},
		{"bad timestamp", "TIMESTAMP,a,b\r\n2023-11-16T18:17:03,1,2\r\n", nil, "line 2: timestamp"},
		{"negative tokens", "2023-11-16 18:17:03.9799600,-1,2\n", nil, "line 1: token counts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readTrace(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readTrace(%q) error = %v, want %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("readTrace(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestReadBuiltinTraces parses the built-in traces and checks the figures
// their README (scheduler/sim/testdata) gives.
func TestReadBuiltinTraces(t *testing.T) {
	path := "azure-code"
	f, err := sim.OpenTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	arr, err := readTrace(f)
	if err != nil {
		t.Fatalf("readTrace(%s): %v", path, err)
	}
	span := 57*time.Minute + 15*time.Second + 948056*time.Microsecond
	if len(arr) != 8819 || arr[len(arr)-1].at != span || arr[0].prompt != 4808 || arr[0].gen != 10 {
		t.Errorf("readTrace(%s) = %d rows spanning %v, first %+v; want 8819 rows, %v, {0 4808 10}",
			path, len(arr), arr[len(arr)-1].at, arr[0], span)
	}
	m, err := sim.OpenTrace("mooncake")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if arr, err = readTrace(m); err != nil || len(arr) != 3993 || arr[0].prompt != 40160 {
		t.Errorf("readTrace(mooncake) = %d rows, first %+v, %v; want 3993 rows, first prompt 40160", len(arr), arr[0], err)
	}
}

func TestRateSchedule(t *testing.T) {
	got := rateSchedule(10, time.Second, false, 5, 6, nil)
	if len(got) != 10 {
		t.Fatalf("constant 10/s over 1s: %d arrivals, want 10", len(got))
	}
	for i, a := range got {
		if want := time.Duration(i) * 100 * time.Millisecond; a.at != want || a.prompt != 5 || a.gen != 6 {
			t.Errorf("constant arrival %d = %+v, want at %v, 5, 6", i, a, want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	got = rateSchedule(200, 10*time.Second, true, 1, 1, rng)
	if n := len(got); n < 1800 || n > 2200 {
		t.Errorf("poisson 200/s over 10s: %d arrivals, want about 2000", n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].at < got[i-1].at || got[i].at >= 10*time.Second {
			t.Fatalf("poisson arrival %d at %v after %v: want increasing and < 10s", i, got[i].at, got[i-1].at)
		}
	}
}

func TestScaleTrace(t *testing.T) {
	arr := []arrival{{0, 1, 1}, {2 * time.Second, 2, 2}, {4 * time.Second, 3, 3}, {6 * time.Second, 4, 4}}
	tests := []struct {
		name    string
		speedup float64
		d       time.Duration
		limit   int
		want    []arrival
	}{
		{"all", 1, 0, 0, arr},
		{"speedup 2", 2, 0, 0, []arrival{{0, 1, 1}, {time.Second, 2, 2}, {2 * time.Second, 3, 3}, {3 * time.Second, 4, 4}}},
		{"speedup 2 for 2s", 2, 2 * time.Second, 0, []arrival{{0, 1, 1}, {time.Second, 2, 2}}},
		{"limit 3", 1, 0, 3, arr[:3]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scaleTrace(arr, tt.speedup, tt.d, tt.limit); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("scaleTrace(%v, %v, %d) = %v, want %v", tt.speedup, tt.d, tt.limit, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", []time.Duration{7}, 99, 7},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"max of 100", hundred, 100, 100 * time.Millisecond},
		{"p0 is the min", hundred, 0, time.Millisecond},
		{"p50 of 3", []time.Duration{1, 2, 3}, 50, 2},
		{"p99 of 3", []time.Duration{1, 2, 3}, 99, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestParseLoadgenArgsRefuses(t *testing.T) {
	base := []string{"--addr", "127.0.0.1:1", "--endpoint", "ep"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no mode", base, "exactly one of --rate and --trace"},
		{"both modes", append(base, "--rate", "1", "--duration", "1s", "--trace", "x"), "exactly one"},
		{"rate without duration", append(base, "--rate", "1"), "--rate needs --duration"},
		{"bad arrivals", append(base, "--rate", "1", "--duration", "1s", "--arrivals", "bursty"), "poisson or constant"},
		{"no endpoint", []string{"--addr", "x:1", "--endpoint", "", "--rate", "1", "--duration", "1s"}, "--endpoint"},
		{"zero inflight", append(base, "--rate", "1", "--duration", "1s", "--max-inflight", "0"), "--max-inflight"},
		{"bad speedup", append(base, "--trace", "x", "--speedup", "0"), "--speedup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseLoadgenArgs(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("parseLoadgenArgs(%q) = %v, want an error with %q", tt.args, err, tt.want)
			}
		})
	}
}

// loadgenCluster is one fake node (every /route/ answered ready) in front of
// one fake worker whose handler the test chooses.
func loadgenCluster(t *testing.T, worker http.HandlerFunc) (addr string, routes *atomic.Int64) {
	t.Helper()
	ws := httptest.NewServer(worker)
	t.Cleanup(ws.Close)
	routes = new(atomic.Int64)
	ns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			APIKey string  `json:"api_key"`
			Cost   float64 `json:"cost"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.APIKey != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		n := routes.Add(1)
		fmt.Fprintf(w, `{"endpoint":"ep","url":%q,"cost":%v,"reqnum":%d,"signature":"s","request_idx":%d}`, ws.URL, req.Cost, n, n)
	}))
	t.Cleanup(ns.Close)
	return ns.Listener.Addr().String(), routes
}

// streamingWorker answers like the fake model: three SSE chunks.
func streamingWorker(w http.ResponseWriter, r *http.Request) {
	var body struct {
		AuthData map[string]any `json:"auth_data"`
		Payload  map[string]any `json:"payload"`
	}
	if json.NewDecoder(r.Body).Decode(&body) != nil || body.AuthData["url"] == nil || body.Payload["model"] != "fake-model" {
		w.WriteHeader(http.StatusUnprocessableEntity)
		return
	}
	for i := range 3 {
		fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
		w.(http.Flusher).Flush()
	}
}

func runLoadgenJSON(t *testing.T, args ...string) (*loadReport, int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"loadgen", "--json"}, args...), &out, &errOut)
	var rep loadReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("loadgen output %q (stderr %q): %v", out.String(), errOut.String(), err)
	}
	return &rep, code, errOut.String()
}

func TestLoadgenRate(t *testing.T) {
	addr, routes := loadgenCluster(t, streamingWorker)
	rep, code, stderr := runLoadgenJSON(t, "--addr", addr, "--endpoint", "ep", "--api-key", "k",
		"--rate", "50", "--duration", "400ms", "--arrivals", "constant", "--stream")
	if code != exitOK || rep.Requests != 20 || rep.OK != 20 || len(rep.Errors) != 0 {
		t.Fatalf("loadgen = exit %d, %+v (stderr %q); want exit 0, 20 requests, all ok", code, rep, stderr)
	}
	if routes.Load() != 20 {
		t.Errorf("node saw %d /route/ calls, want 20", routes.Load())
	}
	for _, k := range []string{"route", "ttfb", "total"} {
		l := rep.LatencyMS[k]
		if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
			t.Errorf("latency %s = %+v, want 0 < p50 ≤ p90 ≤ p99 ≤ max", k, l)
		}
	}
}

func TestLoadgenTrace(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "trace.csv")
	rows := "TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:17:03.0000000,10,1\r\n" +
		"2023-11-16 18:17:04.0000000,20,2\r\n2023-11-16 18:17:05.0000000,30,3\r\n2023-11-16 18:17:09.0000000,40,4"
	if err := os.WriteFile(trace, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var costs []float64
	worker := func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			AuthData struct{ Cost float64 } `json:"auth_data"`
		}
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		costs = append(costs, body.AuthData.Cost)
		mu.Unlock()
		io.WriteString(w, "{}")
	}
	addr, _ := loadgenCluster(t, worker)
	t.Setenv(apiKeyEnv, "k")
	rep, code, stderr := runLoadgenJSON(t, "--addr", addr, "--endpoint", "ep", "--trace", trace,
		"--speedup", "10", "--duration", "500ms", "--max-inflight", "1")
	if code != exitOK || rep.Requests != 3 || rep.OK != 3 {
		t.Fatalf("loadgen = exit %d, %+v (stderr %q); want exit 0, 3 ok (the 4th is past --duration)", code, rep, stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(costs) != "[20 40 60]" {
		t.Errorf("costs = %v, want prompt + 10 × generated: [20 40 60]", costs)
	}
}

func TestLoadgenBoundsInflight(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	addr, _ := loadgenCluster(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	rep, code, _ := runLoadgenJSON(t, "--addr", addr, "--endpoint", "ep", "--api-key", "k", "--rate", "50",
		"--duration", "100ms", "--arrivals", "constant", "--max-inflight", "1", "--timeout", "300ms")
	if code != exitFail || rep.Requests != 5 || rep.Errors["deadline"] != 1 || rep.Errors["overload"] != 4 {
		t.Errorf("loadgen = exit %d, %+v; want exit 1, 5 requests: 1 deadline, 4 overload", code, rep)
	}
}

func TestLoadgenAuthError(t *testing.T) {
	addr, _ := loadgenCluster(t, streamingWorker)
	var out bytes.Buffer
	code := run([]string{"loadgen", "--addr", addr, "--endpoint", "ep", "--api-key", "wrong",
		"--rate", "20", "--duration", "100ms", "--arrivals", "constant"}, &out, io.Discard)
	if code != exitFail || !strings.Contains(out.String(), "auth=2") || !strings.Contains(out.String(), "requests 2  ok 0") {
		t.Errorf("loadgen with a wrong key = exit %d, output:\n%s\nwant exit 1, requests 2, auth=2", code, out.String())
	}
}

package sim

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestReadTrace(t *testing.T) {
	in := "TIMESTAMP,ContextTokens,GeneratedTokens\r\n" +
		"2023-11-16 18:17:03.9799600,4808,10\r\n2023-11-16 18:17:04.0319600,3180,8"
	got, err := ReadTrace(strings.NewReader(in), 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{{At: 0, Load: 4908}, {At: 0.052, Load: 3260}}
	if len(got) != 2 || got[0] != want[0] || math.Abs(got[1].At-want[1].At) > 1e-9 || got[1].Load != want[1].Load {
		t.Errorf("ReadTrace = %v, want %v", got, want)
	}
	if _, err := ReadTrace(strings.NewReader("h\r\nbad,row"), 10); err == nil {
		t.Errorf("ReadTrace(bad row) = nil error, want one")
	}
}

// small is a short synthetic workload: steady, then a burst.
func small(t *testing.T) []Request {
	t.Helper()
	a, err := Pattern("spike", 900, 2, 2300, 7)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestConservation(t *testing.T) {
	reqs := small(t)
	res, err := Run(reqs, []string{"vast", "kpa", "drover", "oracle"}, Config{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		// Every request is either served (with a wait) or unserved.
		srv := servedCount(t, reqs, r.Name)
		if srv+r.Unserved != len(reqs) {
			t.Errorf("%s: served %d + unserved %d != %d requests", r.Name, srv, r.Unserved, len(reqs))
		}
		if r.SLOAttainment < 0 || r.SLOAttainment > 1 || r.GPUSeconds <= 0 {
			t.Errorf("%s: attainment %v, gpu_seconds %v out of range", r.Name, r.SLOAttainment, r.GPUSeconds)
		}
	}
}

// servedCount reruns one policy and counts requests with a wait.
func servedCount(t *testing.T, reqs []Request, name string) int {
	t.Helper()
	cfg := DefaultConfig()
	var srv *server
	if name == "oracle" {
		srv = newServer(reqs, cfg.Perf, endOf(reqs, cfg))
		need := oracleNeed(reqs, cfg)
		for tt := 0.0; tt < endOf(reqs, cfg); tt++ {
			n := 0
			if k := int(tt / 10); k < len(need) {
				n = need[k]
			}
			for len(srv.workers) < n {
				srv.add(tt)
			}
			for i, w := range srv.workers {
				w.active = i < n
			}
			srv.serveUntil(math.Min(tt+1, endOf(reqs, cfg)))
		}
	} else {
		res, _ := Run(reqs, []string{name}, cfg)
		return len(reqs) - res[0].Unserved
	}
	n := 0
	for _, w := range srv.waits {
		if !math.IsNaN(w) {
			n++
		}
	}
	return n
}

func TestOracleCost(t *testing.T) {
	// 3 requests in bucket 0 (load 120000: ceil(120000/50000) = 3 workers),
	// none in bucket 1, one in bucket 2 (1 worker): (3+0+1) × 10 s.
	reqs := []Request{{0.5, 40000}, {1, 40000}, {2, 40000}, {25, 100}}
	res, err := Run(reqs, []string{"oracle"}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res[0].GPUSeconds, 40.0; got != want {
		t.Errorf("oracle gpu_seconds = %v, want %v", got, want)
	}
	if res[0].Unserved != 0 || res[0].SLOAttainment != 1 {
		t.Errorf("oracle service = %+v, want all served within the SLO", res[0])
	}
}

func TestDeterministic(t *testing.T) {
	reqs := small(t)
	cfg := Config{Seed: 11, CreateFail: 0.1, CreateHang: 0.1}
	a, err := Run(reqs, []string{"vast", "drover"}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Run(reqs, []string{"vast", "drover"}, cfg)
	for i := range a {
		if !reflect.DeepEqual(a[i], b[i]) {
			a[i].Ready, b[i].Ready = nil, nil
			t.Errorf("two runs with seed 11 differ:\n%+v\n%+v", a[i], b[i])
		}
	}
}

func TestStuckCreatesRecover(t *testing.T) {
	reqs := small(t)
	res, err := Run(reqs, []string{"drover"}, Config{Seed: 5, CreateHang: 0.3})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Actions.Destroy == 0 || r.SLOAttainment < 0.5 {
		t.Errorf("drover with 30%% hanging creates = %+v, want abandoned creates destroyed and service kept", r)
	}
}

// TestTraceGoal runs the real trace: drover at <= 0.5 × vast's GPU-seconds
// with at least vast's SLO attainment, all four policies within 20 s.
func TestTraceGoal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	reqs, err := LoadTrace("azure-code", 10)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(reqs, []string{"vast", "kpa", "drover", "oracle"}, Config{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]Result{}
	for _, r := range res {
		by[r.Name] = r
		t.Logf("%-7s gpu_seconds %8.0f slo %.4f p50 %.2f p99 %.2f unserved %d %+v", r.Name, r.GPUSeconds,
			r.SLOAttainment, r.P50Wait, r.P99Wait, r.Unserved, r.Actions)
	}
	d, v := by["drover"], by["vast"]
	if d.GPUSeconds > 0.5*v.GPUSeconds || d.SLOAttainment < v.SLOAttainment {
		t.Errorf("drover %.0f GPU-s at %.4f vs vast %.0f at %.4f: want <= 0.5× the cost at >= the attainment",
			d.GPUSeconds, d.SLOAttainment, v.GPUSeconds, v.SLOAttainment)
	}
}

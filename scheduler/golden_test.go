package scheduler

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

var update = flag.Bool("update", false, "rewrite the golden plans in testdata/")

// scenario is one golden decision case: testdata/NAME.json in,
// testdata/NAME.golden (the plans with reasons) out.
type scenario struct {
	Policies []string        `json:"policies"`
	Started  float64         `json:"memory_started"` // when the leader's memory began, seconds
	Endpoint json.RawMessage `json:"endpoint"`       // patch over the spec defaults (max_workers 50)
	Ticks    []tick          `json:"ticks"`
}

type tick struct {
	At     float64     `json:"at"`
	Groups []groupSpec `json:"groups"` // omitted: the previous tick's
	Load   loadSpec    `json:"load"`
}

type groupSpec struct {
	ID          uint64       `json:"id"`
	TestWorkers int64        `json:"test_workers"`
	Perf        float64      `json:"perf"`
	Create      float64      `json:"create_s"`
	Start       float64      `json:"start_s"`
	Workers     []workerSpec `json:"workers"`
	Pending     []struct {
		Key     string  `json:"key"`
		Created float64 `json:"created"`
	} `json:"pending"`
}

type workerSpec struct {
	ID       uint64  `json:"id"`
	State    string  `json:"state"`
	Since    float64 `json:"since"`
	InFlight float64 `json:"in_flight"`
	Perf     float64 `json:"perf"` // reported max_perf, 0 = not yet
	Cost     float64 `json:"cost"`
}

type loadSpec struct {
	History [][2]float64 `json:"history"` // [seconds, load/s] segments, oldest first
	Queued  float64      `json:"queued"`
	InFlt   float64      `json:"in_flight"`
}

var epoch = time.Unix(1_700_000_000, 0).UTC()

func ts(s float64) time.Time { return epoch.Add(time.Duration(s * float64(time.Second))) }

func (s *scenario) input(t tick, groups []groupSpec) (*Input, error) {
	e := fsm.EndpointDefaults()
	e.ID, e.Name, e.MaxWorkers = 1, "golden", 50
	if len(s.Endpoint) > 0 {
		if err := json.Unmarshal(s.Endpoint, &e); err != nil {
			return nil, err
		}
	}
	ep := EndpointInput{Endpoint: e}
	for _, seg := range t.Load.History {
		for range int(seg[0]) {
			ep.Load.History = append(ep.Load.History, seg[1])
		}
	}
	ep.Load.Queued, ep.Load.InFlight = t.Load.Queued, t.Load.InFlt
	for _, g := range groups {
		gi := GroupInput{Group: fsm.Group{ID: g.ID, EndpointID: 1, TestWorkers: g.TestWorkers, Provider: "sim"},
			AssumedPerf: g.Perf, Timing: Timing{Create: secsDur(g.Create), Start: secsDur(g.Start)}}
		for _, w := range g.Workers {
			wi := WorkerInput{Since: ts(w.Since), InFlight: w.InFlight}
			wi.ID, wi.GroupID, wi.EndpointID, wi.State, wi.MaxPerf, wi.Cost = w.ID, g.ID, 1, w.State, w.Perf, w.Cost
			gi.Workers = append(gi.Workers, wi)
		}
		for _, p := range g.Pending {
			gi.Pending = append(gi.Pending, fsm.Intent{Key: p.Key, Kind: fsm.IntentCreate, EndpointID: 1, GroupID: g.ID,
				State: fsm.IntentPending, CreatedAt: float64(ts(p.Created).UnixNano()) / 1e9})
		}
		ep.Groups = append(ep.Groups, gi)
	}
	return &Input{Now: ts(t.At), Endpoints: []EndpointInput{ep}}, nil
}

func secsDur(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// render runs every policy of the scenario through its ticks.
func (s *scenario) render(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, name := range s.Policies {
		pol, err := New(name, Config{})
		if err != nil {
			t.Fatal(err)
		}
		mem := NewMemory(ts(s.Started))
		var groups []groupSpec
		for _, tk := range s.Ticks {
			if tk.Groups != nil {
				groups = tk.Groups
			}
			in, err := s.input(tk, groups)
			if err != nil {
				t.Fatal(err)
			}
			p := pol.Plan(in, mem)
			fmt.Fprintf(&b, "== %s t=%gs\n", name, tk.At)
			for _, a := range p.Actions {
				fmt.Fprintf(&b, "%s\n", a)
			}
			for _, n := range p.Notes {
				fmt.Fprintf(&b, "note %s\n", n)
			}
		}
	}
	return b.String()
}

func TestGoldenScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var s scenario
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			got := s.render(t)
			golden := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("plans for %s differ from %s:\n--- got\n%s\n--- want\n%s", file, golden, got, want)
			}
		})
	}
}

package sim

import (
	"reflect"
	"strings"
	"testing"
)

func TestCorpusCells(t *testing.T) {
	cells, err := Corpus(CorpusOptions{}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := 2 + len(PatternNames())*len(CorpusSpeedups)*len(CorpusRateScales) + len(WorkloadNames())
	if len(cells) != want {
		t.Fatalf("corpus has %d cells, want %d", len(cells), want)
	}
	seen := map[string]bool{}
	for _, c := range cells {
		if seen[c.Name] || len(c.Reqs) == 0 || c.Cfg.Seed != 1 {
			t.Errorf("cell %q: duplicate %v, %d requests, seed %d", c.Name, seen[c.Name], len(c.Reqs), c.Cfg.Seed)
		}
		seen[c.Name] = true
		for i := 1; i < len(c.Reqs); i++ {
			if c.Reqs[i].At < c.Reqs[i-1].At {
				t.Fatalf("cell %q: request %d arrives before %d", c.Name, i, i-1)
			}
		}
	}
	if f := cells[len(cells)-1]; f.Name != "tenants" || cells[len(cells)-6].Name != "failures" || cells[len(cells)-6].Cfg.CreateFail == 0 {
		t.Errorf("generated cells out of order or failures without failure shares: %q, %+v", f.Name, cells[len(cells)-6].Cfg)
	}
	short, err := Corpus(CorpusOptions{Short: true}, Config{})
	if err != nil || len(short) != len(shortCells) {
		t.Fatalf("short corpus: %d cells, %v; want %d", len(short), err, len(shortCells))
	}
}

func TestWorkloadsDeterministic(t *testing.T) {
	for _, w := range WorkloadNames() {
		a, err := Workload(w, 1200, 2, 1000, 4)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Workload(w, 1200, 2, 1000, 4)
		c, _ := Workload(w, 1200, 2, 1000, 5)
		if len(a) == 0 || !reflect.DeepEqual(a, b) || reflect.DeepEqual(a, c) {
			t.Errorf("%s: %d requests; same seed equal %v, other seed differs %v", w, len(a), reflect.DeepEqual(a, b), !reflect.DeepEqual(a, c))
		}
	}
	if _, err := Workload("nope", 1, 1, 1, 1); err == nil || !strings.Contains(err.Error(), "unknown workload") {
		t.Errorf("Workload(nope) = %v, want unknown workload", err)
	}
}

func TestFrontier(t *testing.T) {
	c := CellResult{Results: []Scored{
		{Variant{Policy: "vast"}, Result{GPUSeconds: 100, SLOAttainment: 0.9}},
		{Variant{Policy: "vast", Knob: "target_util", Value: 0.5}, Result{GPUSeconds: 200, SLOAttainment: 0.95}},
		{Variant{Policy: "vast", Knob: "target_util", Value: 0.6}, Result{GPUSeconds: 150, SLOAttainment: 0.85}}, // dominated
		{Variant{Policy: "drover"}, Result{GPUSeconds: 50, SLOAttainment: 0.97}},
	}}
	var got []string
	for _, s := range c.Frontier("vast") {
		got = append(got, s.Label())
	}
	if want := []string{"vast", "vast target_util=0.5"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Frontier(vast) = %v, want %v", got, want)
	}
}

func TestReadMooncake(t *testing.T) {
	reqs, err := LoadTrace("mooncake", 10)
	if err != nil {
		t.Fatal(err)
	}
	// 3,993 requests over 1,022 s; the first has 40,160 prompt and 6 generated tokens.
	if len(reqs) != 3993 || reqs[0].Load != 40160+60 || reqs[len(reqs)-1].At < 1000 || reqs[len(reqs)-1].At > 1030 {
		t.Errorf("mooncake: %d requests, first %+v, last at %v", len(reqs), reqs[0], reqs[len(reqs)-1].At)
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimCommands(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "frontier.svg")
	tests := []struct {
		name string
		args []string
		want []string // in stdout
	}{
		{"default trace", []string{"--policy", "vast,drover,oracle"}, []string{"8819 requests", "drover"}},
		{"mooncake by name", []string{"--trace", "mooncake", "--policy", "drover"}, []string{"3993 requests"}},
		{"generated workload", []string{"--workload", "flash-crowd", "--duration", "600", "--policy", "vast,drover"}, []string{"drover"}},
		{"corpus cells", []string{"--corpus", "--cells", "^(spike x4 r0.5|idle-gaps)$", "--short", "--policy", "vast,drover,oracle"},
			[]string{"idle-gaps", "worst cell per policy", "drover dominates vast in"}},
		{"sweep", []string{"--sweep", "--corpus", "--cells", "^spike x4 r0.5$", "--policy", "vast,drover,oracle", "--svg", svg},
			[]string{"vast target_util=0.5", "drover slo_target=0.99", "*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(append([]string{"sim"}, tt.args...), &out, &errb); code != exitOK {
				t.Fatalf("drover sim %v = %d: %s", tt.args, code, errb.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("drover sim %v: output lacks %q:\n%s", tt.args, w, out.String())
				}
			}
		})
	}
	b, err := os.ReadFile(svg)
	if err != nil || !strings.Contains(string(b), "<svg") || !strings.Contains(string(b), "spike x4 r0.5") {
		t.Errorf("frontier SVG: %v, %d bytes", err, len(b))
	}
	var out, errb bytes.Buffer
	if code := run([]string{"sim", "--corpus", "--cells", "^failures$", "--json", "--policy", "vast,drover,oracle"}, &out, &errb); code != exitOK {
		t.Fatalf("drover sim --corpus --json = %d: %s", code, errb.String())
	}
	var rep struct {
		Cells []struct {
			Cell    string `json:"cell"`
			Results []struct {
				Policy string  `json:"policy"`
				GPU    float64 `json:"gpu_seconds"`
			} `json:"results"`
		} `json:"cells"`
		Worst []struct{ Policy, Cell string } `json:"worst"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || len(rep.Cells) != 1 || len(rep.Cells[0].Results) != 3 || len(rep.Worst) != 1 {
		t.Errorf("--json = %v, %+v", err, rep)
	}
	if !strings.Contains(errb.String(), "[1/1] failures") {
		t.Errorf("progress on stderr = %q, want [1/1] failures", errb.String())
	}
	if code := run([]string{"sim", "--trace", "x", "--pattern", "steady"}, &out, &errb); code != exitUsage {
		t.Errorf("--trace with --pattern = %d, want usage", code)
	}
}

func TestSimRoutingJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"sim", "--routing", "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct {
		Routers []map[string]any `json:"routers"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(got.Routers) != 5 {
		t.Fatalf("routers: %s", out.String())
	}
	for _, r := range got.Routers {
		if len(r) != 5 || r["name"] == nil || r["hit_rate"] == nil || r["ttft_p50_s"] == nil ||
			r["ttft_p90_s"] == nil || r["max_worker_load"] == nil {
			t.Fatalf("router fields: %v", r)
		}
	}
}

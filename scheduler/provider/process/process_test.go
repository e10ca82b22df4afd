package process

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
	"github.com/drover-io/drover/scheduler/provider"
	"github.com/drover-io/drover/worker/workertest"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLifecycle runs a real drover worker and fake model through create,
// stop, start and destroy; a second provider on the same directory (a new
// leader) sees and ends what the first started.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	eng := workertest.NewEngine(t)
	dir := t.TempDir()
	cfg := Config{Dir: dir, Binary: clustertest.Binary(t), ReportAddrs: []string{eng.URL}, StopTimeout: 2 * time.Second}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := provider.GroupSpec{EndpointID: 1, GroupID: 2, WorkerID: 4242, MasterToken: "secret-4242",
		LaunchArgs: "fake-model --tokens-per-sec -1 -- --max-perf 100 --idle-report-interval 200ms"}
	in, err := p.Create(ctx, "t1-1", spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Destroy(ctx, in.ID) })
	if again, err := p.Create(ctx, "t1-1", spec); err != nil || again.ID != in.ID {
		t.Fatalf("Create(t1-1) again = %+v, %v; want %s", again, err, in.ID)
	}
	reported := func() bool {
		for _, r := range eng.Reports() {
			if r.Number("id") == 4242 && r.String("mtoken") == "secret-4242" && r.Number("max_perf") == 100 {
				return true
			}
		}
		return false
	}
	waitFor(t, "the worker's loaded report with its id and token", 20*time.Second, reported)

	// Another node's provider on the same directory sees the instance.
	p2, _ := New(cfg)
	list, err := p2.List(ctx)
	if err != nil || len(list) != 1 || list[0].ID != in.ID || list[0].IntentKey != "t1-1" || list[0].State != provider.Ready {
		t.Fatalf("List from a second provider = %+v, %v; want %s ready", list, err, in.ID)
	}
	m, _ := p2.load(in.ID)
	if err := p2.Stop(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if p.alive(m.WorkerPID, m.ID) || p.alive(m.ModelPID, m.ID) {
		t.Fatalf("processes still run after Stop")
	}
	if list, _ := p.List(ctx); list[0].State != provider.Stopped {
		t.Fatalf("after Stop: %+v, want stopped", list[0])
	}
	if _, err := os.Stat(filepath.Join(dir, in.ID, "worker.log")); err != nil {
		t.Errorf("Stop removed the instance's files: %v", err)
	}
	n := len(eng.Reports())
	if err := p.Start(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a report after Start", 20*time.Second, func() bool { return len(eng.Reports()) > n })
	m, _ = p.load(in.ID)
	if err := p2.Destroy(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if p.alive(m.WorkerPID, m.ID) || p.alive(m.ModelPID, m.ID) {
		t.Errorf("processes still run after Destroy")
	}
	if list, _ := p.List(ctx); len(list) != 0 {
		t.Errorf("List after Destroy = %+v, want empty", list)
	}
	if err := p.Stop(ctx, in.ID); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Stop after Destroy = %v, want ErrNotFound", err)
	}
}

func TestSplitLaunchArgs(t *testing.T) {
	tests := []struct {
		in            string
		model, worker int
	}{
		{"", 0, 0},
		{"fake-model --load-time 1s", 3, 0},
		{"-- --max-perf 5", 0, 2},
		{"/opt/vllm serve --port {port} -- --max-perf 5", 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			m, w := splitLaunchArgs(tt.in)
			if len(m) != tt.model || len(w) != tt.worker {
				t.Errorf("splitLaunchArgs(%q) = %q, %q; want %d and %d words", tt.in, m, w, tt.model, tt.worker)
			}
		})
	}
}

func TestFailedProcessShows(t *testing.T) {
	ctx := context.Background()
	p, err := New(Config{Dir: t.TempDir(), Binary: "/bin/false", ReportAddrs: []string{"http://127.0.0.1:9"}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := p.Create(ctx, "k", provider.GroupSpec{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the instance to show failed", 5*time.Second, func() bool {
		list, _ := p.List(ctx)
		return len(list) == 1 && list[0].State == provider.Failed
	})
	if err := p.Destroy(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
}

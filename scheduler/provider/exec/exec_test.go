package exec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// TestExampleScript drives deploy/exec-provider-example.sh through every
// action (it needs bash, jq and sha256sum).
func TestExampleScript(t *testing.T) {
	ctx := context.Background()
	p, err := New(Config{Path: "../../../deploy/exec-provider-example.sh", Timeout: 10 * time.Second,
		Env: []string{"EXEC_PROVIDER_DIR=" + t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	spec := provider.GroupSpec{EndpointID: 1, GroupID: 2, WorkerID: 99, MasterToken: "tok"}
	a, err := p.Create(ctx, "t1-1", spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.IntentKey != "t1-1" || a.GroupID != 2 || a.State != provider.Loading {
		t.Fatalf("Create = %+v, want a loading instance of t1-1 in group 2", a)
	}
	if again, err := p.Create(ctx, "t1-1", spec); err != nil || again.ID != a.ID {
		t.Errorf("Create(t1-1) again = %+v, %v; want the same instance %s", again, err, a.ID)
	}
	b, _ := p.Create(ctx, "t1-2", spec)
	steps := []struct {
		name string
		do   func() error
		want provider.State
	}{
		{"stop", func() error { return p.Stop(ctx, a.ID) }, provider.Stopped},
		{"start", func() error { return p.Start(ctx, a.ID) }, provider.Starting},
		{"destroy", func() error { return p.Destroy(ctx, a.ID) }, provider.Gone},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		list, err := p.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("%s: List = %+v, %v", st.name, list, err)
		}
		for _, in := range list {
			if in.ID == a.ID && in.State != st.want {
				t.Errorf("%s: state = %s, want %s", st.name, in.State, st.want)
			}
			if in.ID == b.ID && in.State != provider.Loading {
				t.Errorf("%s: other instance = %s, want loading", st.name, in.State)
			}
		}
	}
	if err := p.Start(ctx, "x-nope"); !errors.Is(err, provider.ErrNotFound) {
		t.Errorf("Start(unknown) = %v, want ErrNotFound", err)
	}
	if err := p.Start(ctx, a.ID); !errors.Is(err, provider.ErrState) {
		t.Errorf("Start(gone) = %v, want ErrState", err)
	}
}

func TestFailingScripts(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   error
		text   string
	}{
		{"non-zero exit", "testdata/fail.sh", provider.ErrFailed, "no capacity in the pool"},
		{"error answer", "testdata/refuse.sh", provider.ErrState, "instance is busy"},
		{"not json", "testdata/garbage.sh", provider.ErrFailed, "not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(Config{Path: tt.script, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Create(context.Background(), "k", provider.GroupSpec{})
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("Create via %s = %v, want %v mentioning %q", tt.script, err, tt.want, tt.text)
			}
		})
	}
}

// TestHangingScript: the call ends at the timeout and the script's whole
// process group (the script and its child) is killed.
func TestHangingScript(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	p, err := New(Config{Path: "testdata/hang.sh", Timeout: 300 * time.Millisecond, Env: []string{"HANG_PID_FILE=" + pidFile}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.List(context.Background())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("List via a hanging script = %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the call took %v, want about the 300ms timeout", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the script's child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewRefusesNonExecutable(t *testing.T) {
	f := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, path := range []string{"", f, "/no/such/file"} {
		if _, err := New(Config{Path: path}); err == nil {
			t.Errorf("New(%q) = nil error, want a refusal", path)
		}
	}
}

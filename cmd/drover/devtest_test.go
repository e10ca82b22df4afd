package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/drover-io/drover/cluster/clustertest"
)

// devCluster is a `drover dev` run by a test, as a newcomer runs it: the
// binary as bin/drover in a scratch directory that also holds the
// repository's scheduler/ (the traces), and what its banner printed.
type devCluster struct {
	dir       string            // the scratch directory: run commands here
	env       map[string]string // the banner's export lines
	leaderPID int               // from the banner's table
	addrs     []string          // node HTTP addresses, from DROVER_ADDR
	cmd       *exec.Cmd
	mu        sync.Mutex
	log       bytes.Buffer // dev's stderr: the nodes' logs
}

// startDev runs `bin/drover dev` and waits (up to 2 min) for its banner;
// the cluster is stopped when the test ends.
func startDev(t *testing.T, args ...string) *devCluster {
	t.Helper()
	bin := clustertest.Binary(t)
	d := &devCluster{dir: t.TempDir(), env: map[string]string{}}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d.dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"bin/drover": bin, "scheduler": filepath.Join(root, "scheduler")} {
		if err := os.Symlink(target, filepath.Join(d.dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	d.cmd = exec.Command(filepath.Join(d.dir, "bin/drover"), append([]string{"dev"}, args...)...)
	d.cmd.Dir = d.dir
	d.cmd.Env = cleanEnv()
	d.cmd.Stderr = lockedWriter{&d.mu, &d.log}
	clustertest.DieWithTest(d.cmd)
	out, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { d.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(45 * time.Second):
			d.cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("drover dev's log (tail):\n%s", tailString(d.logString(), 4000))
		}
	})
	banner := make(chan error, 1)
	go func() { banner <- d.readBanner(out) }()
	select {
	case err := <-banner:
		if err != nil {
			t.Fatalf("drover dev: %v\n%s", err, tailString(d.logString(), 4000))
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("drover dev printed no banner in 2 min\n%s", tailString(d.logString(), 4000))
	}
	d.addrs = strings.Split(d.env[addrEnv], ",")
	return d
}

// readBanner parses the node table and the export lines, up to the demo's
// loadgen line (the banner's end; the demo must be on), then drains the rest.
func (d *devCluster) readBanner(r io.Reader) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[2] == "leader" && strings.HasPrefix(f[0], "n"):
			d.leaderPID, _ = strconv.Atoi(f[1])
		case strings.HasPrefix(line, "export "):
			k, v, _ := strings.Cut(strings.TrimPrefix(line, "export "), "=")
			d.env[k] = v
		case strings.HasPrefix(line, "bin/drover loadgen"):
			go io.Copy(io.Discard, r)
			return d.bannerComplete()
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return fmt.Errorf("stdout closed before the banner ended")
}

func (d *devCluster) bannerComplete() error {
	for _, k := range []string{addrEnv, adminTokenEnv, apiKeyEnv} {
		if d.env[k] == "" {
			return fmt.Errorf("the banner exported no %s", k)
		}
	}
	if d.leaderPID == 0 {
		return fmt.Errorf("the banner's table has no leader row")
	}
	return nil
}

// sh runs one shell line in the scratch directory with the banner's
// environment and returns its combined output.
func (d *devCluster) sh(ctx context.Context, line string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-c", line)
	cmd.Dir = d.dir
	cmd.Env = cleanEnv()
	for k, v := range d.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	clustertest.DieWithTest(cmd)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *devCluster) logString() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// cleanEnv is the test's environment without drover's own variables, so
// a developer's exported DROVER_ADDR cannot leak into the run.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DROVER_") {
			env = append(env, kv)
		}
	}
	return env
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func tailString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

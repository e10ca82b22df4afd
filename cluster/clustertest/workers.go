package clustertest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Worker is a `drover worker` process of the cluster's test.
type Worker struct {
	c        *Cluster
	ID       uint64
	Token    string
	ModelURL string
	Reports  []string // base URLs it reports to (REPORT_ADDR)
	Args     []string
	cmd      *exec.Cmd
	exited   chan struct{}
	log      *os.File
}

// StartWorker starts `drover worker` with CONTAINER_ID=id and MASTER_TOKEN
// token in front of the model at modelURL, reporting to the given nodes
// (all running nodes when none are given), on free ports.
func (c *Cluster) StartWorker(id uint64, token, modelURL string, reportTo []*Node, args ...string) *Worker {
	c.t.Helper()
	if len(reportTo) == 0 {
		reportTo = c.Running()
	}
	w := &Worker{c: c, ID: id, Token: token, ModelURL: modelURL, Args: args}
	for _, n := range reportTo {
		w.Reports = append(w.Reports, "http://"+n.HTTP)
	}
	w.Start()
	c.workers = append(c.workers, w)
	return w
}

// StartWorkerReportingTo is StartWorker with REPORT_ADDR set to the given
// base URLs (for instance a load balancer in front of the nodes).
func (c *Cluster) StartWorkerReportingTo(id uint64, token, modelURL string, reportAddrs []string, args ...string) *Worker {
	c.t.Helper()
	w := &Worker{c: c, ID: id, Token: token, ModelURL: modelURL, Reports: reportAddrs, Args: args}
	w.Start()
	c.workers = append(c.workers, w)
	return w
}

// Start (re)starts the worker process.
func (w *Worker) Start() {
	t := w.c.t
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(w.c.dir, fmt.Sprintf("worker-%d.log", w.ID)), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"worker", "--model-url=" + w.ModelURL, "--listen-host=127.0.0.1", "--log-level=debug",
		"--idle-report-interval=1s"}, w.Args...)
	cmd := exec.Command(w.c.bin, args...)
	DieWithTest(cmd)
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("CONTAINER_ID=%d", w.ID), "REPORT_ADDR="+strings.Join(w.Reports, ","),
		"WORKER_PORT=0", "PUBLIC_IPADDR=127.0.0.1", "MASTER_TOKEN="+w.Token)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.cmd, w.log = cmd, logf
	w.exited = make(chan struct{})
	go func(cmd *exec.Cmd, ch chan struct{}) { cmd.Wait(); close(ch) }(cmd, w.exited)
}

// Kill ends the worker process with SIGKILL.
func (w *Worker) Kill() {
	if w.cmd == nil {
		return
	}
	select {
	case <-w.exited:
	default:
		w.cmd.Process.Kill()
		select {
		case <-w.exited:
		case <-time.After(10 * time.Second):
		}
	}
	w.log.Close()
}

// Log returns the worker's output so far.
func (w *Worker) Log() string {
	b, _ := os.ReadFile(filepath.Join(w.c.dir, fmt.Sprintf("worker-%d.log", w.ID)))
	return string(b)
}

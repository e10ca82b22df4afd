package process

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// instanceEnv marks both processes of an instance, so a pid is signalled
// only while it still belongs to the instance (pids are reused).
const instanceEnv = "DROVER_INSTANCE"

// splitLaunchArgs splits launch_args into the model command and the
// worker's flags ("model… -- worker…").
func splitLaunchArgs(s string) (model, worker []string) {
	words := strings.Fields(s)
	if i := slices.Index(words, "--"); i >= 0 {
		return words[:i], words[i+1:]
	}
	return words, nil
}

// launch starts the model server, then the worker in front of it, and
// records their pids and the model's port in m.
func (p *Provider) launch(m *meta) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	modelArgs, workerArgs := splitLaunchArgs(m.LaunchArgs)
	name, args := p.cfg.Binary, []string{"fake-model", "--listen", "127.0.0.1:" + strconv.Itoa(port)}
	switch {
	case len(modelArgs) == 0:
	case modelArgs[0] == "fake-model":
		args = append(args, modelArgs[1:]...)
	default:
		name, args = modelArgs[0], nil
		for _, a := range modelArgs[1:] {
			args = append(args, strings.ReplaceAll(a, "{port}", strconv.Itoa(port)))
		}
	}
	env := append(slices.Clone(p.cfg.Env), instanceEnv+"="+m.ID, "PORT="+strconv.Itoa(port))
	model, err := p.spawn(m, "model.log", name, args, env)
	if err != nil {
		return fmt.Errorf("model: %w", err)
	}
	wargs := append([]string{"worker", "--model-url", "http://127.0.0.1:" + strconv.Itoa(port)}, workerArgs...)
	wenv := append(slices.Clone(p.cfg.Env), instanceEnv+"="+m.ID,
		"CONTAINER_ID="+strconv.FormatUint(m.WorkerID, 10), "MASTER_TOKEN="+m.MasterToken,
		"REPORT_ADDR="+strings.Join(p.cfg.ReportAddrs, ","), "WORKER_PORT=0", "PUBLIC_IPADDR=127.0.0.1")
	worker, err := p.spawn(m, "worker.log", p.cfg.Binary, wargs, wenv)
	if err != nil {
		p.signal(model, m.ID, syscall.SIGKILL)
		return fmt.Errorf("worker: %w", err)
	}
	m.ModelPID, m.WorkerPID, m.ModelPort = model, worker, port
	return nil
}

// spawn starts one process in its own session (it outlives this agent),
// its output appended to the instance's log file; a goroutine reaps it
// while this process lives.
func (p *Provider) spawn(m *meta, logName, name string, args, env []string) (int, error) {
	logf, err := os.OpenFile(filepath.Join(p.dir(m.ID), logName), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = p.dir(m.ID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	go cmd.Wait()
	return cmd.Process.Pid, nil
}

// kill ends both processes: SIGTERM, then SIGKILL after StopTimeout.
func (p *Provider) kill(m *meta) {
	pids := []int{m.WorkerPID, m.ModelPID}
	for _, pid := range pids {
		p.signal(pid, m.ID, syscall.SIGTERM)
	}
	deadline := time.Now().Add(p.cfg.StopTimeout)
	for _, pid := range pids {
		for p.alive(pid, m.ID) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		p.signal(pid, m.ID, syscall.SIGKILL)
	}
}

// signal sends sig to pid if it still runs for instance id.
func (p *Provider) signal(pid int, id string, sig syscall.Signal) {
	if p.alive(pid, id) {
		syscall.Kill(pid, sig)
	}
}

// alive reports whether pid runs and belongs to instance id (by its
// environment, where /proc shows it; a zombie counts as dead).
func (p *Provider) alive(pid int, id string) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		if i := bytes.LastIndexByte(st, ')'); i >= 0 && i+2 < len(st) && st[i+2] == 'Z' {
			return false
		}
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return !os.IsNotExist(err) // no /proc (not Linux) or not readable: trust kill(0)
	}
	return bytes.Contains(env, []byte("\x00"+instanceEnv+"="+id+"\x00")) ||
		bytes.HasPrefix(env, []byte(instanceEnv+"="+id+"\x00"))
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

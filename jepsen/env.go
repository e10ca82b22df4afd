package jepsen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Names and addresses the harness creates. Everything starts with prefix so
// that leftovers of a crashed run can be found and removed.
const (
	prefix     = "drj-"
	bridgeName = prefix + "br"
	hostIP     = "10.77.0.1"
	subnetBits = "/24"
	lockPath   = "/tmp/" + prefix + "lock"
)

// Sentinel errors.
var (
	ErrLocked = errors.New("jepsen: another run holds " + lockPath)
	ErrSetup  = errors.New("jepsen: environment setup failed")
)

// Slot is a place a node can live: a network namespace with its own
// address (isolated mode) or a set of loopback ports.
type Slot struct {
	Index                 int
	NS                    string // "" on loopback
	IP                    string
	HTTP, Cluster, Gossip string // host:port
}

// Env is the run's network: a bridge and one namespace per slot, or
// loopback when namespaces cannot be made.
type Env struct {
	Isolated bool   // namespaces + iptables available
	Why      string // why not isolated
	Dir      string // temp dir of the run
	Slots    []*Slot
	lock     *os.File
}

// isolationProblem says why namespaces and iptables cannot be used, or "".
func isolationProblem() string {
	if os.Getenv("JEPSEN_LOOPBACK") == "1" {
		return "JEPSEN_LOOPBACK=1: running process faults only, on loopback"
	}
	if os.Geteuid() != 0 {
		return "not root: network namespaces and iptables need root; running process faults only, on loopback"
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " not found (apt-get install -y iptables iproute2); running process faults only, on loopback"
		}
	}
	return ""
}

// Setup takes the run lock, removes leftovers of earlier runs and creates
// n slots. Close undoes all of it.
func Setup(n int, lockWait time.Duration) (*Env, error) {
	lock, err := takeLock(lockWait)
	if err != nil {
		return nil, err
	}
	e := &Env{lock: lock}
	cleanLeftovers()
	e.Dir, err = os.MkdirTemp("", prefix+"run-")
	if err != nil {
		e.Close()
		return nil, err
	}
	e.Why = isolationProblem()
	e.Isolated = e.Why == ""
	if e.Isolated {
		err = e.makeNamespaces(n)
	} else {
		err = e.makeLoopback(n)
	}
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("%w: %v", ErrSetup, err)
	}
	return e, nil
}

func takeLock(wait time.Duration) (*os.File, error) {
	f, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			return f, nil
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, ErrLocked
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func (e *Env) makeNamespaces(n int) error {
	if err := run("ip", "link", "add", bridgeName, "type", "bridge"); err != nil {
		return err
	}
	if err := run("ip", "addr", "add", hostIP+subnetBits, "dev", bridgeName); err != nil {
		return err
	}
	if err := run("ip", "link", "set", bridgeName, "up"); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		s := &Slot{Index: i, NS: fmt.Sprintf("%sn%d", prefix, i), IP: fmt.Sprintf("10.77.0.%d", 10+i)}
		s.HTTP, s.Cluster, s.Gossip = s.IP+":7001", s.IP+":7101", s.IP+":7201"
		if err := makeNamespace(s); err != nil {
			return err
		}
		e.Slots = append(e.Slots, s)
	}
	return nil
}

func makeNamespace(s *Slot) error {
	host, peer := fmt.Sprintf("%sv%d", prefix, s.Index), fmt.Sprintf("%sp%d", prefix, s.Index)
	steps := [][]string{
		{"ip", "netns", "add", s.NS},
		{"ip", "link", "add", host, "type", "veth", "peer", "name", peer},
		{"ip", "link", "set", host, "master", bridgeName},
		{"ip", "link", "set", host, "up"},
		{"ip", "link", "set", peer, "netns", s.NS},
		{"ip", "-n", s.NS, "link", "set", peer, "name", "eth0"},
		{"ip", "-n", s.NS, "addr", "add", s.IP + subnetBits, "dev", "eth0"},
		{"ip", "-n", s.NS, "link", "set", "eth0", "up"},
		{"ip", "-n", s.NS, "link", "set", "lo", "up"},
	}
	for _, st := range steps {
		if err := run(st...); err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) makeLoopback(n int) error {
	for i := 1; i <= n; i++ {
		s := &Slot{Index: i, IP: "127.0.0.1"}
		var ports [3]int
		for j := range ports {
			p, err := freePort()
			if err != nil {
				return err
			}
			ports[j] = p
		}
		s.HTTP = "127.0.0.1:" + strconv.Itoa(ports[0])
		s.Cluster = "127.0.0.1:" + strconv.Itoa(ports[1])
		s.Gossip = "127.0.0.1:" + strconv.Itoa(ports[2])
		e.Slots = append(e.Slots, s)
	}
	return nil
}

// freePort asks the kernel for a free TCP port that is also free for UDP
// (memberlist binds both).
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		p := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		l.Close()
		if err == nil {
			u.Close()
			return p, nil
		}
	}
	return 0, errors.New("jepsen: no free port")
}

// Command returns argv run inside the slot's namespace (as is on loopback).
func (e *Env) Command(s *Slot, argv ...string) *exec.Cmd {
	if s.NS != "" {
		argv = append([]string{"ip", "netns", "exec", s.NS}, argv...)
	}
	return exec.Command(argv[0], argv[1:]...)
}

// Iptables runs iptables with args inside the slot's namespace.
func (e *Env) Iptables(s *Slot, args ...string) error {
	if s.NS == "" {
		return errors.New("jepsen: iptables needs an isolated slot")
	}
	return run(append([]string{"ip", "netns", "exec", s.NS, "iptables", "-w"}, args...)...)
}

// FlushRules removes every iptables rule inside every slot's namespace.
func (e *Env) FlushRules() error {
	var first error
	for _, s := range e.Slots {
		if s.NS == "" {
			continue
		}
		if err := e.Iptables(s, "-F"); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Close removes the namespaces, the bridge and the temp dir, and releases
// the lock. Processes inside the namespaces are killed first.
func (e *Env) Close() {
	cleanLeftovers()
	if e.Dir != "" {
		os.RemoveAll(e.Dir)
	}
	if e.lock != nil {
		syscall.Flock(int(e.lock.Fd()), syscall.LOCK_UN)
		e.lock.Close()
		e.lock = nil
	}
}

// cleanLeftovers kills processes in drj- namespaces and deletes the
// namespaces, drj- links and drj-run- temp dirs. The caller holds the lock.
func cleanLeftovers() {
	if out, err := exec.Command("ip", "netns", "list").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || !strings.HasPrefix(f[0], prefix) {
				continue
			}
			killNamespacePids(f[0])
			exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
	if out, err := exec.Command("ip", "-o", "link", "show").Output(); err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
			if strings.HasPrefix(name, prefix) {
				exec.Command("ip", "link", "del", name).Run()
			}
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), prefix+"run-*"))
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

func killNamespacePids(ns string) {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			syscall.Kill(pid, syscall.SIGCONT)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func run(argv ...string) error {
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

package jepsen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// simPort is where the shared sim-provider listens on the bridge.
const simPort = "7301"

// Scale is the scale workload: every node drives one shared `drover
// sim-provider`; an endpoint with one "sim" group has its cold_workers
// changed now and then (max_workers fixed) while the provider's fleet is
// sampled. No intent may have two live instances, the endpoint may never
// hold more than max_workers, and after heal every live instance must be
// a worker the cluster knows.
type Scale struct {
	c          *Cluster
	h          *History
	name       string
	addr       string
	cmd        *exec.Cmd
	exited     chan struct{}
	epID       uint64
	groupID    uint64
	MaxWorkers int
	mu         sync.Mutex
	samples    []ScaleSample
}

// simInstance is an instance as the sim-provider's GET /list shows it.
type simInstance struct {
	ID        string
	IntentKey string
	GroupID   uint64
	State     string
}

// simStats is the sim-provider's GET /stats (its own record of peaks).
type simStats struct {
	PeakLive    map[string]int `json:"peak_live"`
	PeakKeyLive int            `json:"peak_key_live"`
	Creates     int            `json:"creates"`
}

// startSimProvider runs `drover sim-provider` on the host side (bridge
// address, or loopback) and returns its address.
func startSimProvider(env *Env, bin string) (*Scale, error) {
	s := &Scale{MaxWorkers: 4}
	listen := hostIP + ":" + simPort
	if !env.Isolated {
		listen = "127.0.0.1:0"
	}
	addrFile := filepath.Join(env.Dir, "sim.addr")
	logf, err := os.Create(filepath.Join(env.Dir, "sim-provider.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	s.cmd = exec.Command(bin, "sim-provider", "--listen="+listen, "--state-dir="+filepath.Join(env.Dir, "sim"),
		"--addr-file="+addrFile, "--log-level=warn", "--create-delay=2s", "--start-delay=1s", "--call-delay=100ms")
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	s.exited = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.exited) }()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 {
			s.addr = strings.TrimSpace(string(b))
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.Stop()
	return nil, errors.New("jepsen: sim-provider wrote no address")
}

// NodeArgs are the agent flags that point a node at the provider.
func (s *Scale) NodeArgs() []string {
	return []string{"--provider-sim=" + s.addr, "--provider-timeout=3s",
		"--scheduler-window=5s", "--scheduler-pool-window=5s"}
}

// Stop kills the provider (a nil Scale is fine).
func (s *Scale) Stop() {
	if s != nil && s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// Setup creates the endpoint and its sim group.
func (s *Scale) Setup(ctx context.Context, c *Cluster, h *History, tag string) error {
	s.c, s.h, s.name = c, h, tag+"scale"
	var last string
	for i := 0; i < 30; i++ {
		nodes := c.Nodes()
		n := nodes[i%len(nodes)]
		cctx, cancel := context.WithTimeout(ctx, c.cfg.ClientTimeout)
		code, b := n.Do(cctx, http.MethodPost, "/api/v0/endptjobs/", map[string]any{"endpoint_name": s.name,
			"cold_workers": 1, "max_workers": s.MaxWorkers})
		if code == http.StatusOK || strings.Contains(string(b), "name_taken") {
			code, b = http.StatusOK, nil
		}
		cancel()
		if code == http.StatusOK {
			id, err := findEndpoint(ctx, c, s.name)
			if err != nil {
				return err
			}
			s.epID = id
			return s.addGroup(ctx, n)
		}
		last = fmt.Sprintf("%d %.100s", code, b)
		sleepCtx(ctx, 300*time.Millisecond)
	}
	return fmt.Errorf("jepsen: cannot create the scale endpoint: %s", last)
}

func (s *Scale) addGroup(ctx context.Context, n *Node) error {
	cctx, cancel := context.WithTimeout(ctx, s.c.cfg.ClientTimeout)
	defer cancel()
	code, b := n.Do(cctx, http.MethodPost, "/api/v0/workergroups/", map[string]any{"endpoint_id": s.epID, "provider": "sim"})
	var a struct {
		ID uint64 `json:"id"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &a) != nil || a.ID == 0 {
		return fmt.Errorf("jepsen: cannot create the sim group: %d %.100s", code, b)
	}
	s.groupID = a.ID
	return nil
}

// Drive sets cold_workers to a random value in 0…MaxWorkers every period.
func (s *Scale) Drive(ctx context.Context, seed int64, period time.Duration) {
	rng := rand.New(rand.NewSource(seed))
	proc := s.h.NewProcess()
	for sleepCtx(ctx, period) {
		v := int64(rng.Intn(s.MaxWorkers + 1))
		nodes := s.c.Nodes()
		n := nodes[rng.Intn(len(nodes))]
		s.h.Add(Op{Workload: WorkScale, Type: TypeInvoke, F: "cold_workers", Process: proc, Node: n.ID, Key: s.name, Value: v})
		cctx, cancel := context.WithTimeout(context.Background(), s.c.cfg.ClientTimeout)
		code, b := n.Do(cctx, http.MethodPut, "/api/v0/endptjobs/"+strconv.FormatUint(s.epID, 10)+"/",
			map[string]any{"cold_workers": v})
		cancel()
		a := classify(code, b, true)
		s.h.Add(Op{Workload: WorkScale, Type: a.Type, F: "cold_workers", Process: proc, Node: n.ID, Key: s.name, Value: v, Error: a.Error})
		if a.Type == TypeInfo {
			proc = s.h.NewProcess()
		}
	}
}

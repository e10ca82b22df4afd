package jepsen

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/rand"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Route is the route workload: simulated workers (static groups) report to
// every node while clients call /route/ on every node; from time to time a
// group is deleted with its workers and a new one is created. The history
// records registrations, removals and every route answer (worker named,
// signature checked against /pubkey/).
type Route struct {
	c        *Cluster
	h        *History
	name     string // endpoint
	apiKey   string
	pub      *rsa.PublicKey
	mu       sync.Mutex
	groups   []*routeGroup
	byURL    map[string]uint64
	nextW    uint64
	reporter int // history process of the reporter
	// PerGroup workers per group; Groups live at once.
	PerGroup, Groups int
}

type routeGroup struct {
	id      uint64
	token   string
	workers []uint64
	seen    map[uint64]bool // registration acknowledged
	proc    map[uint64]int  // worker → process of its registration op
}

func newRoute(c *Cluster, h *History, tag string) *Route {
	return &Route{c: c, h: h, name: tag + "route", byURL: map[string]uint64{}, nextW: 1000,
		PerGroup: 2, Groups: 2}
}

// workerURL is the URL a simulated worker reports (never dialled).
func (r *Route) workerURL(id uint64) string {
	return fmt.Sprintf("http://%s:9/%sw%d", hostIP, r.name, id)
}

// Setup creates the endpoint and the first groups and fetches the key.
func (r *Route) Setup(ctx context.Context) error {
	id, err := createRetry(ctx, r.c, r.name)
	if err != nil {
		return err
	}
	if r.apiKey, err = r.fetchAPIKey(ctx, id); err != nil {
		return err
	}
	if r.pub, err = r.fetchPubkey(ctx); err != nil {
		return err
	}
	r.reporter = r.h.NewProcess()
	for i := 0; i < r.Groups; i++ {
		if err := r.addGroup(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *Route) fetchAPIKey(ctx context.Context, id uint64) (string, error) {
	for _, n := range r.c.Nodes() {
		cctx, cancel := context.WithTimeout(ctx, r.c.cfg.ClientTimeout)
		code, b := n.Do(cctx, http.MethodGet, "/api/v0/endptjobs/"+strconv.FormatUint(id, 10)+"/", nil)
		cancel()
		var a struct {
			Result struct {
				APIKey string `json:"api_key"`
			} `json:"result"`
		}
		if code == http.StatusOK && json.Unmarshal(b, &a) == nil && a.Result.APIKey != "" {
			return a.Result.APIKey, nil
		}
	}
	return "", errors.New("jepsen: route endpoint has no api_key")
}

// fetchPubkey reads /pubkey/ (retried while the signing key is being set).
func (r *Route) fetchPubkey(ctx context.Context) (*rsa.PublicKey, error) {
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		nodes := r.c.Nodes()
		cctx, cancel := context.WithTimeout(ctx, r.c.cfg.ClientTimeout)
		code, b := nodes[i%len(nodes)].Do(cctx, http.MethodGet, "/pubkey/", nil)
		cancel()
		if code == http.StatusOK {
			if blk, _ := pem.Decode(b); blk != nil {
				if k, err := x509.ParsePKIXPublicKey(blk.Bytes); err == nil {
					if rk, ok := k.(*rsa.PublicKey); ok {
						return rk, nil
					}
				}
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	return nil, errors.New("jepsen: no RSA key at /pubkey/")
}

// addGroup creates a static group with PerGroup new workers.
func (r *Route) addGroup(ctx context.Context) error {
	var last string
	for i := 0; i < 20; i++ {
		nodes := r.c.Nodes()
		cctx, cancel := context.WithTimeout(ctx, r.c.cfg.ClientTimeout)
		code, b := nodes[i%len(nodes)].Do(cctx, http.MethodPost, "/api/v0/workergroups/",
			map[string]any{"endpoint_name": r.name, "provider": "static"})
		cancel()
		var a struct {
			ID          uint64 `json:"id"`
			WorkerToken string `json:"worker_token"`
		}
		if code == http.StatusOK && json.Unmarshal(b, &a) == nil && a.WorkerToken != "" {
			r.mu.Lock()
			g := &routeGroup{id: a.ID, token: a.WorkerToken, seen: map[uint64]bool{}, proc: map[uint64]int{}}
			for j := 0; j < r.PerGroup; j++ {
				r.nextW++
				g.workers = append(g.workers, r.nextW)
				r.byURL[r.workerURL(r.nextW)] = r.nextW
			}
			r.groups = append(r.groups, g)
			r.mu.Unlock()
			return nil
		}
		last = fmt.Sprintf("%d %.100s", code, b)
		sleepCtx(ctx, 300*time.Millisecond)
	}
	return fmt.Errorf("jepsen: cannot create a static group: %s", last)
}

// Churn deletes the oldest group (its workers are removed with it) and
// creates a new one, every period until ctx ends. A delete that definitely
// failed is retried on other nodes; after that the group stays.
func (r *Route) Churn(ctx context.Context, period time.Duration) {
	for sleepCtx(ctx, period) {
		r.mu.Lock()
		g := r.groups[0]
		r.groups = r.groups[1:]
		r.mu.Unlock()
		t := TypeFail
		for try := 0; try < 4 && t == TypeFail; try++ {
			t = r.removeGroup(g)
		}
		if t == TypeFail {
			r.mu.Lock()
			r.groups = append(r.groups, g)
			r.mu.Unlock()
			continue
		}
		r.addGroup(ctx)
	}
}

// removeGroup deletes g through a random node; each worker's removal is
// one op (own process) with the call's outcome.
func (r *Route) removeGroup(g *routeGroup) string {
	nodes := r.c.Nodes()
	n := nodes[rand.Intn(len(nodes))]
	procs := make([]int, len(g.workers))
	for i, w := range g.workers {
		procs[i] = r.h.NewProcess()
		r.h.Add(Op{Workload: WorkRoute, Type: TypeInvoke, F: "remove", Process: procs[i], Node: n.ID, Key: r.name, Worker: w})
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.c.cfg.ClientTimeout)
	code, b := n.Do(ctx, http.MethodDelete, "/api/v0/workergroups/"+strconv.FormatUint(g.id, 10)+"/", nil)
	cancel()
	a := classify(code, b, true)
	for i, w := range g.workers {
		r.h.Add(Op{Workload: WorkRoute, Type: a.Type, F: "remove", Process: procs[i], Node: n.ID, Key: r.name, Worker: w, Error: a.Error})
	}
	return a.Type
}

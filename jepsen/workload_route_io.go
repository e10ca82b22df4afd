package jepsen

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/rand"
	"net/http"
	"sync"
	"time"
)

// Report sends every live worker's /worker_status/ to every node each
// period until ctx ends. A worker's registration is one op: invoked when
// its first report is sent (a node may register it even if the answer is
// lost), ok at its first accepted report.
func (r *Route) Report(ctx context.Context, period time.Duration) {
	for sleepCtx(ctx, period) {
		r.mu.Lock()
		groups := append([]*routeGroup(nil), r.groups...)
		r.mu.Unlock()
		var wg sync.WaitGroup
		for _, g := range groups {
			for _, w := range g.workers {
				r.invokeRegistration(g, w)
				for _, n := range r.c.Nodes() {
					wg.Add(1)
					go func(g *routeGroup, w uint64, n *Node) {
						defer wg.Done()
						if r.report(n, g, w) {
							r.registered(g, w, n)
						}
					}(g, w, n)
				}
			}
		}
		wg.Wait()
	}
}

func (r *Route) report(n *Node, g *routeGroup, w uint64) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code, _ := n.Do(ctx, http.MethodPost, "/worker_status/", map[string]any{
		"id": w, "mtoken": g.token, "version": "1.1.0", "loadtime": 1.0, "max_perf": 1000.0,
		"cur_load": 0, "new_load": 0, "cur_perf": 0, "error_msg": "", "num_requests_working": 0,
		"url": r.workerURL(w)})
	return code == http.StatusOK
}

// invokeRegistration records w's registration invocation before its first
// report is sent.
func (r *Route) invokeRegistration(g *routeGroup, w uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := g.proc[w]; ok {
		return
	}
	g.proc[w] = r.h.NewProcess()
	r.h.Add(Op{Workload: WorkRoute, Type: TypeInvoke, F: "register", Process: g.proc[w], Key: r.name, Worker: w})
}

// registered records w's first accepted report as its registration's ok.
func (r *Route) registered(g *routeGroup, w uint64, n *Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if g.seen[w] {
		return
	}
	g.seen[w] = true
	r.h.Add(Op{Workload: WorkRoute, Type: TypeOK, F: "register", Process: g.proc[w], Node: n.ID, Key: r.name, Worker: w})
}

// Client calls /route/ on random nodes until ctx ends.
func (r *Route) Client(ctx context.Context, seed int64) {
	rng := rand.New(rand.NewSource(seed))
	proc := r.h.NewProcess()
	for ctx.Err() == nil {
		nodes := r.c.Nodes()
		n := nodes[rng.Intn(len(nodes))]
		r.h.Add(Op{Workload: WorkRoute, Type: TypeInvoke, F: "route", Process: proc, Node: n.ID, Key: r.name})
		r.h.Add(r.call(n, proc))
		sleepCtx(ctx, time.Duration(20+rng.Intn(40))*time.Millisecond)
	}
}

// call makes one /route/ call and returns its completion op.
func (r *Route) call(n *Node, proc int) Op {
	done := Op{Workload: WorkRoute, F: "route", Process: proc, Node: n.ID, Key: r.name}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	code, b := n.Do(ctx, http.MethodPost, "/route/", map[string]any{"endpoint": r.name, "api_key": r.apiKey,
		"cost": 100, "request_idx": 0, "replay_timeout": 1.0})
	a := classify(code, b, false)
	done.Type, done.Error = a.Type, a.Error
	if a.Type != TypeOK {
		return done
	}
	var ans struct {
		URL       string `json:"url"`
		Signature string `json:"signature"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		done.Type, done.Error = TypeFail, "unparsable route answer"
		return done
	}
	if ans.URL == "" {
		return done // Vast's not-ready form
	}
	r.mu.Lock()
	w, ok := r.byURL[ans.URL]
	r.mu.Unlock()
	if !ok {
		w, done.Detail = unknownWorker, "url "+ans.URL
	}
	done.Worker, done.Sig = w, "bad"
	if verifyURL(r.pub, ans.URL, ans.Signature) {
		done.Sig = "ok"
	}
	return done
}

// unknownWorker stands for a URL no simulated worker has.
const unknownWorker = 1 << 62

// verifyURL checks a Vast route signature: RSA PKCS#1 v1.5 over SHA-256 of
// Python's json.dumps({"url": url}, indent=4, sort_keys=True). The URLs
// here are plain ASCII without characters Python would escape.
func verifyURL(pub *rsa.PublicKey, url, sig string) bool {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || pub == nil {
		return false
	}
	sum := sha256.Sum256([]byte("{\n    \"url\": \"" + url + "\"\n}"))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], raw) == nil
}

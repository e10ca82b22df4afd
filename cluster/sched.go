package cluster

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/drover-io/drover/scheduler"
	"github.com/drover-io/drover/scheduler/provider"
)

// SchedulerConfig configures the leader's scheduler loop. Its zero value
// (no providers) runs no loop: every group is then static.
type SchedulerConfig struct {
	// Providers by the name a group's "provider" field uses ("sim",
	// "process", "exec", …). Groups whose provider is "static", "" or not
	// in this map are never scaled.
	Providers map[string]provider.Provider
	// Policy is the scheduler policy: "drover" (zero value), "vast" or "kpa".
	Policy string
	// Params are the policy's priors and windows (scheduler.Config).
	Params scheduler.Config
	// Tick is the period of the loop. Zero: 1 s (the policies read one
	// load sample per tick as one second).
	Tick time.Duration
	// ProviderTimeout bounds one provider call. Zero: 30 s.
	ProviderTimeout time.Duration
	// Attempts is how many times an action's provider call is tried before
	// the action fails (the group then backs off). Zero: 3.
	Attempts int
	// RetryBase is the wait before an action's second attempt; it doubles
	// with each further attempt (capped at 30 s). Zero: 1 s.
	RetryBase time.Duration
	// ReconcileEvery is how often the provider's list is compared with the
	// registry (orphans, instances gone behind the scheduler's back). Zero:
	// 30 s. A new leader always reconciles first.
	ReconcileEvery time.Duration
	// DecisionsKept is the length of each endpoint's decision ring. Zero:
	// 200.
	DecisionsKept int
	// Now is the clock; nil means time.Now (tests pass a fake).
	Now func() time.Time
}

func (c SchedulerConfig) withDefaults() SchedulerConfig {
	if c.Policy == "" {
		c.Policy = "drover"
	}
	if c.Tick <= 0 {
		c.Tick = time.Second
	}
	if c.ProviderTimeout <= 0 {
		c.ProviderTimeout = 30 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.RetryBase <= 0 {
		c.RetryBase = time.Second
	}
	if c.ReconcileEvery <= 0 {
		c.ReconcileEvery = 30 * time.Second
	}
	if c.DecisionsKept <= 0 {
		c.DecisionsKept = 200
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// provisionedIDBase is the lowest id of a worker the scheduler creates
// (see provisionedID).
const provisionedIDBase = 1 << 50

// schedHost is what the loop needs from the node; tests fake it.
type schedHost interface {
	View() *fsm.View
	// leaderApply commits cmds only while this node leads in term (never
	// forwarded to another leader).
	leaderApply(ctx context.Context, term uint64, cmds ...fsm.Command) ([]fsm.Result, error)
	// verifyLeader confirms with a quorum that this node still leads in term.
	verifyLeader(ctx context.Context, term uint64) error
	loads() []fsm.WorkerLoad
	queue(endpointID uint64) []fsm.QueueEntry
}

// schedLoop is one leadership's scheduler: it lives from lead() to the
// loss of leadership and keeps nothing across leaderships but the decision
// log.
type schedLoop struct {
	host schedHost
	cfg  SchedulerConfig
	log  *slog.Logger
	term uint64
	pol  scheduler.Policy
	mem  *scheduler.Memory
	dec  *decisionLog

	// Owned by the tick goroutine.
	hist   map[uint64]*loadHist // per endpoint
	seen   map[uint64]seenState // per worker: state and since when
	timing map[uint64]*timingAcc
	keySeq int

	mu         sync.Mutex                // guards what jobs and reconciles touch
	busy       map[uint64]bool           // workers with an action in flight
	busyKeys   map[string]bool           // intents being executed
	startedAt  map[uint64]time.Time      // workers whose start was issued
	orphanProv map[string]map[uint64]int // provider → endpoint → live instances no worker holds
	backoff    map[uint64]groupBackoff   // groups whose provider failed
	reconOK    map[string]bool           // providers reconciled in this term
	recBusy    map[string]bool           // a reconcile of the provider runs
	recNext    map[string]time.Time      // when the provider's next reconcile is due
	recWant    map[string]time.Time      // an earlier reconcile a create in its grace asks for

	wg sync.WaitGroup
}

// seenState is when the loop first saw a worker in its current state.
type seenState struct {
	state string
	since time.Time
}

// groupBackoff holds a group's actions after provider failures.
type groupBackoff struct {
	fails int
	until time.Time
	err   string
}

// timingAcc accumulates a group's measured create and start times.
type timingAcc struct{ createSum, startSum, createN, startN float64 }

func (t *timingAcc) get() scheduler.Timing {
	var out scheduler.Timing
	if t == nil {
		return out
	}
	if t.createN > 0 {
		out.Create = time.Duration(t.createSum / t.createN * float64(time.Second))
	}
	if t.startN > 0 {
		out.Start = time.Duration(t.startSum / t.startN * float64(time.Second))
	}
	out.Samples = int(t.createN + t.startN)
	return out
}

// newSchedLoop builds the loop of one leadership in term.
func newSchedLoop(host schedHost, cfg SchedulerConfig, dec *decisionLog, term uint64, log *slog.Logger) (*schedLoop, error) {
	cfg = cfg.withDefaults()
	pol, err := scheduler.New(cfg.Policy, cfg.Params)
	if err != nil {
		return nil, err
	}
	return &schedLoop{
		host: host, cfg: cfg, log: log, term: term, pol: pol, dec: dec,
		mem:  scheduler.NewMemory(cfg.Now()),
		hist: map[uint64]*loadHist{}, seen: map[uint64]seenState{}, timing: map[uint64]*timingAcc{},
		busy: map[uint64]bool{}, busyKeys: map[string]bool{}, startedAt: map[uint64]time.Time{},
		orphanProv: map[string]map[uint64]int{}, backoff: map[uint64]groupBackoff{},
		reconOK: map[string]bool{}, recBusy: map[string]bool{}, recNext: map[string]time.Time{},
		recWant: map[string]time.Time{},
	}, nil
}

// run ticks until ctx ends (leadership lost), then waits for the jobs in
// flight, which end at once with ctx.
func (l *schedLoop) run(ctx context.Context) {
	defer l.wg.Wait()
	t := time.NewTicker(l.cfg.Tick)
	defer t.Stop()
	for {
		l.tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tick is one round: reconcile when due, observe, plan, dispatch.
func (l *schedLoop) tick(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	now := l.cfg.Now()
	l.maybeReconcile(ctx, now)
	v := l.host.View()
	l.observe(v, now)
	in := l.input(v, now)
	plan := l.pol.Plan(in, l.mem)
	l.dec.notes(l.term, plan, l.blockedNotes(v, now))
	l.dispatch(ctx, v, plan, now)
}

// orphanCount is the endpoint's live orphans over every provider (the
// caller holds mu).
func (l *schedLoop) orphanCount(epID uint64) int {
	n := 0
	for _, m := range l.orphanProv {
		n += m[epID]
	}
	return n
}

// orphanGone lowers the endpoint's orphan count once the provider has
// confirmed one destroyed.
func (l *schedLoop) orphanGone(epID uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.orphanProv {
		if m[epID] > 0 {
			m[epID]--
			return
		}
	}
}

// runScheduler is called by lead(): it runs the loop of this leadership
// until ctx ends. Without providers it returns at once.
func (n *Node) runScheduler(ctx context.Context, term uint64) {
	if len(n.cfg.Scheduler.Providers) == 0 {
		return
	}
	l, err := newSchedLoop(nodeHost{n}, n.cfg.Scheduler, n.decisionLog(), term, n.log.With("loop", "scheduler"))
	if err != nil {
		n.log.Error("scheduler not started", "err", err)
		return
	}
	n.log.Info("scheduler started", "term", term, "policy", l.pol.Name())
	l.run(ctx)
}

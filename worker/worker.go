package worker

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Worker is one running `drover worker`.
type Worker struct {
	cfg    Config
	logger *slog.Logger
	url    string // public URL, reported as "url"

	ln, plainLn net.Listener
	eng         *engine
	model       *http.Client

	pub   atomic.Pointer[rsa.PublicKey]
	key   atomic.Pointer[[]byte] // drover_key from the /worker_status/ answer
	sigOK atomic.Pointer[sigEntry]
	seq   atomic.Uint64

	st       *stats
	replay   *replaySet
	sessions *sessionStore
	del      *deleter
	urgent   chan struct{}
	start    time.Time
	bgCtx    context.Context // Run's context, for background calls
	bg       sync.WaitGroup  // background calls (session on_close)
}

// New validates cfg and opens the listeners; Run serves them.
func New(cfg Config) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("worker: listen: %w", err)
	}
	w := &Worker{
		cfg: cfg, logger: cfg.Logger.With("worker_id", cfg.ID), ln: ln,
		eng:      newEngine(cfg.ReportAddrs, cfg.EngineTimeout, cfg.Logger),
		model:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}},
		st:       newStats(),
		replay:   newReplaySet(),
		sessions: newSessionStore(),
		del:      newDeleter(),
		urgent:   make(chan struct{}, 1),
		start:    time.Now(),
		bgCtx:    context.Background(),
		url:      cfg.PublicURL,
	}
	if cfg.HTTPListen != "" {
		if w.plainLn, err = net.Listen("tcp", cfg.HTTPListen); err != nil {
			ln.Close()
			return nil, fmt.Errorf("worker: listen plain HTTP: %w", err)
		}
	}
	if w.url == "" {
		w.url = "http://" + ln.Addr().String()
	}
	return w, nil
}

// Addr is the bound main address.
func (w *Worker) Addr() string { return w.ln.Addr().String() }

// HTTPAddr is the bound plain-HTTP address, "" without one.
func (w *Worker) HTTPAddr() string {
	if w.plainLn == nil {
		return ""
	}
	return w.plainLn.Addr().String()
}

// URL is the public URL the worker reports.
func (w *Worker) URL() string { return w.url }

// Run serves requests, loads and benchmarks the model, and reports, until
// ctx ends; then it stops the listeners, waiting up to 5 s for requests in
// flight.
func (w *Worker) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w.bgCtx = ctx
	servers := []*http.Server{{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	lns := []net.Listener{w.ln}
	if w.plainLn != nil {
		servers = append(servers, &http.Server{Handler: w.PlainHandler(), ReadHeaderTimeout: 10 * time.Second})
		lns = append(lns, w.plainLn)
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(servers))
	for i, s := range servers {
		wg.Go(func() {
			if err := s.Serve(lns[i]); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		})
	}
	wg.Go(func() { w.reportLoop(ctx) })
	wg.Go(func() { w.deleteLoop(ctx) })
	wg.Go(func() { w.housekeeping(ctx) })
	wg.Go(func() { w.fetchPubkey(ctx) })
	wg.Go(func() { w.loadModel(ctx) })
	w.logger.Info("worker started", "addr", w.Addr(), "plain_addr", w.HTTPAddr(), "url", w.url)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	shCtx, shCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer shCancel()
	for _, s := range servers {
		if s.Shutdown(shCtx) != nil {
			s.Close() // requests still in flight after the grace period
		}
	}
	wg.Wait()
	w.bg.Wait()
	return err
}

func (w *Worker) fetchPubkey(ctx context.Context) {
	if pub, err := w.eng.fetchPubkey(ctx, w.cfg.PubkeyBackoffMax); err == nil {
		w.pub.Store(pub)
		w.kick() // the report loop may now report the model as loaded
		w.logger.Info("fetched the public key")
	}
}

// loadModel waits for the model's health, benchmarks it, and reports at
// once: ready (loadtime, max_perf) or failed (error_msg).
func (w *Worker) loadModel(ctx context.Context) {
	err := w.waitHealthy(ctx)
	loaded := time.Since(w.start).Seconds()
	perf := w.cfg.MaxPerf
	if err == nil && perf == 0 {
		perf, err = w.benchmark(ctx)
	}
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		w.logger.Error("model failed", "err", err)
		w.st.fail(err.Error())
	} else {
		w.logger.Info("model loaded", "loadtime", loaded, "max_perf", perf)
		w.st.setLoaded(loaded, perf)
	}
	w.kick()
}

// housekeeping expires sessions and forgets expired reqnums once a second.
func (w *Worker) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			w.replay.prune(now)
			for _, s := range w.sessions.expire(now) {
				w.closeSession(s, now)
			}
		}
	}
}

package edge

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Config configures a Server. Zero values select the documented defaults
// (see DefaultConfig); New fills them in.
type Config struct {
	// Addr is the host:port ListenAndServe binds; "" means ":8080".
	Addr string
	// AdminTokenHash is sha256 of the admin bearer token. The zero value
	// means no token is configured: every admin call answers 401.
	AdminTokenHash [32]byte
	// StaleAfter marks a follower unhealthy in /v1/health when its last
	// leader contact is older than this, on top of Status.Stale. Zero means
	// rely on Status.Stale only.
	StaleAfter time.Duration
	// Logger receives request errors; nil means slog.Default().
	Logger *slog.Logger
	// MaxBody is the largest request body of the engine API (/route/,
	// /worker_status/, …) in bytes (larger: 413); zero means 1 MiB.
	MaxBody int
	// MaxConsoleBody is the largest request body of the console and admin
	// API (/api/v0/…, /v1/…) in bytes; zero means 256 KiB (every field of
	// a console object has a bound, see fsm's Max* constants).
	MaxConsoleBody int
	// MaxSnapshotBody is the largest body of POST /v1/snapshot in bytes,
	// granted only once the request's admin token has been accepted (from
	// the header, before the body is read); zero means 256 MiB.
	MaxSnapshotBody int
	// ReadTimeout bounds reading one request (headers and body); zero means
	// 10s. WriteTimeout bounds writing one response; zero means 10s.
	ReadTimeout, WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections idle this long; zero means 60s.
	IdleTimeout time.Duration
	// RequestTimeout bounds each write or consistent read the server waits
	// on; zero means 15s (longer than the cluster's hold-and-retry).
	RequestTimeout time.Duration
	// SnapshotTimeout bounds reading, writing and taking a snapshot on the
	// /v1/snapshot paths; zero means 5m.
	SnapshotTimeout time.Duration
	// DataPlane configures the engine API (/route/, /worker_status/, …)
	// and carries the load overlay; its zero value serves it without an
	// overlay (see DataPlane).
	DataPlane DataPlane
	// Scheduler serves /v1/decisions and the /v1/workers actions; nil:
	// those answer 404 (no scheduler).
	Scheduler Scheduler
}

// Defaults of Config.
const (
	DefaultAddr            = ":8080"
	DefaultMaxBody         = 1 << 20
	DefaultMaxConsoleBody  = 256 << 10
	DefaultMaxSnapshotBody = 256 << 20
	DefaultReadTimeout     = 10 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultIdleTimeout     = 60 * time.Second
	DefaultRequestTimeout  = 15 * time.Second
	DefaultSnapshotTimeout = 5 * time.Minute
)

// DefaultConfig returns a Config with every default filled in (and no admin
// token: the admin API refuses everything until one is set).
func DefaultConfig() Config {
	return Config{
		Addr:            DefaultAddr,
		Logger:          slog.Default(),
		MaxBody:         DefaultMaxBody,
		MaxConsoleBody:  DefaultMaxConsoleBody,
		MaxSnapshotBody: DefaultMaxSnapshotBody,
		ReadTimeout:     DefaultReadTimeout,
		WriteTimeout:    DefaultWriteTimeout,
		IdleTimeout:     DefaultIdleTimeout,
		RequestTimeout:  DefaultRequestTimeout,
		SnapshotTimeout: DefaultSnapshotTimeout,
	}
}

// Validate reports a config that cannot work (negative sizes or durations).
func (c Config) Validate() error {
	if c.MaxBody < 0 || c.MaxConsoleBody < 0 || c.MaxSnapshotBody < 0 {
		return fmt.Errorf("%w: negative body limit", ErrConfig)
	}
	for _, d := range []time.Duration{c.StaleAfter, c.ReadTimeout, c.WriteTimeout,
		c.IdleTimeout, c.RequestTimeout, c.SnapshotTimeout} {
		if d < 0 {
			return fmt.Errorf("%w: negative duration %v", ErrConfig, d)
		}
	}
	return c.DataPlane.validate()
}

// withDefaults fills zero fields with their defaults.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	setInt(&c.MaxBody, d.MaxBody)
	setInt(&c.MaxConsoleBody, d.MaxConsoleBody)
	setInt(&c.MaxSnapshotBody, d.MaxSnapshotBody)
	setDur(&c.ReadTimeout, d.ReadTimeout)
	setDur(&c.WriteTimeout, d.WriteTimeout)
	setDur(&c.IdleTimeout, d.IdleTimeout)
	setDur(&c.RequestTimeout, d.RequestTimeout)
	setDur(&c.SnapshotTimeout, d.SnapshotTimeout)
	c.DataPlane = c.DataPlane.withDefaults()
	return c
}

func setInt(p *int, def int) {
	if *p == 0 {
		*p = def
	}
}

func setDur(p *time.Duration, def time.Duration) {
	if *p == 0 {
		*p = def
	}
}

// Server serves edge's HTTP surface on one listener.
type Server struct {
	cfg     Config
	log     *slog.Logger
	replica Replica
	writer  Writer
	reader  Reader
	cluster Cluster
	srv     *fasthttp.Server

	mu sync.Mutex
	ln net.Listener

	// Data plane (engine API).
	dp           DataPlane
	ids          *idGen
	metrics      *metrics
	nodeOnce     sync.Once
	table        atomic.Pointer[routeTables]
	buildMu      sync.Mutex                // guards table builds and the state maps
	wStates      map[uint64]*workerState   // by worker id, kept across builds
	epStates     map[uint64]*endpointState // by endpoint id, kept across builds
	sign         atomic.Pointer[signer]
	signMu       sync.Mutex
	badKeyLogged atomic.Bool
	unknownRegs  atomic.Int64 // unix second << 16 | registrations with unknown tokens in it
	hist         *history     // the dashboard's last hour, sampled while serving
}

// New returns a Server over the given dependencies; zero Config fields take
// their defaults. Call Validate on the config first to refuse bad values.
func New(cfg Config, replica Replica, writer Writer, reader Reader, cl Cluster) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, replica: replica, writer: writer,
		reader: reader, cluster: cl, dp: cfg.DataPlane,
		ids: newIDGen(cfg.DataPlane.NodeIndex, cfg.DataPlane.Now()), hist: newHistory()}
	s.metrics = newMetrics(s)
	s.srv = &fasthttp.Server{
		Handler:                      s.handle,
		ErrorHandler:                 s.handleTransportError,
		HeaderReceived:               s.requestConfig,
		Name:                         "drover",
		Logger:                       fasthttpLogger{cfg.Logger},
		MaxRequestBodySize:           hardBodyLimit(max(cfg.MaxBody, cfg.MaxConsoleBody)), // per request: requestConfig
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		DisablePreParseMultipartForm: true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
	}
	return s
}

// Serve answers requests on ln until Shutdown; it returns nil after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.cfg.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	if s.ln != nil {
		s.mu.Unlock()
		return ErrAlreadyUsed
	}
	s.ln = ln
	s.mu.Unlock()
	go s.hist.run(s)
	defer s.hist.close()
	err := s.srv.Serve(ln)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// ListenAndServe binds Config.Addr and serves it (see Serve).
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("edge: listen %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ln)
}

// Shutdown stops accepting connections and waits for open requests to end.
func (s *Server) Shutdown() error {
	s.mu.Lock()
	serving := s.ln != nil
	s.mu.Unlock()
	if !serving {
		return ErrNotServing
	}
	s.hist.close()
	return s.srv.Shutdown()
}

// Addr is the bound address once serving, else Config.Addr.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return s.ln.Addr().String()
	}
	return s.cfg.Addr
}

// hardBodyLimit is fasthttp's own body limit: twice a route's limit.
// Bodies between the route's limit and this are read in full and refused
// by the handler (413), which keeps the connection clean so the client
// reliably sees the answer; larger ones are refused by fasthttp from the
// Content-Length header before any of the body is read, or mid-read for a
// chunked body (also 413, see handleTransportError, but the client may see
// the connection reset while it is still sending).
func hardBodyLimit(limit int) int {
	if limit > math.MaxInt/2 {
		return limit
	}
	return 2 * limit
}

// bodyLimit is the largest body the request may carry, decided from its
// header alone: the engine API takes MaxBody, the console and admin API
// MaxConsoleBody, and POST /v1/snapshot MaxSnapshotBody only when its admin
// token is accepted (else the console's limit: the 401 never waits for a
// large body).
func (s *Server) bodyLimit(h *fasthttp.RequestHeader) (limit int, snapshot bool) {
	path := h.RequestURI()
	if i := bytes.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	if engineOf(path) != epNone {
		return s.cfg.MaxBody, false
	}
	if isSnapshotPath(path) && string(h.Method()) == fasthttp.MethodPost && s.adminRefusal(h) == "" {
		return s.cfg.MaxSnapshotBody, true
	}
	return s.cfg.MaxConsoleBody, false
}

// requestConfig sets each request's body limit (bodyLimit) before its body
// is read, and raises the timeouts for the snapshot paths only.
func (s *Server) requestConfig(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	limit, snapshot := s.bodyLimit(h)
	rc := fasthttp.RequestConfig{MaxRequestBodySize: hardBodyLimit(limit)}
	if snapshot {
		rc.MaxRequestBodySize = limit
		rc.ReadTimeout = s.cfg.SnapshotTimeout
	}
	uri := h.RequestURI()
	if i := bytes.IndexByte(uri, '?'); i >= 0 {
		uri = uri[:i]
	}
	if isSnapshotPath(uri) {
		rc.WriteTimeout = s.cfg.SnapshotTimeout
	}
	return rc
}

// isSnapshotPath reports whether path (without its query) is /v1/snapshot.
func isSnapshotPath(path []byte) bool {
	return string(bytes.TrimSuffix(path, []byte("/"))) == pathSnapshot
}

// handleTransportError answers errors fasthttp meets before the handler
// runs, in the console's JSON error shape.
func (s *Server) handleTransportError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		limit, _ := s.bodyLimit(&ctx.Request.Header)
		s.refuseLarge(ctx, limit)
	default:
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			writeError(ctx, fasthttp.StatusRequestTimeout, codeInvalid, "request timed out")
			return
		}
		writeError(ctx, fasthttp.StatusBadRequest, codeInvalid, "malformed request")
	}
}

// refuseLarge answers a body over limit: 413, or 401 on a path that needs
// the admin token when the request has no valid one (the refusal that
// matters; such a body is never read past the limit).
func (s *Server) refuseLarge(ctx *fasthttp.RequestCtx, limit int) {
	if why := s.adminRefusal(&ctx.Request.Header); why != "" && needsAdmin(ctx.Path()) {
		s.log.Info("edge: refused a large body without a valid admin token",
			"path", string(ctx.Path()), "remote", ctx.RemoteAddr().String(),
			"content_length", ctx.Request.Header.ContentLength(), "why", why)
		writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, why)
		return
	}
	writeError(ctx, fasthttp.StatusRequestEntityTooLarge, codeTooLarge,
		fmt.Sprintf("request body over %d bytes", limit))
}

// needsAdmin reports whether path is served only with the admin token
// (the console and /v1/ but for the open /v1/health and /v1/cluster).
func needsAdmin(path []byte) bool {
	p := string(bytes.TrimSuffix(path, []byte("/")))
	switch {
	case strings.HasPrefix(p, consolePrefix):
		return true
	case p == pathHealth || p == pathCluster:
		return false
	}
	return strings.HasPrefix(p, "/v1/")
}

// fasthttpLogger routes fasthttp's connection errors to slog at debug level
// (a client that sends too much or hangs up is not the server's error).
type fasthttpLogger struct{ log *slog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) {
	l.log.Debug("edge: fasthttp: " + fmt.Sprintf(format, args...))
}

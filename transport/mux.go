package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Connection kinds: the first byte a dialer writes on a new connection.
const (
	KindRaft    byte = 'R' // Raft stream layer (NewStreamLayer)
	KindRPC     byte = 'P' // peer request/response (ServeRPC, Call)
	KindOverlay byte = 'O' // load-overlay streams
)

// DefaultHandshakeTimeout bounds reading the kind byte plus the TLS
// handshake on accepted connections, and how long an accepted connection
// waits for its kind's listener to take it.
const DefaultHandshakeTimeout = 5 * time.Second

// Sentinel errors.
var (
	ErrClosed        = errors.New("transport: closed")
	ErrTLSConfig     = errors.New("transport: tls config")
	ErrFrameTooLarge = errors.New("transport: frame too large")
	ErrMalformed     = errors.New("transport: malformed frame")
)

// Config configures a Mux.
type Config struct {
	// Bind is the host:port to listen on; port 0 picks a free one.
	Bind string
	// Advertise is the address peers dial; "" means the bound address.
	Advertise string
	// TLS enables mutual TLS when non-nil: the server side requires and
	// verifies client certificates (against ClientCAs, or RootCAs when
	// ClientCAs is nil), the client side verifies the server. nil = plain TCP.
	TLS *tls.Config
	// HandshakeTimeout bounds the kind byte + TLS handshake of an accepted
	// connection and the wait for its listener; zero = DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Logger receives connection-level warnings; nil discards them.
	Logger *slog.Logger

	// ClusterID and NodeID are this node's identity, sent in the hello of
	// every connection it dials. An accepted connection whose peer is of
	// another cluster is refused; with TLS, the peer's cluster and id are
	// those of its certificate (pki.IdentityOf), and this node's own
	// certificate must name ClusterID and NodeID ("" takes the
	// certificate's).
	ClusterID, NodeID string
	// Authorize, when not nil, decides whether an accepted peer may open a
	// connection of kind; its error is sent to the peer as the reason.
	Authorize func(p Peer, kind byte) error
	// Client lets the Mux run with a client certificate (a tool that only
	// dials, such as a status probe); peers give it the client role.
	Client bool
}

// Mux is one TCP listener shared by all node-to-node traffic. It starts
// accepting in Listen; all methods are safe for concurrent use.
type Mux struct {
	ln        net.Listener
	addr      string
	serverTLS *tls.Config // nil = plain
	clientTLS *tls.Config // nil = plain
	timeout   time.Duration
	log       *slog.Logger

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	handshaking atomic.Int32 // accepted conns not yet handed to a listener

	mu     sync.Mutex
	closed bool
	subs   map[byte]*kindListener

	rpc rpcState

	clusterID, nodeID string
	authorize         func(Peer, byte) error
	limiter           logLimiter
	lastRefusal       atomic.Pointer[Refusal]
	refusedIn         atomic.Uint64
}

// Listen binds cfg.Bind and starts accepting connections.
func Listen(cfg Config) (*Mux, error) {
	var err error
	if cfg.ClusterID, cfg.NodeID, err = ownIdentity(cfg.TLS, cfg.ClusterID, cfg.NodeID, cfg.Client); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return nil, fmt.Errorf("transport: listen %s: %w", cfg.Bind, err)
	}
	m := &Mux{
		ln:      ln,
		addr:    cfg.Advertise,
		timeout: cfg.HandshakeTimeout,
		log:     cfg.Logger,
		subs:    make(map[byte]*kindListener),

		clusterID: cfg.ClusterID,
		nodeID:    cfg.NodeID,
		authorize: cfg.Authorize,
	}
	if m.addr == "" {
		m.addr = ln.Addr().String()
	}
	if m.timeout <= 0 {
		m.timeout = DefaultHandshakeTimeout
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS != nil {
		m.serverTLS = serverTLS(cfg.TLS)
		m.clientTLS = cfg.TLS.Clone()
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for _, k := range []byte{KindRaft, KindRPC, KindOverlay} {
		m.subs[k] = newKindListener(m, k)
	}
	m.rpc.init()
	m.wg.Add(1)
	go m.acceptLoop()
	return m, nil
}

// Addr returns the advertise address (or the bound one).
func (m *Mux) Addr() string { return m.addr }

// Listener returns the net.Listener receiving connections of the given kind.
// Closing it stops that kind only; a later Listener(kind) call returns a
// fresh listener. Kinds other than KindRaft, KindRPC and KindOverlay are
// accepted only once Listener has been called for them.
func (m *Mux) Listener(kind byte) net.Listener {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.subs[kind]
	if l == nil || l.isClosed() {
		l = newKindListener(m, kind)
		if m.closed {
			l.close()
		} else {
			m.subs[kind] = l
		}
	}
	return l
}

// Dial connects to addr, announces kind and, with TLS, completes the
// handshake, all within timeout (zero = no limit besides the OS's).
func (m *Mux) Dial(addr string, kind byte, timeout time.Duration) (net.Conn, error) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	conn, _, err := m.dialContext(ctx, addr, kind)
	return conn, err
}

// dialContext dials, runs TLS and the hello, and returns the connection
// with the acceptor's identity.
func (m *Mux) dialContext(ctx context.Context, addr string, kind byte) (net.Conn, Peer, error) {
	conn, err := m.dialConn(ctx, addr, kind)
	if err != nil {
		return nil, Peer{}, err
	}
	p, err := m.dialHello(ctx, conn, addr)
	if err != nil {
		conn.Close()
		return nil, Peer{}, err
	}
	_ = conn.SetDeadline(time.Time{})
	return conn, p, nil
}

func (m *Mux) dialConn(ctx context.Context, addr string, kind byte) (net.Conn, error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if _, err := conn.Write([]byte{kind}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
	}
	if m.clientTLS != nil {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("transport: dial %s: %w", addr, err)
		}
		tc := tls.Client(conn, clientTLS(m.clientTLS, host))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("transport: tls handshake with %s: %w", addr, err)
		}
		conn = tc
	}
	return conn, nil
}

// Close stops accepting, closes every kind listener, the RPC connection pool
// and served RPC connections, and waits for the Mux's goroutines (RPC
// handlers must honour their context). Connections already handed to a
// listener's caller are theirs to close.
func (m *Mux) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	subs := m.subs
	m.mu.Unlock()

	m.cancel()
	err := m.ln.Close()
	for _, l := range subs {
		l.close()
	}
	m.rpc.closeAll()
	m.wg.Wait()
	return err
}

func (m *Mux) isClosed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.closed
}

func (m *Mux) acceptLoop() {
	defer m.wg.Done()
	var backoff time.Duration
	for {
		conn, err := m.ln.Accept()
		if err != nil {
			if m.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			m.log.Warn("transport: accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-m.ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		m.wg.Add(1)
		go m.handshake(conn)
	}
}

// handshake reads the kind byte and runs the TLS server handshake under one
// deadline, then hands the connection to its kind's listener.
func (m *Mux) handshake(conn net.Conn) {
	defer m.wg.Done()
	m.handshaking.Add(1)
	defer m.handshaking.Add(-1)
	remote := conn.RemoteAddr().String()
	ctx, cancel := context.WithTimeout(m.ctx, m.timeout)
	defer cancel()
	_ = conn.SetDeadline(time.Now().Add(m.timeout))
	// Close interrupts a pending read or handshake at once.
	stop := context.AfterFunc(m.ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("transport: no kind byte", "remote", remote, "err", err)
		}
		conn.Close()
		return
	}
	kind := b[0]
	if m.listenerFor(kind) == nil {
		m.log.Warn("transport: unknown connection kind", "remote", remote, "kind", kind)
		conn.Close()
		return
	}
	if m.serverTLS != nil {
		tc := tls.Server(conn, m.serverTLS)
		if err := tc.HandshakeContext(ctx); err != nil {
			if m.ctx.Err() == nil {
				m.log.Warn("transport: tls handshake refused", "remote", remote, "kind", kind, "err", err)
			}
			conn.Close()
			return
		}
		conn = tc
	}
	p, ok := m.acceptHello(conn, kind)
	if !ok {
		conn.Close()
		return
	}
	conn = &peerConn{Conn: conn, peer: p}
	if !stop() {
		conn.Close()
		return
	}
	_ = conn.SetDeadline(time.Time{})
	dctx, dcancel := context.WithTimeout(m.ctx, m.timeout)
	defer dcancel()
	m.listenerFor(kind).deliver(dctx, conn) // the current one: it may have been replaced meanwhile
}

func (m *Mux) listenerFor(kind byte) *kindListener {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.subs[kind]
}

package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves one RPC. ctx ends when the caller's deadline passes or the
// Mux closes. A non-nil error reaches the caller as a *RemoteError carrying
// err.Error().
type Handler func(ctx context.Context, method string, body []byte) ([]byte, error)

// RemoteError is an error returned by the remote Handler.
type RemoteError struct{ Msg string }

// Error returns the remote error text.
func (e *RemoteError) Error() string { return e.Msg }

const (
	maxIdlePerAddr     = 4                // idle RPC connections kept per address
	defaultDialTimeout = 10 * time.Second // dialing when the ctx has no deadline
	rpcBufSize         = 64 << 10
)

// rpcConn is one client-side RPC connection.
type rpcConn struct {
	conn net.Conn
	r    *bufio.Reader
	peer Peer // the server's identity
}

// rpcState holds the server handler, the client pool and the served conns.
type rpcState struct {
	handler atomic.Pointer[Handler]

	mu      sync.Mutex
	serving bool
	closed  bool
	idle    map[string][]*rpcConn
	served  map[net.Conn]struct{}
}

func (s *rpcState) init() {
	s.idle = make(map[string][]*rpcConn)
	s.served = make(map[net.Conn]struct{})
}

// closeAll closes pooled and served connections; later puts are closed.
func (s *rpcState) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for addr, cs := range s.idle {
		for _, c := range cs {
			c.conn.Close()
		}
		delete(s.idle, addr)
	}
	for c := range s.served {
		c.Close()
	}
}

// ServeRPC serves KindRPC connections with h. Calling it again replaces the
// handler for requests that arrive afterwards.
func (m *Mux) ServeRPC(h Handler) {
	m.rpc.handler.Store(&h)
	m.rpc.mu.Lock()
	start := !m.rpc.serving && !m.rpc.closed
	m.rpc.serving = true
	m.rpc.mu.Unlock()
	if !start {
		return
	}
	ln := m.Listener(KindRPC)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			if !m.trackServed(conn) {
				conn.Close()
				return
			}
			m.wg.Add(1)
			go m.serveRPCConn(conn)
		}
	}()
}

func (m *Mux) trackServed(c net.Conn) bool {
	m.rpc.mu.Lock()
	defer m.rpc.mu.Unlock()
	if m.rpc.closed {
		return false
	}
	m.rpc.served[c] = struct{}{}
	return true
}

// serveRPCConn answers requests on conn one at a time until it breaks.
func (m *Mux) serveRPCConn(conn net.Conn) {
	defer m.wg.Done()
	defer func() {
		m.rpc.mu.Lock()
		delete(m.rpc.served, conn)
		m.rpc.mu.Unlock()
		conn.Close()
	}()
	peer, _ := PeerOf(conn)
	r := bufio.NewReaderSize(conn, rpcBufSize)
	for {
		method, timeoutMS, body, err := readRequest(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && m.ctx.Err() == nil {
				m.log.Warn("transport: rpc read failed", "remote", conn.RemoteAddr().String(), "err", err)
			}
			return
		}
		var deadline time.Time
		if timeoutMS > 0 {
			deadline = time.Now().Add(time.Duration(timeoutMS) * time.Millisecond)
		}
		status, payload := m.handle(peer, deadline, method, body)
		writeBy := time.Time{} // none
		if !deadline.IsZero() {
			// Slack: the caller's own deadline should fire first, so it
			// reports its context error rather than a hang-up.
			writeBy = deadline.Add(time.Second)
		}
		_ = conn.SetWriteDeadline(writeBy)
		bufs := net.Buffers{responseHeader(status, len(payload)), payload}
		if _, err := bufs.WriteTo(conn); err != nil {
			return
		}
	}
}

// handle runs the handler, turning errors and panics into error responses.
func (m *Mux) handle(peer Peer, deadline time.Time, method string, body []byte) (status byte, payload []byte) {
	ctx := context.WithValue(m.ctx, peerKey{}, peer)
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("transport: rpc handler panicked", "method", method, "panic", fmt.Sprint(p))
			status, payload = statusError, []byte("transport: handler panicked")
		}
	}()
	hp := m.rpc.handler.Load()
	if hp == nil {
		return statusError, []byte("transport: no rpc handler")
	}
	resp, err := (*hp)(ctx, method, body)
	switch {
	case err != nil:
		msg := err.Error()
		if len(msg) > maxErrorText {
			msg = msg[:maxErrorText]
		}
		return statusError, []byte(msg)
	case len(resp) > MaxBody:
		return statusError, []byte(ErrFrameTooLarge.Error() + ": response")
	}
	return statusOK, resp
}

// Call sends one request to the Mux at addr and waits for its response,
// within ctx. Errors from the remote handler come back as *RemoteError. A
// request is never sent twice: the one retry (on a fresh connection) happens
// only when a pooled connection failed before any byte of it was written.
func (m *Mux) Call(ctx context.Context, addr, method string, body []byte) ([]byte, error) {
	return m.CallAs(ctx, addr, "", method, body)
}

// CallAs is Call to the node id expected at addr: the call fails with
// ErrIdentity, before the request is sent, when the server at addr is
// another node ("" accepts any node of the cluster). With TLS the server's
// id is its certificate's.
func (m *Mux) CallAs(ctx context.Context, addr, wantID, method string, body []byte) ([]byte, error) {
	if len(method) > maxMethod || len(body) > MaxBody {
		return nil, fmt.Errorf("%w: call %s", ErrFrameTooLarge, method)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("transport: call %s on %s: %w", method, addr, err)
	}
	c, pooled, err := m.getConn(ctx, addr)
	if err != nil {
		return nil, err
	}
	if wantID != "" && c.peer.ID != wantID {
		m.putConn(addr, c)
		return nil, fmt.Errorf("%w: %s is node %q, not %q", ErrIdentity, addr, c.peer.ID, wantID)
	}
	resp, sent, err := m.roundTrip(ctx, addr, c, method, body)
	if err != nil && !sent && pooled && ctx.Err() == nil {
		if c, err = m.dialRPC(ctx, addr); err != nil {
			return nil, err
		}
		if wantID != "" && c.peer.ID != wantID {
			m.putConn(addr, c)
			return nil, fmt.Errorf("%w: %s is node %q, not %q", ErrIdentity, addr, c.peer.ID, wantID)
		}
		resp, _, err = m.roundTrip(ctx, addr, c, method, body)
	}
	return resp, err
}

// roundTrip writes one request and reads its response on c. It returns c to
// the pool on a clean exchange and closes it otherwise; sent reports whether
// any request byte may have reached the peer.
func (m *Mux) roundTrip(ctx context.Context, addr string, c *rpcConn, method string, body []byte) (resp []byte, sent bool, err error) {
	deadline, hasDeadline := ctx.Deadline()
	_ = c.conn.SetDeadline(deadline) // zero = none
	var timeoutMS uint64
	if hasDeadline {
		// Rounded up: the handler's deadline must not precede the caller's.
		timeoutMS = uint64(max((time.Until(deadline)+time.Millisecond-1)/time.Millisecond, 1))
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })

	bufs := net.Buffers{requestHeader(method, timeoutMS, len(body)), body}
	n, err := bufs.WriteTo(c.conn)
	if err != nil {
		stop()
		c.conn.Close()
		return nil, n > 0, m.callErr(ctx, addr, method, err)
	}
	status, payload, err := readResponse(c.r)
	if !stop() || err != nil {
		c.conn.Close()
		if err == nil {
			err = ctx.Err()
		}
		return nil, true, m.callErr(ctx, addr, method, err)
	}
	m.putConn(addr, c)
	if status == statusError {
		if cerr := ctx.Err(); cerr != nil {
			return nil, true, m.callErr(ctx, addr, method, cerr)
		}
		return nil, true, &RemoteError{Msg: string(payload)}
	}
	return payload, true, nil
}

// callErr wraps a connection error, reporting a context's end as such.
func (m *Mux) callErr(ctx context.Context, addr, method string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		err = cerr
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		if _, has := ctx.Deadline(); has {
			err = context.DeadlineExceeded
		}
	}
	return fmt.Errorf("transport: call %s on %s: %w", method, addr, err)
}

// getConn returns a live pooled connection to addr, or dials a new one.
func (m *Mux) getConn(ctx context.Context, addr string) (c *rpcConn, pooled bool, err error) {
	for {
		m.rpc.mu.Lock()
		if m.rpc.closed {
			m.rpc.mu.Unlock()
			return nil, false, ErrClosed
		}
		cs := m.rpc.idle[addr]
		if len(cs) == 0 {
			m.rpc.mu.Unlock()
			break
		}
		c = cs[len(cs)-1]
		cs[len(cs)-1] = nil
		m.rpc.idle[addr] = cs[:len(cs)-1]
		m.rpc.mu.Unlock()
		if connAlive(c.conn) {
			return c, true, nil
		}
		c.conn.Close()
	}
	c, err = m.dialRPC(ctx, addr)
	return c, false, err
}

// dialRPC opens a new KindRPC connection to addr.
func (m *Mux) dialRPC(ctx context.Context, addr string) (*rpcConn, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultDialTimeout)
		defer cancel()
	}
	conn, peer, err := m.dialContext(ctx, addr, KindRPC)
	if err != nil {
		return nil, err
	}
	return &rpcConn{conn: conn, r: bufio.NewReaderSize(conn, rpcBufSize), peer: peer}, nil
}

// putConn returns c to the idle pool, or closes it when the pool is full,
// the Mux is closed, or c has unread bytes.
func (m *Mux) putConn(addr string, c *rpcConn) {
	m.rpc.mu.Lock()
	defer m.rpc.mu.Unlock()
	if m.rpc.closed || len(m.rpc.idle[addr]) >= maxIdlePerAddr || c.r.Buffered() > 0 {
		c.conn.Close()
		return
	}
	m.rpc.idle[addr] = append(m.rpc.idle[addr], c)
}

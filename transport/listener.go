package transport

import (
	"context"
	"net"
	"sync"
)

// kindListener is the net.Listener for one connection kind of a Mux.
// Handoff is unbuffered: a connection waits in its handshake goroutine (up
// to the handshake timeout) until Accept takes it, so nothing leaks when a
// listener closes.
type kindListener struct {
	m     *Mux
	kind  byte
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newKindListener(m *Mux, kind byte) *kindListener {
	return &kindListener{m: m, kind: kind, conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept waits for the next connection of this kind.
func (l *kindListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops this kind only; the Mux keeps running.
func (l *kindListener) Close() error {
	l.close()
	return nil
}

// Addr is the Mux's advertise address.
func (l *kindListener) Addr() net.Addr { return muxAddr(l.m.Addr()) }

func (l *kindListener) close() { l.once.Do(func() { close(l.done) }) }

func (l *kindListener) isClosed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// deliver hands conn to Accept, or closes it when the listener closes or
// nobody accepts before ctx ends.
func (l *kindListener) deliver(ctx context.Context, conn net.Conn) {
	select {
	case l.conns <- conn:
	case <-l.done:
		conn.Close()
	case <-ctx.Done():
		l.m.log.Warn("transport: connection not accepted in time", "remote", conn.RemoteAddr().String(), "kind", l.kind)
		conn.Close()
	}
}

// muxAddr is a net.Addr for an advertise address string.
type muxAddr string

func (a muxAddr) Network() string { return "tcp" }
func (a muxAddr) String() string  { return string(a) }

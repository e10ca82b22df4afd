package transport

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// A connection with an unknown kind byte, or none at all, is closed.
func TestUnknownKindClosed(t *testing.T) {
	m, err := Listen(Config{Bind: "127.0.0.1:0", HandshakeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer m.Close()
	tests := []struct {
		name  string
		write []byte
	}{
		{name: "unknown kind", write: []byte{'Z', 'x'}},
		{name: "silent peer", write: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", m.Addr())
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if _, err := c.Write(tt.write); err != nil {
				t.Fatalf("Write: %v", err)
			}
			_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
			var b [1]byte
			if n, err := c.Read(b[:]); n != 0 || !isClosedErr(err) {
				t.Fatalf("Read after %q = %d, %v, want the mux to close the conn", tt.write, n, err)
			}
		})
	}
}

func isClosedErr(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return err != nil
}

// Closing one kind's listener leaves the Mux and the other kinds running,
// and Listener returns a fresh one afterwards.
func TestListenerCloseKeepsMux(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	srv.ServeRPC(echo)
	if err := srv.Listener(KindRaft).Close(); err != nil {
		t.Fatalf("Listener(KindRaft).Close = %v", err)
	}
	if _, err := cli.Call(context.Background(), srv.Addr(), "m", nil); err != nil {
		t.Fatalf("Call after closing the raft listener = %v", err)
	}
	ln := srv.Listener(KindRaft)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	c, err := cli.Dial(srv.Addr(), KindRaft, 2*time.Second)
	if err != nil {
		t.Fatalf("Dial(KindRaft) = %v", err)
	}
	defer c.Close()
	select {
	case sc := <-accepted:
		sc.Close()
	case <-time.After(3 * time.Second):
		t.Fatalf("fresh raft listener accepted nothing")
	}
}

// A custom kind works once its listener is registered.
func TestCustomKind(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	ln := srv.Listener('X')
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()
	c, err := cli.Dial(srv.Addr(), 'X', 2*time.Second)
	if err != nil {
		t.Fatalf("Dial('X') = %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write = %v", err)
	}
	got := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ping" {
		t.Fatalf("echo = %q, %v, want ping", got, err)
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		name, advertise string
		want            func(m *Mux) string
	}{
		{name: "bound", want: func(m *Mux) string { return m.ln.Addr().String() }},
		{name: "advertise", advertise: "node1.example:7000", want: func(*Mux) string { return "node1.example:7000" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Listen(Config{Bind: "127.0.0.1:0", Advertise: tt.advertise})
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer m.Close()
			want := tt.want(m)
			if got := m.Addr(); got != want {
				t.Errorf("Addr() = %q, want %q", got, want)
			}
			if got := m.Listener(KindRaft).Addr().String(); got != want {
				t.Errorf("Listener(KindRaft).Addr() = %q, want %q", got, want)
			}
		})
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, err := Listen(Config{Bind: "256.0.0.1:x"}); err == nil {
		t.Fatalf("Listen(bad) = nil error, want failure")
	}
}

// Close does not wait out the handshake timeout of a silent peer.
func TestCloseInterruptsHandshake(t *testing.T) {
	m, err := Listen(Config{Bind: "127.0.0.1:0"}) // default 5s handshake timeout
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	c, err := net.Dial("tcp", m.Addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	waitFor(t, "the mux to start the handshake", func() bool { return m.handshaking.Load() == 1 })
	start := time.Now()
	if err := m.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a silent peer, want prompt", d)
	}
}

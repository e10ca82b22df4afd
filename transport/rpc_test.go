package transport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func echo(_ context.Context, method string, body []byte) ([]byte, error) {
	return append([]byte(method+":"), body...), nil
}

func TestRPCRoundTrip(t *testing.T) {
	_, cfgs := mutualTLS(t, "a", "b")
	tests := []struct {
		name     string
		srv, cli *tls.Config
	}{
		{name: "plain"},
		{name: "mtls", srv: cfgs["a"], cli: cfgs["b"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, cli := newMux(t, tt.srv), newMux(t, tt.cli)
			srv.ServeRPC(echo)
			bodies := [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{7}, 3<<20+5)}
			for i, body := range bodies {
				got, err := cli.Call(context.Background(), srv.Addr(), "m", body)
				want := append([]byte("m:"), body...)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Call #%d (len %d) = len %d, %v, want len %d", i, len(body), len(got), err, len(want))
				}
			}
			cli.rpc.mu.Lock()
			idle := len(cli.rpc.idle[srv.Addr()])
			cli.rpc.mu.Unlock()
			if idle != 1 {
				t.Errorf("idle conns after sequential calls = %d, want 1", idle)
			}
		})
	}
}

func TestRPCRemoteError(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	srv.ServeRPC(func(_ context.Context, method string, body []byte) ([]byte, error) {
		if method == "fail" {
			return nil, fmt.Errorf("not leader: %s", body)
		}
		if method == "panic" {
			panic("boom")
		}
		return body, nil
	})
	tests := []struct {
		name, method, wantErr, want string
	}{
		{name: "handler error", method: "fail", wantErr: "not leader: x"},
		{name: "handler panic", method: "panic", wantErr: "transport: handler panicked"},
		{name: "ok after errors", method: "ok", want: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cli.Call(context.Background(), srv.Addr(), tt.method, []byte("x"))
			if tt.wantErr == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("Call(%q) = %q, %v, want %q", tt.method, got, err, tt.want)
				}
				return
			}
			var re *RemoteError
			if !errors.As(err, &re) || re.Msg != tt.wantErr {
				t.Fatalf("Call(%q) error = %v, want RemoteError %q", tt.method, err, tt.wantErr)
			}
		})
	}
}

func TestRPCContext(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	hadDeadline := make(chan bool, 4)
	srv.ServeRPC(func(ctx context.Context, _ string, _ []byte) ([]byte, error) {
		_, ok := ctx.Deadline()
		hadDeadline <- ok
		<-ctx.Done()
		return nil, ctx.Err()
	})
	t.Run("deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := cli.Call(ctx, srv.Addr(), "block", nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Call = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Call took %v, want about 150ms", d)
		}
		if !<-hadDeadline {
			t.Errorf("handler ctx had no deadline, want the caller's")
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-hadDeadline
			cancel()
		}()
		_, err := cli.Call(ctx, srv.Addr(), "block", nil)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Call = %v, want Canceled", err)
		}
	})
	t.Run("already done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := cli.Call(ctx, srv.Addr(), "block", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Call = %v, want Canceled", err)
		}
	})
}

func TestRPCConcurrent(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	srv.ServeRPC(echo)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				body := fmt.Appendf(nil, "%d-%d", g, i)
				got, err := cli.Call(context.Background(), srv.Addr(), "e", body)
				if err != nil || string(got) != "e:"+string(body) {
					errs <- fmt.Errorf("Call(%s) = %q, %v", body, got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	cli.rpc.mu.Lock()
	idle := len(cli.rpc.idle[srv.Addr()])
	cli.rpc.mu.Unlock()
	if idle > maxIdlePerAddr {
		t.Errorf("idle conns = %d, want <= %d", idle, maxIdlePerAddr)
	}
}

func TestRPCTooLarge(t *testing.T) {
	cli := newMux(t, nil)
	_, err := cli.Call(context.Background(), "127.0.0.1:1", "m", make([]byte, MaxBody+1))
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Call(MaxBody+1) = %v, want ErrFrameTooLarge", err)
	}
}

// A pooled connection the server dropped is discarded before use.
func TestRPCPooledConnDropped(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	var calls atomic.Int32
	srv.ServeRPC(func(_ context.Context, _ string, b []byte) ([]byte, error) {
		calls.Add(1)
		return b, nil
	})
	if _, err := cli.Call(context.Background(), srv.Addr(), "m", nil); err != nil {
		t.Fatalf("first Call = %v", err)
	}
	srv.rpc.mu.Lock()
	for c := range srv.rpc.served {
		c.Close()
	}
	srv.rpc.mu.Unlock()
	waitFor(t, "pooled conn to see EOF", func() bool {
		cli.rpc.mu.Lock()
		defer cli.rpc.mu.Unlock()
		cs := cli.rpc.idle[srv.Addr()]
		return len(cs) == 1 && !connAlive(cs[0].conn)
	})
	if _, err := cli.Call(context.Background(), srv.Addr(), "m", nil); err != nil {
		t.Fatalf("Call after server dropped conn = %v, want success on a fresh conn", err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("handler calls = %d, want 2", n)
	}
}

// A request that reached the peer is never sent again, even when the pooled
// connection breaks before the answer.
func TestRPCNoResend(t *testing.T) {
	srv, cli := newMux(t, nil), newMux(t, nil)
	ln := srv.Listener(KindRPC)
	var got atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // answers the first request, drops the conn on the second
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					if _, _, _, err := readRequest(r); err != nil {
						return
					}
					if got.Add(1) > 1 {
						return
					}
					bufs := net.Buffers{responseHeader(statusOK, 2), []byte("ok")}
					if _, err := bufs.WriteTo(c); err != nil {
						return
					}
				}
			}()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if b, err := cli.Call(ctx, srv.Addr(), "m", []byte("x")); err != nil || string(b) != "ok" {
		t.Fatalf("first Call = %q, %v, want ok", b, err)
	}
	if _, err := cli.Call(ctx, srv.Addr(), "m", []byte("x")); err == nil {
		t.Fatalf("second Call to a dropping peer = nil error, want failure")
	}
	if n := got.Load(); n != 2 {
		t.Errorf("requests received = %d, want 2 (no resend)", n)
	}
}

func TestRPCNoHandlerKindListenerOnly(t *testing.T) {
	// An RPC conn nobody accepts is closed after the handshake timeout.
	m, err := Listen(Config{Bind: "127.0.0.1:0", HandshakeTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	defer m.Close()
	cli := newMux(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := cli.Call(ctx, m.Addr(), "m", nil); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call with no ServeRPC = %v, want a connection error before the deadline", err)
	}
}

func TestClosed(t *testing.T) {
	m := newMux(t, nil)
	m.ServeRPC(echo)
	addr := m.Addr()
	if err := m.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
	if _, err := m.Call(context.Background(), addr, "m", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Call after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Dial(addr, KindRaft, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Dial after Close = %v, want ErrClosed", err)
	}
	if _, err := m.Listener(KindRaft).Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}

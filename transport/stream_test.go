package transport

import (
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestStreamLayerBothWays(t *testing.T) {
	_, cfgs := mutualTLS(t, "a", "b")
	tests := []struct {
		name string
		a, b *tls.Config
	}{
		{name: "plain"},
		{name: "mtls", a: cfgs["a"], b: cfgs["b"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ma, mb := newMux(t, tt.a), newMux(t, tt.b)
			sa, sb := NewStreamLayer(ma), NewStreamLayer(mb)
			if got := sa.Addr().String(); got != ma.Addr() {
				t.Errorf("Addr() = %q, want %q", got, ma.Addr())
			}
			exchange(t, sa, sb)
			exchange(t, sb, sa)
		})
	}
}

// exchange dials from one layer to the other and sends a message each way.
func exchange(t *testing.T, from, to raft.StreamLayer) {
	t.Helper()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := to.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := from.Dial(raft.ServerAddress(to.Addr().String()), 2*time.Second)
	if err != nil {
		t.Fatalf("Dial(%s) = %v", to.Addr(), err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write = %v", err)
	}
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(3 * time.Second):
	}
	if sc == nil {
		t.Fatalf("Accept got nothing")
	}
	defer sc.Close()
	_ = sc.SetDeadline(time.Now().Add(3 * time.Second))
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read = %q, %v, want ping", buf, err)
	}
	if _, err := sc.Write([]byte("pong")); err != nil {
		t.Fatalf("server Write = %v", err)
	}
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "pong" {
		t.Fatalf("client read = %q, %v, want pong", buf, err)
	}
}

// Two raft.NetworkTransports over two muxes exchange RequestVote and
// AppendEntries.
func TestRaftNetworkTransport(t *testing.T) {
	_, cfgs := mutualTLS(t, "a", "b")
	tests := []struct {
		name string
		a, b *tls.Config
	}{
		{name: "plain"},
		{name: "mtls", a: cfgs["a"], b: cfgs["b"]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta := raft.NewNetworkTransport(NewStreamLayer(newMux(t, tt.a)), 2, 3*time.Second, io.Discard)
			tb := raft.NewNetworkTransport(NewStreamLayer(newMux(t, tt.b)), 2, 3*time.Second, io.Discard)
			t.Cleanup(func() { ta.Close(); tb.Close() })
			done := make(chan struct{})
			defer close(done)
			go respond(ta.Consumer(), done)
			go respond(tb.Consumer(), done)

			var vote raft.RequestVoteResponse
			req := &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ID: []byte("a"), Addr: []byte(ta.LocalAddr())}, Term: 7, LastLogIndex: 3}
			if err := ta.RequestVote("b", tb.LocalAddr(), req, &vote); err != nil || !vote.Granted || vote.Term != 7 {
				t.Fatalf("RequestVote a->b = %+v, %v, want granted term 7", vote, err)
			}
			var app raft.AppendEntriesResponse
			ae := &raft.AppendEntriesRequest{Term: 8, Entries: []*raft.Log{{Index: 1, Term: 8, Data: []byte("x")}}}
			if err := tb.AppendEntries("a", ta.LocalAddr(), ae, &app); err != nil || !app.Success || app.LastLog != 1 {
				t.Fatalf("AppendEntries b->a = %+v, %v, want success last log 1", app, err)
			}
		})
	}
}

// respond answers raft RPCs like an agreeable peer.
func respond(ch <-chan raft.RPC, done <-chan struct{}) {
	for {
		select {
		case rpc := <-ch:
			switch cmd := rpc.Command.(type) {
			case *raft.RequestVoteRequest:
				rpc.Respond(&raft.RequestVoteResponse{Term: cmd.Term, Granted: true}, nil)
			case *raft.AppendEntriesRequest:
				var last uint64
				if n := len(cmd.Entries); n > 0 {
					last = cmd.Entries[n-1].Index
				}
				rpc.Respond(&raft.AppendEntriesResponse{Term: cmd.Term, Success: true, LastLog: last}, nil)
			default:
				rpc.Respond(nil, io.ErrUnexpectedEOF)
			}
		case <-done:
			return
		}
	}
}

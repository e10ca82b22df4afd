package transport

import (
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer adapts the KindRaft listener of a Mux to raft.StreamLayer.
type streamLayer struct {
	net.Listener
	m *Mux
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// NewStreamLayer returns a raft.StreamLayer carried by m under KindRaft.
// Its Addr is the Mux's advertise address; closing it stops Raft traffic
// only, not the Mux.
func NewStreamLayer(m *Mux) raft.StreamLayer {
	return &streamLayer{Listener: m.Listener(KindRaft), m: m}
}

// Dial opens a KindRaft connection to address.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	return s.m.Dial(string(address), KindRaft, timeout)
}

package transport

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

// Peer is who is at the other end of a cluster-port connection.
type Peer struct {
	Cluster string // cluster id
	ID      string // node id, or client name
	Role    string // pki.RoleNode or pki.RoleClient
	// Verified: the identity comes from a certificate signed by the CA.
	// false: it was claimed in the clear (no TLS, an --insecure agent).
	Verified bool
	Addr     string // remote address
}

// IsNode reports whether the peer is a drover server.
func (p Peer) IsNode() bool { return p.Role == pki.RoleNode }

func (p Peer) String() string {
	v := "unverified"
	if p.Verified {
		v = "certificate"
	}
	return fmt.Sprintf("%s %q of cluster %q at %s (%s)", p.Role, p.ID, p.Cluster, p.Addr, v)
}

// Errors of the identity exchange.
var (
	// ErrRefused: the peer refused this node; the error text says why.
	ErrRefused = errors.New("transport: refused by peer")
	// ErrIdentity: a peer's (or this node's own) identity is not what it
	// must be.
	ErrIdentity = errors.New("transport: identity")
)

// Every connection, once the kind byte and the TLS handshake are done,
// starts with a hello from the dialer and an answer from the acceptor:
//
//	hello:  [uvarint len][cluster id][uvarint len][node id]
//	answer: [0][uvarint len][acceptor's node id]  accepted
//	        [1][uvarint len][reason]              refused
//
// With TLS the acceptor checks the hello against the dialer's certificate,
// and the dialer checks the acceptor's certificate; without TLS both are
// claims.
const (
	maxHelloField = 256
	maxReason     = 1024
	helloOK       = 0
	helloRefused  = 1
)

func writeFields(w io.Writer, head []byte, fields ...string) error {
	b := head
	for _, f := range fields {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	_, err := w.Write(b)
	return err
}

func readField(r *bufio.Reader, limit int) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", unexpected(err)
	}
	if n > uint64(limit) {
		return "", fmt.Errorf("%w: hello field of %d bytes", ErrMalformed, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", unexpected(err)
	}
	return string(b), nil
}

// certPeer reads the identity of a TLS connection's peer certificate.
func certPeer(cs tls.ConnectionState, addr string) (Peer, error) {
	if len(cs.PeerCertificates) == 0 {
		return Peer{}, fmt.Errorf("%w: no certificate", ErrIdentity)
	}
	id, err := pki.IdentityOf(cs.PeerCertificates[0])
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %w", ErrIdentity, err)
	}
	return Peer{Cluster: id.Cluster, ID: id.Name, Role: id.Role, Verified: true, Addr: addr}, nil
}

// acceptHello runs the acceptor's half of the hello on conn (kind already
// read, TLS done). It returns the peer, or why it was refused (already
// answered to the peer and logged).
func (m *Mux) acceptHello(conn net.Conn, kind byte) (Peer, bool) {
	remote := conn.RemoteAddr().String()
	r := bufio.NewReaderSize(byteReader{conn}, 16) // reads nothing past the hello
	if _, isTLS := conn.(*tls.Conn); !isTLS {
		// A TLS ClientHello (record type 22, version 3.x) cannot start a
		// hello: cluster ids are lowercase letters and digits.
		if b, err := r.Peek(2); err == nil && b[0] == 0x16 && b[1] == 0x03 {
			m.refuse(conn, kind, Peer{Addr: remote}, errors.New("the peer speaks TLS and this node has no --tls-* configured (it runs with --insecure): give it a certificate from the cluster's CA"))
			return Peer{}, false
		}
	}
	cluster, err := readField(r, maxHelloField)
	var id string
	if err == nil {
		id, err = readField(r, maxHelloField)
	}
	if err != nil {
		if m.ctx.Err() == nil {
			m.log.Warn("transport: no hello", "remote", remote, "kind", string(kind), "err", err)
		}
		return Peer{}, false
	}
	p := Peer{Cluster: cluster, ID: id, Role: pki.RoleNode, Addr: remote}
	if tc, ok := conn.(*tls.Conn); ok {
		cp, err := certPeer(tc.ConnectionState(), remote)
		if err != nil {
			m.refuse(conn, kind, p, err)
			return Peer{}, false
		}
		if cp.ID != id || cp.Cluster != cluster {
			m.refuse(conn, kind, p, fmt.Errorf("%w: it claims to be %q of cluster %q, its certificate is %s",
				ErrIdentity, id, cluster, (pki.Identity{Cluster: cp.Cluster, Role: cp.Role, Name: cp.ID})))
			return Peer{}, false
		}
		p = cp
	}
	if p.Cluster != m.clusterID {
		m.refuse(conn, kind, p, fmt.Errorf("%w: it is of cluster %q, this node of cluster %q", ErrIdentity, p.Cluster, m.clusterID))
		return Peer{}, false
	}
	if m.authorize != nil {
		if err := m.authorize(p, kind); err != nil {
			m.refuse(conn, kind, p, err)
			return Peer{}, false
		}
	}
	if err := writeFields(conn, []byte{helloOK}, m.nodeID); err != nil {
		return Peer{}, false
	}
	return p, true
}

// refuse answers a refused hello with the reason and logs it.
func (m *Mux) refuse(conn net.Conn, kind byte, p Peer, why error) {
	reason := why.Error()
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	m.refusedIn.Add(1)
	if m.limiter.allow("in|" + p.Addr + "|" + p.ID + "|" + reason) {
		m.log.Warn("transport: refused a connection", "remote", p.Addr, "kind", string(kind), "claimed_id", p.ID, "reason", reason)
	}
	_ = writeFields(conn, []byte{helloRefused}, reason)
}

// dialHello runs the dialer's half of the hello on conn; it returns the
// acceptor's identity.
func (m *Mux) dialHello(ctx context.Context, conn net.Conn, addr string) (Peer, error) {
	if _, ok := ctx.Deadline(); !ok {
		_ = conn.SetDeadline(time.Now().Add(m.timeout))
	}
	if err := writeFields(conn, nil, m.clusterID, m.nodeID); err != nil {
		return Peer{}, fmt.Errorf("transport: hello to %s: %w", addr, err)
	}
	// One byte at a time: nothing after the answer may be swallowed.
	r := bufio.NewReaderSize(byteReader{conn}, 16)
	status, err := r.ReadByte()
	if err != nil {
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "remote error" { // a TLS alert: the peer refused our certificate
			m.noteRefusal(addr, "tls: "+oe.Err.Error())
			return Peer{}, fmt.Errorf("%w %s: tls: %v (is this node's certificate from the cluster's CA?)", ErrRefused, addr, oe.Err)
		}
		if _, isTLS := conn.(*tls.Conn); !isTLS && errors.Is(err, io.EOF) {
			const why = "the peer hung up on the hello: it probably requires TLS and this node has no --tls-* configured (it runs with --insecure)"
			m.noteRefusal(addr, why)
			return Peer{}, fmt.Errorf("%w %s: %s", ErrRefused, addr, why)
		}
		return Peer{}, fmt.Errorf("transport: hello to %s: %w", addr, unexpected(err))
	}
	if _, isTLS := conn.(*tls.Conn); !isTLS && (status == 0x15 || status == 0x16) {
		// A TLS record (alert or handshake) answering a plain hello.
		const why = "the peer requires TLS and this node has no --tls-* configured (it runs with --insecure): give it a certificate from the cluster's CA"
		m.noteRefusal(addr, why)
		return Peer{}, fmt.Errorf("%w %s: %s", ErrRefused, addr, why)
	}
	text, err := readField(r, maxReason)
	if err != nil {
		return Peer{}, fmt.Errorf("transport: hello to %s: %w", addr, err)
	}
	if status != helloOK {
		m.noteRefusal(addr, text)
		return Peer{}, fmt.Errorf("%w %s: %s", ErrRefused, addr, text)
	}
	p := Peer{Cluster: m.clusterID, ID: text, Role: pki.RoleNode, Addr: addr}
	if tc, ok := conn.(*tls.Conn); ok {
		cp, err := certPeer(tc.ConnectionState(), addr)
		if err != nil {
			return Peer{}, fmt.Errorf("transport: server %s: %w", addr, err)
		}
		if !cp.IsNode() || cp.Cluster != m.clusterID || cp.ID != text {
			return Peer{}, fmt.Errorf("%w: server %s presents %s://%s/%s/%s and calls itself %q; this node is of cluster %q",
				ErrIdentity, addr, pki.Scheme, cp.Cluster, cp.Role, cp.ID, text, m.clusterID)
		}
		p = cp
	}
	return p, nil
}

// byteReader hides the conn's other methods so that bufio reads exactly
// what it is asked for (bufio with a size-1 underlying read).
type byteReader struct{ c net.Conn }

func (b byteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return b.c.Read(p)
}

// Refusal is the last time a peer refused this node, and why.
type Refusal struct {
	Addr   string
	Reason string
	At     time.Time
}

func (m *Mux) noteRefusal(addr, reason string) {
	m.lastRefusal.Store(&Refusal{Addr: addr, Reason: reason, At: time.Now()})
	if m.limiter.allow("out|" + addr + "|" + reason) {
		m.log.Warn("transport: a peer refused this node", "peer", addr, "reason", reason)
	}
}

// LastRefusal returns the last refusal by a peer, or nil.
func (m *Mux) LastRefusal() *Refusal { return m.lastRefusal.Load() }

// RefusedConnections counts connections this Mux refused.
func (m *Mux) RefusedConnections() uint64 { return m.refusedIn.Load() }

// peerConn is an accepted connection with its peer's identity.
type peerConn struct {
	net.Conn
	peer Peer
}

// PeerOf returns the identity of an accepted connection's peer (a
// connection from a Listener of this package).
func PeerOf(c net.Conn) (Peer, bool) {
	pc, ok := c.(*peerConn)
	if !ok {
		return Peer{}, false
	}
	return pc.peer, true
}

type peerKey struct{}

// PeerFromContext returns the identity of the peer whose RPC ctx serves.
func PeerFromContext(ctx context.Context) (Peer, bool) {
	p, ok := ctx.Value(peerKey{}).(Peer)
	return p, ok
}

// logLimiter lets one log line per key through per interval, so that a
// peer retrying every few milliseconds does not flood the log.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const logEvery = 30 * time.Second

func (l *logLimiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.last == nil {
		l.last = map[string]time.Time{}
	}
	if t, ok := l.last[key]; ok && now.Sub(t) < logEvery {
		return false
	}
	if len(l.last) > 1024 {
		clear(l.last)
	}
	l.last[key] = now
	return true
}

// ownIdentity checks the Mux's own certificate against cluster and node
// ("" takes the certificate's) and returns the identity to use.
func ownIdentity(cfg *tls.Config, cluster, node string, client bool) (string, string, error) {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return cluster, node, nil
	}
	leaf := cfg.Certificates[0].Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cfg.Certificates[0].Certificate[0]); err != nil {
			return "", "", fmt.Errorf("%w: this node's certificate: %w", ErrIdentity, err)
		}
	}
	id, err := pki.IdentityOf(leaf)
	if err != nil {
		return "", "", fmt.Errorf("%w: this node's certificate: %w", ErrIdentity, err)
	}
	if id.Role != pki.RoleNode && !(client && id.Role == pki.RoleClient) {
		return "", "", fmt.Errorf("%w: this node's certificate is a %s certificate (%s); make a server one with `drover tls cert create --server --id %s`", ErrIdentity, id.Role, id, node)
	}
	if cluster == "" {
		cluster = id.Cluster
	}
	if node == "" {
		node = id.Name
	}
	if id.Cluster != cluster {
		return "", "", fmt.Errorf("%w: this node's certificate is of cluster %q, not %q", ErrIdentity, id.Cluster, cluster)
	}
	if id.Name != node {
		return "", "", fmt.Errorf("%w: this node's certificate is for node %q, not %q (a node's id is bound to its certificate: make one with `drover tls cert create --server --id %s`)", ErrIdentity, id.Name, node, node)
	}
	return cluster, node, nil
}

// ClusterID is the cluster id this Mux sends and checks.
func (m *Mux) ClusterID() string { return m.clusterID }

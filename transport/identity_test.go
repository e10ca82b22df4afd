package transport

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/transport/pki"
)

// syncBuf is a log sink safe for the Mux's goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func loggedMux(t *testing.T, cfg Config) (*Mux, *syncBuf) {
	t.Helper()
	buf := &syncBuf{}
	cfg.Bind = "127.0.0.1:0"
	cfg.HandshakeTimeout = 2 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(buf, nil))
	m, err := Listen(cfg)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, buf
}

// issue makes a TLS config for role/name from ca.
func issue(t *testing.T, ca *pki.CA, role, name string) *tls.Config {
	t.Helper()
	dns, ips := pki.SplitSANs(append([]string{name}, pki.LoopbackSANs...))
	is, err := ca.Issue(pki.CertRequest{Role: role, Name: name, DNSNames: dns, IPs: ips})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := caPoolOf(t, ca)
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, ClientCAs: pool, MinVersion: tls.VersionTLS12}
}

func caPoolOf(t *testing.T, ca *pki.CA) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	return p
}

// Every accepted connection carries its peer's identity; a peer refused
// by the cluster check or by Authorize learns why, and both sides log it.
func TestIdentityExchange(t *testing.T) {
	ca, err := pki.NewCA("alpha", 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := pki.NewCA("beta", 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen atomic.Value
	srv, srvLog := loggedMux(t, Config{TLS: issue(t, ca, pki.RoleNode, "srv"), Authorize: func(p Peer, kind byte) error {
		if p.ID == "banned" {
			return errors.New("banned by an operator")
		}
		return nil
	}})
	srv.ServeRPC(func(ctx context.Context, _ string, b []byte) ([]byte, error) {
		p, _ := PeerFromContext(ctx)
		seen.Store(p)
		return b, nil
	})
	bothCAs := issue(t, other, pki.RoleNode, "x")
	bothCAs.RootCAs.AddCert(ca.Cert) // trusts our server, has a foreign cert

	tests := []struct {
		name      string
		cfg       Config
		wantID    string // CallAs's expectation
		ok        bool
		errIs     error
		clientLog string // in the client's log
		serverLog string // in the server's log
	}{
		{name: "node", cfg: Config{TLS: issue(t, ca, pki.RoleNode, "good")}, ok: true},
		{name: "client cert", cfg: Config{TLS: issue(t, ca, pki.RoleClient, "cli"), Client: true}, ok: true},
		{name: "authorize refuses", cfg: Config{TLS: issue(t, ca, pki.RoleNode, "banned")}, errIs: ErrRefused,
			clientLog: "banned by an operator", serverLog: "banned by an operator"},
		{name: "wrong expected id", cfg: Config{TLS: issue(t, ca, pki.RoleNode, "good2")}, wantID: "not-srv", errIs: ErrIdentity},
		{name: "foreign CA", cfg: Config{TLS: bothCAs}, errIs: ErrRefused, clientLog: "refused this node", serverLog: "tls handshake refused"},
		{name: "plain to TLS", cfg: Config{ClusterID: "alpha", NodeID: "p"}, errIs: ErrRefused, clientLog: "requires TLS", serverLog: "tls handshake refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli, cliLog := loggedMux(t, tt.cfg)
			seen.Store(Peer{})
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			_, err := cli.CallAs(ctx, srv.Addr(), tt.wantID, "m", []byte("x"))
			if tt.ok != (err == nil) || (tt.errIs != nil && !errors.Is(err, tt.errIs)) {
				t.Fatalf("Call = %v, want ok %v / %v", err, tt.ok, tt.errIs)
			}
			p := seen.Load().(Peer)
			if tt.ok {
				want := tt.cfg.TLS.Certificates[0].Leaf.Subject.CommonName
				if !p.Verified || p.ID != want || p.Cluster != "alpha" {
					t.Errorf("server saw %+v, want verified %q of alpha", p, want)
				}
			} else if p.ID != "" {
				t.Errorf("handler ran for a refused peer %+v", p)
			}
			waitFor(t, "logs", func() bool {
				return strings.Contains(cliLog.String(), tt.clientLog) && strings.Contains(srvLog.String(), tt.serverLog)
			})
		})
	}
}

// Without TLS the cluster id and node id are claims, still checked: a
// peer of another cluster is refused with the reason on both sides.
func TestIdentityPlainClusterMismatch(t *testing.T) {
	srv, srvLog := loggedMux(t, Config{ClusterID: "alpha", NodeID: "s"})
	srv.ServeRPC(echo)
	cli, cliLog := loggedMux(t, Config{ClusterID: "beta", NodeID: "c"})
	_, err := cli.Call(context.Background(), srv.Addr(), "m", nil)
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `of cluster "beta", this node of cluster "alpha"`) {
		t.Fatalf("Call = %v, want refused for the cluster", err)
	}
	waitFor(t, "logs", func() bool {
		return strings.Contains(srvLog.String(), "refused a connection") && strings.Contains(cliLog.String(), "refused this node")
	})
	if r := cli.LastRefusal(); r == nil || !strings.Contains(r.Reason, "cluster") {
		t.Errorf("LastRefusal = %+v", r)
	}
	same, _ := loggedMux(t, Config{ClusterID: "alpha", NodeID: "c2"})
	if _, err := same.CallAs(context.Background(), srv.Addr(), "s", "m", nil); err != nil {
		t.Errorf("same cluster: %v", err)
	}
}

// A TLS peer dialing a plain (--insecure) node is told why.
func TestIdentityTLSToPlain(t *testing.T) {
	ca, _ := pki.NewCA("alpha", 0)
	srv, srvLog := loggedMux(t, Config{ClusterID: "alpha", NodeID: "s"})
	srv.ServeRPC(echo)
	cli, _ := loggedMux(t, Config{TLS: issue(t, ca, pki.RoleNode, "c")})
	if _, err := cli.Call(context.Background(), srv.Addr(), "m", nil); err == nil {
		t.Fatal("TLS call to a plain node succeeded")
	}
	waitFor(t, "plain node's log", func() bool { return strings.Contains(srvLog.String(), "the peer speaks TLS") })
}

// A node's own certificate must name its cluster and id.
func TestOwnIdentity(t *testing.T) {
	ca, _ := pki.NewCA("alpha", 0)
	tests := []struct {
		name          string
		cfg           *tls.Config
		cluster, node string
		want          string // "" = ok
	}{
		{name: "matches", cfg: issue(t, ca, pki.RoleNode, "n1"), cluster: "alpha", node: "n1"},
		{name: "defaults from cert", cfg: issue(t, ca, pki.RoleNode, "n1")},
		{name: "other id", cfg: issue(t, ca, pki.RoleNode, "n1"), node: "n2", want: `for node "n1", not "n2"`},
		{name: "other cluster", cfg: issue(t, ca, pki.RoleNode, "n1"), cluster: "beta", want: `of cluster "alpha", not "beta"`},
		{name: "client cert", cfg: issue(t, ca, pki.RoleClient, "n1"), want: "client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Listen(Config{Bind: "127.0.0.1:0", TLS: tt.cfg, ClusterID: tt.cluster, NodeID: tt.node})
			if err == nil {
				defer m.Close()
			}
			if tt.want == "" {
				if err != nil || m.ClusterID() != "alpha" {
					t.Fatalf("Listen = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrIdentity) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Listen = %v, want ErrIdentity with %q", err, tt.want)
			}
		})
	}
}

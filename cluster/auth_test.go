package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/drover-io/drover/transport"
	"github.com/drover-io/drover/transport/pki"
	"github.com/hashicorp/memberlist"
)

// logBuf collects a node's log lines for the test to read.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// secureConfig is testConfig with node id's certificate from kit, the
// kit's gossip key and a log the test can read.
func secureConfig(t *testing.T, kit *pki.Kit, id string) (Config, *logBuf) {
	t.Helper()
	cfg := testConfig(t, id)
	cert, key, err := kit.NodeCert(id)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.TLS, err = transport.LoadMutualTLS(cert, key, filepath.Join(kit.Dir, pki.CAFile)); err != nil {
		t.Fatal(err)
	}
	cfg.ClusterID = kit.CA.ClusterID
	b, err := os.ReadFile(filepath.Join(kit.Dir, pki.GossipKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GossipKey, err = base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil {
		t.Fatal(err)
	}
	lb := &logBuf{}
	cfg.Logger = slog.New(slog.NewTextHandler(lb, nil))
	return cfg, lb
}

// startSecureNodes starts n in-process nodes with mTLS and a gossip key.
func startSecureNodes(t *testing.T, kit *pki.Kit, n int) ([]*Node, []*logBuf) {
	t.Helper()
	var nodes []*Node
	var logs []*logBuf
	for i := 0; i < n; i++ {
		cfg, lb := secureConfig(t, kit, fmt.Sprintf("n%d", i+1))
		cfg.BootstrapExpect = n
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		node, err := New(cfg)
		if err != nil {
			t.Fatalf("New(%s): %v", cfg.ID, err)
		}
		t.Cleanup(func() { node.Shutdown() })
		nodes = append(nodes, node)
		logs = append(logs, lb)
	}
	waitLeader(t, nodes)
	return nodes, logs
}

func newKit(t *testing.T) *pki.Kit {
	t.Helper()
	kit, err := pki.NewKit(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	return kit
}

// clientMux is a dial-only Mux with cfg (TLS may be a client certificate).
func clientMux(t *testing.T, cfg transport.Config) *transport.Mux {
	t.Helper()
	cfg.Bind = "127.0.0.1:0"
	m, err := transport.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func tlsFor(t *testing.T, kit *pki.Kit, role, name string) *tls.Config {
	t.Helper()
	dns, ips := pki.SplitSANs(pki.LoopbackSANs)
	is, err := kit.CA.Issue(pki.CertRequest{Role: role, Name: name, DNSNames: dns, IPs: ips})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	os.WriteFile(cf, is.CertPEM, 0o600)
	os.WriteFile(kf, is.KeyPEM, 0o600)
	cfg, err := transport.LoadMutualTLS(cf, kf, filepath.Join(kit.Dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Every cluster RPC but status is for servers of the configuration: a
// client certificate, or a node certificate of the CA that is not a
// member, may not forward writes, read the index, restore or ask the
// decisions; the refusal reaches the caller and the node's log.
func TestRPCAuthorization(t *testing.T) {
	kit := newKit(t)
	nodes, logs := startSecureNodes(t, kit, 1)
	n1 := nodes[0]
	snap := &bytes.Buffer{}
	if err := n1.SnapshotSave(context.Background(), snap); err != nil {
		t.Fatal(err)
	}
	client := clientMux(t, transport.Config{TLS: tlsFor(t, kit, pki.RoleClient, "probe"), Client: true})
	stranger := clientMux(t, transport.Config{TLS: tlsFor(t, kit, pki.RoleNode, "n99")})
	tests := []struct {
		name   string
		mux    *transport.Mux
		method string
		body   []byte
		want   string // "" = allowed
	}{
		{name: "client status", mux: client, method: rpcStatus},
		{name: "client apply", mux: client, method: rpcApply, body: nil, want: "may only ask the status"},
		{name: "client restore", mux: client, method: rpcRestore, body: snap.Bytes(), want: "may only ask the status"},
		{name: "non-member status", mux: stranger, method: rpcStatus},
		{name: "non-member restore", mux: stranger, method: rpcRestore, body: snap.Bytes(), want: "not a server of this cluster's configuration"},
		{name: "non-member apply", mux: stranger, method: rpcApply, want: "not a server of this cluster's configuration"},
		{name: "non-member read index", mux: stranger, method: rpcReadIndex, want: "not a server of this cluster's configuration"},
		{name: "non-member decisions", mux: stranger, method: rpcDecisions, body: []byte("1"), want: "not a server of this cluster's configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, err := tt.mux.Call(ctx, n1.ClusterAddr(), tt.method, tt.body)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Call(%s) = %v, want allowed", tt.method, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Call(%s) = %v, want refusal %q", tt.method, err, tt.want)
			}
			if !strings.Contains(logs[0].String(), "refused a cluster rpc") {
				t.Errorf("node log has no refusal:\n%s", logs[0])
			}
		})
	}
	// A client certificate may not open Raft or overlay connections.
	for _, kind := range []byte{transport.KindRaft, transport.KindOverlay} {
		if _, err := client.Dial(n1.ClusterAddr(), kind, 3*time.Second); err == nil || !strings.Contains(err.Error(), "may not open") {
			t.Errorf("client Dial(kind %c) = %v, want refused", kind, err)
		}
	}
}

// rogueGossip is a memberlist that gossips meta as its own under name.
type rogueGossip struct{ meta []byte }

func (r rogueGossip) NodeMeta(int) []byte                  { return r.meta }
func (rogueGossip) NotifyMsg([]byte)                       {}
func (rogueGossip) GetBroadcasts(int, int) [][]byte        { return nil }
func (rogueGossip) LocalState(bool) []byte                 { return nil }
func (rogueGossip) MergeRemoteState(buf []byte, join bool) {}

func startRogueGossip(t *testing.T, name string, key []byte, meta memberMeta, join string) *memberlist.Memberlist {
	t.Helper()
	b, _ := json.Marshal(meta)
	mc := memberlist.DefaultLANConfig()
	mc.Name, mc.BindAddr, mc.BindPort = name, "127.0.0.1", 0
	mc.SecretKey = key
	mc.Delegate = rogueGossip{meta: b}
	mc.LogOutput = &logBuf{}
	ml, err := memberlist.Create(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ml.Shutdown() })
	if _, err := ml.Join([]string{join}); err != nil {
		t.Logf("rogue join: %v", err)
	}
	return ml
}

// Nobody can take over a stopped voter's id: a rogue that gossips the id
// of a cleanly stopped voter with its own cluster address (holding a
// certificate of another id from the CA, or one from another CA) is never
// put at that id's place; the leader logs why. The real node then comes
// back.
func TestStoppedVoterIDCannotBeClaimed(t *testing.T) {
	kit := newKit(t)
	nodes, logs := startSecureNodes(t, kit, 3)
	leader := waitLeader(t, nodes)
	var victim *Node
	for _, n := range nodes {
		if n != leader {
			victim = n
			break
		}
	}
	victimAddr, victimGossip, victimID := victim.ClusterAddr(), victim.GossipAddr(), victim.ID()
	vcfg := victim.cfg
	if err := victim.Shutdown(); err != nil {
		t.Fatal(err)
	}
	otherKit := newKit(t)
	rogues := []struct {
		name string
		tls  *tls.Config
		want string // in the leader's refusal
	}{
		{name: "cert of another id", tls: tlsFor(t, kit, pki.RoleNode, "n9"), want: `is node \"n9\", not \"` + victimID + `\"`},
		{name: "cert of another CA", tls: tlsFor(t, otherKit, pki.RoleNode, victimID), want: "certificate signed by unknown authority"},
	}
	for _, r := range rogues {
		t.Run(r.name, func(t *testing.T) {
			rmux := clientMux(t, transport.Config{TLS: r.tls})
			rmux.ServeRPC(func(context.Context, string, []byte) ([]byte, error) {
				return json.Marshal(Status{ID: victimID, ClusterID: kit.CA.ClusterID})
			})
			meta := memberMeta{ID: victimID, Cluster: kit.CA.ClusterID, ClusterAddr: rmux.Addr(), Bootstrapped: true}
			ml := startRogueGossip(t, victimID, leader.cfg.GossipKey, meta, leader.GossipAddr())
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(logsOf(nodes, logs, leader).String(), r.want) {
				if time.Now().After(deadline) {
					t.Fatalf("the leader did not refuse the rogue; its log:\n%s", logsOf(nodes, logs, leader))
				}
				time.Sleep(50 * time.Millisecond)
			}
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				if a := serverAddr(t, leader, victimID); a != victimAddr {
					t.Fatalf("leader repointed %s to %s (rogue at %s)", victimID, a, rmux.Addr())
				}
			}
			ml.Leave(time.Second)
			ml.Shutdown()
		})
	}
	vcfg.ClusterBind, vcfg.GossipBind = victimAddr, victimGossip
	back, err := New(vcfg)
	if err != nil {
		t.Fatalf("restart %s: %v", victimID, err)
	}
	t.Cleanup(func() { back.Shutdown() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, id := back.raft.LeaderWithID()
		if id != "" && serverAddr(t, leader, victimID) == victimAddr {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the real node is not back; leader's log:\n%s", logsOf(nodes, logs, leader))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func logsOf(nodes []*Node, logs []*logBuf, n *Node) *logBuf {
	for i := range nodes {
		if nodes[i] == n {
			return logs[i]
		}
	}
	return &logBuf{}
}

// serverAddr is id's address in n's Raft configuration ("" if absent).
func serverAddr(t *testing.T, n *Node, id string) string {
	t.Helper()
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return ""
	}
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == id {
			return string(s.Address)
		}
	}
	return ""
}

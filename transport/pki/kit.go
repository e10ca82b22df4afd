package pki

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
)

// File names `drover tls` writes (and Kit uses).
const (
	CAFile        = "drover-ca.pem"
	CAKeyFile     = "drover-ca-key.pem"
	GossipKeyFile = "gossip.key"
)

// ServerCertFiles names a node's certificate and key files.
func ServerCertFiles(id string) (cert, key string) {
	return "drover-server-" + id + ".pem", "drover-server-" + id + "-key.pem"
}

// ClientCertFiles names a client's certificate and key files.
func ClientCertFiles(name string) (cert, key string) {
	return "drover-client-" + name + ".pem", "drover-client-" + name + "-key.pem"
}

// LoopbackSANs are the names every node certificate holds besides its id,
// so that nodes on one host reach each other by 127.0.0.1 or localhost.
var LoopbackSANs = []string{"localhost", "127.0.0.1", "::1"}

// SplitSANs sorts host names and IP addresses apart.
func SplitSANs(names []string) (dns []string, ips []net.IP) {
	for _, s := range names {
		if ip := net.ParseIP(s); ip != nil {
			ips = append(ips, ip)
		} else if s != "" {
			dns = append(dns, s)
		}
	}
	return dns, ips
}

// Kit is one cluster's secrets in a directory, made on first use: the CA,
// a gossip key and node certificates issued as nodes are started. It is
// what `drover dev` and the test harnesses use to run the secure
// configuration without an operator.
type Kit struct {
	Dir string
	CA  *CA

	mu     sync.Mutex
	issued map[string]bool
}

// NewKit creates dir and writes a new CA (for clusterID, "" = random) and
// gossip key into it.
func NewKit(dir, clusterID string) (*Kit, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ca, err := NewCA(clusterID, 0)
	if err != nil {
		return nil, err
	}
	k := &Kit{Dir: dir, CA: ca, issued: map[string]bool{}}
	for name, data := range map[string][]byte{
		CAFile: ca.CertPEM, CAKeyFile: ca.KeyPEM, GossipKeyFile: []byte(NewGossipKey() + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// NodeCert returns the certificate and key files of node id, issuing them
// (with the loopback names, id and extra SANs) the first time.
func (k *Kit) NodeCert(id string, extraSANs ...string) (cert, key string, err error) {
	cf, kf := ServerCertFiles(id)
	cert, key = filepath.Join(k.Dir, cf), filepath.Join(k.Dir, kf)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.issued[id] {
		return cert, key, nil
	}
	dns, ips := SplitSANs(append(append([]string{id}, LoopbackSANs...), extraSANs...))
	is, err := k.CA.Issue(CertRequest{Role: RoleNode, Name: id, DNSNames: dns, IPs: ips})
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(cert, is.CertPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(key, is.KeyPEM, 0o600); err != nil {
		return "", "", err
	}
	k.issued[id] = true
	return cert, key, nil
}

// AgentArgs are the `drover agent` flags that point node id at the kit's
// files: its certificate (issued on first use), the CA and the gossip key.
func (k *Kit) AgentArgs(id string, extraSANs ...string) ([]string, error) {
	cert, key, err := k.NodeCert(id, extraSANs...)
	if err != nil {
		return nil, fmt.Errorf("pki: certificate for %s: %w", id, err)
	}
	return []string{"--tls-cert=" + cert, "--tls-key=" + key,
		"--tls-ca=" + filepath.Join(k.Dir, CAFile),
		"--gossip-key-file=" + filepath.Join(k.Dir, GossipKeyFile)}, nil
}

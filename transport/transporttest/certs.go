// Package transporttest provides test helpers for code that runs drover's
// node-to-node transport with mutual TLS: it writes a throwaway CA and
// per-node certificates made by transport/pki. It is for tests only.
package transporttest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/drover-io/drover/transport/pki"
)

// WriteTestCerts writes into dir a fresh cluster CA (ca.pem) and, for each
// name, a node certificate and key signed by it (<name>.pem,
// <name>-key.pem) whose identity is node <name> of the CA's cluster, with
// SANs name, localhost, 127.0.0.1 and ::1. It returns the CA file and, per
// name, [cert file, key file]. Each call makes a new CA (and cluster id),
// so two calls give certificates that do not trust each other.
func WriteTestCerts(t testing.TB, dir string, names ...string) (caFile string, certs map[string][2]string) {
	t.Helper()
	ca, err := pki.NewCA("", 0)
	if err != nil {
		t.Fatalf("WriteTestCerts: %v", err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	write(t, caFile, ca.CertPEM)
	certs = make(map[string][2]string, len(names))
	for _, name := range names {
		dns, ips := pki.SplitSANs(append([]string{name}, pki.LoopbackSANs...))
		is, err := ca.Issue(pki.CertRequest{Role: pki.RoleNode, Name: name, DNSNames: dns, IPs: ips})
		if err != nil {
			t.Fatalf("WriteTestCerts: certificate for %q: %v", name, err)
		}
		certFile := filepath.Join(dir, name+".pem")
		keyFile := filepath.Join(dir, name+"-key.pem")
		write(t, certFile, is.CertPEM)
		write(t, keyFile, is.KeyPEM)
		certs[name] = [2]string{certFile, keyFile}
	}
	return caFile, certs
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("WriteTestCerts: write %s: %v", path, err)
	}
}

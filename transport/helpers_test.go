package transport

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/drover-io/drover/transport/transporttest"
)

// newMux starts a Mux on 127.0.0.1:0 closed at the end of the test.
func newMux(t *testing.T, cfg *tls.Config) *Mux {
	t.Helper()
	m, err := Listen(Config{Bind: "127.0.0.1:0", TLS: cfg, HandshakeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// mutualTLS writes a CA plus certificates for names and loads one config per
// name.
func mutualTLS(t *testing.T, names ...string) (caFile string, cfgs map[string]*tls.Config) {
	t.Helper()
	caFile, certs := transporttest.WriteTestCerts(t, t.TempDir(), names...)
	cfgs = make(map[string]*tls.Config, len(names))
	for _, n := range names {
		cfg, err := LoadMutualTLS(certs[n][0], certs[n][1], caFile)
		if err != nil {
			t.Fatalf("LoadMutualTLS(%q) = %v", n, err)
		}
		cfgs[n] = cfg
	}
	return caFile, cfgs
}

// caPool reads a CA file into a pool.
func caPool(t *testing.T, caFile string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatalf("read CA: %v", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatalf("no CA in %s", caFile)
	}
	return p
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

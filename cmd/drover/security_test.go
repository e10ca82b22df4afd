package main

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drover-io/drover/cluster"
	"github.com/drover-io/drover/transport"
	"github.com/drover-io/drover/transport/pki"
)

// The agent refuses to start without mTLS and a gossip key unless
// --insecure; the refusal names the missing flags and the commands.
func TestRequireSecure(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		tls      bool
		key      bool
		want     []string // in the error; nil = no error
		wantNot  []string
	}{
		{name: "nothing", want: []string{"--tls-cert, --tls-key and --tls-ca", "--gossip-key-file", "drover tls ca create", "drover tls cert create --server --id n1", "drover keygen", "--insecure"}},
		{name: "tls only", tls: true, want: []string{"--gossip-key-file", "drover keygen"}, wantNot: []string{"drover tls ca create"}},
		{name: "key only", key: true, want: []string{"--tls-cert", "drover tls ca create"}, wantNot: []string{"drover keygen"}},
		{name: "both", tls: true, key: true},
		{name: "insecure", insecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := cluster.Config{ID: "n1"}
			if tt.tls {
				cfg.TLS = &tls.Config{}
			}
			if tt.key {
				cfg.GossipKey = make([]byte, 32)
			}
			err := requireSecure(agentConfig{Insecure: tt.insecure}, cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("requireSecure = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, errInsecure) {
				t.Fatalf("requireSecure = %v, want errInsecure", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error has %q:\n%v", w, err)
				}
			}
		})
	}
}

func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != exitOK {
		t.Fatalf("drover %s = exit %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// drover tls and keygen make files the agent loads: the node's identity
// is in its certificate and the cluster id in the CA.
func TestTLSCommands(t *testing.T) {
	dir := t.TempDir()
	out := runOK(t, "tls", "ca", "create", "--dir", dir, "--cluster-id", "prod-1")
	if !strings.Contains(out, "cluster id prod-1") {
		t.Errorf("ca create output: %s", out)
	}
	runOK(t, "tls", "cert", "create", "--server", "--id", "n7", "--dir", dir, "--ip", "10.1.2.3", "--dns", "n7.example")
	runOK(t, "tls", "cert", "create", "--client", "--name", "ops", "--dir", dir)
	key := strings.TrimSpace(runOK(t, "keygen"))
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 32 {
		t.Errorf("keygen = %q (%d bytes, %v), want 32 bytes base64", key, len(b), err)
	}

	cf, kf := pki.ServerCertFiles("n7")
	cfg, err := transport.LoadMutualTLS(filepath.Join(dir, cf), filepath.Join(dir, kf), filepath.Join(dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	leaf := cfg.Certificates[0].Leaf
	id, err := pki.IdentityOf(leaf)
	if err != nil || id != (pki.Identity{Cluster: "prod-1", Role: pki.RoleNode, Name: "n7"}) {
		t.Errorf("server identity = %+v, %v", id, err)
	}
	var ips []string
	for _, ip := range leaf.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !strings.Contains(strings.Join(leaf.DNSNames, ","), "n7.example") || !strings.Contains(strings.Join(ips, ","), "10.1.2.3") {
		t.Errorf("SANs = %v %v, want n7.example and 10.1.2.3", leaf.DNSNames, leaf.IPAddresses)
	}
	if got, err := clusterIDFor(filepath.Join(dir, pki.CAFile), ""); err != nil || got != "prod-1" {
		t.Errorf("clusterIDFor = %q, %v", got, err)
	}
	if _, err := clusterIDFor(filepath.Join(dir, pki.CAFile), "other"); err == nil {
		t.Errorf("clusterIDFor with a --cluster-id the CA does not name = nil error")
	}

	var errb bytes.Buffer
	if code := run([]string{"tls", "cert", "create", "--server", "--id", "n7", "--dir", dir}, &bytes.Buffer{}, &errb); code == exitOK || !strings.Contains(errb.String(), "exists") {
		t.Errorf("second cert create = %d %q, want a refusal to overwrite", code, errb.String())
	}
	if code := run([]string{"tls", "cert", "create", "--dir", dir}, &bytes.Buffer{}, &errb); code != exitUsage {
		t.Errorf("cert create without --server/--client = %d, want %d", code, exitUsage)
	}
	if code := run([]string{"tls", "cert", "create", "--server", "--dir", t.TempDir()}, &bytes.Buffer{}, &errb); code != exitFail || !strings.Contains(errb.String(), "drover tls ca create") {
		t.Errorf("cert create without a CA = %d %q", code, errb.String())
	}
}

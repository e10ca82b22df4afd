package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/transport/transporttest"
)

// The server refuses peers without a certificate from its CA, and a client
// refuses a server it does not trust.
func TestMutualTLSRefuses(t *testing.T) {
	caFile, cfgs := mutualTLS(t, "srv", "good")
	_, rogue := mutualTLS(t, "rogue")
	trustsCA := caPool(t, caFile)

	rogueCert := rogue["rogue"].Clone() // cert from another CA, trusts ours
	rogueCert.RootCAs = trustsCA
	distrusting := cfgs["good"].Clone() // good cert, trusts only the rogue CA
	distrusting.RootCAs = rogue["rogue"].RootCAs

	tests := []struct {
		name string
		cli  *tls.Config
		ok   bool
	}{
		{name: "good client", cli: cfgs["good"], ok: true},
		{name: "no client cert", cli: &tls.Config{RootCAs: trustsCA, MinVersion: tls.VersionTLS12}},
		{name: "client cert from other CA", cli: rogueCert},
		{name: "client distrusts server", cli: distrusting},
		{name: "plain client"},
	}
	srv := newMux(t, cfgs["srv"])
	var served atomic.Int32
	srv.ServeRPC(func(_ context.Context, _ string, b []byte) ([]byte, error) {
		served.Add(1)
		return b, nil
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := newMux(t, tt.cli)
			before := served.Load()
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
			defer cancel()
			_, err := cli.Call(ctx, srv.Addr(), "m", []byte("x"))
			if tt.ok != (err == nil) {
				t.Fatalf("Call = %v, want ok %v", err, tt.ok)
			}
			if !tt.ok && errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Call = %v, want a prompt refusal", err)
			}
			wantServed := int32(0)
			if tt.ok {
				wantServed = 1
			}
			if got := served.Load() - before; got != wantServed {
				t.Errorf("handler ran %d times, want %d", got, wantServed)
			}
		})
	}
}

// ServerName is taken from the dialed host: "localhost" matches a DNS SAN.
func TestMutualTLSServerName(t *testing.T) {
	_, cfgs := mutualTLS(t, "a", "b")
	srv, cli := newMux(t, cfgs["a"]), newMux(t, cfgs["b"])
	srv.ServeRPC(echo)
	_, port, err := net.SplitHostPort(srv.Addr())
	if err != nil {
		t.Fatalf("SplitHostPort(%q) = %v", srv.Addr(), err)
	}
	if _, err := cli.Call(context.Background(), "localhost:"+port, "m", nil); err != nil {
		t.Fatalf("Call(localhost) = %v", err)
	}
}

func TestLoadMutualTLS(t *testing.T) {
	dir := t.TempDir()
	caFile, certs := transporttest.WriteTestCerts(t, dir, "n1")
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		cert, key, ca string
		wantErr       bool
	}{
		{name: "ok", cert: certs["n1"][0], key: certs["n1"][1], ca: caFile},
		{name: "missing cert", cert: filepath.Join(dir, "none.pem"), key: certs["n1"][1], ca: caFile, wantErr: true},
		{name: "missing ca", cert: certs["n1"][0], key: certs["n1"][1], ca: filepath.Join(dir, "none.pem"), wantErr: true},
		{name: "junk ca", cert: certs["n1"][0], key: certs["n1"][1], ca: junk, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadMutualTLS(tt.cert, tt.key, tt.ca)
			if tt.wantErr {
				if !errors.Is(err, ErrTLSConfig) {
					t.Fatalf("LoadMutualTLS = %v, want ErrTLSConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LoadMutualTLS = %v", err)
			}
			if cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.MinVersion < tls.VersionTLS12 ||
				cfg.RootCAs == nil || cfg.ClientCAs == nil || len(cfg.Certificates) != 1 {
				t.Errorf("LoadMutualTLS config = %+v, want mutual TLS >= 1.2", cfg)
			}
		})
	}
}

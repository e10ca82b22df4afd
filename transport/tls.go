package transport

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// LoadMutualTLS builds one *tls.Config for mutual TLS between nodes, usable
// both as a server config (presents certFile, requires and verifies client
// certificates signed by caFile) and as a client config (presents certFile,
// verifies the server against caFile). MinVersion is TLS 1.2.
func LoadMutualTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: key pair: %w", ErrTLSConfig, err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("%w: ca: %w", ErrTLSConfig, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%w: ca %s: no PEM certificate", ErrTLSConfig, caFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// serverTLS derives the accepting side's config: client certificates are
// always required and verified, against ClientCAs or, when that is nil,
// against RootCAs.
func serverTLS(c *tls.Config) *tls.Config {
	s := c.Clone()
	s.ClientAuth = tls.RequireAndVerifyClientCert
	if s.ClientCAs == nil {
		s.ClientCAs = s.RootCAs
	}
	if s.MinVersion == 0 {
		s.MinVersion = tls.VersionTLS12
	}
	return s
}

// clientTLS derives the dialing side's config for one address: ServerName is
// the configured one or else the address's host (an IP is checked against
// the certificate's IP SANs).
func clientTLS(c *tls.Config, host string) *tls.Config {
	cc := c.Clone()
	if cc.ServerName == "" {
		cc.ServerName = host
	}
	if cc.MinVersion == 0 {
		cc.MinVersion = tls.VersionTLS12
	}
	return cc
}

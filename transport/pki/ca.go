package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"time"
)

// Default validities.
const (
	DefaultCAValidity   = 5 * 365 * 24 * time.Hour
	DefaultCertValidity = 365 * 24 * time.Hour
)

// CA is a cluster's certificate authority.
type CA struct {
	Cert      *x509.Certificate
	Key       crypto.Signer
	ClusterID string
	CertPEM   []byte
	KeyPEM    []byte // PKCS#8
}

// NewClusterID returns a fresh random cluster id (16 hex digits).
func NewClusterID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewCA makes a self-signed ECDSA P-256 CA for the cluster clusterID ("":
// a new random id) valid for validity (0: DefaultCAValidity).
func NewCA(clusterID string, validity time.Duration) (*CA, error) {
	if clusterID == "" {
		clusterID = NewClusterID()
	}
	if err := ValidClusterID(clusterID); err != nil {
		return nil, err
	}
	if validity <= 0 {
		validity = DefaultCAValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrCA, err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "drover CA " + clusterID, Organization: []string{"drover"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		URIs:                  []*url.URL{{Scheme: Scheme, Host: clusterID}},
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %w", ErrCA, err)
	}
	return newCA(der, key, clusterID)
}

func newCA(der []byte, key *ecdsa.PrivateKey, clusterID string) (*CA, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	return &CA{
		Cert: cert, Key: key, ClusterID: clusterID,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// LoadCA reads a CA certificate and its key (PEM).
func LoadCA(certFile, keyFile string) (*CA, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCA, err)
	}
	certs, err := parseCerts(cb)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCA, certFile, err)
	}
	blk, _ := pem.Decode(kb)
	if blk == nil {
		return nil, fmt.Errorf("%w: %s: no PEM key", ErrCA, keyFile)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		if k, err = x509.ParseECPrivateKey(blk.Bytes); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCA, keyFile, err)
		}
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: want an ECDSA key", ErrCA, keyFile)
	}
	cert := certs[0]
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&ek.PublicKey) {
		return nil, fmt.Errorf("%w: %s is not the key of %s", ErrCA, keyFile, certFile)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("%w: %s is not a CA certificate", ErrCA, certFile)
	}
	id, err := ClusterIDOfCA(cert)
	if err != nil {
		return nil, err
	}
	return newCA(cert.Raw, ek, id)
}

// CertRequest describes a certificate to issue.
type CertRequest struct {
	Role     string // RoleNode or RoleClient
	Name     string // node id or client name
	DNSNames []string
	IPs      []net.IP
	Validity time.Duration // 0: DefaultCertValidity
}

// Issued is a certificate and its private key, PEM.
type Issued struct {
	Identity Identity
	CertPEM  []byte
	KeyPEM   []byte // PKCS#8
	Cert     *x509.Certificate
}

// Issue signs a new key pair for req. A node certificate is valid for
// server and client auth (a node both dials and accepts); a client
// certificate for client auth only. Both carry the identity URI SAN.
func (ca *CA) Issue(req CertRequest) (*Issued, error) {
	id := Identity{Cluster: ca.ClusterID, Role: req.Role, Name: req.Name}
	if err := id.Validate(); err != nil {
		return nil, err
	}
	if req.Validity <= 0 {
		req.Validity = DefaultCertValidity
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.Add(req.Validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: req.Name, Organization: []string{"drover " + ca.ClusterID}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		URIs:         []*url.URL{id.URI()},
		SubjectKeyId: keyID(&key.PublicKey),
	}
	if req.Role == RoleNode {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.DNSNames = dedup(req.DNSNames)
		tmpl.IPAddresses = dedupIPs(req.IPs)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("pki: issue %s: %w", id, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &Issued{
		Identity: id, Cert: cert,
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// NewGossipKey returns a fresh 32-byte gossip key, base64 (what
// --gossip-key-file and $DROVER_GOSSIP_KEY hold).
func NewGossipKey() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// ErrExists is returned by WriteNew when a file is already there.
var ErrExists = errors.New("pki: file exists")

// WriteNew writes data to path with mode, refusing to overwrite a file
// (a CA key or a node key is never replaced by accident).
func WriteNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%w: %s (remove it first to replace it)", ErrExists, path)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func keyID(pub *ecdsa.PublicKey) []byte {
	b, _ := x509.MarshalPKIXPublicKey(pub)
	s := sha256.Sum256(b)
	return s[:20]
}

func dedup(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func dedupIPs(in []net.IP) []net.IP {
	seen := map[string]bool{}
	var out []net.IP
	for _, ip := range in {
		if ip != nil && !seen[ip.String()] {
			seen[ip.String()] = true
			out = append(out, ip)
		}
	}
	return out
}

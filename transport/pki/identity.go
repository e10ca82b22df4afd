package pki

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// Scheme is the URI scheme of drover identities.
const Scheme = "drover"

// Roles a certificate may hold.
const (
	RoleNode   = "node"   // a drover server: may join, vote and replicate
	RoleClient = "client" // a tool: may ask a node's status, nothing else
)

// Sentinel errors.
var (
	ErrNoIdentity = errors.New("pki: certificate has no drover identity")
	ErrBadName    = errors.New("pki: bad name")
	ErrCA         = errors.New("pki: ca")
	// ErrNoClusterID: a CA names no cluster (one not made by drover).
	ErrNoClusterID = errors.New("pki: ca names no cluster")
)

var (
	clusterPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	namePattern    = regexp.MustCompile(`^[a-zA-Z0-9_.-]{1,64}$`)
)

// Identity is who a certificate belongs to.
type Identity struct {
	Cluster string // cluster id
	Role    string // RoleNode or RoleClient
	Name    string // node id or client name
}

func (i Identity) String() string { return i.URI().String() }

// URI is the identity's URI SAN: drover://<cluster>/<role>/<name>.
func (i Identity) URI() *url.URL {
	return &url.URL{Scheme: Scheme, Host: i.Cluster, Path: "/" + i.Role + "/" + i.Name}
}

// Validate reports a malformed identity.
func (i Identity) Validate() error {
	if err := ValidClusterID(i.Cluster); err != nil {
		return err
	}
	if i.Role != RoleNode && i.Role != RoleClient {
		return fmt.Errorf("%w: role %q (want %s or %s)", ErrBadName, i.Role, RoleNode, RoleClient)
	}
	if !namePattern.MatchString(i.Name) {
		return fmt.Errorf("%w: name %q must match %s", ErrBadName, i.Name, namePattern)
	}
	return nil
}

// ValidClusterID reports whether id can name a cluster (a DNS label: it is
// the host part of every identity URI).
func ValidClusterID(id string) error {
	if !clusterPattern.MatchString(id) {
		return fmt.Errorf("%w: cluster id %q must match %s", ErrBadName, id, clusterPattern)
	}
	return nil
}

// IdentityOf reads the drover identity from a certificate's URI SANs.
func IdentityOf(cert *x509.Certificate) (Identity, error) {
	for _, u := range cert.URIs {
		if u.Scheme != Scheme {
			continue
		}
		parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
		if len(parts) != 2 {
			continue
		}
		id := Identity{Cluster: u.Host, Role: parts[0], Name: parts[1]}
		if id.Validate() == nil {
			return id, nil
		}
	}
	return Identity{}, fmt.Errorf("%w (want a URI SAN %s://<cluster>/node/<id>; subject %q)", ErrNoIdentity, Scheme, cert.Subject.CommonName)
}

// ClusterIDOfCA reads the cluster id from a CA certificate's URI SAN
// drover://<cluster-id>.
func ClusterIDOfCA(cert *x509.Certificate) (string, error) {
	for _, u := range cert.URIs {
		if u.Scheme == Scheme && (u.Path == "" || u.Path == "/") && ValidClusterID(u.Host) == nil {
			return u.Host, nil
		}
	}
	return "", fmt.Errorf("%w: %q names no cluster (no URI SAN %s://<cluster-id>)", ErrCA, cert.Subject.CommonName, Scheme)
}

// ClusterIDOfCAFile reads the cluster id of a PEM bundle of CA
// certificates. Every CA in it that names a cluster must name the same one
// (a bundle holds an old and a new CA while the CA is rotated); at least
// one must.
func ClusterIDOfCAFile(caFile string) (string, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrCA, err)
	}
	certs, err := parseCerts(b)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrCA, caFile, err)
	}
	found := ""
	for _, c := range certs {
		id, err := ClusterIDOfCA(c)
		if err != nil {
			continue
		}
		if found != "" && id != found {
			return "", fmt.Errorf("%w: %s holds CAs of two clusters, %s and %s", ErrCA, caFile, found, id)
		}
		found = id
	}
	if found == "" {
		return "", fmt.Errorf("%w: no certificate in %s has the URI SAN %s://<cluster-id>", ErrNoClusterID, caFile, Scheme)
	}
	return found, nil
}

func parseCerts(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

package edge

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"

	"github.com/drover-io/drover/worker/token"
)

// clusterSecretLabel prefixes the signing key's DER in the cluster secret
// every node derives the per-worker token keys from.
const clusterSecretLabel = "drover-cluster-secret/v1"

// minKeyBits is the smallest RSA key edge signs with (Vast's is 2048).
const minKeyBits = 2048

var errSigningKey = errors.New("edge: bad signing key")

// signer holds what one replicated signing key gives: the parsed private
// key, the public key PEM of /pubkey/, the cluster secret, and the
// signature of every worker URL signed so far. A signer is built once per
// key and never changes afterwards (the caches are concurrent).
type signer struct {
	pem    []byte // the View's SigningKey this was parsed from
	key    *rsa.PrivateKey
	pubPEM []byte
	secret []byte
	sigs   sync.Map // worker URL → base64 signature (string)
}

// newSigner parses a PKCS#8 (or PKCS#1) PEM RSA private key.
func newSigner(pemBytes []byte) (*signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", errSigningKey)
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block %q", errSigningKey, block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSigningKey, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok || key.N.BitLen() < minKeyBits {
		return nil, fmt.Errorf("%w: want an RSA key of at least %d bits", errSigningKey, minKeyBits)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errSigningKey, err)
	}
	secret := sha256.Sum256(append([]byte(clusterSecretLabel), block.Bytes...))
	return &signer{
		pem:    pemBytes,
		key:    key,
		pubPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		secret: secret[:],
	}, nil
}

// sameKey reports whether s was parsed from pemBytes (by identity first:
// Views share the slice).
func (s *signer) sameKey(pemBytes []byte) bool {
	if len(s.pem) != len(pemBytes) {
		return false
	}
	if len(pemBytes) == 0 || &s.pem[0] == &pemBytes[0] {
		return true
	}
	return bytes.Equal(s.pem, pemBytes)
}

// signature returns the cached route signature of url, signing it once:
// RSA PKCS#1 v1.5 over SHA-256 of token.AppendSignedURL, standard base64.
func (s *signer) signature(url string) (string, error) {
	if v, ok := s.sigs.Load(url); ok {
		return v.(string), nil
	}
	digest := sha256.Sum256(token.AppendSignedURL(nil, url))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("edge: sign url: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(sig)
	v, _ := s.sigs.LoadOrStore(url, enc)
	return v.(string), nil
}

// workerKey is the HMAC key of worker id's drover_tokens.
func (s *signer) workerKey(id uint64) []byte { return token.WorkerKey(s.secret, id) }

// signerFor returns the signer of pemBytes, parsing it only when the key
// changed since the last call; nil when no (valid) key is set.
func (s *Server) signerFor(pemBytes []byte) *signer {
	if len(pemBytes) == 0 {
		return nil
	}
	if cur := s.sign.Load(); cur != nil && cur.sameKey(pemBytes) {
		return cur
	}
	s.signMu.Lock()
	defer s.signMu.Unlock()
	if cur := s.sign.Load(); cur != nil && cur.sameKey(pemBytes) {
		return cur
	}
	sg, err := newSigner(pemBytes)
	if err != nil {
		if s.badKeyLogged.CompareAndSwap(false, true) {
			s.log.Error("edge: cannot use the replicated signing key; routes answer not-ready", "err", err)
		}
		return nil
	}
	s.sign.Store(sg)
	return sg
}

package worker

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// errStatus is a non-2xx answer from the engine.
var errStatus = errors.New("worker: engine answered an error status")

// engine talks to the drover nodes (or a Vast engine) listed in REPORT_ADDR,
// failing over across them in order and sticking to the last one that
// answered.
type engine struct {
	addrs   []string
	cur     atomic.Int64 // index of the address to try first
	client  *http.Client
	timeout time.Duration
	logger  *slog.Logger
}

func newEngine(addrs []string, timeout time.Duration, logger *slog.Logger) *engine {
	return &engine{addrs: addrs, client: &http.Client{}, timeout: timeout, logger: logger}
}

// do sends one request to each address in turn, starting with the current
// one, until one answers 2xx; it returns that answer's body (up to 1 MiB).
func (e *engine) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	start := int(e.cur.Load())
	var errs []error
	for i := range e.addrs {
		idx := (start + i) % len(e.addrs)
		b, err := e.once(ctx, method, e.addrs[idx]+path, body)
		if err == nil {
			if idx != start {
				e.logger.Info("engine failover", "path", path, "addr", e.addrs[idx])
			}
			e.cur.Store(int64(idx))
			return b, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

func (e *engine) once(ctx context.Context, method, url string, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%w: %s %s: %d %.200s", errStatus, method, url, resp.StatusCode, b)
	}
	return b, nil
}

// fetchPubkey gets /pubkey/ with exponential backoff until it parses or ctx ends.
func (e *engine) fetchPubkey(ctx context.Context, maxBackoff time.Duration) (*rsa.PublicKey, error) {
	backoff := 100 * time.Millisecond
	for {
		b, err := e.do(ctx, http.MethodGet, "/pubkey/", nil)
		if err == nil {
			var pub *rsa.PublicKey
			if pub, err = parsePublicKey(b); err == nil {
				return pub, nil
			}
		}
		e.logger.Warn("cannot fetch the public key, retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// parsePublicKey accepts a PEM "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY" (PKCS#1).
func parsePublicKey(b []byte) (*rsa.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("worker: /pubkey/ is not PEM")
	}
	if blk.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(blk.Bytes)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("worker: /pubkey/ holds a %T, want RSA", k)
	}
	return pub, nil
}

// Package token holds what the edge and `drover worker` must agree on byte
// for byte: the bytes Vast's route signature covers, the per-worker key
// derivation, and the drover_token format. It imports only the standard
// library, so both sides (edge/ and worker/) can use it.
//
// A drover_token is
//
//	v1.<worker_id>.<endpoint>.<reqnum>.<request_idx>.<cost>.<expires_unix_ms>.<mac>
//
// where mac is the unpadded base64url HMAC-SHA256, under the worker's key,
// of everything before the last dot. Endpoint names match
// ^[a-zA-Z0-9_-]+$, so they never contain a dot. cost is formatted with
// strconv.FormatFloat(cost, 'g', -1, 64) and is the only field that may
// hold a dot.
package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors returned by Verify.
var (
	ErrMalformed = errors.New("token: malformed")
	ErrBadMAC    = errors.New("token: bad mac")
	ErrExpired   = errors.New("token: expired")
)

// Claims are what a token binds.
type Claims struct {
	WorkerID   uint64
	Endpoint   string
	Reqnum     uint64
	RequestIdx uint64
	Cost       float64
	Expires    int64 // unix milliseconds
}

// WorkerKey derives worker id's HMAC key from the cluster secret (itself
// derived from the replicated signing key by the edge). Every node derives
// the same key without storing it.
func WorkerKey(clusterSecret []byte, workerID uint64) []byte {
	m := hmac.New(sha256.New, clusterSecret)
	m.Write([]byte("drover-worker-key/v1/"))
	m.Write(strconv.AppendUint(nil, workerID, 10))
	return m.Sum(nil)
}

// Append appends the token for c under key to dst (no allocation beyond
// dst's growth).
func Append(dst []byte, key []byte, c Claims) []byte {
	start := len(dst)
	dst = append(dst, "v1."...)
	dst = strconv.AppendUint(dst, c.WorkerID, 10)
	dst = append(dst, '.')
	dst = append(dst, c.Endpoint...)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, c.Reqnum, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, c.RequestIdx, 10)
	dst = append(dst, '.')
	dst = strconv.AppendFloat(dst, c.Cost, 'g', -1, 64)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, c.Expires, 10)
	sum := macSum(key, dst[start:])
	dst = append(dst, '.')
	return base64.RawURLEncoding.AppendEncode(dst, sum[:])
}

// macSum is HMAC-SHA256(key, msg) computed on the stack (RFC 2104 spelled
// out), so minting a token allocates nothing; crypto/hmac allocates three
// hashes per call. Messages too long for the stack buffer (they cannot
// occur with valid endpoint names) fall back to crypto/hmac.
func macSum(key, msg []byte) [sha256.Size]byte {
	const block = 64
	var k [block]byte
	if len(key) > block {
		h := sha256.Sum256(key)
		copy(k[:], h[:])
	} else {
		copy(k[:], key)
	}
	var inner [block + 512]byte
	if len(msg) > len(inner)-block {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		var out [sha256.Size]byte
		copy(out[:], m.Sum(nil))
		return out
	}
	for i := range block {
		inner[i] = k[i] ^ 0x36
	}
	n := copy(inner[block:], msg)
	ih := sha256.Sum256(inner[:block+n])
	var outer [block + sha256.Size]byte
	for i := range block {
		outer[i] = k[i] ^ 0x5c
	}
	copy(outer[block:], ih[:])
	return sha256.Sum256(outer[:])
}

// Mint returns the token for c under key.
func Mint(key []byte, c Claims) string { return string(Append(nil, key, c)) }

// Verify checks tok's MAC under key and its expiry against now, and
// returns its claims. The caller still compares the claims with the
// request (worker id, endpoint, reqnum, request_idx, cost) and refuses a
// reqnum it has seen (replay).
func Verify(key []byte, tok string, now time.Time) (Claims, error) {
	var c Claims
	dot := strings.LastIndexByte(tok, '.')
	if dot < 3 || !strings.HasPrefix(tok, "v1.") || !utf8.ValidString(tok) {
		return c, ErrMalformed
	}
	mac, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil {
		return c, ErrMalformed
	}
	// worker.endpoint.reqnum.request_idx.cost.expires, where only cost
	// may itself hold a dot.
	parts := strings.SplitN(tok[3:dot], ".", 5)
	if len(parts) != 5 {
		return c, ErrMalformed
	}
	last := strings.LastIndexByte(parts[4], '.')
	if last < 0 {
		return c, ErrMalformed
	}
	parts = append(parts[:4], parts[4][:last], parts[4][last+1:])
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tok[:dot]))
	if !hmac.Equal(mac, m.Sum(nil)) {
		return c, ErrBadMAC
	}
	var e [5]error
	c.WorkerID, e[0] = strconv.ParseUint(parts[0], 10, 64)
	c.Endpoint = parts[1]
	c.Reqnum, e[1] = strconv.ParseUint(parts[2], 10, 64)
	c.RequestIdx, e[2] = strconv.ParseUint(parts[3], 10, 64)
	c.Cost, e[3] = strconv.ParseFloat(parts[4], 64)
	c.Expires, e[4] = strconv.ParseInt(parts[5], 10, 64)
	if errors.Join(e[:]...) != nil {
		return Claims{}, ErrMalformed
	}
	if now.UnixMilli() >= c.Expires {
		return c, ErrExpired
	}
	return c, nil
}

package worker

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/drover-io/drover/worker/token"
)

// Authentication errors (all answered 401 with an empty body).
var (
	ErrSignature = errors.New("worker: bad signature")
	ErrToken     = errors.New("worker: bad drover_token")
	ErrMisdirect = errors.New("worker: drover_token does not match the request")
	ErrReplay    = errors.New("worker: drover_token already used")
	ErrSession   = errors.New("worker: unknown, expired or mismatched session")
)

// errUnprocessable is answered 422.
var errUnprocessable = errors.New("worker: missing or malformed auth_data field")

// requiredAuth are the auth_data fields Vast's PyWorker requires (422 otherwise).
var requiredAuth = [...]string{"cost", "endpoint", "reqnum", "request_idx", "signature", "url"}

// authData is a parsed auth_data (a /route/ answer).
type authData struct {
	raw        json.RawMessage
	endpoint   string
	url        string
	signature  string
	token      string // drover_token, "" if absent
	reqnum     uint64
	requestIdx json.Number // as received
	idx        uint64
	idxOK      bool // request_idx is a non-negative integer
	cost       float64
}

// parseAuth checks presence and types of the auth_data fields.
func parseAuth(raw json.RawMessage) (authData, error) {
	a := authData{raw: raw}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return a, errUnprocessable
	}
	for _, k := range requiredAuth {
		if v, ok := m[k]; !ok || string(v) == "null" {
			return a, errUnprocessable
		}
	}
	var reqnum, cost json.Number
	errs := []error{
		decodeNumber(m["reqnum"], &reqnum),
		decodeNumber(m["cost"], &cost),
		decodeNumber(m["request_idx"], &a.requestIdx),
		json.Unmarshal(m["endpoint"], &a.endpoint),
		json.Unmarshal(m["url"], &a.url),
		json.Unmarshal(m["signature"], &a.signature),
	}
	if t, ok := m["drover_token"]; ok && string(t) != "null" {
		errs = append(errs, json.Unmarshal(t, &a.token))
	}
	if errors.Join(errs...) != nil {
		return a, errUnprocessable
	}
	a.cost, _ = cost.Float64()
	a.reqnum, _ = parseUintNumber(reqnum)
	a.idx, a.idxOK = parseUintNumber(a.requestIdx)
	return a, nil
}

// decodeNumber decodes a JSON number (not a string) into n.
func decodeNumber(raw json.RawMessage, n *json.Number) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '"' {
		return errUnprocessable
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	num, ok := v.(json.Number)
	if !ok {
		return errUnprocessable
	}
	if _, err := num.Float64(); err != nil {
		return errUnprocessable
	}
	*n = num
	return nil
}

// parseUintNumber accepts 42 and 42.0.
func parseUintNumber(n json.Number) (uint64, bool) {
	if u, err := strconv.ParseUint(n.String(), 10, 64); err == nil {
		return u, true
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f != float64(uint64(f)) {
		return 0, false
	}
	return uint64(f), true
}

// authorize checks a's signature and drover_token and uses up its reqnum.
func (w *Worker) authorize(a authData, now time.Time) error {
	if w.cfg.Unsecured {
		return nil
	}
	if err := w.checkSignature(a); err != nil {
		return err
	}
	kp := w.key.Load()
	if kp == nil {
		return ErrNoKey
	}
	c, err := token.Verify(*kp, a.token, now)
	if err != nil {
		return errors.Join(ErrToken, err)
	}
	if c.WorkerID != w.cfg.ID || c.Endpoint != a.endpoint || c.Reqnum != a.reqnum ||
		!a.idxOK || c.RequestIdx != a.idx || c.Cost != a.cost {
		return ErrMisdirect
	}
	if !w.replay.use(c.Reqnum, c.Expires) {
		return ErrReplay
	}
	return nil
}

// sigEntry caches the last verified (url, signature): drover signs the URL
// only, so one worker sees one signature and verifies it once.
type sigEntry struct{ url, sig string }

func (w *Worker) checkSignature(a authData) error {
	pub := w.pub.Load()
	if pub == nil {
		return ErrNoPubkey
	}
	if c := w.sigOK.Load(); c != nil && c.url == a.url && c.sig == a.signature {
		return nil
	}
	sig, err := base64.StdEncoding.DecodeString(a.signature)
	if err != nil {
		return ErrSignature
	}
	sum := sha256.Sum256(token.AppendSignedURL(nil, a.url))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return ErrSignature
	}
	w.sigOK.Store(&sigEntry{url: a.url, sig: a.signature})
	return nil
}

// replaySet remembers used reqnums until their token expires (after that
// the token is refused as expired anyway).
type replaySet struct {
	mu   sync.Mutex
	used map[uint64]int64 // reqnum → token expiry, unix ms
}

func newReplaySet() *replaySet { return &replaySet{used: make(map[uint64]int64)} }

// use marks reqnum used; false if it already was.
func (r *replaySet) use(reqnum uint64, expiresMs int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.used[reqnum]; seen {
		return false
	}
	r.used[reqnum] = expiresMs
	return true
}

// prune forgets reqnums whose tokens have expired.
func (r *replaySet) prune(now time.Time) {
	ms := now.UnixMilli()
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, exp := range r.used {
		if ms >= exp {
			delete(r.used, k)
		}
	}
}

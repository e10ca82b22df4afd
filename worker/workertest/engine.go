// Package workertest is a fake drover engine for tests of `drover worker`
// (and of anything that drives one): it serves /pubkey/, /worker_status/
// and /delete_requests/ over real HTTP on 127.0.0.1, records what workers
// send, answers reports with the worker's drover_key, and mints auth_data
// (RSA signature + drover_token) the way a drover node's /route/ does.
package workertest

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/drover-io/drover/worker/token"
)

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// signingKey is one RSA-2048 key per test binary (generating one is slow).
func signingKey(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatalf("rsa.GenerateKey: %v", err)
		}
		rsaKey = k
	})
	return rsaKey
}

// Report is one /worker_status/ POST as received.
type Report struct {
	Arrived time.Time
	Raw     []byte
	Fields  map[string]json.RawMessage
}

// Number returns a numeric field as float64 (0 if absent or not a number).
func (r Report) Number(k string) float64 {
	var f float64
	json.Unmarshal(r.Fields[k], &f)
	return f
}

// String returns a string field.
func (r Report) String(k string) string {
	var s string
	json.Unmarshal(r.Fields[k], &s)
	return s
}

// DeleteEntry is one element of a /delete_requests/ "requests" list.
type DeleteEntry struct {
	RequestIdx      json.Number `json:"request_idx"`
	Success         bool        `json:"success"`
	Status          string      `json:"status"`
	EnteredQueueAt  float64     `json:"entered_queue_at"`
	WorkStartedAt   float64     `json:"work_started_at"`
	WorkCompletedAt float64     `json:"work_completed_at"`
}

// Engine is a fake engine.
type Engine struct {
	URL    string
	Secret []byte // cluster secret the worker keys derive from
	key    *rsa.PrivateKey
	srv    *httptest.Server

	// FailReports makes /worker_status/ answer 500 (the worker must keep
	// its interval sums); PubkeyDown makes /pubkey/ answer 503.
	FailReports atomic.Bool
	PubkeyDown  atomic.Bool
	// KeyDown answers reports without a drover_key (an engine that has no
	// signing key yet).
	KeyDown atomic.Bool

	mu       sync.Mutex
	reports  []Report
	failed   int
	deletes  []DeleteEntry
	deleteRq []json.RawMessage
}

// NewEngine starts a fake engine, closed when the test ends.
func NewEngine(t testing.TB) *Engine {
	t.Helper()
	e := &Engine{key: signingKey(t), Secret: []byte("workertest-cluster-secret")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pubkey/", e.handlePubkey)
	mux.HandleFunc("POST /worker_status/", e.handleStatus)
	mux.HandleFunc("POST /delete_requests/", e.handleDelete)
	e.srv = httptest.NewServer(mux)
	e.URL = e.srv.URL
	t.Cleanup(e.srv.Close)
	return e
}

func (e *Engine) handlePubkey(w http.ResponseWriter, r *http.Request) {
	if e.PubkeyDown.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	der, _ := x509.MarshalPKIXPublicKey(&e.key.PublicKey)
	pem.Encode(w, &pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (e *Engine) handleStatus(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if e.FailReports.Load() {
		e.mu.Lock()
		e.failed++
		e.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rep := Report{Arrived: time.Now(), Raw: raw, Fields: fields}
	e.mu.Lock()
	e.reports = append(e.reports, rep)
	e.mu.Unlock()
	id := uint64(rep.Number("id"))
	key := base64.StdEncoding.EncodeToString(e.WorkerKey(id))
	if e.KeyDown.Load() {
		key = ""
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"success": true, "drover_key": key})
}

func (e *Engine) handleDelete(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	var body struct {
		Requests []DeleteEntry `json:"requests"`
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	e.deletes = append(e.deletes, body.Requests...)
	e.deleteRq = append(e.deleteRq, raw)
	e.mu.Unlock()
	w.Write([]byte(`{"success":true}`))
}

// Reports returns the successful reports so far.
func (e *Engine) Reports() []Report {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Report(nil), e.reports...)
}

// FailedReports counts reports answered 500 because of FailReports.
func (e *Engine) FailedReports() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failed
}

// Deletes returns every /delete_requests/ entry so far.
func (e *Engine) Deletes() []DeleteEntry {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]DeleteEntry(nil), e.deletes...)
}

// DeleteBodies returns the raw /delete_requests/ bodies.
func (e *Engine) DeleteBodies() []json.RawMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]json.RawMessage(nil), e.deleteRq...)
}

// WorkerKey is the drover_key of worker id.
func (e *Engine) WorkerKey(id uint64) []byte { return token.WorkerKey(e.Secret, id) }

// Sign returns the route signature of url: RSA PKCS#1 v1.5 / SHA-256 over
// the indent-4 JSON bytes, standard base64.
func (e *Engine) Sign(url string) string {
	sum := sha256.Sum256(token.AppendSignedURL(nil, url))
	sig, err := rsa.SignPKCS1v15(nil, e.key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// Route is what a /route/ answer (auth_data) is built from.
type Route struct {
	WorkerID   uint64
	URL        string
	Endpoint   string
	Reqnum     uint64
	RequestIdx uint64
	Cost       float64
	Expires    time.Time // zero: now + 10 min
}

// AuthData returns the ready /route/ answer for r, signed and with a
// drover_token minted under the worker's key.
func (e *Engine) AuthData(r Route) map[string]any {
	if r.Expires.IsZero() {
		r.Expires = time.Now().Add(10 * time.Minute)
	}
	c := token.Claims{WorkerID: r.WorkerID, Endpoint: r.Endpoint, Reqnum: r.Reqnum,
		RequestIdx: r.RequestIdx, Cost: r.Cost, Expires: r.Expires.UnixMilli()}
	return map[string]any{
		"endpoint": r.Endpoint, "url": r.URL, "cost": r.Cost, "reqnum": r.Reqnum,
		"signature": e.Sign(r.URL), "request_idx": r.RequestIdx, "__request_id": "rq",
		"drover_token": token.Mint(e.WorkerKey(r.WorkerID), c),
	}
}

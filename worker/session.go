package worker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// session is one /session/create'd session. Requests inside it carry its
// auth_data and are checked against it (not against the replay set) until
// it expires.
type session struct {
	id             string
	auth           authData
	created        time.Time
	expires        time.Time
	lifetime       float64
	onCloseRoute   string
	onClosePayload json.RawMessage
}

// matches reports whether a request's auth_data is the session's.
func (s *session) matches(a authData) bool {
	return a.reqnum == s.auth.reqnum && a.signature == s.auth.signature && a.token == s.auth.token &&
		a.endpoint == s.auth.endpoint && a.url == s.auth.url
}

type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: make(map[string]*session)} }

func (st *sessionStore) add(s *session) {
	st.mu.Lock()
	st.m[s.id] = s
	st.mu.Unlock()
}

// get returns the live session id, nil if unknown or expired.
func (st *sessionStore) get(id string, now time.Time) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[id]
	if s == nil || !now.Before(s.expires) {
		return nil
	}
	return s
}

// remove takes id out; nil if it was not there.
func (st *sessionStore) remove(id string) *session {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.m[id]
	delete(st.m, id)
	return s
}

// expire removes and returns the sessions expired at now.
func (st *sessionStore) expire(now time.Time) []*session {
	st.mu.Lock()
	defer st.mu.Unlock()
	var out []*session
	for id, s := range st.m {
		if !now.Before(s.expires) {
			delete(st.m, id)
			out = append(out, s)
		}
	}
	return out
}

// parseSessionID accepts null/absent (""), a string, or a number.
func parseSessionID(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var n json.Number
	if err := decodeNumber(raw, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}

type sessionCreatePayload struct {
	Lifetime       *float64        `json:"lifetime"`
	OnCloseRoute   string          `json:"on_close_route"`
	OnClosePayload json.RawMessage `json:"on_close_payload"`
}

// handleSessionCreate checks the signature AND the drover_token (Vast's
// worker checks neither here) and uses up the reqnum.
func (w *Worker) handleSessionCreate(rw http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, a, _, ok := w.readRequest(rw, r)
	if !ok {
		return
	}
	var p sessionCreatePayload
	if len(body.Payload) > 0 && json.Unmarshal(body.Payload, &p) != nil {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": "bad session payload"})
		return
	}
	if err := w.authorize(a, now); err != nil {
		w.reject(rw, a, err, now)
		return
	}
	lifetime := w.cfg.SessionLifetime.Seconds()
	if p.Lifetime != nil && *p.Lifetime > 0 {
		lifetime = *p.Lifetime
	}
	var idb [16]byte
	rand.Read(idb[:])
	s := &session{
		id: hex.EncodeToString(idb[:]), auth: a, created: now, lifetime: lifetime,
		expires:      now.Add(time.Duration(lifetime * float64(time.Second))),
		onCloseRoute: p.OnCloseRoute, onClosePayload: p.OnClosePayload,
	}
	w.sessions.add(s)
	w.st.countSession()
	writeJSON(rw, http.StatusCreated, map[string]any{"session_id": s.id, "expiration": unixSeconds(s.expires)})
}

type sessionRequest struct {
	SessionID   json.RawMessage `json:"session_id"`
	SessionAuth json.RawMessage `json:"session_auth"`
}

// readSessionRequest parses {"session_id","session_auth"} and finds the
// live session; with needAuth, session_auth must be the session's
// auth_data. On failure it has answered (422, 404 or 401).
func (w *Worker) readSessionRequest(rw http.ResponseWriter, r *http.Request, needAuth bool) (*session, bool) {
	var req sessionRequest
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<20))
	if err != nil || json.Unmarshal(raw, &req) != nil {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": "body is not a JSON object"})
		return nil, false
	}
	id, err := parseSessionID(req.SessionID)
	if err != nil || id == "" {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": "session_id is required"})
		return nil, false
	}
	s := w.sessions.get(id, time.Now())
	if s == nil {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no such session"})
		return nil, false
	}
	if needAuth || len(req.SessionAuth) > 0 && string(req.SessionAuth) != "null" {
		a, err := parseAuth(req.SessionAuth)
		if err != nil || !s.matches(a) {
			rw.WriteHeader(http.StatusUnauthorized)
			return nil, false
		}
	}
	return s, true
}

func (w *Worker) handleSessionGet(rw http.ResponseWriter, r *http.Request) {
	s, ok := w.readSessionRequest(rw, r, true)
	if !ok {
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{
		"session_id": s.id, "auth_data": s.auth.raw, "lifetime": pyFloat(s.lifetime),
		"created_at": unixSeconds(s.created), "expiration": unixSeconds(s.expires),
		"on_close_route": s.onCloseRoute, "on_close_payload": s.onClosePayload,
	})
}

func (w *Worker) handleSessionEnd(rw http.ResponseWriter, r *http.Request, needAuth bool) {
	s, ok := w.readSessionRequest(rw, r, needAuth)
	if !ok {
		return
	}
	if w.sessions.remove(s.id) == nil {
		writeJSON(rw, http.StatusNotFound, map[string]string{"error": "no such session"})
		return
	}
	w.closeSession(s, time.Now())
	writeJSON(rw, http.StatusOK, map[string]any{"session_id": s.id, "ended": true})
}

// closeSession closes the session's request_idx at the engine and, when
// the session names one, posts on_close_payload to on_close_route.
func (w *Worker) closeSession(s *session, now time.Time) {
	w.del.add(s.auth.requestIdx, outcomeSuccess, s.created, s.created, now)
	if s.onCloseRoute == "" || !w.routed(s.onCloseRoute) {
		return
	}
	payload := s.onClosePayload
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	w.bg.Go(func() {
		ctx, cancel := context.WithTimeout(w.bgCtx, 30*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.ModelURL+s.onCloseRoute, bytes.NewReader(payload))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := w.model.Do(req)
		if err != nil {
			w.logger.Warn("session on_close failed", "session", s.id, "err", err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	})
}

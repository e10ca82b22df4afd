package worker

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// requestBody is what Vast's client POSTs to a worker route.
type requestBody struct {
	AuthData  json.RawMessage `json:"auth_data"`
	SessionID json.RawMessage `json:"session_id"`
	Payload   json.RawMessage `json:"payload"`
}

// Handler serves the main port: model routes, /session/*, /pyworker/update.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/create", w.handleSessionCreate)
	mux.HandleFunc("POST /session/get", w.handleSessionGet)
	mux.HandleFunc("POST /session/end", func(rw http.ResponseWriter, r *http.Request) { w.handleSessionEnd(rw, r, true) })
	mux.HandleFunc("POST /pyworker/update", w.handleUpdate)
	mux.HandleFunc("/", w.handleModel)
	return mux
}

// PlainHandler serves the plain-HTTP port (WORKER_HTTP_PORT): /session/end,
// where session_auth is optional (the caller is inside the container).
func (w *Worker) PlainHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /session/end", func(rw http.ResponseWriter, r *http.Request) { w.handleSessionEnd(rw, r, false) })
	return mux
}

// handleUpdate guards /pyworker/update with Bearer MASTER_TOKEN; updating
// the worker in place is not implemented (501).
func (w *Worker) handleUpdate(rw http.ResponseWriter, r *http.Request) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || w.cfg.MToken == "" || subtle.ConstantTimeCompare([]byte(got), []byte(w.cfg.MToken)) != 1 {
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	writeJSON(rw, http.StatusNotImplemented, map[string]string{"error": "pyworker update is not implemented by drover worker"})
}

func (w *Worker) routed(path string) bool {
	for _, p := range w.cfg.Routes {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// handleModel authenticates a request, applies the queue limit, forwards
// the payload to the model server and streams the answer back.
func (w *Worker) handleModel(rw http.ResponseWriter, r *http.Request) {
	if !w.routed(r.URL.Path) {
		http.NotFound(rw, r)
		return
	}
	if r.Method != http.MethodPost {
		rw.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	entered := time.Now()
	body, a, sessionID, ok := w.readRequest(rw, r)
	if !ok {
		return
	}
	if err := w.checkRequest(a, sessionID, entered); err != nil {
		w.reject(rw, a, err, entered)
		return
	}
	f, ready, admitted := w.st.admit(a.requestIdx, a.cost, w.cfg.MaxQueueTime.Seconds(), sessionID == "")
	switch {
	case !ready:
		writeJSON(rw, http.StatusServiceUnavailable, map[string]string{"error": "model not ready"})
		return
	case !admitted:
		rw.WriteHeader(http.StatusTooManyRequests)
		w.del.add(a.requestIdx, outcomeRejected, entered, time.Time{}, time.Now())
		return
	}
	started := time.Now()
	o := w.forward(rw, r, body.Payload)
	w.st.finish(f, o)
	if sessionID == "" {
		w.del.add(a.requestIdx, o, entered, started, time.Now())
	}
	if o == outcomeCancelled {
		w.kick()
	}
}

// readRequest reads and parses the body; on failure it has answered.
func (w *Worker) readRequest(rw http.ResponseWriter, r *http.Request) (requestBody, authData, string, bool) {
	var body requestBody
	raw, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, w.cfg.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			rw.WriteHeader(http.StatusRequestEntityTooLarge)
		} else {
			rw.WriteHeader(http.StatusBadRequest)
		}
		return body, authData{}, "", false
	}
	if json.Unmarshal(raw, &body) != nil {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": "body is not a JSON object"})
		return body, authData{}, "", false
	}
	sid, err := parseSessionID(body.SessionID)
	if err != nil {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": "bad session_id"})
		return body, authData{}, "", false
	}
	a, err := parseAuth(body.AuthData)
	if err != nil {
		writeJSON(rw, http.StatusUnprocessableEntity, map[string]string{"error": err.Error()})
		return body, a, "", false
	}
	return body, a, sid, true
}

// checkRequest authenticates a plain request (signature + token, uses up
// the reqnum) or a request inside a session (against that session).
func (w *Worker) checkRequest(a authData, sessionID string, now time.Time) error {
	if sessionID == "" {
		return w.authorize(a, now)
	}
	s := w.sessions.get(sessionID, now)
	if s == nil || !s.matches(a) {
		return ErrSession
	}
	return nil
}

// reject answers 401 with an empty body and counts the rejected load.
func (w *Worker) reject(rw http.ResponseWriter, a authData, err error, entered time.Time) {
	w.logger.Debug("request refused", "err", err, "reqnum", a.reqnum)
	w.st.reject(a.cost)
	w.del.add(a.requestIdx, outcomeRejected, entered, time.Time{}, time.Now())
	rw.WriteHeader(http.StatusUnauthorized)
}

// forward posts payload to the model server at the request's path and
// streams the answer back, flushing each chunk.
func (w *Worker) forward(rw http.ResponseWriter, r *http.Request, payload json.RawMessage) outcome {
	ctx := r.Context()
	if len(payload) == 0 || string(payload) == "null" {
		payload = json.RawMessage("{}")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.ModelURL+r.URL.Path, bytes.NewReader(payload))
	if err != nil {
		rw.WriteHeader(http.StatusBadGateway)
		return outcomeError
	}
	req.Header.Set("Content-Type", "application/json")
	if acc := r.Header.Get("Accept"); acc != "" {
		req.Header.Set("Accept", acc)
	}
	resp, err := w.model.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return outcomeCancelled
		}
		writeJSON(rw, http.StatusBadGateway, map[string]string{"error": "model server: " + err.Error()})
		return outcomeError
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Cache-Control", "X-Accel-Buffering"} {
		if v := resp.Header.Get(h); v != "" {
			rw.Header().Set(h, v)
		}
	}
	rw.WriteHeader(resp.StatusCode)
	if o := stream(rw, resp.Body); o != outcomeSuccess || ctx.Err() != nil {
		if ctx.Err() != nil {
			return outcomeCancelled
		}
		return o
	}
	if resp.StatusCode >= 400 {
		return outcomeError
	}
	return outcomeSuccess
}

// stream copies body to rw, flushing after every read.
func stream(rw http.ResponseWriter, body io.Reader) outcome {
	rc := http.NewResponseController(rw)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				return outcomeCancelled
			}
			if ferr := rc.Flush(); ferr != nil {
				return outcomeCancelled
			}
		}
		if err == io.EOF {
			return outcomeSuccess
		}
		if err != nil {
			return outcomeError
		}
	}
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	json.NewEncoder(rw).Encode(v)
}

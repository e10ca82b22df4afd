package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Response is a worker's answer plus how the client got it. The caller reads
// and closes Body (a streamed answer arrives as the worker writes it).
type Response struct {
	*http.Response
	// Route is the route answer of the worker that answered.
	Route *RouteAnswer
	// RouteTime is the time spent in /route/ calls and polls, over all attempts.
	RouteTime time.Duration
	// Attempts counts the worker calls made (1 when the first worker answered).
	Attempts int
}

// Do sends payload (JSON-encoded; a json.RawMessage or []byte is sent as is)
// to the endpoint's route (a path such as "/v1/completions") on a worker the
// cluster picks for a request of the given cost, and returns the worker's
// answer with its body unread. It routes again, with the same request_idx, on
// 408, 429, 5xx or a failed connection to the worker. Other statuses
// (2xx, 4xx) are returned as they are: the caller checks StatusCode.
func (c *Client) Do(ctx context.Context, route string, payload any, cost float64) (*http.Response, error) {
	r, err := c.Send(ctx, route, payload, cost)
	if err != nil {
		return nil, err
	}
	return r.Response, nil
}

// Stream is Do for streamed answers: the returned body yields the worker's
// bytes as they arrive. The caller closes it. A worker's non-2xx answer is
// an error matching ErrWorker (a *StatusError).
func (c *Client) Stream(ctx context.Context, route string, payload any, cost float64) (io.ReadCloser, error) {
	resp, err := c.Do(ctx, route, payload, cost)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		return nil, &StatusError{Op: "worker", Addr: resp.Request.URL.Host, Code: resp.StatusCode,
			Body: snippet(b), Err: ErrWorker}
	}
	return resp.Body, nil
}

// Send is Do returning the routing details with the answer.
func (c *Client) Send(ctx context.Context, route string, payload any, cost float64) (*Response, error) {
	pl, err := encodePayload(payload)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	idx := json.Number("0")
	bo := c.newBackoff()
	var routeTime time.Duration
	var last error
	for attempt := 1; attempt <= c.cfg.WorkerAttempts; attempt++ {
		rs := time.Now()
		ans, err := c.route(ctx, cost, idx, start)
		routeTime += time.Since(rs)
		if err != nil {
			return nil, err
		}
		idx = ans.idx
		resp, err := c.callWorker(ctx, ans, route, pl)
		if err == nil {
			return &Response{Response: resp, Route: ans, RouteTime: routeTime, Attempts: attempt}, nil
		}
		if ctx.Err() != nil {
			return nil, deadlineError(ctx.Err(), err)
		}
		last = err
		c.log.Debug("client: worker failed, routing again", "worker", ans.URL, "request_idx", idx.String(), "err", err)
		if err := bo.wait(ctx); err != nil {
			return nil, deadlineError(err, last)
		}
	}
	return nil, fmt.Errorf("%w after %d attempts: %w", ErrWorker, c.cfg.WorkerAttempts, last)
}

// callWorker POSTs the request to the worker ans names. A nil error means an
// answer to hand to the caller; an error means "route again".
func (c *Client) callWorker(ctx context.Context, ans *RouteAnswer, route string, payload []byte) (*http.Response, error) {
	u := ans.URL + route
	if c.cfg.APIKey != "" {
		u += "?api_key=" + url.QueryEscape(c.cfg.APIKey)
	}
	body := workerBody(ans.Raw, payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: worker url %q: %v", ErrUnavailable, ans.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.setKey(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: worker %s: %w", ErrUnavailable, ans.URL, err)
	}
	if !retryWorker(resp.StatusCode) {
		return resp, nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return nil, &StatusError{Op: "worker", Addr: ans.URL, Code: resp.StatusCode, Body: snippet(b), Err: ErrUnavailable}
}

// retryWorker: the statuses after which Vast's client routes again.
func retryWorker(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}

// workerBody builds {"auth_data":…,"session_id":null,"payload":…} by hand so
// auth_data is the route answer byte for byte.
func workerBody(authData, payload []byte) []byte {
	b := make([]byte, 0, len(authData)+len(payload)+48)
	b = append(b, `{"auth_data":`...)
	b = append(b, authData...)
	b = append(b, `,"session_id":null,"payload":`...)
	b = append(b, payload...)
	return append(b, '}')
}

func encodePayload(payload any) ([]byte, error) {
	var b []byte
	switch p := payload.(type) {
	case json.RawMessage:
		b = p
	case []byte:
		b = p
	default:
		var err error
		if b, err = json.Marshal(payload); err != nil {
			return nil, fmt.Errorf("%w: payload: %v", ErrBadRequest, err)
		}
	}
	if b = bytes.TrimSpace(b); len(b) == 0 {
		b = []byte("null")
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%w: payload is not valid JSON", ErrBadRequest)
	}
	return b, nil
}

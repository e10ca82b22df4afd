package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxAnswer bounds the /route/ answer and error bodies read into memory.
const maxAnswer = 1 << 20

// RouteAnswer is a /route/ answer that names a worker.
type RouteAnswer struct {
	Endpoint    string
	URL         string // the worker's base URL
	Cost        float64
	ReqNum      uint64 // 0 if the engine sent something other than an unsigned integer
	Signature   string
	RequestIdx  uint64 // 0 if the engine sent something other than an unsigned integer
	DroverToken string // drover only; "" from Vast's engine
	// Raw is the answer exactly as the node sent it; it travels to the worker
	// as auth_data.
	Raw json.RawMessage
	// Node is the base URL of the node that answered.
	Node string
	// Polls counts the /route/ answers this call received (not-ready ones and
	// this one); failed attempts on dead nodes are not counted.
	Polls int
	// Waited is the time from the call's start to this answer.
	Waited time.Duration

	idx json.Number // request_idx exactly as sent by the engine, for re-routes
}

// wireAnswer is both forms of the /route/ answer.
type wireAnswer struct {
	Endpoint    string      `json:"endpoint"`
	URL         string      `json:"url"`
	Cost        float64     `json:"cost"`
	ReqNum      json.Number `json:"reqnum"`
	Signature   string      `json:"signature"`
	RequestIdx  json.Number `json:"request_idx"`
	DroverToken string      `json:"drover_token"`
}

type routeRequest struct {
	Endpoint      string      `json:"endpoint"`
	APIKey        string      `json:"api_key"`
	Cost          float64     `json:"cost"`
	RequestIdx    json.Number `json:"request_idx"`
	ReplayTimeout float64     `json:"replay_timeout"`
}

// Route asks the cluster for a worker for one request of the given cost
// (load units, e.g. tokens) and returns the first answer that names one,
// polling the not-ready form with the same request_idx meanwhile.
func (c *Client) Route(ctx context.Context, cost float64) (*RouteAnswer, error) {
	return c.route(ctx, cost, "0", time.Now())
}

// route polls /route/ starting from request_idx idx until a url comes back.
func (c *Client) route(ctx context.Context, cost float64, idx json.Number, start time.Time) (*RouteAnswer, error) {
	if math.IsNaN(cost) || math.IsInf(cost, 0) || cost < 0 {
		return nil, fmt.Errorf("%w: cost %v", ErrBadRequest, cost)
	}
	bo := c.newBackoff()
	for polls := 1; ; polls++ {
		ans, err := c.routeAnyNode(ctx, cost, idx)
		if err != nil {
			return nil, err
		}
		ans.Polls, ans.Waited = polls, time.Since(start)
		if ans.URL != "" {
			return ans, nil
		}
		if ans.idx != "" {
			idx = ans.idx
		}
		c.log.Debug("client: no worker ready, polling", "request_idx", idx.String(), "node", ans.Node, "polls", polls)
		if err := bo.wait(ctx); err != nil {
			return nil, deadlineError(err, nil)
		}
	}
}

// routeAnyNode makes one /route/ call, trying the nodes from the healthy one
// on; a round where every node fails is retried after a backoff until ctx
// ends. Answers that retrying cannot change (401, 404, 4xx) return at once.
func (c *Client) routeAnyNode(ctx context.Context, cost float64, idx json.Number) (*RouteAnswer, error) {
	body, err := json.Marshal(routeRequest{Endpoint: c.cfg.Endpoint, APIKey: c.cfg.APIKey,
		Cost: cost, RequestIdx: idx, ReplayTimeout: c.cfg.ReplayTimeout})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadRequest, err)
	}
	bo := c.newBackoff()
	var last error
	for {
		first := int(c.healthy.Load()) % len(c.nodes)
		for k := range c.nodes {
			i := (first + k) % len(c.nodes)
			ans, err := c.routeOnce(ctx, c.nodes[i], body)
			if err == nil {
				c.healthy.Store(uint32(i))
				return ans, nil
			}
			if ctx.Err() != nil {
				return nil, deadlineError(ctx.Err(), err)
			}
			if !errors.Is(err, ErrUnavailable) {
				return nil, err
			}
			last = err
			c.healthy.CompareAndSwap(uint32(i), uint32((i+1)%len(c.nodes)))
			c.log.Debug("client: node failed, trying the next", "node", c.nodes[i], "err", err)
		}
		if err := bo.wait(ctx); err != nil {
			return nil, deadlineError(err, last)
		}
	}
}

// routeOnce makes one /route/ call to one node. Errors matching
// ErrUnavailable mean "try another node".
func (c *Client) routeOnce(ctx context.Context, node string, body []byte) (*RouteAnswer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RouteTimeout)
	defer cancel()
	u := node + "/route/"
	if c.cfg.APIKey != "" {
		u += "?api_key=" + url.QueryEscape(c.cfg.APIKey)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.setKey(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, node, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading answer: %w", ErrUnavailable, node, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, routeStatusError(node, resp.StatusCode, b)
	}
	return decodeAnswer(node, b)
}

func (c *Client) setKey(req *http.Request) {
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
}

// routeStatusError maps a non-200 /route/ answer to its sentinel: 401, 404
// and other 4xx are final; 408, 429 and 5xx mean "try another node".
func routeStatusError(node string, code int, body []byte) error {
	e := &StatusError{Op: "route", Addr: node, Code: code, Body: snippet(body)}
	switch {
	case code == http.StatusUnauthorized:
		e.Err = ErrAuth
	case code == http.StatusNotFound:
		e.Err = ErrNoEndpoint
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		e.Err = ErrUnavailable
	default:
		e.Err = ErrBadRequest
	}
	return e
}

func decodeAnswer(node string, b []byte) (*RouteAnswer, error) {
	var w wireAnswer
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: %s: /route/ answer is not a JSON object", ErrUnavailable, node)
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("%w: %s: bad /route/ answer: %v", ErrUnavailable, node, err)
	}
	ans := &RouteAnswer{Endpoint: w.Endpoint, URL: w.URL, Cost: w.Cost, Signature: w.Signature,
		DroverToken: w.DroverToken, Raw: json.RawMessage(b), Node: node, idx: w.RequestIdx}
	ans.ReqNum, _ = strconv.ParseUint(w.ReqNum.String(), 10, 64)
	ans.RequestIdx, _ = strconv.ParseUint(w.RequestIdx.String(), 10, 64)
	return ans, nil
}

// snippet is the start of an error body, for messages.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}

package simserver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/drover-io/drover/scheduler/provider"
)

// Client is a provider.Provider backed by a `drover sim-provider` server.
type Client struct {
	base string
	hc   *http.Client
}

var _ provider.Provider = (*Client)(nil)

// NewClient returns a client of the server at addr ("host:port" or a
// base URL).
func NewClient(addr string) *Client {
	if !strings.HasPrefix(addr, "http://") && !strings.HasPrefix(addr, "https://") {
		addr = "http://" + addr
	}
	return &Client{base: strings.TrimSuffix(addr, "/"), hc: &http.Client{Timeout: time.Minute}}
}

// Create implements provider.Provider.
func (c *Client) Create(ctx context.Context, key string, spec provider.GroupSpec) (provider.Instance, error) {
	var in provider.Instance
	err := c.call(ctx, http.MethodPost, "/create", createRequest{Key: key, Spec: spec}, &in)
	return in, err
}

// Start implements provider.Provider.
func (c *Client) Start(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/start", idRequest{ID: id}, nil)
}

// Stop implements provider.Provider.
func (c *Client) Stop(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/stop", idRequest{ID: id}, nil)
}

// Destroy implements provider.Provider.
func (c *Client) Destroy(ctx context.Context, id string) error {
	return c.call(ctx, http.MethodPost, "/destroy", idRequest{ID: id}, nil)
}

// List implements provider.Provider.
func (c *Client) List(ctx context.Context) ([]provider.Instance, error) {
	var out []provider.Instance
	err := c.call(ctx, http.MethodGet, "/list", nil, &out)
	return out, err
}

// Stats returns the server's peaks and history.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var out Stats
	err := c.call(ctx, http.MethodGet, "/stats", nil, &out)
	return out, err
}

// call sends one request and decodes the answer into out (when non-nil);
// error answers map back to the provider sentinels.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("simserver: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("simserver: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errBody
		json.Unmarshal(b, &e)
		switch e.Code {
		case "not_found":
			return fmt.Errorf("%w: %s", provider.ErrNotFound, e.Error)
		case "state":
			return fmt.Errorf("%w: %s", provider.ErrState, e.Error)
		}
		return fmt.Errorf("%w: %s %s: %d %s", provider.ErrFailed, method, path, resp.StatusCode, e.Error)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("simserver: bad answer to %s: %w", path, err)
		}
	}
	return nil
}

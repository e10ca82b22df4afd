package client

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"
)

// Client routes requests of one endpoint through a drover cluster. It is safe
// for concurrent use.
type Client struct {
	cfg     Config
	nodes   []string // base URLs
	http    *http.Client
	log     *slog.Logger
	healthy atomic.Uint32 // index of the node to try first
}

// New returns a Client for cfg (see Config for the defaults).
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	nodes, _ := baseURLs(cfg.Addrs)
	return &Client{cfg: cfg, nodes: nodes, http: cfg.HTTPClient, log: cfg.Logger}, nil
}

// Nodes returns the node base URLs, in the order they are tried from the
// first one.
func (c *Client) Nodes() []string { return append([]string(nil), c.nodes...) }

// backoff is a jittered exponential wait: PollMin, doubling up to PollMax.
type backoff struct {
	next, max time.Duration
}

func (c *Client) newBackoff() backoff {
	return backoff{next: c.cfg.PollMin, max: c.cfg.PollMax}
}

// wait sleeps for the current step (±25 % jitter) and doubles it. It returns
// ctx's error if ctx ends first.
func (b *backoff) wait(ctx context.Context) error {
	d := b.next
	if d > 0 {
		d = d*3/4 + rand.N(d/2+1)
	}
	if b.next *= 2; b.next > b.max {
		b.next = b.max
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

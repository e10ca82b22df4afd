package client

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Config configures a Client. Zero values are documented per field.
type Config struct {
	// Addrs are the cluster's node addresses: "host:port" (http assumed) or
	// base URLs. At least one is required.
	Addrs []string
	// Endpoint is the endpoint name sent in /route/. Required.
	Endpoint string
	// APIKey is the endpoint's api_key: sent in the /route/ body, as
	// Authorization: Bearer and as ?api_key=, like Vast's client. "" sends none.
	APIKey string
	// HTTPClient makes every call. nil = a client with a 2 s dial timeout and
	// keep-alive connections (no overall timeout: contexts bound the calls).
	HTTPClient *http.Client
	// Logger gets debug lines on failover and re-routes. nil = discard.
	Logger *slog.Logger
	// PollMin is the first wait between polls of the not-ready form and
	// between rounds over failed nodes or workers. 0 = 100 ms.
	PollMin time.Duration
	// PollMax caps the backoff (it doubles from PollMin, jittered ±25 %).
	// 0 = 5 s, Vast's client's cap.
	PollMax time.Duration
	// RouteTimeout bounds one /route/ call to one node; past it the next node
	// is tried. 0 = 5 s.
	RouteTimeout time.Duration
	// ReplayTimeout is sent as replay_timeout (s): how long the engine holds a
	// queued request_idx between polls. 0 = 60, what Vast's client sends.
	ReplayTimeout float64
	// WorkerAttempts caps the worker calls of one Do (re-routes after 408,
	// 429, 5xx or connection failures included). 0 = 10.
	WorkerAttempts int
}

func (c Config) withDefaults() Config {
	if c.HTTPClient == nil {
		c.HTTPClient = defaultHTTPClient()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.PollMin <= 0 {
		c.PollMin = 100 * time.Millisecond
	}
	if c.PollMax <= 0 {
		c.PollMax = 5 * time.Second
	}
	if c.PollMax < c.PollMin {
		c.PollMax = c.PollMin
	}
	if c.RouteTimeout <= 0 {
		c.RouteTimeout = 5 * time.Second
	}
	if c.ReplayTimeout <= 0 {
		c.ReplayTimeout = 60
	}
	if c.WorkerAttempts <= 0 {
		c.WorkerAttempts = 10
	}
	return c
}

// Validate reports a Config New cannot use.
func (c Config) Validate() error {
	if _, err := baseURLs(c.Addrs); err != nil {
		return err
	}
	if c.Endpoint == "" {
		return fmt.Errorf("%w: no endpoint", ErrConfig)
	}
	return nil
}

// baseURLs turns addresses into "scheme://host:port" without a trailing slash.
func baseURLs(addrs []string) ([]string, error) {
	var out []string
	for _, a := range addrs {
		a = strings.TrimRight(strings.TrimSpace(a), "/")
		if a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no node address", ErrConfig)
	}
	return out, nil
}

// defaultHTTPClient fails fast on dead nodes (2 s dial) and keeps enough idle
// connections per host for a busy caller.
func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: NewTransport(100)}
}

// NewTransport returns the transport the default HTTP client uses, keeping up
// to idlePerHost idle connections per host (loadgen sizes it to its
// in-flight cap).
func NewTransport(idlePerHost int) *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          4 * idlePerHost,
		MaxIdleConnsPerHost:   idlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

package worker

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"
)

// Sentinel errors.
var (
	ErrConfig    = errors.New("worker: invalid config")
	ErrNoPubkey  = errors.New("worker: no public key yet")
	ErrNoKey     = errors.New("worker: no drover_key yet")
	ErrModelLoad = errors.New("worker: model failed to load")
)

// Config is everything a Worker needs. cmd/drover fills it from the
// PyWorker environment variables and flags; zero values are documented per
// field and filled in by DefaultConfig / Validate.
type Config struct {
	// ID is the worker (container) id, CONTAINER_ID. Required.
	ID uint64
	// ReportAddrs are the engine (drover node) base URLs, REPORT_ADDR split on
	// commas. Reports, /pubkey/ and /delete_requests/ fail over across them
	// in order, sticking to the last one that answered. Required.
	ReportAddrs []string
	// MToken is the worker's token sent as "mtoken" (MASTER_TOKEN; in drover
	// the static group's worker_token). It also guards /pyworker/update.
	MToken string
	// Listen is the main listen address (":"+WORKER_PORT). "" = "127.0.0.1:0".
	Listen string
	// HTTPListen is the plain-HTTP address (":"+WORKER_HTTP_PORT) serving
	// /session/end. "" = no second listener.
	HTTPListen string
	// PublicURL is the URL the engine routes clients to
	// (http://PUBLIC_IPADDR:VAST_TCP_PORT_<WORKER_PORT>). "" = "http://" + the
	// bound main address.
	PublicURL string
	// Unsecured skips signature and token checks (UNSECURED=true).
	Unsecured bool
	// Version is the reported "version". "" = "1.1.0" (PyWorker's).
	Version string

	// ModelURL is the model server's base URL, e.g. http://127.0.0.1:8000. Required.
	ModelURL string
	// HealthPath is polled until it answers 200 (503 = still loading, any
	// other status = failed). "" = "/health".
	HealthPath string
	// Routes are path prefixes forwarded to the model server. nil = ["/v1/"].
	Routes []string
	// MaxQueueTime: answer 429 when in-flight load / max_perf is strictly
	// greater than this. 0 = 30 s.
	MaxQueueTime time.Duration
	// LoadTimeout fails the start (error_msg) when the model is not healthy
	// by then. 0 = 1 h.
	LoadTimeout time.Duration
	// HealthInterval between health polls. 0 = 200 ms.
	HealthInterval time.Duration

	// MaxPerf, when > 0, is reported as max_perf and the benchmark is skipped.
	MaxPerf float64
	// BenchmarkPath is the model route the benchmark posts to. "" = "/v1/completions".
	BenchmarkPath string
	// BenchmarkPayload is the JSON body of each benchmark request.
	// nil = {"prompt":"drover benchmark","max_tokens":16}.
	BenchmarkPayload []byte
	// BenchmarkRequests is how many benchmark requests are sent. 0 = 8.
	BenchmarkRequests int
	// BenchmarkConcurrency is how many run at once. 0 = 4.
	BenchmarkConcurrency int
	// BenchmarkCost is the load of one benchmark request, so that
	// max_perf = requests × cost / elapsed seconds. 0 = 100 (Vast's default cost).
	BenchmarkCost float64
	// BenchmarkTimeout bounds the whole benchmark. 0 = 2 min.
	BenchmarkTimeout time.Duration

	// BusyInterval is the report period while requests are in flight or
	// something happened since the last report. 0 = 1 s.
	BusyInterval time.Duration
	// IdleInterval is the report period otherwise. 0 = 10 s.
	IdleInterval time.Duration
	// DeleteDelay is how long /delete_requests/ entries are batched. 0 = 1 s.
	DeleteDelay time.Duration
	// EngineTimeout bounds one call to the engine. 0 = 10 s.
	EngineTimeout time.Duration
	// PubkeyBackoffMax caps the retry backoff of the /pubkey/ fetch. 0 = 10 s.
	PubkeyBackoffMax time.Duration
	// SessionLifetime is the default session lifetime when the create
	// payload has none. 0 = 1 h.
	SessionLifetime time.Duration
	// MaxBody caps a request body. 0 = 16 MiB.
	MaxBody int64

	// Logger; nil = slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every defaultable field set.
func DefaultConfig() Config {
	var c Config
	c.setDefaults()
	return c
}

func (c *Config) setDefaults() {
	setDefault(&c.Listen, "127.0.0.1:0")
	setDefault(&c.Version, "1.1.0")
	setDefault(&c.HealthPath, "/health")
	setDefault(&c.BenchmarkPath, "/v1/completions")
	if c.Routes == nil {
		c.Routes = []string{"/v1/"}
	}
	if c.BenchmarkPayload == nil {
		c.BenchmarkPayload = []byte(`{"prompt":"drover benchmark","max_tokens":16}`)
	}
	setDefault(&c.MaxQueueTime, 30*time.Second)
	setDefault(&c.LoadTimeout, time.Hour)
	setDefault(&c.HealthInterval, 200*time.Millisecond)
	setDefault(&c.BenchmarkRequests, 8)
	setDefault(&c.BenchmarkConcurrency, 4)
	setDefault(&c.BenchmarkCost, 100)
	setDefault(&c.BenchmarkTimeout, 2*time.Minute)
	setDefault(&c.BusyInterval, time.Second)
	setDefault(&c.IdleInterval, 10*time.Second)
	setDefault(&c.DeleteDelay, time.Second)
	setDefault(&c.EngineTimeout, 10*time.Second)
	setDefault(&c.PubkeyBackoffMax, 10*time.Second)
	setDefault(&c.SessionLifetime, time.Hour)
	setDefault(&c.MaxBody, 16<<20)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// Validate fills defaults and checks the required fields.
func (c *Config) Validate() error {
	c.setDefaults()
	if c.ID == 0 {
		return fmt.Errorf("%w: worker id (CONTAINER_ID) is required", ErrConfig)
	}
	if len(c.ReportAddrs) == 0 {
		return fmt.Errorf("%w: REPORT_ADDR is required", ErrConfig)
	}
	for i, a := range c.ReportAddrs {
		u, err := url.Parse(a)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%w: report address %q: want http(s)://host:port", ErrConfig, a)
		}
		c.ReportAddrs[i] = strings.TrimRight(a, "/")
	}
	u, err := url.Parse(c.ModelURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return fmt.Errorf("%w: model URL %q", ErrConfig, c.ModelURL)
	}
	c.ModelURL = strings.TrimRight(c.ModelURL, "/")
	for _, r := range c.Routes {
		if !strings.HasPrefix(r, "/") || strings.HasPrefix(r, "/session/") || strings.HasPrefix(r, "/pyworker/") {
			return fmt.Errorf("%w: route %q must start with / and not shadow /session/ or /pyworker/", ErrConfig, r)
		}
	}
	if c.BenchmarkRequests < 0 || c.BenchmarkConcurrency < 0 || c.BenchmarkCost < 0 || c.MaxPerf < 0 {
		return fmt.Errorf("%w: negative benchmark setting", ErrConfig)
	}
	return nil
}

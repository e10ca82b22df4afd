package client

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by Client match them with errors.Is.
var (
	// ErrAuth: /route/ answered 401 (wrong api_key for the endpoint).
	ErrAuth = errors.New("client: authentication failed")
	// ErrNoEndpoint: /route/ answered 404 (no such endpoint).
	ErrNoEndpoint = errors.New("client: no such endpoint")
	// ErrBadRequest: /route/ answered 400 or another 4xx that retrying cannot fix.
	ErrBadRequest = errors.New("client: request refused")
	// ErrDeadline: the context ended before a worker answered. The error also
	// matches the context's error (context.DeadlineExceeded or Canceled).
	ErrDeadline = errors.New("client: deadline reached")
	// ErrWorker: the worker kept failing (408/429/5xx or connection errors)
	// for Config.WorkerAttempts calls, or answered Stream with a non-2xx.
	ErrWorker = errors.New("client: worker failed")
	// ErrConfig: New was given an unusable Config.
	ErrConfig = errors.New("client: invalid config")
	// ErrUnavailable: one node could not answer (connection error, timeout,
	// 5xx, undecodable answer). Route moves on to the next node; it surfaces
	// only wrapped in ErrDeadline or ErrWorker, as the last cause.
	ErrUnavailable = errors.New("client: node unavailable")
)

// StatusError is an HTTP answer that ended a call or an attempt: Op is
// "route" or "worker", Addr the node or worker URL, Code the status, Body the
// first bytes of the answer. It unwraps to the matching sentinel.
type StatusError struct {
	Op   string
	Addr string
	Code int
	Body string
	Err  error
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%v: %s %s: HTTP %d", e.Err, e.Op, e.Addr, e.Code)
	}
	return fmt.Sprintf("%v: %s %s: HTTP %d: %s", e.Err, e.Op, e.Addr, e.Code, e.Body)
}

func (e *StatusError) Unwrap() error { return e.Err }

// deadlineError wraps the context's error and the last failure seen.
func deadlineError(ctxErr, last error) error {
	if last == nil {
		return fmt.Errorf("%w: %w", ErrDeadline, ctxErr)
	}
	return fmt.Errorf("%w: %w (last: %w)", ErrDeadline, ctxErr, last)
}

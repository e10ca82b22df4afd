// Package client is the Go client for a drover cluster's engine API (and for
// Vast.ai's, which speaks the same wire protocol).
//
// A Client owns one job: get a request for an endpoint served by a worker.
// Route asks POST /route/ for a worker, trying the cluster's node addresses
// in turn (a connection error, a timeout or a 5xx moves to the next node; the
// last node that answered is remembered and tried first next time) and, while
// no worker is ready, polls with the same request_idx and a jittered backoff
// up to PollMax (5 s), so the request keeps its place in the engine's queue
// whichever node the poll lands on. Do routes, then POSTs
// {"auth_data":<the whole route answer, byte for byte>,"session_id":null,
// "payload":…} to <url><route>, with the endpoint key as ?api_key= and
// Bearer as Vast's client does; on 408, 429, 5xx or a connection failure to
// the worker it routes again with the same request_idx. The worker's answer is
// returned unread, so a streamed body reaches the caller as it arrives.
//
// Every call honours its context: when the context ends the call returns an
// error matching ErrDeadline (and the context's own error). 401 and 404 from
// /route/ (ErrAuth, ErrNoEndpoint) and 400 (ErrBadRequest) come back at once,
// without trying other nodes.
//
// The package uses net/http only. It never reads flags or the environment
// (cmd/drover does), never logs secrets (the api key and drover_token stay
// out of log lines) and starts no goroutines of its own.
package client

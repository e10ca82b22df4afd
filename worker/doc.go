// Package worker is `drover worker`: a Go PyWorker that sits in front of a
// model server on a GPU instance.
//
// It owns, for one worker:
//   - fetching the cluster's RSA public key from REPORT_ADDR/pubkey/ (401 for
//     every request until it has it);
//   - checking each request's auth_data: Vast's RSA signature over the URL
//     AND drover's drover_token (HMAC under the worker's key, learnt from the
//     /worker_status/ answer): bound to this worker, the endpoint, reqnum,
//     request_idx and cost, unexpired, and never used twice (a reqnum is used
//     up by one plain request or one /session/create);
//   - sessions (/session/create, /session/get, /session/end);
//   - 429 when in-flight load / max_perf exceeds max_queue_time;
//   - forwarding payloads to the model server and streaming answers back;
//   - waiting for the model, benchmarking its perf, and reporting load in
//     Vast's /worker_status/ format (plus "drover_seq"): at once when the
//     model has loaded or failed or a client cancelled, every second while
//     busy, every 10 s when idle; /delete_requests/ ~1 s after events.
//
// It never reads flags or the environment (cmd/drover does and passes a
// Config), never imports cluster or fsm internals, and never keeps state
// across restarts.
package worker

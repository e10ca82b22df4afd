// Package fakemodel is `drover fake-model`: an OpenAI-style model server for
// tests and demos. It serves POST /v1/completions and /v1/chat/completions,
// streamed (SSE chunks ending in "data: [DONE]") or not, generating
// max_tokens tokens at a configured rate per request, with at most
// Concurrency requests generating at once (the rest wait in line). GET
// /health answers 503 until the configured load time has passed, then 200
// (or 500 when configured to fail loading).
//
// It owns no real inference, reads no flags or environment, and keeps no
// state beyond its counters.
package fakemodel

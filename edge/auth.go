package edge

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/valyala/fasthttp"
)

var bearerPrefix = []byte("Bearer ")

// authorized checks `Authorization: Bearer <token>` against
// Config.AdminTokenHash in constant time, answering 401 when it fails. A zero
// hash (no token configured) refuses every call.
func (s *Server) authorized(ctx *fasthttp.RequestCtx) bool {
	var zero [32]byte
	if s.cfg.AdminTokenHash == zero {
		writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, "admin API disabled: no admin token configured")
		return false
	}
	h := ctx.Request.Header.Peek(fasthttp.HeaderAuthorization)
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, "missing bearer token")
		return false
	}
	sum := sha256.Sum256(bytes.TrimSpace(h[len(bearerPrefix):]))
	if subtle.ConstantTimeCompare(sum[:], s.cfg.AdminTokenHash[:]) != 1 {
		writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, "invalid admin token")
		return false
	}
	return true
}

// admin wraps h with the admin token check.
func (s *Server) admin(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if s.authorized(ctx) {
			h(ctx)
		}
	}
}

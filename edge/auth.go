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
	if why := s.adminRefusal(&ctx.Request.Header); why != "" {
		writeError(ctx, fasthttp.StatusUnauthorized, codeUnauthorized, why)
		return false
	}
	return true
}

// adminRefusal is why the request's admin token is refused, "" when it is
// accepted. It needs only the header, so it also runs before the body is
// read (see requestConfig).
func (s *Server) adminRefusal(hdr *fasthttp.RequestHeader) string {
	var zero [32]byte
	if s.cfg.AdminTokenHash == zero {
		return "admin API disabled: no admin token configured"
	}
	h := hdr.Peek(fasthttp.HeaderAuthorization)
	if len(h) < len(bearerPrefix) || !bytes.EqualFold(h[:len(bearerPrefix)], bearerPrefix) {
		return "missing bearer token"
	}
	sum := sha256.Sum256(bytes.TrimSpace(h[len(bearerPrefix):]))
	if subtle.ConstantTimeCompare(sum[:], s.cfg.AdminTokenHash[:]) != 1 {
		return "invalid admin token"
	}
	return ""
}

// admin wraps h with the admin token check.
func (s *Server) admin(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if s.authorized(ctx) {
			h(ctx)
		}
	}
}

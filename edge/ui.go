package edge

import (
	"embed"
	"mime"
	"path"
	"strings"

	"github.com/valyala/fasthttp"
)

// The dashboard: static files built into the binary (no build step, no
// CDN), served by every node at /ui/. The page itself holds no data; it
// asks GET /v1/dashboard with the admin token the user types in, kept in
// the browser tab's sessionStorage.
//
//go:embed ui
var uiFiles embed.FS

const uiPrefix = "/ui/"

// routeUI serves / and /ui (redirects) and the files under /ui/; false for
// any other path.
func (s *Server) routeUI(ctx *fasthttp.RequestCtx, p string) bool {
	switch {
	case p == "/" || p == "/ui":
		ctx.Redirect(uiPrefix, fasthttp.StatusFound)
	case strings.HasPrefix(p, uiPrefix):
		m := string(ctx.Method())
		if m != fasthttp.MethodGet && m != fasthttp.MethodHead {
			methodNotAllowed(ctx, fasthttp.MethodGet)
			return true
		}
		name := strings.TrimPrefix(p, uiPrefix)
		if name == "" {
			name = "index.html"
		}
		b, err := uiFiles.ReadFile("ui/" + path.Clean(name))
		if err != nil || strings.Contains(name, "..") {
			writeError(ctx, fasthttp.StatusNotFound, codeNotFound, "no such file")
			return true
		}
		ctype := mime.TypeByExtension(path.Ext(name))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		ctx.Response.Header.SetContentType(ctype)
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		ctx.Response.Header.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
		ctx.Response.Header.Set("X-Content-Type-Options", "nosniff")
		ctx.SetBody(b)
	default:
		return false
	}
	return true
}

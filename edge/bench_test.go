package edge

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchWorkers is the endpoint size of the benchmarks (issue 3: 1,000).
const benchWorkers = 1000

// newBenchEnv is an endpoint with benchWorkers ready workers over two
// groups, each with a fresh report in the overlay.
func newBenchEnv(b testing.TB) *dpEnv {
	b.Helper()
	e := newDPEnv(b, DataPlane{NodeIndex: 3})
	cmds := make([]fsm.Command, 0, benchWorkers)
	now := time.Now().UnixNano()
	for id := uint64(1); id <= benchWorkers; id++ {
		g := e.grpA
		if id%2 == 0 {
			g = e.grpB
		}
		cmd, err := fsm.NewCommand(fsm.CmdRegisterWorker, fsm.RequestID{}, fsm.RegisterWorker{Worker: fsm.Worker{
			ID: id, GroupID: g, URL: "http://10.1.0." + itoa(id) + ":8080", State: fsm.WorkerReady, MaxPerf: 1e6}})
		if err != nil {
			b.Fatal(err)
		}
		cmds = append(cmds, cmd)
		e.ov.setLoad(fsm.WorkerLoad{WorkerID: id, CurLoad: float64(id % 7), MaxPerf: 1e6, LastReport: now})
	}
	if _, err := e.node.Apply(b.Context(), cmds...); err != nil {
		b.Fatal(err)
	}
	return e
}

func TestPickDoesNotAllocate(t *testing.T) {
	e := newBenchEnv(t)
	er := e.srv.tables().byID[e.epID]
	if er.ready != benchWorkers {
		t.Fatalf("table has %d ready workers, want %d", er.ready, benchWorkers)
	}
	if n := testing.AllocsPerRun(1000, func() { er.pick(e.ov, 0).st.addRouted(1) }); n != 0 {
		t.Fatalf("pick allocates %v times per call, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { e.srv.tables() }); n != 0 {
		t.Fatalf("tables() of an unchanged View allocates %v times, want 0", n)
	}
}

func BenchmarkPick(b *testing.B) {
	e := newBenchEnv(b)
	er := e.srv.tables().byID[e.epID]
	b.ReportAllocs()
	for b.Loop() {
		er.pick(e.ov, 0).st.addRouted(1)
	}
}

var benchRouteBody = `{"endpoint":"chat","api_key":"` + testAPIKey + `","cost":100,"request_idx":0,"replay_timeout":60.0}`

// BenchmarkRouteHandler calls the handler with a reused RequestCtx: the
// cost of /route/ itself (parse, tables, pick, sign, token, answer).
func BenchmarkRouteHandler(b *testing.B) {
	e := newBenchEnv(b)
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/route/")
	ctx.Request.SetBodyString(benchRouteBody)
	warmSignatures(b, e)
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		e.srv.handle(&ctx)
	}
	if ctx.Response.StatusCode() != 200 || !strings.Contains(string(ctx.Response.Body()), `"url"`) {
		b.Fatalf("route = %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

// BenchmarkRoute is the full /route/ through fasthttp over an in-memory
// listener, keep-alive, one client; compare with BenchmarkBareFasthttp.
func BenchmarkRoute(b *testing.B) {
	e := newBenchEnv(b)
	warmSignatures(b, e)
	ln := fasthttputil.NewInmemoryListener()
	go e.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	b.Cleanup(func() { _ = e.srv.Shutdown() })
	benchHTTP(b, ln, "/route/", benchRouteBody)
}

// BenchmarkBareFasthttp is a fasthttp handler answering a constant body of
// a route answer's size, over the same in-memory listener setup.
func BenchmarkBareFasthttp(b *testing.B) {
	body := []byte(`{"endpoint":"chat","url":"http://10.1.0.1:8080","cost":100,"reqnum":1,"signature":"` +
		strings.Repeat("A", 344) + `","request_idx":2,"__request_id":"1","drover_token":"` + strings.Repeat("B", 100) + `"}`)
	srv := &fasthttp.Server{Name: "drover", NoDefaultContentType: true, Handler: func(ctx *fasthttp.RequestCtx) {
		ctx.Response.Header.SetContentTypeBytes(jsonContentType)
		ctx.SetBody(body)
	}}
	ln := fasthttputil.NewInmemoryListener()
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	b.Cleanup(func() { _ = srv.Shutdown() })
	benchHTTP(b, ln, "/route/", benchRouteBody)
}

func benchHTTP(b *testing.B, ln *fasthttputil.InmemoryListener, path, body string) {
	b.Helper()
	c := &fasthttp.HostClient{Addr: "bench", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://bench" + path)
	req.SetBodyString(body)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Do(req, resp); err != nil || resp.StatusCode() != 200 {
			b.Fatalf("POST %s = %d, %v", path, resp.StatusCode(), err)
		}
	}
}

// warmSignatures signs every worker URL and derives every token key once,
// as on a node that has been routing for a while.
func warmSignatures(b *testing.B, e *dpEnv) {
	b.Helper()
	t := e.srv.tables()
	for _, g := range t.byID[e.epID].groups {
		for _, w := range g.workers {
			if _, err := w.signature(t.sig); err != nil {
				b.Fatal(err)
			}
			w.key(t.sig)
		}
	}
}

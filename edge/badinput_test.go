package edge

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
)

// seed creates endpoint 1 "llama" (group 1 "g1", static) and endpoint 2 "other".
func seed(t *testing.T, ts *testServer) {
	t.Helper()
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"llama"}`)
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"other"}`)
	ts.mustOK(t, "POST", "/api/v0/workergroups/", `{"endpoint_id":1,"name":"g1","provider":"static"}`)
}

func TestBadInputLeavesStateUnchanged(t *testing.T) {
	const ep, eps, grp, grps = "/api/v0/endptjobs/1/", "/api/v0/endptjobs/", "/api/v0/workergroups/1/", "/api/v0/workergroups/"
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", eps, `{"endpoint_name":`, 400, "invalid_args"},
		{"trailing garbage", "POST", eps, `{"endpoint_name":"a"} x`, 400, "invalid_args"},
		{"empty body", "POST", eps, ``, 400, "invalid_args"},
		{"array body", "POST", eps, `[{"endpoint_name":"a"}]`, 400, "invalid_args"},
		{"string body", "POST", eps, `"a"`, 400, "invalid_args"},
		{"name missing", "POST", eps, `{"min_load":1}`, 400, "invalid_args"},
		{"name with space", "POST", eps, `{"endpoint_name":"a b"}`, 400, "invalid_args"},
		{"name non-ascii", "POST", eps, `{"endpoint_name":"é"}`, 400, "invalid_args"},
		{"name too long", "POST", eps, `{"endpoint_name":"` + strings.Repeat("a", 256) + `"}`, 400, "invalid_args"},
		{"name a number", "POST", eps, `{"endpoint_name":5}`, 400, "invalid_args"},
		{"name taken", "POST", eps, `{"endpoint_name":"llama"}`, 409, "name_taken"},
		{"min_load string", "POST", eps, `{"endpoint_name":"a","min_load":"5"}`, 400, "invalid_args"},
		{"min_load NaN string", "POST", eps, `{"endpoint_name":"a","min_load":"NaN"}`, 400, "invalid_args"},
		{"min_load huge exponent", "POST", eps, `{"endpoint_name":"a","min_load":1e999}`, 400, "invalid_args"},
		{"min_load negative", "POST", eps, `{"endpoint_name":"a","min_load":-1}`, 400, "invalid_args"},
		{"min_load bool", "POST", eps, `{"endpoint_name":"a","min_load":true}`, 400, "invalid_args"},
		{"min_load object", "POST", eps, `{"endpoint_name":"a","min_load":{}}`, 400, "invalid_args"},
		{"target_util zero", "POST", eps, `{"endpoint_name":"a","target_util":0}`, 400, "invalid_args"},
		{"target_util above 1", "POST", eps, `{"endpoint_name":"a","target_util":1.5}`, 400, "invalid_args"},
		{"cold_mult below 1", "POST", eps, `{"endpoint_name":"a","cold_mult":0.5}`, 400, "invalid_args"},
		{"cold_workers fraction", "POST", eps, `{"endpoint_name":"a","cold_workers":1.5}`, 400, "invalid_args"},
		{"cold_workers negative", "POST", eps, `{"endpoint_name":"a","cold_workers":-1}`, 400, "invalid_args"},
		{"cold_workers too many", "POST", eps, `{"endpoint_name":"a","cold_workers":10001}`, 400, "invalid_args"},
		{"cold_workers huge", "POST", eps, `{"endpoint_name":"a","cold_workers":1e300}`, 400, "invalid_args"},
		{"max_workers too many", "POST", eps, `{"endpoint_name":"a","max_workers":100001}`, 400, "invalid_args"},
		{"max_queue_time negative", "POST", eps, `{"endpoint_name":"a","max_queue_time":-0.1}`, 400, "invalid_args"},
		{"inactivity_timeout inf", "POST", eps, `{"endpoint_name":"a","inactivity_timeout":-1e400}`, 400, "invalid_args"},
		{"bad state", "POST", eps, `{"endpoint_name":"a","endpoint_state":"paused"}`, 400, "invalid_args"},
		{"put malformed", "PUT", ep, `{`, 400, "invalid_args"},
		{"put api_key", "PUT", ep, `{"api_key":"x"}`, 400, "invalid_args"},
		{"put id", "PUT", ep, `{"id":2}`, 400, "invalid_args"},
		{"put user_id", "PUT", ep, `{"user_id":7}`, 400, "invalid_args"},
		{"put created_at", "PUT", ep, `{"created_at":1}`, 400, "invalid_args"},
		{"put revision", "PUT", ep, `{"revision":99}`, 400, "invalid_args"},
		{"put out of range", "PUT", ep, `{"target_util":2}`, 400, "invalid_args"},
		{"put wrong type", "PUT", ep, `{"max_workers":"20"}`, 400, "invalid_args"},
		{"put name taken", "PUT", ep, `{"endpoint_name":"other"}`, 409, "name_taken"},
		{"put bad if_revision", "PUT", ep + "?if_revision=abc", `{"min_load":1}`, 400, "invalid_args"},
		{"put zero if_revision", "PUT", ep + "?if_revision=0", `{"min_load":1}`, 400, "invalid_args"},
		{"put unknown endpoint", "PUT", "/api/v0/endptjobs/99/", `{"min_load":1}`, 404, "no_such_endptjob"},
		{"delete unknown endpoint", "DELETE", "/api/v0/endptjobs/99/", ``, 404, "no_such_endptjob"},
		{"get unknown endpoint", "GET", "/api/v0/endptjobs/99/", ``, 404, "no_such_endptjob"},
		{"non-numeric id", "GET", "/api/v0/endptjobs/abc/", ``, 400, "invalid_args"},
		{"zero id", "DELETE", "/api/v0/endptjobs/0/", ``, 400, "invalid_args"},
		{"group no endpoint", "POST", grps, `{"gpu_ram":24}`, 400, "invalid_args"},
		{"group unknown endpoint_id", "POST", grps, `{"endpoint_id":99}`, 404, "no_such_endptjob"},
		{"group unknown endpoint_name", "POST", grps, `{"endpoint_name":"nope"}`, 404, "no_such_endptjob"},
		{"group negative endpoint_id", "POST", grps, `{"endpoint_id":-1}`, 400, "invalid_args"},
		{"group endpoint_id string", "POST", grps, `{"endpoint_id":"1"}`, 400, "invalid_args"},
		{"group bad name", "POST", grps, `{"endpoint_id":1,"name":"a/b"}`, 400, "invalid_args"},
		{"group name taken", "POST", grps, `{"endpoint_id":1,"name":"g1"}`, 409, "name_taken"},
		{"group test_workers", "POST", grps, `{"endpoint_id":1,"test_workers":1001}`, 400, "invalid_args"},
		{"group weight", "POST", grps, `{"endpoint_id":1,"weight":-1}`, 400, "invalid_args"},
		{"group gpu_ram string", "POST", grps, `{"endpoint_id":1,"gpu_ram":"24"}`, 400, "invalid_args"},
		{"group gpu_ram huge", "POST", grps, `{"endpoint_id":1,"gpu_ram":2e308}`, 400, "invalid_args"},
		{"group max_workers", "POST", grps, `{"endpoint_id":1,"max_workers":-5}`, 400, "invalid_args"},
		{"group put endpoint_id", "PUT", grp, `{"endpoint_id":2}`, 400, "invalid_args"},
		{"group put endpoint_name", "PUT", grp, `{"endpoint_name":"other"}`, 400, "invalid_args"},
		{"group put worker_token", "PUT", grp, `{"worker_token":"x"}`, 400, "invalid_args"},
		{"group put provider", "PUT", grp, `{"provider":"vast"}`, 400, "invalid_args"},
		{"group put api_key", "PUT", grp, `{"api_key":"x"}`, 400, "invalid_args"},
		{"group put range", "PUT", grp, `{"cold_workers":10001}`, 400, "invalid_args"},
		{"group put NaN", "PUT", grp, `{"min_cold_load":"NaN"}`, 400, "invalid_args"},
		{"group put unknown", "PUT", "/api/v0/workergroups/99/", `{"weight":1}`, 404, "no_such_workergroup"},
		{"group delete unknown", "DELETE", "/api/v0/autojobs/99", ``, 404, "no_such_workergroup"},
		{"group get unknown", "GET", "/api/v0/autojobs/99/", ``, 404, "no_such_workergroup"},
		{"unknown resource", "GET", "/api/v0/instances/", ``, 404, "not_found"},
		{"nested path", "GET", "/api/v0/endptjobs/1/x/", ``, 404, "not_found"},
		{"method", "PATCH", ep, `{}`, 405, "invalid_args"},
		{"collection method", "DELETE", eps, ``, 405, "invalid_args"},
	}
	ts := startAdmin(t)
	seed(t, ts)
	before := ts.node.hash()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := ts.call(t, tt.method, tt.path, tt.body)
			if status != tt.status || m["success"] != false || m["error"] != tt.code || m["msg"] == "" {
				t.Errorf("%s %s %q = %d %v, want %d %s", tt.method, tt.path, tt.body, status, m, tt.status, tt.code)
			}
			if h := ts.node.hash(); h != before {
				t.Errorf("%s %s %q changed the state hash", tt.method, tt.path, tt.body)
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	ts := startAdmin(t)
	seed(t, ts)
	before := ts.node.hash()
	big := `{"endpoint_name":"big","launch_args":"` + strings.Repeat("x", DefaultMaxConsoleBody+1000) + `"}`
	for _, path := range []string{"/api/v0/endptjobs/", "/api/v0/workergroups/", "/api/v0/endptjobs/1/"} {
		method := "POST"
		if strings.HasSuffix(path, "1/") {
			method = "PUT"
		}
		status, m := ts.call(t, method, path, big)
		if status != http.StatusRequestEntityTooLarge || m["success"] != false || m["error"] == nil {
			t.Errorf("%s %s with %d bytes = %d %v, want 413 in the error shape", method, path, len(big), status, m)
		}
	}
	if ts.node.hash() != before {
		t.Errorf("oversized bodies changed the state hash")
	}
	// Just under the console's limit is read and judged on its content.
	fits := `{"endpoint_name":"fits","x":"` + strings.Repeat("x", DefaultMaxConsoleBody-64) + `"}`
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", fits)
	over := `{"endpoint_name":"over","x":"` + strings.Repeat("x", DefaultMaxConsoleBody) + `"}`
	if status, m := ts.call(t, "POST", "/api/v0/endptjobs/", over); status != http.StatusRequestEntityTooLarge {
		t.Errorf("console body just over %d bytes = %d %v, want 413", DefaultMaxConsoleBody, status, m)
	}
}

// rawExchange sends head (a request line and headers, no body) on a fresh
// connection and returns the status line of the answer, read before any
// body byte is sent.
func rawExchange(t *testing.T, ts *testServer, head string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body was sent: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
}

// A large POST /v1/snapshot without a valid admin token is refused from its
// header: the answer (401, in the error shape) arrives before any byte of
// the body is sent, so such uploads cost no memory. With the token, the
// same header is given the snapshot's limit (the server waits for the
// body). Every route's limit applies from the header in the same way.
func TestLargeBodyRefusedBeforeItIsRead(t *testing.T) {
	ts := startAdmin(t)
	const size = 200 << 20
	head := func(method, path, auth string, n int) string {
		h := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n", method, path, n)
		if auth != "" {
			h += "Authorization: " + auth + "\r\n"
		}
		return h + "\r\n"
	}
	tests := []struct {
		name, method, path, auth string
		n                        int
		want                     string
	}{
		{"snapshot, no token", "POST", "/v1/snapshot", "", size, "401"},
		{"snapshot, wrong token", "POST", "/v1/snapshot", "Bearer nope", size, "401"},
		{"snapshot, wrong token, just over the console limit", "POST", "/v1/snapshot/", "Bearer nope", 2*DefaultMaxConsoleBody + 1, "401"},
		{"console, no token", "POST", "/api/v0/endptjobs/", "", size, "401"},
		{"console, token", "POST", "/api/v0/endptjobs/", "Bearer " + testToken, size, "413"},
		{"engine", "POST", "/worker_status/", "", size, "413"},
		{"route", "POST", "/route/", "", size, "413"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawExchange(t, ts, head(tt.method, tt.path, tt.auth, tt.n))
			if !strings.HasPrefix(got, tt.want+" ") || !strings.Contains(got, `"success":false`) {
				t.Errorf("%s %s (%d bytes announced) = %s, want %s in the error shape", tt.method, tt.path, tt.n, got, tt.want)
			}
		})
	}
	// With the token the snapshot's limit applies: the server waits for the
	// body instead of answering.
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, head("POST", "/v1/snapshot", "Bearer "+testToken, size))
	conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 1)); n != 0 || err == nil || !os.IsTimeout(err) {
		t.Errorf("authorized snapshot upload of %d bytes answered before its body: %d bytes, %v", size, n, err)
	}
}

// Every string field of the console API has a bound: at the bound it is
// stored, one byte past it is a 400 in Vast's error shape and nothing
// changes (create and update alike).
func TestConsoleStringBounds(t *testing.T) {
	ts := startAdmin(t)
	seed(t, ts)
	fields := []struct {
		name string
		max  int
	}{
		{"template_hash", fsm.MaxTemplateHashLen},
		{"search_params", fsm.MaxSearchParamsLen},
		{"launch_args", fsm.MaxLaunchArgsLen},
		{"name", fsm.MaxNameLen},
	}
	for _, f := range fields {
		for _, put := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s put=%v", f.name, put), func(t *testing.T) {
				body := func(n int) string {
					sel := `"endpoint_id":2,`
					if put {
						sel = ""
					}
					return fmt.Sprintf(`{%s"%s":"%s"}`, sel, f.name, strings.Repeat("a", n))
				}
				method, path := "POST", "/api/v0/workergroups/"
				if put {
					method, path = "PUT", "/api/v0/workergroups/1/"
				}
				before := ts.node.hash()
				status, m := ts.call(t, method, path, body(f.max+1))
				if status != http.StatusBadRequest || m["success"] != false || m["error"] != "invalid_args" ||
					!strings.Contains(fmt.Sprint(m["msg"]), f.name) {
					t.Errorf("%s %s with %s of %d bytes = %d %v, want 400 invalid_args naming the field", method, path, f.name, f.max+1, status, m)
				}
				if ts.node.hash() != before {
					t.Errorf("refused %s of %d bytes changed the state", f.name, f.max+1)
				}
				ts.mustOK(t, method, path, body(f.max))
			})
		}
	}
	for _, bad := range []string{strings.Repeat("p", fsm.MaxProviderLen+1), "no spaces"} {
		before := ts.node.hash()
		status, m := ts.call(t, "POST", "/api/v0/workergroups/", `{"endpoint_id":2,"provider":"`+bad+`"}`)
		if status != http.StatusBadRequest || m["error"] != "invalid_args" || ts.node.hash() != before {
			t.Errorf("provider %.20q… = %d %v, want 400 and no change", bad, status, m)
		}
	}
}

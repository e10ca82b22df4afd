package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// addrEnv names the environment variable with the comma list of node HTTP
// addresses the CLI talks to.
const addrEnv = "DROVER_ADDR"

const defaultAddr = "127.0.0.1:7001"

// clientFlags are the flags every CLI command shares.
type clientFlags struct {
	addr  string
	token string
}

func addClientFlags(fs *flag.FlagSet) *clientFlags {
	cf := &clientFlags{}
	fs.StringVar(&cf.addr, "addr", "", "comma list of node HTTP addresses (default: $"+addrEnv+" or "+defaultAddr+")")
	fs.StringVar(&cf.token, "token", "", "admin token (default: $"+adminTokenEnv+")")
	return cf
}

// client builds the API client from the flags and the environment.
func (cf *clientFlags) client() *apiClient {
	addr := cf.addr
	if addr == "" {
		addr = os.Getenv(addrEnv)
	}
	if addr == "" {
		addr = defaultAddr
	}
	token := cf.token
	if token == "" {
		token = os.Getenv(adminTokenEnv)
	}
	return newAPIClient(strings.Split(addr, ","), strings.TrimSpace(token))
}

// apiClient calls drover's HTTP API, failing over to the next address on
// connection errors and 503s.
type apiClient struct {
	bases []string // "http://host:port"
	token string
	http  *http.Client
}

func newAPIClient(addrs []string, token string) *apiClient {
	c := &apiClient{token: token, http: &http.Client{Transport: &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ResponseHeaderTimeout: 60 * time.Second, // writes may hold for a leader
	}}}
	for _, a := range addrs {
		if a = strings.TrimRight(strings.TrimSpace(a), "/"); a == "" {
			continue
		}
		if !strings.Contains(a, "://") {
			a = "http://" + a
		}
		c.bases = append(c.bases, a)
	}
	return c
}

// request is one API call. body, when set, is called once per attempt.
type request struct {
	method string
	path   string // with query
	body   func() (io.Reader, error)
	ctype  string // Content-Type of body; "" means application/json
}

func jsonBody(b []byte) func() (io.Reader, error) {
	return func() (io.Reader, error) { return bytes.NewReader(b), nil }
}

// do sends r to each address in turn until one answers with something other
// than 503. Non-idempotent requests move on only after errors that prove the
// request never reached the node (dial errors), so a create is not sent twice.
// The caller closes the response body.
func (c *apiClient) do(ctx context.Context, r request) (*http.Response, error) {
	if len(c.bases) == 0 {
		return nil, errors.New("no address given (--addr or $" + addrEnv + ")")
	}
	var errs []error
	for i, base := range c.bases {
		resp, err := c.once(ctx, base, r)
		last := i == len(c.bases)-1
		switch {
		case err != nil && (r.method == http.MethodGet || isDialError(err)) && !last:
			errs = append(errs, fmt.Errorf("%s: %w", base, err))
		case err != nil:
			return nil, errors.Join(append(errs, fmt.Errorf("%s: %w", base, err))...)
		case resp.StatusCode == http.StatusServiceUnavailable && !last:
			errs = append(errs, fmt.Errorf("%s: %s", base, readError(resp)))
		default:
			return resp, nil
		}
	}
	return nil, errors.Join(errs...) // unreachable: the last address returns above
}

func (c *apiClient) once(ctx context.Context, base string, r request) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		var err error
		if body, err = r.body(); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, body)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		ctype := r.ctype
		if ctype == "" {
			ctype = "application/json"
		}
		req.Header.Set("Content-Type", ctype)
	}
	return c.http.Do(req)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// call sends r and returns the body of a 2xx answer; any other status is an
// error carrying the server's message.
func (c *apiClient) call(ctx context.Context, r request) ([]byte, error) {
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, errors.New(readError(resp))
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// readError reads and closes a failed answer and renders it as one line,
// using Vast's {"success":false,"error":…,"msg":…} shape when present.
func readError(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
		Msg   string `json:"msg"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && (e.Error != "" || e.Msg != "") {
		msg = strings.TrimPrefix(e.Error+": "+e.Msg, ": ")
		msg = strings.TrimSuffix(msg, ": ")
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return fmt.Sprintf("HTTP %d: %s", resp.StatusCode, msg)
}

// printJSON writes b pretty-printed (as is when it is not JSON).
func printJSON(w io.Writer, b []byte) {
	b = bytes.TrimSpace(b)
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		w.Write(b)
		if len(b) > 0 && b[len(b)-1] != '\n' {
			io.WriteString(w, "\n")
		}
		return
	}
	out.WriteByte('\n')
	w.Write(out.Bytes())
}

// parseInterspersed parses flags that may come before, between or after
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{msg: err.Error(), printed: true}
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// cliFail prints err for command cmd and returns the exit code: 2 for usage
// errors (and 0 for -h), 1 for everything else.
func cliFail(stderr io.Writer, cmd string, err error) int {
	var u usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &u):
		if !u.printed {
			fmt.Fprintf(stderr, "drover %s: %v\n", cmd, err)
		}
		return exitUsage
	default:
		fmt.Fprintf(stderr, "drover %s: %v\n", cmd, err)
		return exitFail
	}
}

// usageError is a mistake on the command line. printed: the flag package has
// already reported it.
type usageError struct {
	msg     string
	printed bool
}

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return usageError{msg: fmt.Sprintf(format, args...)}
}

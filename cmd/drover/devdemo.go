package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

// devDemo is the data-plane part of `drover dev`: an endpoint with a static
// group, and three `drover worker`s in front of `drover fake-model`s.
type devDemo struct {
	endpoint, apiKey, workerToken string
	procs                         []*devNode // fake models and workers
}

// startDevDemo creates the endpoint and group through the console API and
// starts the model and worker processes; it returns once every node routes
// to all workers.
func startDevDemo(ctx context.Context, exe, token string, nodes []*devNode, out *lineMux) (*devDemo, error) {
	var addrs, reports []string
	for _, n := range nodes {
		addrs = append(addrs, n.http)
		reports = append(reports, "http://"+n.http)
	}
	api := newAPIClient(addrs, token)
	d := &devDemo{endpoint: "demo"}
	var err error
	if d.apiKey, d.workerToken, err = createDemoObjects(ctx, api, d.endpoint); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	for i, port := range ports {
		model := &devNode{id: fmt.Sprintf("model%d", i+1), exited: make(chan struct{}),
			args: []string{"fake-model", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--tokens-per-sec", "200", "--log-level", "warn"}}
		worker := &devNode{id: fmt.Sprintf("worker%d", i+1), exited: make(chan struct{}),
			args: []string{"worker", "--model-url", fmt.Sprintf("http://127.0.0.1:%d", port), "--listen-host", "127.0.0.1", "--log-level", "warn"},
			env: []string{fmt.Sprintf("CONTAINER_ID=%d", 1001+i), "REPORT_ADDR=" + strings.Join(reports, ","),
				"WORKER_PORT=0", "PUBLIC_IPADDR=127.0.0.1", "MASTER_TOKEN=" + d.workerToken}}
		for _, p := range []*devNode{model, worker} {
			if err := p.start(exe, "", out); err != nil {
				d.stop()
				return nil, err
			}
			d.procs = append(d.procs, p)
		}
	}
	if err := waitDemoReady(ctx, nodes, token, len(ports)); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// createDemoObjects creates the endpoint and its static group and returns
// the endpoint's api_key and the group's worker_token.
func createDemoObjects(ctx context.Context, api *apiClient, name string) (apiKey, workerToken string, err error) {
	post := func(path string, body any, out any) error {
		b, _ := json.Marshal(body)
		ans, err := api.call(ctx, request{method: http.MethodPost, path: path, body: jsonBody(b)})
		if err != nil {
			return err
		}
		return json.Unmarshal(ans, out)
	}
	var ep struct{ Result uint64 }
	if err := post("/api/v0/endptjobs/", map[string]any{"endpoint_name": name, "max_workers": 3}, &ep); err != nil {
		return "", "", fmt.Errorf("create endpoint: %w", err)
	}
	var g struct {
		WorkerToken string `json:"worker_token"`
	}
	if err := post("/api/v0/workergroups/", map[string]any{"endpoint_name": name, "provider": "static"}, &g); err != nil {
		return "", "", fmt.Errorf("create group: %w", err)
	}
	ans, err := api.call(ctx, request{method: http.MethodGet, path: fmt.Sprintf("/api/v0/endptjobs/%d/", ep.Result)})
	if err != nil {
		return "", "", fmt.Errorf("read endpoint: %w", err)
	}
	var e struct {
		Result struct {
			APIKey string `json:"api_key"`
		}
	}
	if err := json.Unmarshal(ans, &e); err != nil {
		return "", "", err
	}
	return e.Result.APIKey, g.WorkerToken, nil
}

// waitDemoReady polls every node until it lists n ready workers.
func waitDemoReady(ctx context.Context, nodes []*devNode, token string, n int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		ready := 0
		for _, nd := range nodes {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+nd.http+"/get_endpoint_workers/",
				strings.NewReader(`{"id":1}`))
			req.Header.Set("Authorization", "Bearer "+token)
			if resp, err := client.Do(req); err == nil {
				var ws []struct{ Status string }
				if json.NewDecoder(resp.Body).Decode(&ws) == nil {
					c := 0
					for _, w := range ws {
						if strings.EqualFold(w.Status, "ready") {
							c++
						}
					}
					if c == n {
						ready++
					}
				}
				resp.Body.Close()
			}
		}
		if ready == len(nodes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the demo workers did not become ready: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop ends the demo processes (workers first, then models).
func (d *devDemo) stop() {
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		if p.running() {
			p.cmd.Process.Signal(os.Interrupt)
			select {
			case <-p.exited:
			case <-time.After(10 * time.Second):
				p.cmd.Process.Kill()
				<-p.exited
			}
		}
	}
}

// banner tells how to send a request through the demo.
func (d *devDemo) banner(addrs []string) string {
	return fmt.Sprintf(`
The endpoint %q has a static group with 3 drover workers in front of fake
models. Send requests through any node (the Go client routes, then calls a
worker; a curl of /route/ shows the signed answer):

  export %s=%s
  bin/drover loadgen --endpoint %s --rate 5 --duration 10s
  curl -s -X POST http://%s/route/ -d '{"endpoint":"%s","api_key":"%s","cost":100}'
  curl -s http://%s/metrics | grep ^drover_
`, d.endpoint, apiKeyEnv, d.apiKey, d.endpoint, addrs[0], d.endpoint, d.apiKey, addrs[0])
}

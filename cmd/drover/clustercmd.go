package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
)

const clusterUsage = `usage: drover cluster status [--all]
       drover cluster remove ID
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runCluster runs `drover cluster status|remove`.
func runCluster(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "status" && args[0] != "remove") {
		fmt.Fprint(stderr, clusterUsage)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("drover cluster "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	all := false
	if verb == "status" {
		fs.BoolVar(&all, "all", false, "ask every address and print each node's answer")
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cliFail(stderr, "cluster "+verb, err)
	}
	c := cf.client()
	ctx := context.Background()
	switch {
	case verb == "status" && len(pos) == 0 && all:
		printJSON(stdout, statusOfAll(ctx, c))
		return exitOK
	case verb == "status" && len(pos) == 0:
		body, err := c.call(ctx, request{method: http.MethodGet, path: "/v1/cluster"})
		if err != nil {
			return cliFail(stderr, "cluster status", err)
		}
		printJSON(stdout, body)
		return exitOK
	case verb == "remove" && len(pos) == 1:
		b, _ := json.Marshal(map[string]string{"id": pos[0]})
		body, err := c.call(ctx, request{method: http.MethodPost, path: "/v1/cluster/remove", body: jsonBody(b)})
		if err != nil {
			return cliFail(stderr, "cluster remove", err)
		}
		printJSON(stdout, body)
		return exitOK
	default:
		fmt.Fprint(stderr, clusterUsage)
		return exitUsage
	}
}

// statusOfAll asks every address for /v1/cluster, without failover, and
// returns {"addr": status or {"error": …}} as JSON.
func statusOfAll(ctx context.Context, c *apiClient) []byte {
	out := map[string]json.RawMessage{}
	for _, base := range c.bases {
		one := &apiClient{bases: []string{base}, token: c.token, http: c.http}
		body, err := one.call(ctx, request{method: http.MethodGet, path: "/v1/cluster"})
		if err != nil || !json.Valid(body) {
			body, _ = json.Marshal(map[string]string{"error": fmt.Sprint(err)})
		}
		out[base] = body
	}
	b, _ := json.Marshal(out)
	return b
}

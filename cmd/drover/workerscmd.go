package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

const workersUsage = `usage: drover workers list [--endpoint NAME|ID]
       drover workers drain|stop|destroy ID
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runWorkers runs `drover workers list|drain|stop|destroy`.
func runWorkers(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, workersUsage)
		return exitUsage
	}
	verb := args[0]
	fs := flag.NewFlagSet("drover workers "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	endpoint := fs.String("endpoint", "", "only this endpoint's workers (name or id)")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return cliFail(stderr, "workers "+verb, err)
	}
	var r request
	switch {
	case verb == "list" && len(pos) == 0:
		r = request{method: http.MethodGet, path: "/v1/workers"}
		if *endpoint != "" {
			r.path += "?endpoint=" + url.QueryEscape(*endpoint)
		}
	case (verb == "drain" || verb == "stop" || verb == "destroy") && len(pos) == 1:
		if _, err := strconv.ParseUint(pos[0], 10, 64); err != nil {
			return cliFail(stderr, "workers "+verb, fmt.Errorf("worker id %q is not a number", pos[0]))
		}
		r = request{method: http.MethodPost, path: "/v1/workers/" + pos[0] + "/" + verb}
	default:
		fmt.Fprint(stderr, workersUsage)
		return exitUsage
	}
	body, err := cf.client().call(context.Background(), r)
	if err != nil {
		return cliFail(stderr, "workers "+verb, err)
	}
	printJSON(stdout, body)
	return exitOK
}

const decisionsUsage = `usage: drover decisions [--endpoint NAME|ID]
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runDecisions runs `drover decisions`: the leader's recent scheduler
// decisions with their reasons, figures and outcomes.
func runDecisions(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover decisions", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	endpoint := fs.String("endpoint", "", "only this endpoint (name or id)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return cliFail(stderr, "decisions", err)
	}
	if len(pos) > 0 {
		fmt.Fprint(stderr, decisionsUsage)
		return exitUsage
	}
	path := "/v1/decisions"
	if *endpoint != "" {
		path += "?endpoint=" + url.QueryEscape(*endpoint)
	}
	body, err := cf.client().call(context.Background(), request{method: http.MethodGet, path: path})
	if err != nil {
		return cliFail(stderr, "decisions", err)
	}
	printJSON(stdout, body)
	return exitOK
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
)

const operatorUsage = `usage: drover operator raft list-peers
       drover operator raft remove-peer ID
common flags: --addr host:port[,host:port...] (or $DROVER_ADDR), --token T (or $DROVER_ADMIN_TOKEN)
`

// runMembers runs `drover members`: the gossip member list of the first
// node that answers, as a table (--json: the API's answer).
func runMembers(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("drover members", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer")
	if _, err := parseInterspersed(fs, args); err != nil {
		return cliFail(stderr, "members", err)
	}
	body, err := cf.client().call(context.Background(), request{method: http.MethodGet, path: "/v1/members"})
	if err != nil {
		return cliFail(stderr, "members", err)
	}
	if *asJSON {
		printJSON(stdout, body)
		return exitOK
	}
	var ans struct {
		Members []struct {
			ID, Gossip, Cluster, HTTP string
			NonVoter                  bool
		}
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return cliFail(stderr, "members", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tGOSSIP\tCLUSTER\tHTTP\tROLE")
	for _, m := range ans.Members {
		role := "voter"
		if m.NonVoter {
			role = "non-voter"
		}
		fmt.Fprintf(tw, "%s\talive\t%s\t%s\t%s\t%s\n", m.ID, m.Gossip, m.Cluster, m.HTTP, role)
	}
	tw.Flush()
	return exitOK
}

// runOperator runs `drover operator raft list-peers|remove-peer ID`.
func runOperator(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "raft" || (args[1] != "list-peers" && args[1] != "remove-peer") {
		fmt.Fprint(stderr, operatorUsage)
		return exitUsage
	}
	verb := args[1]
	fs := flag.NewFlagSet("drover operator raft "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the API's JSON answer (list-peers)")
	pos, err := parseInterspersed(fs, args[2:])
	if err != nil {
		return cliFail(stderr, "operator raft "+verb, err)
	}
	c := cf.client()
	switch {
	case verb == "remove-peer" && len(pos) == 1:
		b, _ := json.Marshal(map[string]string{"id": pos[0]})
		body, err := c.call(context.Background(), request{method: http.MethodPost, path: "/v1/cluster/remove", body: jsonBody(b)})
		if err != nil {
			return cliFail(stderr, "operator raft remove-peer", err)
		}
		printJSON(stdout, body)
		return exitOK
	case verb == "list-peers" && len(pos) == 0:
	default:
		fmt.Fprint(stderr, operatorUsage)
		return exitUsage
	}
	body, err := c.call(context.Background(), request{method: http.MethodGet, path: "/v1/operator/raft/peers"})
	if err != nil {
		return cliFail(stderr, "operator raft list-peers", err)
	}
	if *asJSON {
		printJSON(stdout, body)
		return exitOK
	}
	var ans struct {
		Peers []struct {
			ID, Address          string
			Voter, Leader, Alive bool
		}
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return cliFail(stderr, "operator raft list-peers", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tVOTER\tHEALTH")
	for _, p := range ans.Peers {
		state, health := "follower", "alive"
		if p.Leader {
			state = "leader"
		}
		if !p.Alive {
			health = "missing from gossip"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", p.ID, p.Address, state, p.Voter, health)
	}
	tw.Flush()
	return exitOK
}

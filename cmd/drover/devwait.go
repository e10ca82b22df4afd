package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// nodeStatus is the part of GET /v1/cluster that `drover dev` shows.
type nodeStatus struct {
	ID           string   `json:"id"`
	State        string   `json:"state"`
	Leader       string   `json:"leader"`
	Term         uint64   `json:"term"`
	AppliedIndex uint64   `json:"applied_index"`
	Voters       []string `json:"voters"`
}

// waitForLeader polls every node's /v1/cluster until all of them know a
// leader, a node exits, ctx ends or timeout passes.
func waitForLeader(ctx context.Context, nodes []*devNode, timeout time.Duration) (map[string]nodeStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		status := map[string]nodeStatus{}
		for _, n := range nodes {
			if !n.running() {
				return nil, fmt.Errorf("node %s exited during start-up: %v", n.id, n.err)
			}
			if s, err := fetchStatus(ctx, client, n.http); err == nil && s.Leader != "" {
				status[n.id] = s
			}
		}
		if len(status) == len(nodes) {
			return status, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no leader elected within %v: %w", timeout, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func fetchStatus(ctx context.Context, client *http.Client, addr string) (nodeStatus, error) {
	var s nodeStatus
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/v1/cluster", nil)
	if err != nil {
		return s, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

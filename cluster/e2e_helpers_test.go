package cluster_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/drover-io/drover/cluster/clustertest"
)

// createEndpoint creates an endpoint through node n and returns its id.
func createEndpoint(t *testing.T, n *clustertest.Node, name string) uint64 {
	t.Helper()
	code, b := n.Do(http.MethodPost, "/api/v0/endptjobs/", map[string]any{"endpoint_name": name})
	if code != http.StatusOK {
		t.Fatalf("create %s via %s = %d %s", name, n.ID, code, b)
	}
	var r struct {
		Success bool   `json:"success"`
		Result  uint64 `json:"result"`
	}
	if err := json.Unmarshal(b, &r); err != nil || !r.Success || r.Result == 0 {
		t.Fatalf("create %s answer %s (%v)", name, b, err)
	}
	return r.Result
}

// tryCreate is createEndpoint that reports failure instead of failing.
func tryCreate(n *clustertest.Node, name string) error {
	code, b := n.Do(http.MethodPost, "/api/v0/endptjobs/", map[string]any{"endpoint_name": name})
	if code != http.StatusOK {
		return fmt.Errorf("create %s via %s = %d %s", name, n.ID, code, b)
	}
	return nil
}

// endpointNames lists endpoint names from n; stale selects a local read.
func endpointNames(t *testing.T, n *clustertest.Node, stale bool) (map[string]bool, int) {
	t.Helper()
	path := "/api/v0/endptjobs/"
	if stale {
		path += "?stale=true"
	}
	code, b := n.Do(http.MethodGet, path, nil)
	if code != http.StatusOK {
		return nil, code
	}
	var r struct {
		Results []struct {
			Name string `json:"endpoint_name"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("list from %s: %s (%v)", n.ID, b, err)
	}
	names := map[string]bool{}
	for _, e := range r.Results {
		names[e.Name] = true
	}
	return names, code
}

// hasAll reports the first of want missing from n's consistent list.
func hasAll(t *testing.T, n *clustertest.Node, want []string) string {
	t.Helper()
	names, code := endpointNames(t, n, false)
	if code != http.StatusOK {
		return fmt.Sprintf("%s answered %d", n.ID, code)
	}
	for _, w := range want {
		if !names[w] {
			return fmt.Sprintf("%s lacks %s", n.ID, w)
		}
	}
	return ""
}

// jsonField digs a value out of a JSON object by a path of keys.
func jsonField(t *testing.T, b []byte, path ...string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no %q in %s", k, b)
		}
		v = m[k]
	}
	return v
}

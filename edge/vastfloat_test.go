package edge

import (
	"regexp"
	"strings"
	"testing"

	"github.com/drover-io/drover/fsm"
)

func TestAppendFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {100, "100.0"}, {-3, "-3.0"}, {0.9, "0.9"}, {2.5, "2.5"}, {1e20, "1e+20"}, {1.5e-7, "1.5e-07"},
	}
	for _, tt := range tests {
		if got := string(appendFloat(nil, tt.in)); got != tt.want {
			t.Errorf("appendFloat(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// Vast sends min_load, max_queue_time and the echoed cost as floats; so
// does drover, even when they are integral. A GET by id keeps result:{…}.
func TestFloatsWhereVastSendsFloats(t *testing.T) {
	ts := startAdmin(t)
	ts.mustOK(t, "POST", "/api/v0/endptjobs/", `{"endpoint_name":"llama","min_load":10,"max_queue_time":30}`)
	floatField := func(body, key string) string {
		m := regexp.MustCompile(`"` + key + `":([^,}]*)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("%s lacks %s", body, key)
		}
		return m[1]
	}
	for _, path := range []string{"/api/v0/endptjobs/1/", "/api/v0/endptjobs/"} {
		_, raw := ts.raw(t, "GET", path, "Bearer "+testToken, nil)
		body := string(raw)
		for key, want := range map[string]string{"min_load": "10.0", "max_queue_time": "30.0", "min_cold_load": "0.0",
			"target_queue_time": "10.0", "target_util": "0.9", "cold_workers": "5", "max_workers": "20", "id": "1"} {
			if got := floatField(body, key); got != want {
				t.Errorf("GET %s: %s = %s, want %s", path, key, got, want)
			}
		}
		if path == "/api/v0/endptjobs/1/" && !strings.HasPrefix(body, `{"success":true,"result":{`) {
			t.Errorf("GET by id = %s, want result:{…}", body)
		}
	}

	e := newDPEnv(t, DataPlane{})
	e.addWorker(t, 11, e.grpA, fsm.WorkerReady, 1000)
	_, raw := e.do(t, "POST", "/route/", "", `{"endpoint":"`+testEndpoint+`","api_key":"`+testAPIKey+`","cost":100,"request_idx":0}`)
	if got := floatField(string(raw), "cost"); got != "100.0" {
		t.Errorf("ready answer cost = %s, want 100.0: %s", got, raw)
	}
	e.setState(t, 11, fsm.WorkerLoading)
	_, raw = e.do(t, "POST", "/route/", "", `{"endpoint":"`+testEndpoint+`","api_key":"`+testAPIKey+`","cost":100,"request_idx":0}`)
	if got := floatField(string(raw), "cost"); got != "100.0" || strings.Contains(string(raw), `"url"`) {
		t.Errorf("not-ready answer cost = %s, want 100.0 and no url: %s", got, raw)
	}
}

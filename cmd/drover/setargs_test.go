package main

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

func TestBuildBody(t *testing.T) {
	tests := []struct {
		name string
		json string
		sets []string
		want string
	}{
		{"strings and numbers", "", []string{"endpoint_name=chat", "max_workers=5", "target_util=0.9"},
			`{"endpoint_name":"chat","max_workers":5,"target_util":0.9}`},
		{"bool null and quoted digits", "", []string{"a=true", "b=null", `c="123"`},
			`{"a":true,"b":null,"c":"123"}`},
		{"value with = and spaces", "", []string{"search_params=gpu_ram>=23 num_gpus=2"},
			`{"search_params":"gpu_ram\u003e=23 num_gpus=2"}`},
		{"empty value is empty string", "", []string{"launch_args="}, `{"launch_args":""}`},
		{"json object value", "", []string{`x={"k":[1,2]}`}, `{"x":{"k":[1,2]}}`},
		{"set wins over json", `{"endpoint_name":"a","min_load":1}`, []string{"endpoint_name=b"},
			`{"endpoint_name":"b","min_load":1}`},
		{"json only", `{"max_workers": 3}`, nil, `{"max_workers":3}`},
		{"nothing", "", nil, `{}`},
		{"last set wins", "", []string{"a=1", "a=2"}, `{"a":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := buildBody(tt.json, tt.sets)
			if err != nil {
				t.Fatalf("buildBody(%q, %q) error: %v", tt.json, tt.sets, err)
			}
			if string(got) != tt.want {
				t.Errorf("buildBody(%q, %q) = %s, want %s", tt.json, tt.sets, got, tt.want)
			}
		})
	}
}

func TestBuildBodyErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		sets []string
	}{
		{"no equals", "", []string{"endpoint_name"}},
		{"empty key", "", []string{"=x"}},
		{"space in key", "", []string{"a b=x"}},
		{"json array", `[1]`, nil},
		{"json null", `null`, nil},
		{"bad json", `{"a":`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildBody(tt.json, tt.sets)
			var u usageError
			if !errors.As(err, &u) {
				t.Errorf("buildBody(%q, %q) error = %v, want a usage error", tt.json, tt.sets, err)
			}
		})
	}
}

func TestObjectRequest(t *testing.T) {
	tests := []struct {
		name       string
		res        resource
		verb       string
		pos        []string
		stale      bool
		ifRevision uint64
		want       string // "METHOD path"
	}{
		{"create", endpointResource, "create", nil, false, 0, "POST /api/v0/endptjobs/"},
		{"list stale", groupResource, "list", nil, true, 0, "GET /api/v0/workergroups/?stale=true"},
		{"get", endpointResource, "get", []string{"7"}, false, 0, "GET /api/v0/endptjobs/7/"},
		{"update cas", groupResource, "update", []string{"3"}, false, 12, "PUT /api/v0/workergroups/3/?if_revision=12"},
		{"delete", endpointResource, "delete", []string{"9"}, false, 0, "DELETE /api/v0/endptjobs/9/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := objectRequest(tt.res, tt.verb, tt.pos, "", nil, tt.stale, tt.ifRevision)
			if err != nil {
				t.Fatalf("objectRequest(%s %q) error: %v", tt.verb, tt.pos, err)
			}
			if got := r.method + " " + r.path; got != tt.want {
				t.Errorf("objectRequest(%s %q) = %q, want %q", tt.verb, tt.pos, got, tt.want)
			}
		})
	}
	for _, pos := range [][]string{{}, {"0"}, {"x"}, {"1", "2"}} {
		if _, err := objectRequest(endpointResource, "get", pos, "", nil, false, 0); err == nil {
			t.Errorf("objectRequest(get %q) error = nil, want a usage error", pos)
		}
	}
}

func TestParseInterspersed(t *testing.T) {
	var sets setList
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Var(&sets, "set", "")
	pos, err := parseInterspersed(fs, []string{"7", "--set", "a=1", "--set", "b=2"})
	if err != nil || strings.Join(pos, ",") != "7" || strings.Join(sets, ",") != "a=1,b=2" {
		t.Errorf("parseInterspersed = %q, %q, %v; want [7], [a=1 b=2], nil", pos, sets, err)
	}
}

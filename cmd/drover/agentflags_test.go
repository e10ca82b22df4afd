package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "drover.json")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseAgentArgsDefaults(t *testing.T) {
	c, err := parseAgentArgs([]string{"--data-dir", "/d"}, io.Discard)
	if err != nil {
		t.Fatalf("parseAgentArgs: %v", err)
	}
	cc := c.Cluster
	got := []any{cc.DeadServerTimeout, cc.MinQuorum, cc.StaleAfter, cc.DiskStallTimeout,
		cc.HeartbeatTimeout, cc.ElectionTimeout, cc.LeaderLeaseTimeout, c.LogLevel}
	want := []any{10 * time.Minute, 3, 5 * time.Second, 30 * time.Second,
		time.Duration(0), time.Duration(0), time.Duration(0), "info"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults = %v, want %v", got, want)
	}
}

func TestParseAgentArgsConfigFile(t *testing.T) {
	file := writeConfig(t, `{
		"id": "n1", "data-dir": "/var/lib/drover", "http": "10.0.0.1:7001",
		"cluster": "10.0.0.1:7101", "advertise": "192.0.2.1:7101",
		"gossip": "10.0.0.1:7201", "bootstrap-expect": 3,
		"join": ["10.0.0.2:7201", "10.0.0.3:7201"], "non-voter": false,
		"dead-server-timeout": "20m", "min-quorum": 5, "snapshot-threshold": 100,
		"log-level": "debug"
	}`)
	tests := []struct {
		name  string
		args  []string
		check func(agentConfig) (got, want any)
	}{
		{"file sets id", nil, func(c agentConfig) (any, any) { return c.Cluster.ID, "n1" }},
		{"file sets list", nil, func(c agentConfig) (any, any) {
			return c.Cluster.Join, []string{"10.0.0.2:7201", "10.0.0.3:7201"}
		}},
		{"file sets alias", nil, func(c agentConfig) (any, any) { return c.Cluster.ClusterAdvertise, "192.0.2.1:7101" }},
		{"file sets duration", nil, func(c agentConfig) (any, any) { return c.Cluster.DeadServerTimeout, 20 * time.Minute }},
		{"file sets numbers", nil, func(c agentConfig) (any, any) {
			return []any{c.Cluster.BootstrapExpect, c.Cluster.MinQuorum, c.Cluster.SnapshotThreshold}, []any{3, 5, uint64(100)}
		}},
		{"flag overrides file", []string{"--id", "n9", "--min-quorum", "4"}, func(c agentConfig) (any, any) {
			return []any{c.Cluster.ID, c.Cluster.MinQuorum}, []any{"n9", 4}
		}},
		{"flag alias overrides file", []string{"--cluster-advertise", "198.51.100.1:7101"}, func(c agentConfig) (any, any) {
			return c.Cluster.ClusterAdvertise, "198.51.100.1:7101"
		}},
		{"flag list overrides file", []string{"--join", "a:1,b:2"}, func(c agentConfig) (any, any) {
			return c.Cluster.Join, []string{"a:1", "b:2"}
		}},
		{"file default untouched", nil, func(c agentConfig) (any, any) { return c.Cluster.StaleAfter, 5 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--config", file}, tt.args...)
			c, err := parseAgentArgs(args, io.Discard)
			if err != nil {
				t.Fatalf("parseAgentArgs(%q) error: %v", args, err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("parseAgentArgs(%q) = %v, want %v", args, got, want)
			}
		})
	}
}

func TestParseAgentArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		config  string // "" = no --config
		args    []string
		wantErr string
	}{
		{"unknown key", `{"data-dir": "/d", "bootstrap-expected": 3}`, nil, `unknown key "bootstrap-expected"`},
		{"nested config", `{"data-dir": "/d", "config": "/other.json"}`, nil, `unknown key "config"`},
		{"bad duration", `{"data-dir": "/d", "stale-after": 5}`, nil, `key "stale-after"`},
		{"wrong type", `{"data-dir": "/d", "min-quorum": "three"}`, nil, `key "min-quorum"`},
		{"object value", `{"data-dir": "/d", "join": {"a": 1}}`, nil, `key "join"`},
		{"alias twice", `{"data-dir": "/d", "advertise": "a:1", "cluster-advertise": "b:2"}`, nil, `set the same flag`},
		{"not an object", `["data-dir"]`, nil, `not a JSON object`},
		{"trailing data", `{"data-dir": "/d"} {}`, nil, `trailing data`},
		{"missing data dir", "", []string{"--id", "n1"}, `--data-dir is required`},
		{"partial tls", "", []string{"--data-dir", "/d", "--tls-cert", "c.pem"}, `go together`},
		{"positional", "", []string{"--data-dir", "/d", "extra"}, `unexpected argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.config != "" {
				args = append([]string{"--config", writeConfig(t, tt.config)}, args...)
			}
			_, err := parseAgentArgs(args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseAgentArgs(%q) error = %v, want it to contain %q", args, err, tt.wantErr)
			}
		})
	}
}

func TestLoadAdminToken(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string { return func(string) string { return v } }
	tests := []struct {
		name   string
		file   string
		env    string
		wantOK bool
		want   string // the token whose hash is expected
	}{
		{"none", "", "", false, ""},
		{"env", "", "from-env", true, "from-env"},
		{"file wins", file, "from-env", true, "from-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash, ok, err := loadAdminToken(tt.file, env(tt.env))
			if err != nil || ok != tt.wantOK {
				t.Fatalf("loadAdminToken(%q) = ok %v, err %v; want ok %v", tt.file, ok, err, tt.wantOK)
			}
			want, _, _ := loadAdminToken("", env(tt.want))
			if hash != want {
				t.Errorf("loadAdminToken(%q) hash = %x, want sha256(%q)", tt.file, hash, tt.want)
			}
		})
	}
}

// The shipped example configurations must parse.
func TestDeployExamples(t *testing.T) {
	files, err := filepath.Glob("../../deploy/examples/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example configs: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := parseAgentArgs([]string{"--config", f}, io.Discard)
			if err != nil {
				t.Fatalf("parseAgentArgs(--config %s) error: %v", f, err)
			}
			if c.Cluster.BootstrapExpect != 3 || len(c.Cluster.Join) != 2 {
				t.Errorf("parseAgentArgs(--config %s) = bootstrap-expect %d, join %q; want 3 and two peers",
					f, c.Cluster.BootstrapExpect, c.Cluster.Join)
			}
		})
	}
}

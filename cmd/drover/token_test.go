package main

import "testing"

func TestLoadGossipKey(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == gossipKeyEnv {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name    string
		value   string
		wantLen int
		wantErr bool
	}{
		{"unset", "", 0, false},
		{"32 bytes", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 32, false},
		{"16 bytes", "MDEyMzQ1Njc4OWFiY2RlZg==", 16, false},
		{"not base64", "???", 0, true},
		{"wrong length", "YWJj", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := loadGossipKey("", env(tt.value))
			if (err != nil) != tt.wantErr || len(key) != tt.wantLen {
				t.Fatalf("loadGossipKey(%q) = %d bytes, %v; want %d bytes, error %v", tt.value, len(key), err, tt.wantLen, tt.wantErr)
			}
		})
	}
}

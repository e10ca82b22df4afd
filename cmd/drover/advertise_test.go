package main

import "testing"

func TestAdvertisedHTTP(t *testing.T) {
	tests := []struct {
		name, bound string
		cluster     []string
		want        string
	}{
		{name: "specific", bound: "10.0.0.1:7001", cluster: []string{"10.0.0.9:7101"}, want: "10.0.0.1:7001"},
		{name: "v6 wildcard, cluster host", bound: "[::]:7001", cluster: []string{"", "10.0.0.2:7101"}, want: "10.0.0.2:7001"},
		{name: "v4 wildcard, advertised first", bound: "0.0.0.0:7001", cluster: []string{"node1.example:7101", "0.0.0.0:7101"}, want: "node1.example:7001"},
		{name: "all wildcard", bound: ":7001", cluster: []string{"[::]:7101"}, want: "127.0.0.1:7001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := advertisedHTTP(tt.bound, tt.cluster...); got != tt.want {
				t.Errorf("advertisedHTTP(%q, %q) = %q, want %q", tt.bound, tt.cluster, got, tt.want)
			}
		})
	}
}

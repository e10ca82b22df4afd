package main

import "testing"

func TestNodeIndex(t *testing.T) {
	tests := []struct {
		name string
		flag int
		id   string
		want int
	}{
		{"flag wins", 17, "n1", 17},
		{"trailing number", -1, "n3", 3},
		{"longer number", -1, "gpu-node-12", 12},
		{"wraps", -1, "n1025", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeIndex(tt.flag, tt.id); got != tt.want {
				t.Fatalf("nodeIndex(%d, %q) = %d, want %d", tt.flag, tt.id, got, tt.want)
			}
		})
	}
	if a, b := nodeIndex(-1, "alpha"), nodeIndex(-1, "alpha"); a != b || a < 0 || a > 1023 {
		t.Fatalf("hashed index of alpha = %d, %d, want one stable value in 0…1023", a, b)
	}
}

package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
)

// adminTokenEnv names the environment variable holding the admin token, read
// by the agent (which keeps only its hash) and by the CLI.
const adminTokenEnv = "DROVER_ADMIN_TOKEN"

// loadAdminToken returns the sha256 of the admin token from file (when set)
// or from $DROVER_ADMIN_TOKEN. ok is false when neither holds a token: the
// zero hash makes edge refuse every admin call.
func loadAdminToken(file string, getenv func(string) string) (hash [32]byte, ok bool, err error) {
	token := getenv(adminTokenEnv)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return hash, false, fmt.Errorf("admin token: %w", err)
		}
		if token = string(b); strings.TrimSpace(token) == "" {
			return hash, false, fmt.Errorf("admin token file %s is empty", file)
		}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return hash, false, nil
	}
	return sha256.Sum256([]byte(token)), true, nil
}

// gossipKeyEnv names the environment variable holding the gossip key.
const gossipKeyEnv = "DROVER_GOSSIP_KEY"

// loadGossipKey returns the gossip encryption key, base64 (16, 24 or 32
// bytes once decoded), from file (when set) or $DROVER_GOSSIP_KEY; nil when
// neither is set (gossip in the clear).
func loadGossipKey(file string, getenv func(string) string) ([]byte, error) {
	text := getenv(gossipKeyEnv)
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("gossip key: %w", err)
		}
		text = string(b)
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return nil, fmt.Errorf("gossip key: not base64: %w", err)
	}
	if n := len(key); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("gossip key: %d bytes, want 16, 24 or 32 (e.g. head -c 32 /dev/urandom | base64)", n)
	}
	return key, nil
}

package main

import (
	"crypto/sha256"
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

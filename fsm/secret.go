package fsm

import "crypto/subtle"

// ConstantTimeEqual compares two secrets (api keys, worker tokens) in time
// that does not depend on where they differ. Only the lengths may leak.
// Proposers and edge use it; Apply never compares secrets.
func ConstantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

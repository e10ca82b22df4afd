package fsm

import "crypto/rand"

// NewRequestID returns a random, non-zero RequestID (crypto/rand).
//
// It is the one random function of this package and runs on the proposer
// (edge, cluster) when a command is built, never inside Apply: the id
// travels in the command, so every replica sees the same one.
func NewRequestID() RequestID {
	var id RequestID
	for id.IsZero() {
		rand.Read(id[:]) // never fails (crypto/rand panics instead)
	}
	return id
}

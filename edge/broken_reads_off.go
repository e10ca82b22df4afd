//go:build !jepsen_broken

package edge

// brokenReads is false in every real build: consistent console reads go
// through the read index (see broken_reads.go for the jepsen_broken tag).
const brokenReads = false

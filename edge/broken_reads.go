//go:build jepsen_broken

package edge

// brokenReads makes console reads answer from the local replica even when
// a consistent read was asked for. It exists only to prove that the jepsen
// harness catches stale reads; never build a release with jepsen_broken.
const brokenReads = true

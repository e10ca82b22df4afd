package cluster

import "errors"

// unavailableError marks errors that mean the cluster cannot serve the call
// right now (no leader, no quorum, shutting down).
type unavailableError struct{ msg string }

func (e *unavailableError) Error() string     { return e.msg }
func (e *unavailableError) Unavailable() bool { return true }

// Sentinel errors. The first group is Unavailable.
var (
	ErrNoLeader  error = &unavailableError{"cluster: no leader"}
	ErrNotLeader error = &unavailableError{"cluster: not leader"}
	ErrNotReady  error = &unavailableError{"cluster: leader not ready for consistent reads"}
	ErrNoQuorum  error = &unavailableError{"cluster: cannot reach a quorum"}
	ErrShutdown  error = &unavailableError{"cluster: shutting down"}
	ErrStaleTerm error = &unavailableError{"cluster: term changed during read"}
	// ErrLeadershipLost: the write may or may not commit; retrying it with
	// the same request ids is safe.
	ErrLeadershipLost error = &unavailableError{"cluster: leadership lost during write"}
	ErrTooLarge             = errors.New("cluster: command batch too large")
	ErrCorruptData          = errors.New("cluster: data directory is corrupt")
	ErrConfig               = errors.New("cluster: invalid config")
	// ErrRaftConfig: the Raft timing settings cannot work together.
	ErrRaftConfig = errors.New("cluster: invalid Raft settings")
	// ErrForbidden: a cluster-port peer may not do what it asked.
	ErrForbidden = errors.New("cluster: forbidden")
)

// isUnavailable reports whether err means "try again later".
func isUnavailable(err error) bool {
	var u interface{ Unavailable() bool }
	return errors.As(err, &u) && u.Unavailable()
}

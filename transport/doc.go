// Package transport owns drover's node-to-node networking: one TCP listener
// per node carries all cluster traffic, multiplexed by the first byte of
// each connection.
//
// A dialer writes one kind byte in clear (KindRaft for the Raft stream
// layer, KindRPC for peer request/response calls such as forward-to-leader
// and join, KindOverlay for load-overlay streams) and then, when the Mux is
// configured with a *tls.Config, runs a TLS handshake. The accepting side
// reads the byte under a deadline, runs the server handshake requiring and
// verifying a client certificate signed by the configured CA, and hands the
// connection to the net.Listener registered for that kind. Connections with
// an unknown kind, a failed handshake, or nobody accepting them in time are
// closed and logged.
//
// On top of the Mux the package provides:
//   - NewStreamLayer: a raft.StreamLayer for raft.NetworkTransport;
//   - ServeRPC and Call: length-prefixed request/response frames (method
//     name + body, bodies up to MaxBody) over a small pool of idle
//     connections per peer, honouring context deadlines;
//   - LoadMutualTLS: one *tls.Config usable for both roles.
//
// Transport never interprets what it carries: it does not import fsm,
// scheduler, cluster or edge, and it never retries a request that may have
// reached the peer (callers own idempotency).
package transport

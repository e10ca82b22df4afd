// Package fsm is drover's replicated state machine: the plain types of the
// replicated state (endpoints, worker groups, workers, scheduler intents, the
// route-signing key, servers removed by hand), the command codec, Apply,
// snapshot and restore, and the immutable View that readers use.
//
// # What fsm owns
//
//   - The command wire format (command.go): a type byte whose high bit marks
//     a command "ignorable if unknown", a payload version, a 16-byte request
//     id, a length-prefixed JSON payload and a CRC-32C. One Raft log entry is
//     a batch of commands (EncodeBatch). Golden files in testdata/ pin every
//     encoding.
//   - Apply (fsm.go, apply_*.go): one applyX per command type. Every
//     state-dependent check (existence, unique names, if_revision, field
//     ranges through the same Validate functions edge uses) happens here, so
//     a rejected command changes nothing on any replica and returns a Result
//     with a Code.
//   - Request-id deduplication: the last 16384 non-zero request ids and
//     their Results, in FIFO order, as part of the state and the snapshot.
//   - The View (view.go): immutable once published, swapped with one atomic
//     pointer store per ApplyBatch; maps that a batch changes are copied on
//     write, the others are shared with the previous View.
//   - Snapshots (snapshot.go, canonical.go): canonical, deterministic bytes
//     (header, records in sorted order, CRC trailer) compressed with zstd;
//     View.Hash is the sha256 of the uncompressed canonical bytes.
//
// # What fsm never does
//
// fsm is deterministic: the same log gives byte-identical snapshots on every
// replica. Apply never reads the clock, never uses randomness and never starts
// goroutines; timestamps (created_at), api keys and worker tokens arrive inside
// the commands, set by the proposer. fsm knows nothing of Raft, the network or
// HTTP and imports no sibling package (only the standard library and
// klauspost/compress). The only helpers that are not deterministic,
// NewRequestID (crypto/rand) and ConstantTimeEqual, run on the proposer side
// and are never called from Apply.
//
// A committed entry that cannot be decoded (bad checksum, malformed framing,
// unknown command type without the ignorable bit) makes ApplyBatch panic
// before it changes anything: replicas must never diverge silently.
package fsm

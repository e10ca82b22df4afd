// Package provider declares the one small interface the scheduler's leader
// loop drives to change a fleet — Create, Start, Stop, Destroy and List —
// and the instance types it returns. Implementations live in
// scheduler/provider/<name>/: sim (in-process, virtual or real clock),
// simserver (one sim fleet served to every node), process (local worker
// processes) and exec (a user's executable per action).
//
// # The contract
//
//   - Create is idempotent on the intent key: a second Create with the same
//     key returns the instance the first one made (whatever its state) and
//     never makes another. This is what lets a new leader re-issue a pending
//     intent safely.
//   - List returns every instance the provider knows, with the intent key
//     that created it, so a new leader reconciles pending intents against it
//     (adopt what exists, destroy orphans, re-issue only what the provider
//     confirms it never started).
//   - Start, Stop and Destroy are idempotent on the instance: stopping a
//     stopped instance or destroying a gone one succeeds. Destroy of an
//     unknown id returns ErrNotFound (a caller reconciling may treat that
//     as done).
//   - Calls return once the action is accepted; progress (loading →
//     ready) shows in List.
//
// Package provider never decides anything and holds no state.
package provider

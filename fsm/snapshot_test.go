package fsm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// randomLog builds a deterministic log of n entries mixing every command
// type, valid and invalid ones, repeated request ids, ignorable unknown
// commands and non-command entries.
func randomLog(t testing.TB, seed uint64, n int) []Entry {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var ids []RequestID
	entries := make([]Entry, 0, n)
	for i := range n {
		e := Entry{Index: uint64(i + 1), Term: uint64(1 + i/100)}
		if r.IntN(20) == 0 {
			entries = append(entries, e) // a non-command entry
			continue
		}
		cmds := make([]Command, 1+r.IntN(4))
		for j := range cmds {
			cmds[j] = randomCommand(t, r)
			switch k := r.IntN(10); {
			case k < 3:
				id := RequestID{byte(r.Uint32()), byte(r.Uint32()), byte(i), byte(j)}
				ids = append(ids, id)
				cmds[j].RequestID = id
			case k == 3 && len(ids) > 0:
				cmds[j].RequestID = ids[r.IntN(len(ids))] // a retry
			}
		}
		e.Data = EncodeBatch(cmds)
		entries = append(entries, e)
	}
	return entries
}

func randomCommand(t testing.TB, r *rand.Rand) Command {
	name := fmt.Sprintf("ep%d", r.IntN(12))
	id := uint64(1 + r.IntN(15))   // endpoint ids
	gid := uint64(1 + r.IntN(100)) // group ids
	wid := uint64(100 + r.IntN(40))
	switch r.IntN(15) {
	case 0, 1:
		e := endpoint(name)
		e.MaxWorkers = int64(r.IntN(120)) - 10 // sometimes invalid
		return cmd(t, CmdCreateEndpoint, CreateEndpoint{Endpoint: e})
	case 2:
		p := fmt.Sprintf(`{"max_workers":%d,"endpoint_name":%q}`, r.IntN(50), name)
		return cmd(t, CmdUpdateEndpoint, UpdateEndpoint{ID: id, IfRevision: uint64(r.IntN(3)) * id, Patch: []byte(p)})
	case 3:
		if r.IntN(3) != 0 {
			return cmd(t, CmdNoop, Noop{})
		}
		return cmd(t, CmdDeleteEndpoint, DeleteEndpoint{ID: id})
	case 4, 5:
		return cmd(t, CmdCreateGroup, CreateGroup{Group: group(0, fmt.Sprintf("g%d", r.IntN(3))), EndpointName: name})
	case 6:
		return cmd(t, CmdUpdateGroup, UpdateGroup{ID: gid, Patch: []byte(fmt.Sprintf(`{"weight":%d.5}`, r.IntN(3)))})
	case 7:
		if r.IntN(3) != 0 {
			return cmd(t, CmdNoop, Noop{})
		}
		return cmd(t, CmdDeleteGroup, DeleteGroup{ID: gid})
	case 8, 9:
		return cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(wid, gid)})
	case 10:
		states := []string{WorkerReady, WorkerLoading, WorkerError, "bogus"}
		return cmd(t, CmdSetWorkerState, SetWorkerState{ID: wid, State: states[r.IntN(4)], MaxPerf: float64(r.IntN(500)) / 4})
	case 11:
		if r.IntN(3) != 0 {
			return cmd(t, CmdRegisterWorker, RegisterWorker{Worker: worker(wid, gid)})
		}
		return cmd(t, CmdRemoveWorker, RemoveWorker{ID: wid})
	case 12:
		key := fmt.Sprintf("i%d", r.IntN(20))
		if r.IntN(2) == 0 {
			return cmd(t, CmdPutIntent, PutIntent{Intent: Intent{Key: key, Kind: IntentCreate, GroupID: gid, CreatedAt: 3}})
		}
		return cmd(t, CmdIntentResult, IntentResult{Key: key, State: []string{IntentDone, IntentFailed}[r.IntN(2)]})
	case 13:
		if r.IntN(2) == 0 {
			return cmd(t, CmdRemoveServer, RemoveServer{ID: fmt.Sprintf("n%d", r.IntN(5))})
		}
		return cmd(t, CmdSetSigningKey, SetSigningKey{PEM: []byte(fmt.Sprintf("-----BEGIN K-----\nAA%d\n-----END K-----\n", r.IntN(3)))})
	default:
		if r.IntN(2) == 0 {
			return Command{Type: CmdType(60 + r.IntN(60)), Ignorable: true, Version: 1, Payload: []byte(`{"x":1}`)}
		}
		return cmd(t, CmdNoop, Noop{})
	}
}

func TestReplayIsDeterministic(t *testing.T) {
	log := randomLog(t, 42, 3000)
	one, batched, resumed := New(), New(), New()
	var resOne, resBatched [][]Result
	for _, e := range log {
		resOne = append(resOne, one.ApplyBatch([]Entry{e})...)
	}
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < len(log); {
		n := min(1+r.IntN(100), len(log)-i)
		resBatched = append(resBatched, batched.ApplyBatch(log[i:i+n])...)
		i += n
	}
	// A third replica restores a snapshot taken half way and continues.
	half := New()
	half.ApplyBatch(log[:len(log)/2])
	if err := resumed.Restore(bytes.NewReader(snapshotBytes(t, half))); err != nil {
		t.Fatalf("Restore(half) = %v", err)
	}
	resumed.ApplyBatch(log[len(log)/2:])

	for i := range resOne {
		if !equalResults(resOne[i], resBatched[i]) {
			t.Fatalf("entry %d: results %+v one at a time, %+v batched", i+1, resOne[i], resBatched[i])
		}
	}
	a, b, c := snapshotBytes(t, one), snapshotBytes(t, batched), snapshotBytes(t, resumed)
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Errorf("snapshots differ: %d / %d / %d bytes", len(a), len(b), len(c))
	}
	if one.View().Hash() != batched.View().Hash() || one.View().Hash() != resumed.View().Hash() {
		t.Errorf("Hash() = %s / %s / %s, want equal", one.View().Hash(), batched.View().Hash(), resumed.View().Hash())
	}
	v := one.View()
	t.Logf("final state: %d endpoints, %d groups, %d workers, %d intents, %d dedup; snapshot %d bytes",
		len(v.Endpoints), len(v.Groups), len(v.Workers), len(v.Intents), len(v.dedup), len(a))
	if len(v.Endpoints) == 0 || len(v.Workers) == 0 || len(v.Intents) == 0 || len(v.dedup) == 0 {
		t.Errorf("the random log left a thin state; the test would not cover much")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	src := New()
	src.ApplyBatch(randomLog(t, 1, 800))
	snap := snapshotBytes(t, src)
	dst := New()
	if err := dst.Restore(bytes.NewReader(snap)); err != nil {
		t.Fatalf("Restore = %v", err)
	}
	sv, dv := src.View(), dst.View()
	if sv.Hash() != dv.Hash() || dv.Index != sv.Index {
		t.Errorf("restored Hash() = %s index %d, want %s index %d", dv.Hash(), dv.Index, sv.Hash(), sv.Index)
	}
	if again := snapshotBytes(t, dst); !bytes.Equal(again, snap) {
		t.Errorf("snapshot of the restored FSM differs (%d vs %d bytes)", len(again), len(snap))
	}
	fresh := dv.successor() // the hash recomputed from the restored state, not the cached one
	if fresh.Hash() != sv.Hash() {
		t.Errorf("recomputed Hash() = %s, want %s", fresh.Hash(), sv.Hash())
	}
	for id, g := range sv.Groups {
		if !slicesEqualIDs(dv.GroupsOf(g.EndpointID), sv.GroupsOf(g.EndpointID), groupID) ||
			!slicesEqualIDs(dv.WorkersOf(id), sv.WorkersOf(id), workerID) {
			t.Errorf("indexes differ for group %d", id)
		}
	}
	// The dedup table survives: a retried request answers the same.
	for _, d := range sv.dedup[:min(50, len(sv.dedup))] {
		c := Command{Type: CmdNoop, Version: 1, RequestID: d.ID}
		r := dst.ApplyBatch([]Entry{{Index: dv.Index + 1, Data: EncodeBatch([]Command{c})}})[0][0]
		if !equalResults([]Result{r}, []Result{d.Result}) {
			t.Errorf("retry of %s after restore = %+v, want %+v", d.ID, r, d.Result)
		}
	}
}

func slicesEqualIDs[T any](a, b []T, id func(T) uint64) bool {
	return slices.EqualFunc(a, b, func(x, y T) bool { return id(x) == id(y) })
}

func TestEmptySnapshotRoundTrip(t *testing.T) {
	dst := New()
	dst.ApplyBatch(randomLog(t, 3, 50))
	if err := dst.Restore(bytes.NewReader(snapshotBytes(t, New()))); err != nil {
		t.Fatalf("Restore(empty) = %v", err)
	}
	if v := dst.View(); v.Hash() != New().View().Hash() || len(v.Endpoints) != 0 || len(dst.seen) != 0 {
		t.Errorf("after restoring an empty snapshot: %d endpoints, %d dedup", len(v.Endpoints), len(dst.seen))
	}
}

// compress returns canonical bytes as a zstd stream, fixing the CRC
// trailer first when fixCRC is set.
func compress(t *testing.T, canonical []byte, fixCRC bool) []byte {
	t.Helper()
	b := bytes.Clone(canonical)
	if fixCRC {
		body := b[:len(b)-4]
		binary.BigEndian.PutUint32(b[len(b)-4:], crc32.Checksum(body, castagnoli))
	}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

func TestRestoreRejectsCorruption(t *testing.T) {
	src := New()
	src.ApplyBatch(randomLog(t, 9, 400))
	snap := snapshotBytes(t, src)
	canon, err := canonicalBytes(src.View())
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 0x20; return b }
	replace := func(old, new string) []byte {
		return bytes.Replace(canon, []byte(old), []byte(new), 1)
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"empty", nil},
		{"not zstd", []byte("hello, this is not a snapshot")},
		{"truncated to 1 byte", snap[:1]},
		{"truncated to half", snap[:len(snap)/2]},
		{"truncated by 1 byte", snap[:len(snap)-1]},
		{"flipped compressed byte", flip(snap, len(snap)/2)},
		{"trailing garbage", append(bytes.Clone(snap), 1, 2, 3)},
		{"canonical byte flipped", compress(t, flip(canon, len(canon)/2), false)},
		{"canonical truncated, crc fixed", compress(t, append(bytes.Clone(canon[:len(canon)/2]), 0, 0, 0, 0), true)},
		{"bad magic", compress(t, flip(canon, 0), true)},
		{"non-canonical JSON", compress(t, replace(`{"id":`, `{ "id":`), true)},
		{"dangling group", compress(t, replace(`"endpoint_id":`, `"endpoint_id":9`), true)},
		{"invalid range", compress(t, replace(`"target_util":0.9`, `"target_util":7.9`), true)},
		{"unknown record", compress(t, replace("\x02", "\x09"), true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := New()
			dst.ApplyBatch(randomLog(t, 5, 100))
			before := dst.View()
			err := dst.Restore(bytes.NewReader(tt.in))
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("Restore(%s) = %v, want %v", tt.name, err, ErrCorrupt)
			}
			if dst.View() != before {
				t.Errorf("Restore(%s) changed the state", tt.name)
			}
		})
	}
	// Every truncation of a small snapshot fails cleanly.
	small := New()
	small.ApplyBatch(randomLog(t, 11, 20))
	s := snapshotBytes(t, small)
	for n := range len(s) {
		if err := New().Restore(bytes.NewReader(s[:n])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Restore(first %d of %d bytes) = %v, want %v", n, len(s), err, ErrCorrupt)
		}
	}
}

func TestSnapshotWhileApplying(t *testing.T) {
	f := New()
	log := randomLog(t, 13, 600)
	f.ApplyBatch(log[:300])
	snap := f.Snapshot()
	want := snap.View().Hash()
	done := make(chan []byte)
	go func() {
		var buf bytes.Buffer
		if _, err := snap.WriteTo(&buf); err != nil {
			t.Error(err)
		}
		done <- buf.Bytes()
	}()
	for i := 300; i < len(log); i += 10 {
		f.ApplyBatch(log[i : i+10])
	}
	got := New()
	if err := got.Restore(bytes.NewReader(<-done)); err != nil {
		t.Fatal(err)
	}
	if got.View().Hash() != want || snap.Index() != 300 {
		t.Errorf("snapshot taken at 300 restored to hash %s index %d, want %s index 300", got.View().Hash(), snap.Index(), want)
	}
}

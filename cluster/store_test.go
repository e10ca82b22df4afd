package cluster

import (
	"bytes"
	"testing"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
)

// blockingLogStore hangs in StoreLogs until released, like a dead disk.
type blockingLogStore struct {
	raft.LogStore
	release chan struct{}
}

func (b *blockingLogStore) StoreLogs([]*raft.Log) error {
	<-b.release
	return nil
}

func TestDiskStallWatchdogFires(t *testing.T) {
	store := &blockingLogStore{LogStore: raft.NewInmemStore(), release: make(chan struct{})}
	defer close(store.release)
	w := &watchedLogStore{LogStore: store}
	fired := make(chan string, 1)
	stop := make(chan struct{})
	defer close(stop)
	go watchDisk(w, 100*time.Millisecond, stop, func(reason string) { fired <- reason })
	go w.StoreLogs([]*raft.Log{{Index: 1}})
	select {
	case reason := <-fired:
		t.Logf("watchdog: %s", reason)
	case <-time.After(10 * time.Second):
		t.Fatal("watchdog did not fire on a stalled log write")
	}
}

func TestDiskWatchdogQuietOnHealthyWrites(t *testing.T) {
	w := &watchedLogStore{LogStore: raft.NewInmemStore()}
	fired := make(chan string, 1)
	stop := make(chan struct{})
	go watchDisk(w, 50*time.Millisecond, stop, func(reason string) { fired <- reason })
	// Write for several watchdog periods.
	start := time.Now()
	for i := uint64(1); time.Since(start) < 300*time.Millisecond; i++ {
		if err := w.StoreLogs([]*raft.Log{{Index: i}}); err != nil {
			t.Fatal(err)
		}
	}
	if d := w.stalledFor(time.Now()); d != 0 {
		t.Fatalf("stalledFor after finished writes = %s, want 0", d)
	}
	close(stop)
	select {
	case reason := <-fired:
		t.Fatalf("watchdog fired on healthy writes: %s", reason)
	default:
	}
}

func TestCheckBoltMetaRejectsGarbage(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"zeros", make([]byte, 8192)},
		{"short", []byte("bolt")},
		{"text", bytes.Repeat([]byte("not a database "), 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := checkBoltMeta(bytes.NewReader(tt.data), int64(len(tt.data))); err == nil {
				t.Fatalf("checkBoltMeta(%s) = nil, want an error", tt.name)
			}
		})
	}
}

// checkLog accepts a gap covered by the newest snapshot (what a restore
// leaves) and refuses one after it, or an entry that does not decode.
func TestCheckLogGaps(t *testing.T) {
	good := fsm.EncodeBatch(nil)
	tests := []struct {
		name      string
		present   []uint64
		bad       uint64 // an entry with undecodable data
		snapIndex uint64
		ok        bool
	}{
		{"contiguous", []uint64{1, 2, 3, 4}, 0, 0, true},
		{"gap covered by the snapshot", []uint64{1, 2, 3, 4, 5, 6, 8}, 0, 7, true},
		{"gap below the snapshot", []uint64{1, 2, 5, 6, 9, 10}, 0, 8, true},
		{"gap without a snapshot", []uint64{1, 2, 3, 4, 5, 6, 8}, 0, 0, false},
		{"gap after the snapshot", []uint64{1, 2, 3, 5, 6, 8}, 0, 6, false},
		{"bad entry below the snapshot", []uint64{1, 2, 3, 5}, 2, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := raft.NewInmemStore()
			for _, i := range tt.present {
				data := good
				if i == tt.bad {
					data = []byte("not a batch")
				}
				if err := s.StoreLog(&raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: data}); err != nil {
					t.Fatal(err)
				}
			}
			err := checkLog(s, tt.snapIndex)
			if (err == nil) != tt.ok {
				t.Fatalf("checkLog = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

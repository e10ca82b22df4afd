package cluster

import (
	"bytes"
	"testing"
	"time"

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

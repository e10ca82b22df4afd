package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/drover-io/drover/fsm"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"
)

// stores is the on-disk state of a node: the bolt log and stable store
// (always fsynced) and the file snapshot store.
type stores struct {
	bolt  *raftboltdb.BoltStore
	log   *watchedLogStore
	snaps *raft.FileSnapshotStore
}

// openStores opens (or creates) the stores under dir and checks them, so a
// corrupt or truncated data directory stops the node with a clear message
// instead of a panic deep inside raft.
func openStores(dir string, logw io.Writer) (*stores, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: data dir: %w", err)
	}
	path := filepath.Join(dir, "raft.db")
	if err := checkBoltFile(path); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptData, path, err)
	}
	snaps, err := raft.NewFileSnapshotStore(dir, 2, logw)
	if err != nil {
		return nil, fmt.Errorf("cluster: snapshot store: %w", err)
	}
	snapIndex, err := checkSnapshots(snaps)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptData, filepath.Join(dir, "snapshots"), err)
	}
	bolt, err := raftboltdb.New(raftboltdb.Options{
		Path:        path,
		BoltOptions: &bbolt.Options{Timeout: 5 * time.Second},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %v", ErrCorruptData, path, err)
	}
	if err := checkLog(bolt, snapIndex); err != nil {
		bolt.Close()
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptData, path, err)
	}
	return &stores{bolt: bolt, log: &watchedLogStore{LogStore: bolt}, snaps: snaps}, nil
}

// checkLog reads the first and last entries of the log and decodes every
// command entry between them, so a damaged log refuses to start. Entries
// at or below snapIndex (the newest snapshot's index) may be missing:
// raft restores that snapshot and replays only what follows it, and a
// restore (raft.Restore, or a snapshot installed from the leader) leaves
// exactly such a gap in a log store that is not monotonic, like bolt's.
// Every entry after snapIndex must be there.
func checkLog(s raft.LogStore, snapIndex uint64) error {
	first, err := s.FirstIndex()
	if err != nil {
		return err
	}
	last, err := s.LastIndex()
	if err != nil {
		return err
	}
	if last == 0 {
		return nil
	}
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			if errors.Is(err, raft.ErrLogNotFound) && i <= snapIndex {
				continue
			}
			return fmt.Errorf("log entry %d (of %d..%d, newest snapshot at %d): %w", i, first, last, snapIndex, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		if _, err := fsm.DecodeBatch(l.Data); err != nil {
			return fmt.Errorf("log entry %d: %w", i, err)
		}
	}
	return nil
}

// checkSnapshots opens the newest snapshot and fully decodes it (the file
// store verifies its CRC, fsm.Restore verifies structure and checksum); it
// returns the snapshot's index (0: none).
func checkSnapshots(s *raft.FileSnapshotStore) (uint64, error) {
	metas, err := s.List()
	if err != nil {
		return 0, err
	}
	if len(metas) == 0 {
		return 0, nil
	}
	meta, rc, err := s.Open(metas[0].ID)
	if err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", metas[0].ID, err)
	}
	defer rc.Close()
	if err := fsm.New().Restore(io.LimitReader(rc, meta.Size)); err != nil {
		return 0, fmt.Errorf("snapshot %s: %w", meta.ID, err)
	}
	return meta.Index, nil
}

func (s *stores) close() error {
	return s.bolt.Close()
}

// watchedLogStore times every write to the log store. hashicorp/raft cannot
// replace a leader whose disk hangs, so a watchdog ends the process when a
// write has been in progress for longer than the disk-stall timeout.
type watchedLogStore struct {
	raft.LogStore
	since atomic.Int64 // unix nanos when the running write began; 0: none
}

func (w *watchedLogStore) StoreLog(l *raft.Log) error {
	return w.StoreLogs([]*raft.Log{l})
}

func (w *watchedLogStore) StoreLogs(logs []*raft.Log) error {
	w.since.Store(time.Now().UnixNano())
	defer w.since.Store(0)
	return w.LogStore.StoreLogs(logs)
}

// stalledFor reports how long the running write has taken (0 if none).
func (w *watchedLogStore) stalledFor(now time.Time) time.Duration {
	s := w.since.Load()
	if s == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, s))
}

// watchDisk calls fatal once a log write has stalled longer than limit.
func watchDisk(w *watchedLogStore, limit time.Duration, stop <-chan struct{}, fatal func(string)) {
	tick := time.NewTicker(limit / 10)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			if d := w.stalledFor(now); d > limit {
				fatal(fmt.Sprintf("log store write stalled for %s (limit %s)", d.Round(time.Millisecond), limit))
				return
			}
		}
	}
}

var errNoSnapshot = errors.New("cluster: no snapshot")

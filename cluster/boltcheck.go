package cluster

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// checkBoltFile verifies a bolt database before raft-boltdb opens it.
// bbolt maps the file into memory and trusts its meta pages: a truncated
// file makes it die of SIGBUS instead of returning an error. So the meta
// pages are checked here (magic, checksum, and that every page they
// reference lies inside the file), then bbolt's own consistency check
// walks every page read-only.
func checkBoltFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new node
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	if err := checkBoltMeta(f, fi.Size()); err != nil {
		return err
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return db.View(func(tx *bbolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

// boltMeta is the part of a bolt meta page the check needs.
type boltMeta struct {
	pageSize uint32
	freelist uint64
	highMark uint64 // pgid: number of pages in use
	txid     uint64
}

const boltMagic = 0xED0CDAED

// checkBoltMeta picks the newest valid meta page, as bbolt does (a torn
// newest page after a crash is bolt's normal recovery path), and requires
// every page it references to lie inside the file.
func checkBoltMeta(r io.ReaderAt, size int64) error {
	var best *boltMeta
	var firstErr error
	for page := int64(0); page < 2; page++ {
		m, err := readBoltMeta(r, page)
		if err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		if best == nil || m.txid > best.txid {
			best = m
		}
	}
	if best == nil {
		return firstErr
	}
	if need := int64(best.highMark) * int64(best.pageSize); need > size {
		return fmt.Errorf("%d pages of %d bytes exceed the file size %d: the file is truncated", best.highMark, best.pageSize, size)
	}
	if best.freelist >= best.highMark && best.freelist != ^uint64(0) {
		return fmt.Errorf("freelist page %d beyond the high-water mark %d", best.freelist, best.highMark)
	}
	return nil
}

// readBoltMeta decodes meta page n, assuming the first page's size (bolt
// uses the OS page size; the meta stores it).
func readBoltMeta(r io.ReaderAt, n int64) (*boltMeta, error) {
	var head [16 + 64]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("read meta: %w", err)
	}
	pageSize := int64(binary.LittleEndian.Uint32(head[16+8:]))
	if pageSize < 512 || pageSize > 1<<20 {
		return nil, fmt.Errorf("meta page 0: implausible page size %d", pageSize)
	}
	var b [16 + 64]byte
	if _, err := r.ReadAt(b[:], n*pageSize); err != nil {
		return nil, fmt.Errorf("read meta page %d: %w", n, err)
	}
	m := b[16:]
	if binary.LittleEndian.Uint32(m[0:]) != boltMagic {
		return nil, fmt.Errorf("meta page %d: bad magic", n)
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != binary.LittleEndian.Uint64(m[56:]) {
		return nil, fmt.Errorf("meta page %d: checksum mismatch", n)
	}
	return &boltMeta{
		pageSize: binary.LittleEndian.Uint32(m[8:]),
		freelist: binary.LittleEndian.Uint64(m[32:]),
		highMark: binary.LittleEndian.Uint64(m[40:]),
		txid:     binary.LittleEndian.Uint64(m[48:]),
	}, nil
}

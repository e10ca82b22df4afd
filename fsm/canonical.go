package fsm

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// The canonical snapshot bytes (before compression):
//
//	magic "DRVSNAP" + format version (1 byte)
//	uvarint index, uvarint next endpoint id, uvarint next group id
//	records: [kind][uvarint body length][body], in kind order, each kind
//	         sorted (objects by ID, intents by key, removed servers by id;
//	         dedup entries oldest first)
//	[recEnd]
//	crc32c of everything before, 4 bytes big endian
//
// Bodies are the objects' JSON (the signing key and removed server ids are
// raw bytes). The same state always gives the same bytes; Restore accepts
// only bytes that re-encode identically.
const (
	snapMagic         = "DRVSNAP"
	snapFormat        = 1
	maxSnapshotBytes  = 1 << 30 // uncompressed; Restore refuses more
	minCanonicalBytes = len(snapMagic) + 1 + 3 + 1 + 4
)

// Record kinds, in the order they appear.
const (
	recEnd        byte = 0
	recSigningKey byte = 1
	recEndpoint   byte = 2
	recGroup      byte = 3
	recWorker     byte = 4
	recIntent     byte = 5
	recRemoved    byte = 6
	recDedup      byte = 7
)

// crcWriter forwards writes and keeps a CRC-32C of them.
type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc.Write(p)
	return c.w.Write(p)
}

// writeCanonical writes v's canonical bytes to w.
func writeCanonical(w io.Writer, v *View) error {
	cw := &crcWriter{w: w, crc: crc32.New(castagnoli)}
	buf := append([]byte(snapMagic), snapFormat)
	buf = binary.AppendUvarint(buf, v.Index)
	buf = binary.AppendUvarint(buf, v.nextEndpointID)
	buf = binary.AppendUvarint(buf, v.nextGroupID)
	if _, err := cw.Write(buf); err != nil {
		return err
	}
	rw := &recordWriter{w: cw}
	if v.SigningKey != nil {
		rw.raw(recSigningKey, v.SigningKey)
	}
	for _, e := range v.SortedEndpoints() {
		rw.json(recEndpoint, e)
	}
	for _, g := range v.SortedGroups() {
		rw.json(recGroup, g)
	}
	for _, wk := range v.SortedWorkers() {
		rw.json(recWorker, wk)
	}
	for _, in := range v.SortedIntents() {
		rw.json(recIntent, in)
	}
	for _, id := range sortedKeys(v.RemovedServers) {
		rw.raw(recRemoved, []byte(id))
	}
	for i := range v.dedup {
		rw.json(recDedup, &v.dedup[i])
	}
	if rw.err != nil {
		return rw.err
	}
	if _, err := cw.Write([]byte{recEnd}); err != nil {
		return err
	}
	_, err := w.Write(binary.BigEndian.AppendUint32(nil, cw.crc.Sum32()))
	return err
}

// recordWriter writes records and keeps the first error.
type recordWriter struct {
	w   io.Writer
	buf []byte
	err error
}

func (rw *recordWriter) raw(kind byte, body []byte) {
	if rw.err != nil {
		return
	}
	rw.buf = append(rw.buf[:0], kind)
	rw.buf = binary.AppendUvarint(rw.buf, uint64(len(body)))
	rw.buf = append(rw.buf, body...)
	_, rw.err = rw.w.Write(rw.buf)
}

func (rw *recordWriter) json(kind byte, x any) {
	if rw.err != nil {
		return
	}
	body, err := json.Marshal(x)
	if err != nil {
		rw.err = fmt.Errorf("fsm: encoding snapshot record %d: %w", kind, err)
		return
	}
	rw.raw(kind, body)
}

// canonicalBytes returns v's canonical bytes.
func canonicalBytes(v *View) ([]byte, error) {
	var b bytes.Buffer
	err := writeCanonical(&b, v)
	return b.Bytes(), err
}

// parseCanonical rebuilds a View (and its dedup index) from canonical bytes,
// checking the checksum, every object and every cross-reference, and that
// the bytes are exactly the canonical encoding of the result.
func parseCanonical(b []byte) (*View, map[RequestID]Result, error) {
	if len(b) < minCanonicalBytes || string(b[:len(snapMagic)]) != snapMagic {
		return nil, nil, fmt.Errorf("%w: not a drover snapshot", ErrCorrupt)
	}
	if b[len(snapMagic)] != snapFormat {
		return nil, nil, fmt.Errorf("%w: unknown snapshot format %d", ErrCorrupt, b[len(snapMagic)])
	}
	body := b[:len(b)-4]
	if binary.BigEndian.Uint32(b[len(b)-4:]) != crc32.Checksum(body, castagnoli) {
		return nil, nil, fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	p := &snapParser{rest: body[len(snapMagic)+1:]}
	tx := &txn{v: emptyView(), seen: map[RequestID]Result{}}
	tx.v.Index = p.uvarint()
	tx.v.nextEndpointID = p.uvarint()
	tx.v.nextGroupID = p.uvarint()
	if p.err != nil {
		return nil, nil, p.err
	}
	if tx.v.nextEndpointID == 0 || tx.v.nextGroupID == 0 {
		return nil, nil, fmt.Errorf("%w: id counters must start at 1", ErrCorrupt)
	}
	if err := p.records(tx); err != nil {
		return nil, nil, err
	}
	again, err := canonicalBytes(tx.v)
	if err != nil || !bytes.Equal(again, b) {
		return nil, nil, fmt.Errorf("%w: not in canonical form", ErrCorrupt)
	}
	return tx.v, tx.seen, nil
}

// snapParser reads the header fields and records of canonical bytes.
type snapParser struct {
	rest []byte
	err  error
}

func (p *snapParser) uvarint() uint64 {
	if p.err != nil {
		return 0
	}
	x, n := binary.Uvarint(p.rest)
	if n <= 0 {
		p.err = fmt.Errorf("%w: bad varint", ErrCorrupt)
		return 0
	}
	p.rest = p.rest[n:]
	return x
}

// records reads every record up to recEnd into tx.
func (p *snapParser) records(tx *txn) error {
	for {
		if len(p.rest) == 0 {
			return fmt.Errorf("%w: truncated", ErrCorrupt)
		}
		kind := p.rest[0]
		p.rest = p.rest[1:]
		if kind == recEnd {
			if len(p.rest) != 0 {
				return fmt.Errorf("%w: %d bytes after the last record", ErrCorrupt, len(p.rest))
			}
			return nil
		}
		n := p.uvarint()
		if p.err != nil {
			return p.err
		}
		if n > uint64(len(p.rest)) {
			return fmt.Errorf("%w: record overruns the snapshot", ErrCorrupt)
		}
		body := p.rest[:n]
		p.rest = p.rest[n:]
		if err := restoreRecord(tx, kind, body); err != nil {
			return fmt.Errorf("%w: record kind %d: %v", ErrCorrupt, kind, err)
		}
	}
}

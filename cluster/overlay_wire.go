package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/drover-io/drover/fsm"
	"github.com/klauspost/compress/s2"
)

// Overlay stream format. One stream per (sender, receiver) pair, sender to
// receiver only, on a transport.KindOverlay connection. Every frame is
//
//	[u32 big-endian length][flags][records…]
//
// where flags bit 0 means the records are s2-compressed (done when they
// exceed compressOver). A frame with no records is a heartbeat. The first
// frame holds one hello record. Records start with their type byte;
// integers are (u)varints, floats 8 bytes little endian, strings a uvarint
// length and the bytes:
//
//	'H' hello:     version, node id
//	'R' report:    worker, node, arrived, seq, by-seq byte, key, loadtime,
//	               new_load, cur_load, rej_load, max_perf, cur_perf,
//	               num_requests_working, error_msg, url
//	'S' state:     worker, node, last report, seq, cur_load, max_perf,
//	               loadtime, new_load rate, cur_perf rate, rej_load rate,
//	               num_requests_working, error_msg, url
//	'Q' queue:     endpoint, request_idx, cost, enqueued, expires, touched, node
//	'T' tombstone: endpoint, request_idx, at, until
//	'K' dedup key: worker, by-seq byte, key (full push only: reports the
//	               pushed states already count)
//
// A report's mtoken never travels.
const (
	recHello  byte = 'H'
	recReport byte = 'R'
	recState  byte = 'S'
	recQueue  byte = 'Q'
	recTomb   byte = 'T'
	recKey    byte = 'K'

	overlayVersion       = 1
	flagS2          byte = 1
	compressOver         = 4 << 10
	maxOverlayFrame      = 32 << 20
	fullPushChunk        = 1 << 20 // records per full-push frame, in bytes
	maxPendingOut        = 4 << 20 // unflushed records that trigger an early flush
)

// errOverlayFrame: a peer sent a frame this node cannot read.
var errOverlayFrame = errors.New("cluster: malformed overlay frame")

// reportRec is a report as merged and streamed: the stamp, the dedup key
// and the fields the merged view needs.
type reportRec struct {
	WorkerID                                              uint64
	St                                                    stamp
	Key                                                   dedupKey
	LoadTime, NewLoad, CurLoad, RejLoad, MaxPerf, CurPerf float64
	NumRequestsWorking                                    int64
	ErrorMsg, URL                                         string
}

func recordOf(r *fsm.LoadReport) reportRec {
	return reportRec{
		WorkerID: r.WorkerID, St: stamp{r.Arrived, r.Node, r.Seq}, Key: reportKey(r),
		LoadTime: r.LoadTime, NewLoad: r.NewLoad, CurLoad: r.CurLoad, RejLoad: r.RejLoad,
		MaxPerf: r.MaxPerf, CurPerf: r.CurPerf, NumRequestsWorking: r.NumRequestsWorking,
		ErrorMsg: r.ErrorMsg, URL: r.URL,
	}
}

func appendF64(b []byte, f float64) []byte {
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendHello(b []byte, node string) []byte {
	b = append(b, recHello)
	b = binary.AppendUvarint(b, overlayVersion)
	return appendStr(b, node)
}

func appendReportRec(b []byte, r *reportRec) []byte {
	b = append(b, recReport)
	b = binary.AppendUvarint(b, r.WorkerID)
	b = appendStr(b, r.St.node)
	b = binary.AppendVarint(b, r.St.arrived)
	b = binary.AppendUvarint(b, r.St.seq)
	bySeq := byte(0)
	if r.Key.BySeq {
		bySeq = 1
	}
	b = append(b, bySeq)
	b = binary.AppendUvarint(b, r.Key.Val)
	for _, f := range [...]float64{r.LoadTime, r.NewLoad, r.CurLoad, r.RejLoad, r.MaxPerf, r.CurPerf} {
		b = appendF64(b, f)
	}
	b = binary.AppendVarint(b, r.NumRequestsWorking)
	b = appendStr(b, r.ErrorMsg)
	return appendStr(b, r.URL)
}

func appendStateRec(b []byte, w *fsm.WorkerLoad) []byte {
	b = append(b, recState)
	b = binary.AppendUvarint(b, w.WorkerID)
	b = appendStr(b, w.Node)
	b = binary.AppendVarint(b, w.LastReport)
	b = binary.AppendUvarint(b, w.Seq)
	for _, f := range [...]float64{w.CurLoad, w.MaxPerf, w.LoadTime, w.NewLoadRate, w.CurPerfRate, w.RejLoadRate} {
		b = appendF64(b, f)
	}
	b = binary.AppendVarint(b, w.NumRequestsWorking)
	b = appendStr(b, w.ErrorMsg)
	return appendStr(b, w.URL)
}

func appendQueueRec(b []byte, r *queueRec) []byte {
	b = append(b, recQueue)
	b = binary.AppendUvarint(b, r.E.EndpointID)
	b = binary.AppendUvarint(b, r.E.RequestIdx)
	b = appendF64(b, r.E.Cost)
	b = binary.AppendVarint(b, r.E.Enqueued)
	b = binary.AppendVarint(b, r.E.Expires)
	b = binary.AppendVarint(b, r.Touched)
	return appendStr(b, r.E.Node)
}

func appendTombRec(b []byte, r *tombRec) []byte {
	b = append(b, recTomb)
	b = binary.AppendUvarint(b, r.Endpoint)
	b = binary.AppendUvarint(b, r.Idx)
	b = binary.AppendVarint(b, r.At)
	return binary.AppendVarint(b, r.Until)
}

func appendKeyRec(b []byte, k dedupEntryKey) []byte {
	b = append(b, recKey)
	b = binary.AppendUvarint(b, k.worker)
	bySeq := byte(0)
	if k.key.BySeq {
		bySeq = 1
	}
	b = append(b, bySeq)
	return binary.AppendUvarint(b, k.key.Val)
}

// encodeFrame wraps records into one frame, s2-compressed when large.
func encodeFrame(records []byte) []byte {
	if len(records) > compressOver {
		enc := s2.Encode(nil, records)
		f := make([]byte, 5, 5+len(enc))
		f[4] = flagS2
		f = append(f, enc...)
		binary.BigEndian.PutUint32(f, uint32(len(f)-4))
		return f
	}
	f := make([]byte, 5, 5+len(records))
	f = append(f, records...)
	binary.BigEndian.PutUint32(f, uint32(len(f)-4))
	return f
}

// readFrame reads one frame and returns its (decompressed) records.
func readFrame(r io.Reader) ([]byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(h[:4]))
	if n < 1 || n > maxOverlayFrame {
		return nil, fmt.Errorf("%w: length %d", errOverlayFrame, n)
	}
	body := make([]byte, n-1)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, err
	}
	switch h[4] {
	case 0:
		return body, nil
	case flagS2:
		if l, err := s2.DecodedLen(body); err != nil || l > maxOverlayFrame {
			return nil, fmt.Errorf("%w: s2 length %d, %v", errOverlayFrame, l, err)
		}
		out, err := s2.Decode(nil, body)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errOverlayFrame, err)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: flags %#x", errOverlayFrame, h[4])
	}
}

// recReader decodes records; the first error sticks.
type recReader struct {
	b   []byte
	err error
}

func (r *recReader) fail() {
	if r.err == nil {
		r.err = errOverlayFrame
	}
	r.b = nil
}

func (r *recReader) byte() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *recReader) uvarint() uint64 {
	x, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *recReader) varint() int64 {
	x, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return x
}

func (r *recReader) f64() float64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	x := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	return x
}

func (r *recReader) str() string {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail()
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *recReader) report() reportRec {
	var x reportRec
	x.WorkerID = r.uvarint()
	x.St.node = r.str()
	x.St.arrived = r.varint()
	x.St.seq = r.uvarint()
	x.Key.BySeq = r.byte() == 1
	x.Key.Val = r.uvarint()
	x.LoadTime, x.NewLoad, x.CurLoad = r.f64(), r.f64(), r.f64()
	x.RejLoad, x.MaxPerf, x.CurPerf = r.f64(), r.f64(), r.f64()
	x.NumRequestsWorking = r.varint()
	x.ErrorMsg = r.str()
	x.URL = r.str()
	return x
}

func (r *recReader) state() fsm.WorkerLoad {
	var w fsm.WorkerLoad
	w.WorkerID = r.uvarint()
	w.Node = r.str()
	w.LastReport = r.varint()
	w.Seq = r.uvarint()
	w.CurLoad, w.MaxPerf, w.LoadTime = r.f64(), r.f64(), r.f64()
	w.NewLoadRate, w.CurPerfRate, w.RejLoadRate = r.f64(), r.f64(), r.f64()
	w.NumRequestsWorking = r.varint()
	w.ErrorMsg = r.str()
	w.URL = r.str()
	return w
}

func (r *recReader) queue() queueRec {
	var q queueRec
	q.E.EndpointID = r.uvarint()
	q.E.RequestIdx = r.uvarint()
	q.E.Cost = r.f64()
	q.E.Enqueued = r.varint()
	q.E.Expires = r.varint()
	q.Touched = r.varint()
	q.E.Node = r.str()
	return q
}

func (r *recReader) tomb() tombRec {
	return tombRec{Endpoint: r.uvarint(), Idx: r.uvarint(), At: r.varint(), Until: r.varint()}
}

func (r *recReader) key() dedupEntryKey {
	var k dedupEntryKey
	k.worker = r.uvarint()
	k.key.BySeq = r.byte() == 1
	k.key.Val = r.uvarint()
	return k
}

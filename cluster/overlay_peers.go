package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/drover-io/drover/transport"
)

// peerLink is this node's outgoing stream to one peer. Its goroutine dials
// (with backoff), sends a full push, then the flushed delta frames and
// heartbeats; any error closes the connection and starts over, so a peer
// that restarted or fell behind gets a full push again.
type peerLink struct {
	id, addr string
	frames   chan []byte
	stop     chan struct{}
	once     sync.Once

	mu   sync.Mutex
	conn net.Conn
}

func (l *peerLink) close() {
	l.once.Do(func() { close(l.stop) })
	l.reset()
}

// reset closes the current connection; the link redials.
func (l *peerLink) reset() {
	l.mu.Lock()
	if l.conn != nil {
		l.conn.Close()
	}
	l.mu.Unlock()
}

func (l *peerLink) setConn(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	select {
	case <-l.stop:
		return false
	default:
	}
	l.conn = c
	return true
}

// peerLoop keeps one link per peer of the Raft configuration.
func (o *Overlay) peerLoop() {
	t := time.NewTicker(overlayPeerRefresh)
	defer t.Stop()
	for {
		o.syncPeers(o.peer())
		select {
		case <-o.stop:
			return
		case <-t.C:
		}
	}
}

// syncPeers starts links to new peers (or new addresses) and stops links to
// peers that left.
func (o *Overlay) syncPeers(peers map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case <-o.stop:
		// close has run or waits for the lock: a link started now would
		// outlive it (and hang its wait for the goroutines).
		return
	default:
	}
	for id, l := range o.links {
		if addr, ok := peers[id]; !ok || addr != l.addr {
			l.close()
			delete(o.links, id)
		}
	}
	for id, addr := range peers {
		if id == o.self || addr == "" || o.links[id] != nil {
			continue
		}
		l := &peerLink{id: id, addr: addr, frames: make(chan []byte, overlayLinkBuffer), stop: make(chan struct{})}
		o.links[id] = l
		o.goLoop(func() { o.runLink(l) })
	}
}

// flushLoop sends the records gathered since the last tick to every link,
// one frame for all. A link whose buffer is full is reset (it gets a full
// push when it reconnects).
func (o *Overlay) flushLoop() {
	t := time.NewTicker(overlayFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-o.stop:
			return
		case <-t.C:
			o.flush()
		case <-o.kick:
			o.flush()
		}
	}
}

func (o *Overlay) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.flushLocked()
}

// flushLocked sends the gathered records (this node's reports and every
// endpoint queue's records) as frames to every link.
func (o *Overlay) flushLocked() {
	o.out = o.takeQueueRecords(o.out, o.sendLocked)
	o.out = o.sendLocked(o.out)
	if cap(o.out) > fullPushChunk {
		o.out = nil
	}
}

// sendLocked sends records as one frame to every link and returns the
// emptied buffer.
func (o *Overlay) sendLocked(records []byte) []byte {
	if len(records) == 0 {
		return records
	}
	f := encodeFrame(records)
	for _, l := range o.links {
		select {
		case l.frames <- f:
		default:
			o.log.Warn("overlay: peer falls behind, resetting its stream", "peer", l.id)
			l.reset()
		}
	}
	return records[:0]
}

// runLink dials the peer until the link stops.
func (o *Overlay) runLink(l *peerLink) {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		conn, err := o.mux.Dial(l.addr, transport.KindOverlay, overlayDialTimeout)
		if err == nil {
			if !l.setConn(conn) {
				conn.Close()
				return
			}
			began := time.Now()
			err = o.serveLink(conn, l)
			conn.Close()
			if time.Since(began) > 2*overlayMaxBackoff {
				backoff = 100 * time.Millisecond
			}
		}
		o.log.Debug("overlay: stream to peer ended", "peer", l.id, "err", err)
		select {
		case <-l.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, overlayMaxBackoff)
	}
}

// serveLink sends the hello, a full push, then deltas and heartbeats.
func (o *Overlay) serveLink(conn net.Conn, l *peerLink) error {
	for len(l.frames) > 0 { // the full push below covers them
		<-l.frames
	}
	frames := [][]byte{encodeFrame(appendHello(nil, o.self))}
	frames = append(frames, o.fullPush()...)
	for _, f := range frames {
		if err := writeFrame(conn, f); err != nil {
			return err
		}
	}
	hb := time.NewTicker(overlayHeartbeat)
	defer hb.Stop()
	heartbeat := encodeFrame(nil)
	for {
		var f []byte
		select {
		case <-l.stop:
			return nil
		case f = <-l.frames:
		case <-hb.C:
			f = heartbeat
		}
		if err := writeFrame(conn, f); err != nil {
			return err
		}
	}
}

func writeFrame(conn net.Conn, f []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(overlayWriteTimeout))
	_, err := conn.Write(f)
	return err
}

// fullPush encodes this node's whole overlay (every worker's merged state,
// the dedup keys of the reports they count, live queue entries, tombstones)
// into frames.
func (o *Overlay) fullPush() [][]byte {
	now := o.now().UnixNano()
	var frames [][]byte
	var b []byte
	cut := func() {
		if len(b) >= fullPushChunk {
			frames = append(frames, encodeFrame(b))
			b = b[:0]
		}
	}
	for _, s := range *o.wrk.Load() {
		if w := s.load.Load(); w != nil {
			b = appendStateRec(b, w)
			cut()
		}
	}
	b = o.appendQueueState(b, now, func(x []byte) []byte {
		if len(x) >= fullPushChunk {
			frames = append(frames, encodeFrame(x))
			return x[:0]
		}
		return x
	})
	o.mu.Lock()
	for _, e := range o.dedup.live(now) {
		b = appendKeyRec(b, e)
		cut()
	}
	o.mu.Unlock()
	if len(b) > 0 {
		frames = append(frames, encodeFrame(b))
	}
	return frames
}

// acceptLoop serves incoming overlay streams.
func (o *Overlay) acceptLoop(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		o.mu.Lock()
		select {
		case <-o.stop:
			o.mu.Unlock()
			c.Close()
			return
		default:
		}
		o.inbound[c] = struct{}{}
		o.mu.Unlock()
		o.goLoop(func() {
			err := o.serveInbound(c)
			o.log.Debug("overlay: incoming stream ended", "remote", c.RemoteAddr().String(), "err", err)
			o.mu.Lock()
			delete(o.inbound, c)
			o.mu.Unlock()
			c.Close()
		})
	}
}

// serveInbound reads one peer's stream and merges its records.
func (o *Overlay) serveInbound(c net.Conn) error {
	br := bufio.NewReaderSize(c, 64<<10)
	_ = c.SetReadDeadline(time.Now().Add(overlayReadTimeout))
	recs, err := readFrame(br)
	if err != nil {
		return err
	}
	r := recReader{b: recs}
	if r.byte() != recHello || r.uvarint() != overlayVersion {
		return fmt.Errorf("%w: bad hello", errOverlayFrame)
	}
	peer := r.str()
	if r.err != nil || peer == "" {
		return fmt.Errorf("%w: bad hello", errOverlayFrame)
	}
	for {
		_ = c.SetReadDeadline(time.Now().Add(overlayReadTimeout))
		recs, err := readFrame(br)
		if err != nil {
			return err
		}
		if err := o.applyRecords(peer, recs); err != nil {
			o.log.Warn("overlay: bad frame from peer", "peer", peer, "err", err)
			return err
		}
	}
}

// applyRecords merges one frame's records and marks the peer fresh.
func (o *Overlay) applyRecords(peer string, recs []byte) error {
	now := o.now().UnixNano()
	r := recReader{b: recs}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.fresh[peer] = now
	for len(r.b) > 0 && r.err == nil {
		switch r.byte() {
		case recReport:
			x := r.report()
			if r.err == nil {
				o.mergeReportLocked(&x, now)
			}
		case recState:
			w := r.state()
			if r.err == nil {
				o.mergeStateLocked(&w, now)
			}
		case recQueue:
			q := r.queue()
			if r.err == nil {
				o.mergeQueue(q, now)
			}
		case recKey:
			k := r.key()
			if r.err == nil {
				o.dedup.add(k.worker, k.key, now)
			}
		case recTomb:
			t := r.tomb()
			if r.err == nil {
				o.mergeTomb(t)
			}
		default:
			r.fail()
		}
	}
	if r.err != nil {
		return errors.Join(r.err, fmt.Errorf("peer %s", peer))
	}
	return nil
}

// Freshness returns, per peer node, the age of the last frame (delta or
// heartbeat) received from it. A configured peer never heard from shows the
// age of this overlay.
func (o *Overlay) Freshness() map[string]time.Duration {
	now := o.now().UnixNano()
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]time.Duration, len(o.links))
	for id := range o.links {
		out[id] = time.Duration(now - o.started)
	}
	for id, t := range o.fresh {
		if _, ok := o.links[id]; ok || now-t < int64(time.Minute) {
			out[id] = time.Duration(now - t)
		}
	}
	return out
}

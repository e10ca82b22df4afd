package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// outcome is how a request ended.
type outcome uint8

const (
	outcomeSuccess outcome = iota
	outcomeError
	outcomeCancelled // the client went away
	outcomeRejected  // 401 or 429
)

// status is the /delete_requests/ "status" of an outcome.
func (o outcome) status() string {
	return [...]string{"Success", "Error", "Cancelled", "Rejected"}[o]
}

// deleteEntry is one element of the current /delete_requests/ form.
type deleteEntry struct {
	RequestIdx      json.Number `json:"request_idx"`
	Success         bool        `json:"success"`
	Status          string      `json:"status"`
	EnteredQueueAt  pyFloat     `json:"entered_queue_at"`
	WorkStartedAt   pyFloat     `json:"work_started_at"`
	WorkCompletedAt pyFloat     `json:"work_completed_at"`
}

type deleteBody struct {
	WorkerID uint64        `json:"worker_id"`
	MToken   string        `json:"mtoken"`
	Requests []deleteEntry `json:"requests"`
}

// maxPendingDeletes bounds what is kept while the engine is unreachable.
const maxPendingDeletes = 10000

// deleter batches /delete_requests/ entries and posts them DeleteDelay
// after the first event of a batch; a failed batch is retried with the next.
type deleter struct {
	mu      sync.Mutex
	pending []deleteEntry
	wake    chan struct{}
}

func newDeleter() *deleter { return &deleter{wake: make(chan struct{}, 1)} }

func unixSeconds(t time.Time) pyFloat {
	if t.IsZero() {
		return 0
	}
	return pyFloat(float64(t.UnixNano()) / 1e9)
}

// add queues an entry for request idx (skipped when idx is not a number,
// e.g. from an unauthenticated caller).
func (d *deleter) add(idx json.Number, o outcome, entered, started, done time.Time) {
	if _, ok := parseUintNumber(idx); !ok {
		return
	}
	e := deleteEntry{
		RequestIdx: idx, Success: o == outcomeSuccess || o == outcomeCancelled, Status: o.status(),
		EnteredQueueAt: unixSeconds(entered), WorkStartedAt: unixSeconds(started), WorkCompletedAt: unixSeconds(done),
	}
	d.mu.Lock()
	if len(d.pending) < maxPendingDeletes {
		d.pending = append(d.pending, e)
	}
	d.mu.Unlock()
	d.signal()
}

func (d *deleter) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deleter) take() []deleteEntry {
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.pending
	d.pending = nil
	return b
}

func (d *deleter) putBack(b []deleteEntry) {
	d.mu.Lock()
	if len(b)+len(d.pending) <= maxPendingDeletes {
		d.pending = append(b, d.pending...)
	}
	d.mu.Unlock()
	d.signal()
}

// deleteLoop posts the batches.
func (w *Worker) deleteLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.del.wake:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(w.cfg.DeleteDelay):
		}
		batch := w.del.take()
		if len(batch) == 0 {
			continue
		}
		body, _ := json.Marshal(deleteBody{WorkerID: w.cfg.ID, MToken: w.cfg.MToken, Requests: batch})
		if _, err := w.eng.do(ctx, http.MethodPost, "/delete_requests/", body); err != nil {
			if ctx.Err() == nil {
				w.logger.Warn("delete_requests failed; retrying with the next batch", "err", err, "entries", len(batch))
			}
			w.del.putBack(batch)
		}
	}
}

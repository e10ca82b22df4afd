package worker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"
)

// pyFloat is a float64 that marshals the way Python writes a float: always
// with a decimal point or exponent (0.0, 100.0, 1.5), never NaN or Inf.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	b := strconv.AppendFloat(nil, v, 'g', -1, 64)
	for _, c := range b {
		if c == '.' || c == 'e' {
			return b, nil
		}
	}
	return append(b, '.', '0'), nil
}

// statusReport is one POST /worker_status/ body: the spec's 17 fields, with
// their JSON number types (ints stay ints, loads and perf are floats), plus
// drover_seq.
type statusReport struct {
	ID                  uint64        `json:"id"`
	MToken              string        `json:"mtoken"`
	Version             string        `json:"version"`
	LoadTime            pyFloat       `json:"loadtime"`
	NewLoad             pyFloat       `json:"new_load"`
	CurLoad             pyFloat       `json:"cur_load"`
	RejLoad             pyFloat       `json:"rej_load"`
	MaxPerf             pyFloat       `json:"max_perf"`
	CurPerf             pyFloat       `json:"cur_perf"`
	ErrorMsg            string        `json:"error_msg"`
	NumRequestsWorking  int64         `json:"num_requests_working"`
	NumRequestsRecieved int64         `json:"num_requests_recieved"`
	AdditionalDiskUsage pyFloat       `json:"additional_disk_usage"`
	WorkingRequestIdxs  []json.Number `json:"working_request_idxs"`
	CurCapacity         int64         `json:"cur_capacity"`
	MaxCapacity         int64         `json:"max_capacity"`
	URL                 string        `json:"url"`
	DroverSeq           uint64        `json:"drover_seq"`
}

// statusAnswer is the part of the /worker_status/ answer the worker reads.
type statusAnswer struct {
	DroverKey string `json:"drover_key"`
}

// kick asks the report loop for a report at once (model loaded or failed,
// a client cancelled).
func (w *Worker) kick() {
	select {
	case w.urgent <- struct{}{}:
	default:
	}
}

// reportLoop reports at once at start, at once after kick, at every busy
// tick while requests are in flight or something happened since the last
// report (or the last one failed), and otherwise every IdleInterval.
func (w *Worker) reportLoop(ctx context.Context) {
	w.report(ctx)
	last := time.Now()
	t := time.NewTicker(w.cfg.BusyInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.urgent:
		case <-t.C:
			if w.armed() && !w.st.due() && time.Since(last) < w.cfg.IdleInterval {
				continue
			}
		}
		w.report(ctx)
		last = time.Now()
	}
}

// report posts one report. The interval sums are only subtracted after a
// successful POST, so a failed one is folded into the next.
func (w *Worker) report(ctx context.Context) {
	r, sums := w.st.snapshot()
	r.ID, r.MToken, r.Version, r.URL = w.cfg.ID, w.cfg.MToken, w.cfg.Version, w.url
	armed := w.armed()
	if !armed {
		// Without the public key and the drover key every request would
		// get 401: report "still loading" so nothing is routed here yet.
		r.LoadTime, r.MaxPerf = 0, 0
	}
	r.DroverSeq = w.seq.Add(1)
	body, err := json.Marshal(r)
	if err != nil {
		w.logger.Error("report: marshal", "err", err)
		return
	}
	ans, err := w.eng.do(ctx, http.MethodPost, "/worker_status/", body)
	if err != nil {
		w.st.markDirty()
		if ctx.Err() == nil {
			w.logger.Warn("report failed; keeping the interval sums", "err", err)
		}
		return
	}
	w.st.reported(sums)
	var a statusAnswer
	if json.Unmarshal(ans, &a) == nil && a.DroverKey != "" {
		key, err := base64.StdEncoding.DecodeString(a.DroverKey)
		if err != nil || len(key) == 0 {
			w.logger.Warn("report: bad drover_key in the answer", "err", err)
			return
		}
		if old := w.key.Load(); old == nil || string(*old) != string(key) {
			w.key.Store(&key)
			w.logger.Info("learnt the drover key")
		}
	}
	if !armed && w.armed() {
		w.kick() // now able to authenticate requests: report the real state at once
	}
}

// armed reports whether the worker can authenticate requests: it has the
// engine's public key and its drover key (or runs UNSECURED).
func (w *Worker) armed() bool {
	return w.cfg.Unsecured || (w.pub.Load() != nil && w.key.Load() != nil)
}

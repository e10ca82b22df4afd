package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/drover-io/drover/fsm"
)

// Bounds of the /worker_status/ and /delete_requests/ fields (documented in
// docs/engine-api.md). A scalar past its bound makes the whole body unusable
// (400, {"error":…}); a list entry that is bad or past the list's bound is
// skipped and counted (drover_worker_input_skipped_total); an error_msg past
// its bound is cut to it, so a worker's error is never lost.
const (
	maxLoadValue   = 1e12     // load and perf numbers: 0…1e12
	maxDiskDelta   = 1e9      // additional_disk_usage (GB, now minus last report): -1e9…1e9
	maxLoadTime    = 1e8      // loadtime, seconds
	maxCount       = 1 << 53  // request counts
	maxStringBytes = 4096     // version, url, mtoken, a delete entry's status
	maxErrorBytes  = 64 << 10 // error_msg: longer is cut to this many bytes
	maxListEntries = 10_000   // working_request_idxs, requests, request_idxs: later entries are skipped
)

// Reasons of drover_worker_input_skipped_total.
const (
	skipBadIdx    = "bad_request_idx" // an entry whose request_idx is not an integer in 0…2^63-1
	skipBadEntry  = "bad_entry"       // a delete entry that is not an object of the documented types
	skipTooMany   = "too_many_entries"
	skipTruncated = "error_msg_truncated"
)

// skipCounts is what a body's parse skipped, by reason.
type skipCounts map[string]int

func (c *skipCounts) add(reason string, n int) {
	if n == 0 {
		return
	}
	if *c == nil {
		*c = skipCounts{}
	}
	(*c)[reason] += n
}

func (c skipCounts) total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// statusBody is a /worker_status/ report as sent; every field is optional.
type statusBody struct {
	ID                  json.Number       `json:"id"`
	MToken              string            `json:"mtoken"`
	Version             string            `json:"version"`
	LoadTime            json.Number       `json:"loadtime"`
	NewLoad             json.Number       `json:"new_load"`
	CurLoad             json.Number       `json:"cur_load"`
	RejLoad             json.Number       `json:"rej_load"`
	MaxPerf             json.Number       `json:"max_perf"`
	CurPerf             json.Number       `json:"cur_perf"`
	ErrorMsg            string            `json:"error_msg"`
	NumRequestsWorking  json.Number       `json:"num_requests_working"`
	NumRequestsReceived json.Number       `json:"num_requests_recieved"`
	AdditionalDiskUsage json.Number       `json:"additional_disk_usage"`
	WorkingRequestIdxs  []json.RawMessage `json:"working_request_idxs"`
	CurCapacity         json.Number       `json:"cur_capacity"`
	MaxCapacity         json.Number       `json:"max_capacity"`
	URL                 string            `json:"url"`
	DroverSeq           json.Number       `json:"drover_seq"`
}

// decodeObject unmarshals body, which must be one JSON object, into v.
func decodeObject(body []byte, v any) error {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '{' {
		return errors.New("body must be a JSON object")
	}
	if err := json.Unmarshal(t, v); err != nil {
		return fmt.Errorf("malformed body: %v", err)
	}
	return nil
}

// parseLoadReport checks a /worker_status/ body and converts it; skipped
// says what it left out.
func parseLoadReport(body []byte) (*fsm.LoadReport, skipCounts, error) {
	var b statusBody
	if err := decodeObject(body, &b); err != nil {
		return nil, nil, err
	}
	r := &fsm.LoadReport{MToken: b.MToken, Version: b.Version, URL: b.URL}
	var skipped skipCounts
	r.ErrorMsg = cutUTF8(b.ErrorMsg, maxErrorBytes)
	if len(r.ErrorMsg) < len(b.ErrorMsg) {
		skipped.add(skipTruncated, 1)
	}
	var err error
	if r.WorkerID, err = uintField("id", b.ID, math.MaxInt64, true); err != nil {
		return nil, nil, err
	}
	floats := []struct {
		name     string
		n        json.Number
		dst      *float64
		min, max float64
	}{
		{"loadtime", b.LoadTime, &r.LoadTime, 0, maxLoadTime},
		{"new_load", b.NewLoad, &r.NewLoad, 0, maxLoadValue},
		{"cur_load", b.CurLoad, &r.CurLoad, 0, maxLoadValue},
		{"rej_load", b.RejLoad, &r.RejLoad, 0, maxLoadValue},
		{"max_perf", b.MaxPerf, &r.MaxPerf, 0, maxLoadValue},
		{"cur_perf", b.CurPerf, &r.CurPerf, 0, maxLoadValue},
		{"additional_disk_usage", b.AdditionalDiskUsage, &r.AdditionalDiskUsage, -maxDiskDelta, maxDiskDelta},
		{"cur_capacity", b.CurCapacity, new(float64), 0, maxLoadValue},
		{"max_capacity", b.MaxCapacity, new(float64), 0, maxLoadValue},
	}
	for _, f := range floats {
		if *f.dst, err = floatField(f.name, f.n, f.min, f.max); err != nil {
			return nil, nil, err
		}
	}
	if err := fillCounts(r, &b); err != nil {
		return nil, nil, err
	}
	r.WorkingRequestIdxs = idxList(b.WorkingRequestIdxs, &skipped)
	return r, skipped, checkReportStrings(r)
}

// fillCounts converts the integer fields of a report.
func fillCounts(r *fsm.LoadReport, b *statusBody) error {
	working, err := uintField("num_requests_working", b.NumRequestsWorking, maxCount, false)
	if err != nil {
		return err
	}
	received, err := uintField("num_requests_recieved", b.NumRequestsReceived, maxCount, false)
	if err != nil {
		return err
	}
	r.NumRequestsWorking, r.NumRequestsReceived = int64(working), int64(received)
	r.ReportSeq, err = uintField("drover_seq", b.DroverSeq, math.MaxUint64, false)
	return err
}

// idxList converts a list of request indexes, skipping (and counting) bad
// entries and those past maxListEntries.
func idxList(raw []json.RawMessage, skipped *skipCounts) []uint64 {
	if len(raw) > maxListEntries {
		skipped.add(skipTooMany, len(raw)-maxListEntries)
		raw = raw[:maxListEntries]
	}
	var out []uint64
	for _, m := range raw {
		idx, ok := requestIdx(m)
		if !ok {
			skipped.add(skipBadIdx, 1)
			continue
		}
		out = append(out, idx)
	}
	return out
}

// requestIdx parses one request_idx: a JSON integer (an integral float
// counts) in 0…2^63-1. Anything else (a string, -1, 1e30, null, missing) is
// not an index drover ever issued.
func requestIdx(m json.RawMessage) (uint64, bool) {
	m = bytes.TrimSpace(m)
	if len(m) == 0 || (m[0] != '-' && (m[0] < '0' || m[0] > '9')) {
		return 0, false
	}
	v, err := uintField("request_idx", json.Number(m), math.MaxInt64, false)
	return v, err == nil
}

// cutUTF8 returns s cut to at most n bytes on a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// checkReportStrings bounds the report's strings; url must be "" or http(s).
func checkReportStrings(r *fsm.LoadReport) error {
	switch {
	case len(r.Version) > maxStringBytes || len(r.URL) > maxStringBytes || len(r.MToken) > maxStringBytes:
		return errors.New("version, url and mtoken are limited to 4096 bytes")
	case r.URL != "" && !strings.HasPrefix(r.URL, "http://") && !strings.HasPrefix(r.URL, "https://"):
		return errors.New("url must be an http(s) URL")
	}
	return nil
}

// floatField parses an optional number: finite, min…max ("" is 0).
func floatField(name string, n json.Number, min, max float64) (float64, error) {
	if n == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < min || f > max {
		return 0, fmt.Errorf("%s must be a finite number in %g...%g", name, min, max)
	}
	return f, nil
}

// uintField parses an optional integer (an integral float counts) in
// 0…max; required: it must be present and positive.
func uintField(name string, n json.Number, max uint64, required bool) (uint64, error) {
	if n == "" {
		if required {
			return 0, fmt.Errorf("%s is required", name)
		}
		return 0, nil
	}
	v, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil || f < 0 || f != math.Trunc(f) || f >= math.MaxUint64 {
			return 0, fmt.Errorf("%s must be a non-negative integer", name)
		}
		v = uint64(f)
	}
	if v > max || (required && v == 0) {
		return 0, fmt.Errorf("%s out of range", name)
	}
	return v, nil
}

// deleteBody is a /delete_requests/ body in either form: current workers
// send requests[], older ones request_idxs[] with one success flag. Entries
// are decoded one by one, so a bad one is skipped, never fatal.
type deleteBody struct {
	WorkerID    json.Number       `json:"worker_id"`
	MToken      string            `json:"mtoken"`
	Requests    []json.RawMessage `json:"requests"`
	RequestIdxs []json.RawMessage `json:"request_idxs"`
	Success     *bool             `json:"success"`
}

// deleteEntry is one element of requests[]. The timestamps
// (entered_queue_at, work_started_at, work_completed_at) are not used and
// not checked.
type deleteEntry struct {
	RequestIdx json.RawMessage `json:"request_idx"`
	Success    *bool           `json:"success"`
	Status     string          `json:"status"`
}

// Request statuses of /delete_requests/.
const (
	statusSuccess   = "Success"
	statusError     = "Error"
	statusCancelled = "Cancelled"
	statusRejected  = "Rejected"
)

// deleteCall is a checked /delete_requests/ body.
type deleteCall struct {
	workerID uint64
	mtoken   string
	closed   []uint64 // request indexes it closes
	skipped  skipCounts
}

// closedIdxs checks a /delete_requests/ body and returns the worker id and
// the request indexes it closes: every entry but Rejected ones (a rejected
// request is routed again with the same request_idx), entries of an
// unknown status, and failed entries without a status. Bad entries (an
// index that is not one drover issues, a wrong type) and entries past
// maxListEntries are skipped and counted; only a body without a usable
// worker_id or mtoken, or with lists that are not lists, is an error.
func closedIdxs(body []byte) (deleteCall, error) {
	var b deleteBody
	if err := decodeObject(body, &b); err != nil {
		return deleteCall{}, err
	}
	id, err := uintField("worker_id", b.WorkerID, math.MaxInt64, true)
	if err != nil {
		return deleteCall{}, err
	}
	c := deleteCall{workerID: id, mtoken: b.MToken}
	reqs := b.Requests
	if len(reqs) > maxListEntries {
		c.skipped.add(skipTooMany, len(reqs)-maxListEntries)
		reqs = reqs[:maxListEntries]
	}
	for _, raw := range reqs {
		var rq deleteEntry
		if err := decodeObject(raw, &rq); err != nil || len(rq.Status) > maxStringBytes {
			c.skipped.add(skipBadEntry, 1)
			continue
		}
		idx, ok := requestIdx(rq.RequestIdx)
		if !ok {
			c.skipped.add(skipBadIdx, 1)
			continue
		}
		switch rq.Status {
		case statusSuccess, statusError, statusCancelled:
			c.closed = append(c.closed, idx)
		case "":
			if rq.Success == nil || *rq.Success {
				c.closed = append(c.closed, idx)
			}
		}
	}
	old := idxList(b.RequestIdxs, &c.skipped)
	if b.Success == nil || *b.Success { // old form: a failure may be a rejection
		c.closed = append(c.closed, old...)
	}
	return c, nil
}

package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// waitHealthy polls the model's health path: 200 is loaded, 503 (or no
// answer) still loading, any other status a failed load.
func (w *Worker) waitHealthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.LoadTimeout)
	defer cancel()
	url := w.cfg.ModelURL + w.cfg.HealthPath
	for {
		status, body, err := w.get(ctx, url)
		switch {
		case err == nil && status == http.StatusOK:
			return nil
		case err == nil && status != http.StatusServiceUnavailable:
			return fmt.Errorf("%w: health answered %d: %.200s", ErrModelLoad, status, body)
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("%w: not healthy after %v", ErrModelLoad, w.cfg.LoadTimeout)
			}
			return ctx.Err()
		case <-time.After(w.cfg.HealthInterval):
		}
	}
}

func (w *Worker) get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := w.model.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, b, nil
}

// benchmark sends BenchmarkRequests requests, BenchmarkConcurrency at a
// time, and returns max_perf = requests × BenchmarkCost / elapsed seconds.
func (w *Worker) benchmark(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.BenchmarkTimeout)
	defer cancel()
	n := w.cfg.BenchmarkRequests
	var next atomic.Int64
	var once sync.Once
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for range min(w.cfg.BenchmarkConcurrency, n) {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := w.benchOne(ctx); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("%w: benchmark: %v", ErrModelLoad, firstErr)
	}
	elapsed := max(time.Since(start).Seconds(), 1e-6)
	perf := float64(n) * w.cfg.BenchmarkCost / elapsed
	if perf <= 0 {
		return 0, fmt.Errorf("%w: benchmark measured no perf", ErrModelLoad)
	}
	return perf, nil
}

func (w *Worker) benchOne(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.ModelURL+w.cfg.BenchmarkPath,
		bytes.NewReader(w.cfg.BenchmarkPayload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.model.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s answered %d", w.cfg.BenchmarkPath, resp.StatusCode)
	}
	return nil
}

package jepsen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// list reads the provider's fleet.
func (s *Scale) list(ctx context.Context) ([]Instance, error) {
	var raw []simInstance
	if err := s.get(ctx, "/list", &raw); err != nil {
		return nil, err
	}
	out := make([]Instance, len(raw))
	for i, in := range raw {
		ep := s.name
		if in.GroupID != s.groupID {
			ep = "group-" + strconv.FormatUint(in.GroupID, 10)
		}
		out[i] = Instance{ID: in.ID, Intent: in.IntentKey, Endpoint: ep, Live: in.State != "gone"}
	}
	return out, nil
}

func (s *Scale) get(ctx context.Context, path string, v any) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+s.addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := s.c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jepsen: sim-provider %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Sample lists the fleet every period until ctx ends.
func (s *Scale) Sample(ctx context.Context, period time.Duration) {
	for sleepCtx(ctx, period) {
		list, err := s.list(ctx)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.samples = append(s.samples, ScaleSample{Time: s.h.Now(), Instances: list,
			MaxWorkers: map[string]int{s.name: s.MaxWorkers}})
		s.mu.Unlock()
	}
}

// known returns the instance ids the cluster's workers hold.
func (s *Scale) known(ctx context.Context) (map[string]bool, error) {
	var last error
	for _, n := range s.c.Nodes() {
		cctx, cancel := context.WithTimeout(ctx, s.c.cfg.ClientTimeout)
		code, b := n.Do(cctx, http.MethodGet, "/v1/workers?endpoint="+strconv.FormatUint(s.epID, 10), nil)
		cancel()
		var a struct {
			Workers []struct {
				InstanceID string `json:"instance_id"`
			} `json:"workers"`
		}
		if code != http.StatusOK || json.Unmarshal(b, &a) != nil {
			last = fmt.Errorf("jepsen: /v1/workers on %s: %d %.100s", n.ID, code, b)
			continue
		}
		out := map[string]bool{}
		for _, w := range a.Workers {
			if w.InstanceID != "" {
				out[w.InstanceID] = true
			}
		}
		return out, nil
	}
	return nil, last
}

// Check runs CheckScale over the samples and, after heal, waits up to
// timeout for the cluster to know every live instance; the provider's
// own peaks are checked too.
func (s *Scale) Check(timeout time.Duration) ScaleResult {
	ctx := context.Background()
	var final []Instance
	var known map[string]bool
	for deadline := time.Now().Add(timeout); ; {
		var err error
		final, err = s.list(ctx)
		if err == nil {
			known, err = s.known(ctx)
		}
		if err == nil && CheckScale(nil, final, known).Valid() || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	s.mu.Lock()
	r := CheckScale(s.samples, final, known)
	s.mu.Unlock()
	var st simStats
	if err := s.get(ctx, "/stats", &st); err != nil {
		r.Violations = append(r.Violations, "no provider stats: "+err.Error())
		return r
	}
	r.Creates, r.PeakLive = st.Creates, st.PeakLive[strconv.FormatUint(s.epID, 10)]
	if st.PeakKeyLive > 1 {
		r.Violations = append(r.Violations, fmt.Sprintf("provider saw an intent with %d live instances (duplicated create)", st.PeakKeyLive))
	}
	if p := st.PeakLive[strconv.FormatUint(s.epID, 10)]; p > s.MaxWorkers {
		r.Violations = append(r.Violations, fmt.Sprintf("provider saw %d live instances, max_workers %d", p, s.MaxWorkers))
	}
	return r
}

package edge

import (
	"math"
	"strconv"

	"github.com/drover-io/drover/fsm"
)

// appendFloat writes f the way Python's json.dumps writes a float, which is
// what Vast sends: always with a fraction or an exponent (100 → 100.0), so
// a client that checks types sees a float. Non-finite values (never stored)
// are written as 0.0.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "0.0"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
		return append(b, ".0"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// vastFloat is a float64 that marshals with appendFloat.
type vastFloat float64

func (f vastFloat) MarshalJSON() ([]byte, error) { return appendFloat(nil, float64(f)), nil }

// vastEndpoint is an endpoint as the console API answers it: fsm.Endpoint's
// fields, with the ones Vast sends as floats (min_load, max_queue_time, …)
// written as floats even when integral. The outer fields shadow the
// embedded ones of the same JSON name.
type vastEndpoint struct {
	*fsm.Endpoint
	MinLoad         vastFloat `json:"min_load"`
	MinColdLoad     vastFloat `json:"min_cold_load"`
	TargetUtil      vastFloat `json:"target_util"`
	ColdMult        vastFloat `json:"cold_mult"`
	MaxQueueTime    vastFloat `json:"max_queue_time"`
	TargetQueueTime vastFloat `json:"target_queue_time"`
	CreatedAt       vastFloat `json:"created_at"`
}

func toVastEndpoint(e *fsm.Endpoint) vastEndpoint {
	return vastEndpoint{Endpoint: e, MinLoad: vastFloat(e.MinLoad), MinColdLoad: vastFloat(e.MinColdLoad),
		TargetUtil: vastFloat(e.TargetUtil), ColdMult: vastFloat(e.ColdMult), MaxQueueTime: vastFloat(e.MaxQueueTime),
		TargetQueueTime: vastFloat(e.TargetQueueTime), CreatedAt: vastFloat(e.CreatedAt)}
}

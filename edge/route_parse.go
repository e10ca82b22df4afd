package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// routeRequest is a parsed /route/ body. String fields point into the body
// (fast path) or into fresh memory (slow path); number fields hold the
// JSON number text, nil when absent or null.
type routeRequest struct {
	endpoint, apiKey    []byte
	cost, idx, replay   []byte
	hasEndpoint, hasKey bool
}

// Limits of /route/ numbers.
const (
	defaultCost      = 100
	maxCost          = 1e12
	maxReplaySeconds = 3600
)

var (
	errRouteBody   = errors.New("body must be a JSON object")
	errRouteTypes  = errors.New("endpoint and api_key must be strings; cost, request_idx and replay_timeout numbers")
	errCost        = errors.New("cost must be a finite number in 0...1e12")
	errRequestIdx  = errors.New("request_idx must be a non-negative integer")
	errReplay      = errors.New("replay_timeout must be a finite number >= 0")
	errNoEndpoint  = errors.New("endpoint is required")
	errNumberShape = errors.New("not a number")
)

// parseRouteRequest parses a /route/ body: a fast path for flat objects of
// the known keys with plain strings and numbers (what clients send), else
// encoding/json. Both accept exactly what encoding/json accepts for those
// cases (FuzzRouteRequest checks it).
func parseRouteRequest(body []byte, r *routeRequest) error {
	*r = routeRequest{}
	if parseRouteFast(body, r) {
		return nil
	}
	*r = routeRequest{}
	return parseRouteSlow(body, r)
}

// parseRouteFast returns false (leaving r in any state) on anything but
// a flat object of known keys with escape-free ASCII strings and numbers.
func parseRouteFast(b []byte, r *routeRequest) bool {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return skipWS(b, i+1) == len(b)
	}
	for {
		key, j, ok := scanString(b, i)
		if !ok {
			return false
		}
		j = skipWS(b, j)
		if j >= len(b) || b[j] != ':' {
			return false
		}
		j = skipWS(b, j+1)
		if j, ok = r.fastValue(b2s(key), b, j); !ok {
			return false
		}
		j = skipWS(b, j)
		if j >= len(b) {
			return false
		}
		switch b[j] {
		case ',':
			i = skipWS(b, j+1)
		case '}':
			return skipWS(b, j+1) == len(b)
		default:
			return false
		}
	}
}

// fastValue scans the value of key at b[i:].
func (r *routeRequest) fastValue(key string, b []byte, i int) (int, bool) {
	var s []byte
	var ok bool
	switch key {
	case "endpoint", "api_key":
		if s, i, ok = scanString(b, i); !ok {
			return 0, false
		}
		if key == "endpoint" {
			r.endpoint, r.hasEndpoint = s, true
		} else {
			r.apiKey, r.hasKey = s, true
		}
	case "cost", "request_idx", "replay_timeout":
		start := i
		if i, ok = scanNumber(b, i); !ok {
			return 0, false
		}
		s = b[start:i]
		switch key {
		case "cost":
			r.cost = s
		case "request_idx":
			r.idx = s
		default:
			r.replay = s
		}
	default:
		return 0, false
	}
	return i, true
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans a JSON string of printable ASCII without escapes at
// b[i:] and returns its contents and the index after it.
func scanString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// scanNumber scans a JSON number at b[i:] and returns the index after it.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// routeBodyJSON is the slow path's view of a /route/ body.
type routeBodyJSON struct {
	Endpoint      *string      `json:"endpoint"`
	APIKey        *string      `json:"api_key"`
	Cost          *json.Number `json:"cost"`
	RequestIdx    *json.Number `json:"request_idx"`
	ReplayTimeout *json.Number `json:"replay_timeout"`
}

func parseRouteSlow(body []byte, r *routeRequest) error {
	t := bytes.TrimLeft(body, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return errRouteBody
	}
	var raw routeBodyJSON
	if err := json.Unmarshal(body, &raw); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errRouteTypes
		}
		return errRouteBody
	}
	if raw.Endpoint != nil {
		r.endpoint, r.hasEndpoint = []byte(*raw.Endpoint), true
	}
	if raw.APIKey != nil {
		r.apiKey, r.hasKey = []byte(*raw.APIKey), true
	}
	num := func(n *json.Number) []byte {
		if n == nil {
			return nil
		}
		return []byte(*n)
	}
	r.cost, r.idx, r.replay = num(raw.Cost), num(raw.RequestIdx), num(raw.ReplayTimeout)
	return nil
}

// routeValues are the checked numbers of a /route/ request.
type routeValues struct {
	cost       float64
	requestIdx uint64  // 0: none
	replay     float64 // seconds; -1: the default
}

// values checks the request's numbers: cost finite in [0, 1e12] (default
// 100), request_idx a non-negative integer, replay_timeout finite ≥ 0
// (capped at an hour).
func (r *routeRequest) values() (routeValues, error) {
	v := routeValues{cost: defaultCost, replay: -1}
	if r.cost != nil {
		f, err := parseFinite(r.cost)
		if err != nil || f < 0 || f > maxCost {
			return v, errCost
		}
		v.cost = f
	}
	if r.idx != nil {
		n, err := parseIndex(r.idx)
		if err != nil {
			return v, errRequestIdx
		}
		v.requestIdx = n
	}
	if r.replay != nil {
		f, err := parseFinite(r.replay)
		if err != nil || f < 0 {
			return v, errReplay
		}
		v.replay = min(f, maxReplaySeconds)
	}
	return v, nil
}

// parseFinite parses JSON number text as a finite float64.
func parseFinite(b []byte) (float64, error) {
	f, err := strconv.ParseFloat(b2s(b), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errNumberShape
	}
	return f, nil
}

// parseIndex parses JSON number text as a non-negative integer below 2^63
// (an integral float such as 5.0 is accepted).
func parseIndex(b []byte) (uint64, error) {
	if n, err := strconv.ParseUint(b2s(b), 10, 64); err == nil && n < 1<<63 {
		return n, nil
	}
	f, err := parseFinite(b)
	if err != nil || f < 0 || f != math.Trunc(f) || f >= 1<<63 {
		return 0, errNumberShape
	}
	return uint64(f), nil
}

// b2s views b as a string without copying; the string must not outlive b's
// contents.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

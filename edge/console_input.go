package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
)

// fieldKind is the JSON type a console field must have.
type fieldKind uint8

const (
	kindFloat  fieldKind = iota + 1 // finite JSON number
	kindInt                         // JSON number with an integral value
	kindString                      // JSON string
)

// Writable console fields of an endpoint, by JSON name.
var endpointFields = map[string]fieldKind{
	"endpoint_name":      kindString,
	"min_load":           kindFloat,
	"min_cold_load":      kindFloat,
	"target_util":        kindFloat,
	"cold_mult":          kindFloat,
	"cold_workers":       kindInt,
	"max_workers":        kindInt,
	"max_queue_time":     kindFloat,
	"target_queue_time":  kindFloat,
	"slo_target":         kindFloat,
	"inactivity_timeout": kindFloat,
	"endpoint_state":     kindString,
}

// Fields an endpoint PUT may not change (it may repeat their current value).
var endpointReadOnly = []string{"id", "user_id", "api_key", "created_at", "revision"}

// Writable console fields of a worker group, by JSON name.
var groupFields = map[string]fieldKind{
	"name":          kindString,
	"template_hash": kindString,
	"template_id":   kindInt,
	"search_params": kindString,
	"launch_args":   kindString,
	"gpu_ram":       kindFloat,
	"test_workers":  kindInt,
	"cold_workers":  kindInt,
	"max_workers":   kindInt,
	"min_cold_load": kindFloat,
	"weight":        kindFloat,
}

// Fields a group PUT may not change. provider is fixed at create: a static
// group's worker token is issued then, and a group's workers belong to its
// provider.
var groupReadOnly = []string{"id", "endpoint_id", "api_key", "created_at", "revision",
	"worker_token", "provider"}

// errInput is wrapped by every bad-input error of this file.
var errInput = errors.New("edge: invalid input")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errInput}, args...)...)
}

// parseObject decodes a request body that must be one JSON object.
func parseObject(body []byte) (map[string]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return nil, inputErr("body must be a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, inputErr("malformed JSON: %v", err)
	}
	return obj, nil
}

// isNull reports whether raw is JSON null (Vast's client sends null for
// every option not given: it means "unchanged" / "default").
func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// cleanFields returns the known, non-null fields of obj converted to their
// canonical Go values; unknown fields (client_id, autoscaler_instance, …)
// are ignored. A field of the wrong JSON type is an error.
func cleanFields(obj map[string]json.RawMessage, fields map[string]fieldKind) (map[string]any, error) {
	out := make(map[string]any, len(obj))
	names := make([]string, 0, len(obj))
	for name := range obj {
		names = append(names, name)
	}
	sort.Strings(names) // deterministic error messages
	for _, name := range names {
		kind, ok := fields[name]
		if !ok || isNull(obj[name]) {
			continue
		}
		v, err := convert(name, obj[name], kind)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// convert checks raw against kind and returns float64, int64 or string.
func convert(name string, raw json.RawMessage, kind fieldKind) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, inputErr("%s: malformed value", name)
	}
	if kind == kindString {
		s, ok := v.(string)
		if !ok {
			return nil, inputErr("%s must be a string", name)
		}
		return s, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return nil, inputErr("%s must be a number", name)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return nil, inputErr("%s must be a finite number", name)
	}
	if kind == kindFloat {
		return f, nil
	}
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, nil
	}
	if f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return nil, inputErr("%s must be an integer", name)
	}
	return int64(f), nil
}

// checkReadOnly refuses a PUT that sets a read-only field to anything but
// its current value.
func checkReadOnly(obj map[string]json.RawMessage, readOnly []string, current any) error {
	cur, err := json.Marshal(current)
	if err != nil {
		return err
	}
	var curFields map[string]any
	if err := json.Unmarshal(cur, &curFields); err != nil {
		return err
	}
	for _, name := range readOnly {
		raw, ok := obj[name]
		if !ok || isNull(raw) {
			continue
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil || !reflect.DeepEqual(v, curFields[name]) {
			return inputErr("%s is read-only", name)
		}
	}
	return nil
}

// applyPatch overlays patch (canonical JSON of cleanFields' output) on dst.
func applyPatch(dst any, patch []byte) error {
	if err := json.Unmarshal(patch, dst); err != nil {
		return inputErr("%v", err)
	}
	return nil
}

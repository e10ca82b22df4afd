package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// setList collects repeated --set key=value flags.
type setList []string

func (l *setList) String() string { return strings.Join(*l, " ") }

func (l *setList) Set(s string) error {
	*l = append(*l, s)
	return nil
}

// buildBody merges a --json object with --set key=value pairs (the pairs
// win) into one JSON object. A value that is valid JSON (5, 0.9, true, null,
// "quoted", [..], {..}) is sent as that JSON; anything else as a string, so
// --set endpoint_name=chat and --set max_workers=5 both do what they say.
// To send digits as a string, quote them: --set 'endpoint_name="123"'.
func buildBody(jsonArg string, sets []string) ([]byte, error) {
	fields := map[string]json.RawMessage{}
	if strings.TrimSpace(jsonArg) != "" {
		if err := json.Unmarshal([]byte(jsonArg), &fields); err != nil || fields == nil {
			return nil, usageErrorf("--json must be a JSON object: %v", errOrNull(err))
		}
	}
	for _, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t\n") {
			return nil, usageErrorf("--set %q: want key=value", kv)
		}
		fields[key] = setValue(value)
	}
	return json.Marshal(fields)
}

// setValue returns value as JSON: itself when it is JSON, else a string.
func setValue(value string) json.RawMessage {
	if t := strings.TrimSpace(value); t != "" && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(value) // a string always marshals
	return b
}

func errOrNull(err error) error {
	if err == nil {
		return fmt.Errorf("got null")
	}
	return err
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// applyConfigFile sets the flags of fs from a JSON object whose keys are flag
// names, skipping flags already set on the command line (they win). Unknown
// keys, "config" itself and values of the wrong shape are errors. Lists
// (--join) may be a JSON array or a comma-separated string; durations are
// strings such as "10m".
func applyConfigFile(fs *flag.FlagSet, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	values, err := decodeConfigObject(data)
	if err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	onCommandLine := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { onCommandLine[canonicalFlag(f.Name)] = true })

	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]string{}
	for _, k := range keys {
		if k == "config" || fs.Lookup(k) == nil {
			return fmt.Errorf("config file %s: unknown key %q", path, k)
		}
		name := canonicalFlag(k)
		if other, dup := seen[name]; dup {
			return fmt.Errorf("config file %s: keys %q and %q set the same flag", path, other, k)
		}
		seen[name] = k
		if onCommandLine[name] {
			continue
		}
		s, err := configValueString(values[k])
		if err != nil {
			return fmt.Errorf("config file %s: key %q: %w", path, k, err)
		}
		if err := fs.Set(k, s); err != nil {
			return fmt.Errorf("config file %s: key %q: %w", path, k, err)
		}
	}
	return nil
}

// decodeConfigObject decodes exactly one JSON object, numbers kept as text.
func decodeConfigObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var values map[string]any
	if err := dec.Decode(&values); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if values == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return values, nil
}

func canonicalFlag(name string) string {
	if c, ok := flagAliases[name]; ok {
		return c
	}
	return name
}

// configValueString renders a JSON value as the text flag.Value.Set expects.
func configValueString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case []any:
		items := make([]string, 0, len(v))
		for _, item := range v {
			s, ok := item.(string)
			if !ok {
				return "", fmt.Errorf("list items must be strings, got %v", item)
			}
			items = append(items, s)
		}
		return strings.Join(items, ","), nil
	default:
		return "", fmt.Errorf("unsupported value %v (want a string, number, boolean or list of strings)", v)
	}
}

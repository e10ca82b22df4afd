package sim

import (
	"bytes"
	_ "embed" // the built-in traces
	"fmt"
	"io"
	"os"
	"slices"
)

// The traces of testdata/ (source and licence in testdata/README.md),
// built into the binary so `drover sim` replays them from anywhere.
var (
	//go:embed testdata/azure-llm-2023-code.csv
	azureCode []byte
	//go:embed testdata/mooncake-synthetic.jsonl
	mooncake []byte
)

// builtinTraces are the traces OpenTrace knows by name.
var builtinTraces = map[string][]byte{
	"azure-code": azureCode,
	"mooncake":   mooncake,
}

// DefaultTrace is the trace `drover sim` replays when given neither a trace
// nor a pattern.
const DefaultTrace = "azure-code"

// TraceNames lists the built-in traces, sorted.
func TraceNames() []string {
	var out []string
	for k := range builtinTraces {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// OpenTrace opens a built-in trace by name, or else the file at that path.
func OpenTrace(name string) (io.ReadCloser, error) {
	if b, ok := builtinTraces[name]; ok {
		return io.NopCloser(bytes.NewReader(b)), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w (built-in traces: %v)", err, TraceNames())
	}
	return f, nil
}

// LoadTrace reads a built-in trace or a trace file into requests (load =
// prompt + genWeight × generated tokens).
func LoadTrace(name string, genWeight float64) ([]Request, error) {
	rc, err := OpenTrace(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	reqs, err := ReadTrace(rc, genWeight)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return reqs, nil
}

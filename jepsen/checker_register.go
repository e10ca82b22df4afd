package jepsen

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

// regInput is what a register op asked for.
type regInput struct {
	Key    string
	F      string // "read", "write", "cas"
	Value  int64  // written value
	Expect uint64 // cas: if_revision
}

// Outcome of a register op as the model sees it.
const (
	outOK      = "ok"
	outFail    = "fail" // cas refused with revision_mismatch
	outUnknown = "unknown"
)

// regOutput is what a register op answered.
type regOutput struct {
	Status string
	Value  int64  // read: value seen
	Rev    uint64 // read: revision seen; write/cas: new revision
}

// regState is the register's value and revision; Rev 0 means "not known":
// an indeterminate write happened and no read has seen its revision yet.
type regState struct {
	Value int64
	Rev   uint64
}

// registerModel is a per-key register with revisions: reads must see the
// current value and revision, writes get a revision no lower than the
// current one, a cas succeeds only when its expected revision is current
// (and then gets a higher one) and is refused only when it is not.
var registerModel = porcupine.NondeterministicModel{
	Partition: partitionByKey,
	Init:      func() []interface{} { return []interface{}{regState{}} },
	Step: func(st, in, out interface{}) []interface{} {
		return regStep(st.(regState), in.(regInput), out.(regOutput))
	},
	Equal: func(a, b interface{}) bool { return a.(regState) == b.(regState) },
	DescribeOperation: func(in, out interface{}) string {
		return describeRegOp(in.(regInput), out.(regOutput))
	},
	DescribeState: func(st interface{}) string {
		s := st.(regState)
		if s.Rev == 0 {
			return fmt.Sprintf("%d@?", s.Value)
		}
		return fmt.Sprintf("%d@%d", s.Value, s.Rev)
	},
}

func regStep(s regState, in regInput, out regOutput) []interface{} {
	known := s.Rev != 0
	switch {
	case in.F == "read":
		if out.Value != s.Value || (known && out.Rev != s.Rev) {
			return nil
		}
		return []interface{}{regState{out.Value, out.Rev}}
	case in.F == "write" && out.Status == outOK:
		// Not <=: a revision is the Raft entry index, and the leader may
		// coalesce two plain writes into one entry, giving both one revision.
		if known && out.Rev < s.Rev {
			return nil
		}
		return []interface{}{regState{in.Value, out.Rev}}
	case in.F == "write":
		return []interface{}{regState{in.Value, 0}}
	case out.Status == outOK: // cas
		if (known && s.Rev != in.Expect) || out.Rev <= in.Expect {
			return nil
		}
		return []interface{}{regState{in.Value, out.Rev}}
	case out.Status == outFail:
		if known && s.Rev == in.Expect {
			return nil
		}
		return []interface{}{s}
	default: // cas with unknown outcome: it did nothing, or it won
		next := []interface{}{s}
		if !known || s.Rev == in.Expect {
			next = append(next, regState{in.Value, 0})
		}
		return next
	}
}

func describeRegOp(in regInput, out regOutput) string {
	var call string
	switch in.F {
	case "read":
		call = "read()"
	case "write":
		call = fmt.Sprintf("write(%d)", in.Value)
	default:
		call = fmt.Sprintf("cas(if %d, %d)", in.Expect, in.Value)
	}
	switch {
	case out.Status == outUnknown:
		return call + " -> ?"
	case out.Status == outFail:
		return call + " -> revision mismatch"
	case in.F == "read":
		return fmt.Sprintf("%s -> %d@%d", call, out.Value, out.Rev)
	default:
		return fmt.Sprintf("%s -> @%d", call, out.Rev)
	}
}

func partitionByKey(ops []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[string][]porcupine.Operation{}
	var keys []string
	for _, op := range ops {
		k := op.Input.(regInput).Key
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], op)
	}
	sort.Strings(keys)
	out := make([][]porcupine.Operation, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out
}

// registerOperations turns the register part of a history into porcupine
// operations: failed reads and definitely failed writes are dropped (they
// had no effect), writes and cas with unknown outcome stay open until
// math.MaxInt64.
func registerOperations(ops []Op) []porcupine.Operation {
	var out []porcupine.Operation
	for _, p := range Pairs(ops, "register") {
		in := regInput{Key: p.Call.Key, F: p.Call.F, Value: p.Call.Value, Expect: p.Call.Expect}
		o := porcupine.Operation{ClientId: p.Call.Process, Input: in, Call: p.Call.Time, Return: p.Done.Time}
		switch p.Done.Type {
		case TypeOK:
			o.Output = regOutput{Status: outOK, Value: p.Done.Value, Rev: p.Done.Rev}
		case TypeFail:
			if in.F != "cas" || p.Done.Error != errRevision {
				continue
			}
			o.Output = regOutput{Status: outFail}
		default: // info, or never completed
			if in.F == "read" {
				continue
			}
			o.Output = regOutput{Status: outUnknown}
			o.Return = math.MaxInt64
		}
		out = append(out, o)
	}
	return out
}

// RegisterResult is the register checker's verdict.
type RegisterResult struct {
	Result porcupine.CheckResult
	Ops    int
	Info   porcupine.LinearizationInfo
}

// Valid is true only for porcupine's Ok; Unknown (timeout) is a failure.
func (r RegisterResult) Valid() bool { return r.Result == porcupine.Ok }

// CheckRegister checks the register ops of a history for linearizability.
func CheckRegister(ops []Op, timeout time.Duration) RegisterResult {
	pops := registerOperations(ops)
	res, info := porcupine.CheckOperationsVerbose(registerModel.ToModel(), pops, timeout)
	return RegisterResult{Result: res, Ops: len(pops), Info: info}
}

// WriteRegisterHTML writes porcupine's visualization with every nemesis
// window of the history annotated.
func WriteRegisterHTML(r RegisterResult, ops []Op, path string) error {
	r.Info.AddAnnotations(nemesisAnnotations(ops))
	return porcupine.VisualizePath(registerModel.ToModel(), r.Info, path)
}

// nemesisAnnotations makes one annotation per fault window.
func nemesisAnnotations(ops []Op) []porcupine.Annotation {
	var out []porcupine.Annotation
	for _, w := range FaultWindows(ops) {
		end := w.End
		if end == 0 {
			end = w.Start
		}
		out = append(out, porcupine.Annotation{
			Tag: "nemesis", Start: w.Start, End: end, Description: w.Kind,
			Details:         strings.Join(w.Nodes, ",") + " " + w.Detail,
			BackgroundColor: "#f6c4c4",
		})
	}
	return out
}

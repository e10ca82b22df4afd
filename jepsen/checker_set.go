package jepsen

import (
	"fmt"
	"sort"
)

// SetResult is the set checker's verdict.
type SetResult struct {
	Acked    int      // acknowledged adds
	Unknown  int      // adds with unknown outcome
	Found    int      // names in the final read
	Lost     []string // acknowledged, missing from the final read
	Invented []string // in the final read, never attempted
	Revived  []string // definitely refused, yet present
	NoRead   bool     // no successful final read
}

// Valid is true when a final read exists and nothing was lost, invented
// or revived.
func (r SetResult) Valid() bool {
	return !r.NoRead && len(r.Lost)+len(r.Invented)+len(r.Revived) == 0
}

// Violations counts the bad names (1 for a missing final read).
func (r SetResult) Violations() int {
	n := len(r.Lost) + len(r.Invented) + len(r.Revived)
	if r.NoRead {
		n++
	}
	return n
}

func (r SetResult) String() string {
	return fmt.Sprintf("acked %d, unknown %d, found %d, lost %v, invented %v, revived %v, no final read %v",
		r.Acked, r.Unknown, r.Found, r.Lost, r.Invented, r.Revived, r.NoRead)
}

// CheckSet checks the set ops of a history against its last successful
// final read.
func CheckSet(ops []Op) SetResult {
	var r SetResult
	outcome := map[string]string{} // name → ok, fail, info
	var final []string
	for _, p := range Pairs(ops, "set") {
		switch p.Call.F {
		case "add":
			t := p.Done.Type
			if t == "" {
				t = TypeInfo
			}
			outcome[p.Call.Name] = t
		case "read":
			if p.Done.Type == TypeOK {
				final = p.Done.Names
			}
		}
	}
	if final == nil && !hasOKRead(ops) {
		r.NoRead = true
	}
	present := map[string]bool{}
	for _, name := range final {
		present[name] = true
		switch outcome[name] {
		case "":
			r.Invented = append(r.Invented, name)
		case TypeFail:
			r.Revived = append(r.Revived, name)
		}
	}
	r.Found = len(final)
	for name, t := range outcome {
		switch t {
		case TypeOK:
			r.Acked++
			if !present[name] {
				r.Lost = append(r.Lost, name)
			}
		case TypeInfo:
			r.Unknown++
		}
	}
	sort.Strings(r.Lost)
	return r
}

func hasOKRead(ops []Op) bool {
	for _, p := range Pairs(ops, "set") {
		if p.Call.F == "read" && p.Done.Type == TypeOK {
			return true
		}
	}
	return false
}

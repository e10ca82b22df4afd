package scheduler

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is what an action does.
type Kind string

// Action kinds. Drain takes a worker out of routing while its in-flight work
// finishes; a later Stop (when idle, or after a bounded wait) stops it.
const (
	Create  Kind = "create"
	Start   Kind = "start"
	Drain   Kind = "drain"
	Stop    Kind = "stop"
	Destroy Kind = "destroy"
)

// Plan is one tick's decisions for every endpoint.
type Plan struct {
	Policy  string
	Now     time.Time
	Actions []Action
	// Notes say, per endpoint, what the policy computed even when it did
	// nothing (for `drover decisions`).
	Notes []Note
}

// Action is one thing to do, with why.
type Action struct {
	Kind       Kind
	EndpointID uint64
	GroupID    uint64
	WorkerID   uint64 // start, drain, stop, destroy of a registered worker
	IntentKey  string // destroy of a pending create with no worker yet
	Count      int    // create: how many workers
	Reason     string
	Figures    []Figure
}

// Note is a policy's summary for one endpoint on one tick.
type Note struct {
	EndpointID uint64
	Text       string
	Figures    []Figure
}

// Figure is one named number a decision was based on.
type Figure struct {
	Name  string
	Value float64
}

// String renders the action on one line: kind, target, reason, figures.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(string(a.Kind))
	fmt.Fprintf(&b, " endpoint=%d group=%d", a.EndpointID, a.GroupID)
	if a.WorkerID != 0 {
		fmt.Fprintf(&b, " worker=%d", a.WorkerID)
	}
	if a.IntentKey != "" {
		fmt.Fprintf(&b, " intent=%s", a.IntentKey)
	}
	if a.Count != 0 {
		fmt.Fprintf(&b, " count=%d", a.Count)
	}
	b.WriteString(": ")
	b.WriteString(a.Reason)
	writeFigures(&b, a.Figures)
	return b.String()
}

// String renders the note on one line.
func (n Note) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "endpoint=%d: %s", n.EndpointID, n.Text)
	writeFigures(&b, n.Figures)
	return b.String()
}

func writeFigures(b *strings.Builder, fs []Figure) {
	if len(fs) == 0 {
		return
	}
	b.WriteString(" [")
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name)
		b.WriteByte('=')
		b.WriteString(strconv.FormatFloat(f.Value, 'g', 6, 64))
	}
	b.WriteByte(']')
}

// Counts returns how many workers the plan creates, starts, stops and
// destroys (drains are not counted: the stop that follows is).
func (p Plan) Counts() (create, start, stop, destroy int) {
	for _, a := range p.Actions {
		switch a.Kind {
		case Create:
			create += a.Count
		case Start:
			start++
		case Stop:
			stop++
		case Destroy:
			destroy++
		}
	}
	return
}

// figs builds a figure list from alternating names and values.
func figs(kv ...any) []Figure {
	out := make([]Figure, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		var v float64
		switch x := kv[i+1].(type) {
		case float64:
			v = x
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case time.Duration:
			v = x.Seconds()
		}
		out = append(out, Figure{Name: kv[i].(string), Value: v})
	}
	return out
}

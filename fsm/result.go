package fsm

import "fmt"

// Result is what applying one command answered. A rejected command changed
// nothing; Code says why.
type Result struct {
	Code     string   `json:"code,omitempty"`     // "" = ok; else one of the Code* constants
	Msg      string   `json:"msg,omitempty"`      // human-readable reason when Code != ""
	ID       uint64   `json:"id,omitempty"`       // created/affected object id
	Revision uint64   `json:"revision,omitempty"` // the object's new revision
	Deleted  []uint64 `json:"deleted,omitempty"`  // worker ids removed by a delete
}

// Result codes. The no_such_* and invalid_args strings are the console
// API's error names.
const (
	CodeInvalid    = "invalid_args"
	CodeNoEndpoint = "no_such_endptjob"
	CodeNoGroup    = "no_such_workergroup"
	CodeNoWorker   = "no_such_worker"
	CodeNoIntent   = "no_such_intent" // IntentResult for a key never put
	CodeNameTaken  = "name_taken"
	CodeRevision   = "revision_mismatch"
	CodeUnknown    = "unknown_command" // ignorable unknown command skipped
)

// OK reports whether the command was applied (Code == "").
func (r Result) OK() bool { return r.Code == "" }

// Err returns nil when Code == "", else an error wrapping the sentinel that
// matches Code (ErrInvalid, ErrNotFound, ErrNameTaken, ErrRevisionMismatch,
// ErrUnknownCommand) with Msg.
func (r Result) Err() error {
	var sentinel error
	switch r.Code {
	case "":
		return nil
	case CodeNoEndpoint, CodeNoGroup, CodeNoWorker, CodeNoIntent:
		sentinel = ErrNotFound
	case CodeNameTaken:
		sentinel = ErrNameTaken
	case CodeRevision:
		sentinel = ErrRevisionMismatch
	case CodeUnknown:
		sentinel = ErrUnknownCommand
	default:
		sentinel = ErrInvalid
	}
	if r.Msg == "" {
		return fmt.Errorf("%w (%s)", sentinel, r.Code)
	}
	return fmt.Errorf("%w: %s", sentinel, r.Msg)
}

func reject(code, msg string) Result { return Result{Code: code, Msg: msg} }

func rejectInvalid(err error) Result { return Result{Code: CodeInvalid, Msg: errMsg(err)} }

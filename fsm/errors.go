package fsm

import "errors"

// Sentinel errors. Result.Err wraps the first four; codec and snapshot
// functions return the others.
var (
	ErrInvalid          = errors.New("fsm: invalid arguments")
	ErrNotFound         = errors.New("fsm: not found")
	ErrNameTaken        = errors.New("fsm: name taken")
	ErrRevisionMismatch = errors.New("fsm: revision mismatch")
	ErrUnknownCommand   = errors.New("fsm: unknown command")

	ErrChecksum  = errors.New("fsm: command checksum mismatch")
	ErrMalformed = errors.New("fsm: malformed command")
	ErrCorrupt   = errors.New("fsm: corrupt snapshot")
)

// invalidError is a validation failure: Error() carries the package prefix,
// Msg is the bare message that a Result (and so the console API) shows.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return ErrInvalid.Error() + ": " + e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

func invalid(msg string) error { return &invalidError{msg: msg} }

// errMsg is the message a Result shows for err: the bare message of a
// validation failure, else err's text.
func errMsg(err error) string {
	var ie *invalidError
	if errors.As(err, &ie) {
		return ie.msg
	}
	return err.Error()
}

package fsm

import (
	"encoding/json"
	"strconv"
)

// Target names the one existing object a command changes ("e:1" for
// endpoint 1, "g:", "w:", "i:" for groups, workers and intents), or "" for
// commands that change no existing object (creates, cluster settings).
//
// Revisions are the Raft index of an object's last change, and a leader
// coalesces many commands into one log entry: two changes of one object in
// one entry would get the same revision, and a compare-and-set holding the
// first one's revision would wrongly succeed after the second. A batcher
// keeps commands with the same Target in different entries.
func (c Command) Target() string {
	var p struct {
		ID     uint64
		Key    string
		Worker struct {
			ID uint64 `json:"id"`
		}
		Intent struct {
			Key string `json:"key"`
		}
	}
	var kind string
	switch c.Type {
	case CmdUpdateEndpoint, CmdDeleteEndpoint:
		kind = "e:"
	case CmdUpdateGroup, CmdDeleteGroup:
		kind = "g:"
	case CmdRegisterWorker, CmdSetWorkerState, CmdRemoveWorker:
		kind = "w:"
	case CmdPutIntent, CmdIntentResult:
		kind = "i:"
	default:
		return ""
	}
	if json.Unmarshal(c.Payload, &p) != nil {
		return ""
	}
	switch c.Type {
	case CmdRegisterWorker:
		p.ID = p.Worker.ID
	case CmdPutIntent:
		return kind + p.Intent.Key
	case CmdIntentResult:
		return kind + p.Key
	}
	return kind + strconv.FormatUint(p.ID, 10)
}

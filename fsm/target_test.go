package fsm

import "testing"

func TestCommandTarget(t *testing.T) {
	mk := func(typ CmdType, p any) Command {
		c, err := NewCommand(typ, RequestID{}, p)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tests := []struct {
		name string
		cmd  Command
		want string
	}{
		{"update endpoint", mk(CmdUpdateEndpoint, UpdateEndpoint{ID: 7}), "e:7"},
		{"delete endpoint", mk(CmdDeleteEndpoint, DeleteEndpoint{ID: 7}), "e:7"},
		{"update group", mk(CmdUpdateGroup, UpdateGroup{ID: 3}), "g:3"},
		{"delete group", mk(CmdDeleteGroup, DeleteGroup{ID: 3}), "g:3"},
		{"register worker", mk(CmdRegisterWorker, RegisterWorker{Worker: Worker{ID: 42}}), "w:42"},
		{"worker state", mk(CmdSetWorkerState, SetWorkerState{ID: 42}), "w:42"},
		{"remove worker", mk(CmdRemoveWorker, RemoveWorker{ID: 42}), "w:42"},
		{"put intent", mk(CmdPutIntent, PutIntent{Intent: Intent{Key: "k1"}}), "i:k1"},
		{"intent result", mk(CmdIntentResult, IntentResult{Key: "k1"}), "i:k1"},
		{"create endpoint", mk(CmdCreateEndpoint, CreateEndpoint{}), ""},
		{"noop", mk(CmdNoop, Noop{}), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cmd.Target(); got != tt.want {
				t.Fatalf("Target() = %q, want %q", got, tt.want)
			}
		})
	}
}

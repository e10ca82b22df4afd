package fsm

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCommands is one representative command per type; the golden files
// pin their encodings (type byte, payload JSON field names, framing).
func goldenCommands(t testing.TB) map[string]Command {
	t.Helper()
	id := rid(0x10)
	e := endpoint("llama")
	e.InactivityTimeout = f64(-1)
	g := group(1, "a100")
	g.MaxWorkers = i64(4)
	return map[string]Command{
		"CreateEndpoint":       cmdID(t, CmdCreateEndpoint, id, CreateEndpoint{Endpoint: e}),
		"UpdateEndpoint":       cmdID(t, CmdUpdateEndpoint, id, UpdateEndpoint{ID: 1, IfRevision: 3, Patch: []byte(`{"max_workers":8}`)}),
		"DeleteEndpoint":       cmdID(t, CmdDeleteEndpoint, id, DeleteEndpoint{ID: 1}),
		"CreateGroup":          cmdID(t, CmdCreateGroup, id, CreateGroup{Group: g, EndpointName: "llama"}),
		"UpdateGroup":          cmdID(t, CmdUpdateGroup, id, UpdateGroup{ID: 2, IfRevision: 5, Patch: []byte(`{"weight":2}`)}),
		"DeleteGroup":          cmdID(t, CmdDeleteGroup, id, DeleteGroup{ID: 2}),
		"RegisterWorker":       cmdID(t, CmdRegisterWorker, id, RegisterWorker{Worker: worker(9001, 2)}),
		"RegisterWorkerMToken": cmdID(t, CmdRegisterWorker, id, RegisterWorker{Worker: worker(9002, 0), MToken: "tok-a100"}),
		"SetWorkerState":       cmdID(t, CmdSetWorkerState, id, SetWorkerState{ID: 9001, State: WorkerReady, MaxPerf: 512.5, URL: "http://10.0.0.1:8000"}),
		"RemoveWorker":         cmdID(t, CmdRemoveWorker, id, RemoveWorker{ID: 9001}),
		"SetSigningKey":        cmdID(t, CmdSetSigningKey, id, SetSigningKey{PEM: []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")}),
		"PutIntent": cmdID(t, CmdPutIntent, id, PutIntent{Intent: Intent{Key: "i-1", Kind: IntentCreate,
			EndpointID: 1, GroupID: 2, Reason: "queue over target", CreatedAt: 1700000003}}),
		"IntentResult":     cmdID(t, CmdIntentResult, id, IntentResult{Key: "i-1", State: IntentDone, InstanceID: "vast-42"}),
		"RemoveServer":     cmdID(t, CmdRemoveServer, id, RemoveServer{ID: "node-3"}),
		"Noop":             cmdID(t, CmdNoop, RequestID{}, Noop{}),
		"Prune":            cmdID(t, CmdPrune, id, Prune{Intents: []string{"t3-7"}, Workers: []uint64{9001}}),
		"IgnorableUnknown": {Type: 99, Ignorable: true, Version: 1, Payload: []byte(`{"future":true}`)},
	}
}

func goldenText(c Command) []byte {
	var b bytes.Buffer
	b.WriteString("type: " + c.Type.String() + "\npayload: " + string(c.Payload) + "\n")
	b.WriteString(hex.Dump(c.Encode()))
	return b.Bytes()
}

func TestGoldenEncoding(t *testing.T) {
	cmds := goldenCommands(t)
	batch := []Command{cmds["Noop"], cmds["RemoveServer"]}
	for name, c := range cmds {
		t.Run(name, func(t *testing.T) {
			checkGolden(t, name+".golden", goldenText(c))
			got, err := DecodeCommand(c.Encode())
			if err != nil || !sameCommand(got, c) {
				t.Errorf("DecodeCommand(Encode(%s)) = %+v, %v, want %+v", name, got, err, c)
			}
		})
	}
	t.Run("batch", func(t *testing.T) {
		enc := EncodeBatch(batch)
		checkGolden(t, "batch.golden", []byte(hex.Dump(enc)))
		got, err := DecodeBatch(enc)
		if err != nil || len(got) != 2 || !sameCommand(got[0], batch[0]) || !sameCommand(got[1], batch[1]) {
			t.Errorf("DecodeBatch(EncodeBatch(batch)) = %+v, %v, want %+v", got, err, batch)
		}
	})
}

func checkGolden(t *testing.T, file string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", file)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoding changed for %s:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func sameCommand(a, b Command) bool {
	return a.Type == b.Type && a.Ignorable == b.Ignorable && a.Version == b.Version &&
		a.RequestID == b.RequestID && bytes.Equal(a.Payload, b.Payload)
}

func TestDecodeCommandErrors(t *testing.T) {
	good := cmdID(t, CmdNoop, rid(1), Noop{}).Encode()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-6] ^= 0x01
	nonMinimal := append(bytes.Clone(good[:18]), 0x82, 0x00) // length 2 in two bytes
	nonMinimal = append(nonMinimal, good[19:21]...)
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"short", good[:10], ErrMalformed},
		{"truncated", good[:len(good)-1], ErrMalformed},
		{"trailing", append(bytes.Clone(good), 0), ErrMalformed},
		{"flipped payload bit", flipped, ErrChecksum},
		{"bad crc", append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^0xff), ErrChecksum},
		{"non-minimal length", append(nonMinimal, 0, 0, 0, 0), ErrMalformed},
		{"huge length", append(append(bytes.Clone(good[:18]), 0xff, 0xff, 0xff, 0xff, 0x0f), make([]byte, 8)...), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeCommand(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("DecodeCommand(%x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	one := cmd(t, CmdNoop, Noop{})
	good := EncodeBatch([]Command{one, one})
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"bad magic", append([]byte{'X'}, good[1:]...), ErrMalformed},
		{"count too big", append([]byte{'D', 3}, good[2:]...), ErrMalformed},
		{"count too small", append([]byte{'D', 1}, good[2:]...), ErrMalformed},
		{"truncated", good[:len(good)-2], ErrMalformed},
		{"corrupt command", append(bytes.Clone(good[:len(good)-1]), good[len(good)-1]^1), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := DecodeBatch(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("DecodeBatch(%x) = %v, want %v", tt.in, err, tt.want)
			}
		})
	}
	if got, err := DecodeBatch(EncodeBatch(nil)); err != nil || len(got) != 0 {
		t.Errorf("DecodeBatch(EncodeBatch(nil)) = %v, %v, want empty", got, err)
	}
}

func TestRequestID(t *testing.T) {
	a, b := NewRequestID(), NewRequestID()
	if a.IsZero() || a == b {
		t.Errorf("NewRequestID() = %s, %s, want two distinct non-zero ids", a, b)
	}
	text, _ := a.MarshalText()
	var back RequestID
	if err := back.UnmarshalText(text); err != nil || back != a {
		t.Errorf("UnmarshalText(%s) = %s, %v, want %s", text, back, err, a)
	}
	if err := back.UnmarshalText([]byte("abc")); !errors.Is(err, ErrMalformed) {
		t.Errorf("UnmarshalText(abc) = %v, want %v", err, ErrMalformed)
	}
}

func TestConstantTimeEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{{"", "", true}, {"key", "key", true}, {"key", "kez", false}, {"key", "key2", false}}
	for _, tt := range tests {
		if got := ConstantTimeEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("ConstantTimeEqual(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, c := range goldenCommands(f) {
		f.Add(c.Encode())
	}
	f.Add([]byte{})
	f.Add(EncodeBatch(nil))
	f.Add(bytes.Repeat([]byte{0xff}, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err == nil {
			if enc := c.Encode(); !bytes.Equal(enc, b) {
				t.Fatalf("Encode(DecodeCommand(%x)) = %x, want the input", b, enc)
			}
		}
		_, _ = DecodeBatch(b)
		// Any command built from the input survives a round trip.
		var id RequestID
		copy(id[:], b)
		x := Command{Type: CmdType(len(b) % 128), Ignorable: len(b)%2 == 0, Version: byte(len(b)), RequestID: id, Payload: b}
		got, err := DecodeCommand(x.Encode())
		if err != nil || !sameCommand(got, x) {
			t.Fatalf("DecodeCommand(Encode(%+v)) = %+v, %v", x, got, err)
		}
		batch, err := DecodeBatch(EncodeBatch([]Command{x, x}))
		if err != nil || len(batch) != 2 || !sameCommand(batch[1], x) {
			t.Fatalf("DecodeBatch(EncodeBatch(%+v)) = %+v, %v", x, batch, err)
		}
	})
}

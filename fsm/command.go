package fsm

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
)

// CmdType is a command's type: the low 7 bits of the first wire byte. The
// high bit (0x80) on the wire means "ignorable if unknown", so that old
// replicas skip commands added later instead of stopping.
type CmdType uint8

// Command types. Values are pinned by the golden files in testdata/: never
// renumber, only append.
const (
	CmdCreateEndpoint CmdType = 1  // CreateEndpoint
	CmdUpdateEndpoint CmdType = 2  // UpdateEndpoint
	CmdDeleteEndpoint CmdType = 3  // DeleteEndpoint (also deletes its groups and their workers)
	CmdCreateGroup    CmdType = 4  // CreateGroup
	CmdUpdateGroup    CmdType = 5  // UpdateGroup
	CmdDeleteGroup    CmdType = 6  // DeleteGroup (also its workers)
	CmdRegisterWorker CmdType = 7  // RegisterWorker
	CmdSetWorkerState CmdType = 8  // SetWorkerState
	CmdRemoveWorker   CmdType = 9  // RemoveWorker
	CmdSetSigningKey  CmdType = 10 // SetSigningKey (first one wins; later ones are no-ops)
	CmdPutIntent      CmdType = 11 // PutIntent (idempotent on Key)
	CmdIntentResult   CmdType = 12 // IntentResult
	CmdRemoveServer   CmdType = 13 // RemoveServer: id removed by hand, stays out
	CmdNoop           CmdType = 14 // Noop (used by tests/benchmarks and barrier-like writes)
	CmdPrune          CmdType = 15 // Prune: garbage collection of finished intents and lost workers
)

const (
	ignorableBit   = 0x80
	payloadVersion = 1    // the payload version every known command uses
	batchMagic     = 'D'  // first byte of an encoded batch
	cmdOverhead    = 22   // type, version, request id, crc (without the length)
	minCommandLen  = 23   // cmdOverhead + a one-byte length
	maxCmdType     = 0x7f // types are 7 bits
)

var cmdNames = [...]string{
	CmdCreateEndpoint: "CreateEndpoint", CmdUpdateEndpoint: "UpdateEndpoint",
	CmdDeleteEndpoint: "DeleteEndpoint", CmdCreateGroup: "CreateGroup",
	CmdUpdateGroup: "UpdateGroup", CmdDeleteGroup: "DeleteGroup",
	CmdRegisterWorker: "RegisterWorker", CmdSetWorkerState: "SetWorkerState",
	CmdRemoveWorker: "RemoveWorker", CmdSetSigningKey: "SetSigningKey",
	CmdPutIntent: "PutIntent", CmdIntentResult: "IntentResult",
	CmdRemoveServer: "RemoveServer", CmdNoop: "Noop", CmdPrune: "Prune",
}

// String returns the command's name, or "CmdType(n)" for an unknown type.
func (t CmdType) String() string {
	if int(t) < len(cmdNames) && cmdNames[t] != "" {
		return cmdNames[t]
	}
	return fmt.Sprintf("CmdType(%d)", uint8(t))
}

// Known reports whether this build can apply commands of type t.
func (t CmdType) Known() bool { return t >= CmdCreateEndpoint && t <= CmdPrune }

// RequestID makes a command idempotent: the FSM remembers the Result of the
// last 16384 non-zero ids and answers a repeat with it. The zero value means
// no idempotency. In JSON it is 32 hex digits.
type RequestID [16]byte

// IsZero reports whether id is the zero RequestID.
func (id RequestID) IsZero() bool { return id == RequestID{} }

// String returns id as 32 hex digits.
func (id RequestID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText encodes id as 32 hex digits.
func (id RequestID) MarshalText() ([]byte, error) {
	return hex.AppendEncode(nil, id[:]), nil
}

// UnmarshalText decodes 32 hex digits.
func (id *RequestID) UnmarshalText(b []byte) error {
	if hex.DecodedLen(len(b)) != len(id) {
		return fmt.Errorf("%w: request id must be %d hex digits", ErrMalformed, 2*len(id))
	}
	_, err := hex.Decode(id[:], b)
	if err != nil {
		return fmt.Errorf("%w: request id: %v", ErrMalformed, err)
	}
	return nil
}

// Command is one state change: a type and a versioned JSON payload.
type Command struct {
	Type      CmdType
	Ignorable bool  // replicas that do not know Type skip it instead of panicking
	Version   uint8 // payload version, 1 for all now
	RequestID RequestID
	Payload   []byte // JSON of the payload struct (payloads.go)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// NewCommand builds a command of type t with payload JSON-encoded, Version 1.
// The type must be a 7-bit value; Ignorable is left false.
func NewCommand(t CmdType, id RequestID, payload any) (Command, error) {
	if t == 0 || t > maxCmdType {
		return Command{}, fmt.Errorf("%w: command type %d out of range", ErrInvalid, t)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return Command{}, fmt.Errorf("%w: %s payload: %v", ErrInvalid, t, err)
	}
	return Command{Type: t, Version: payloadVersion, RequestID: id, Payload: b}, nil
}

// Encode returns the wire form: [type|0x80 if ignorable][version][16-byte
// request id][uvarint payload len][payload][crc32c of everything before,
// 4 bytes big endian]. Only the low 7 bits of Type are encoded.
func (c Command) Encode() []byte {
	return c.appendTo(make([]byte, 0, c.encodedLen()))
}

func (c Command) encodedLen() int {
	var tmp [binary.MaxVarintLen64]byte
	return cmdOverhead + binary.PutUvarint(tmp[:], uint64(len(c.Payload))) + len(c.Payload)
}

func (c Command) appendTo(b []byte) []byte {
	start := len(b)
	t := byte(c.Type) & maxCmdType
	if c.Ignorable {
		t |= ignorableBit
	}
	b = append(b, t, c.Version)
	b = append(b, c.RequestID[:]...)
	b = binary.AppendUvarint(b, uint64(len(c.Payload)))
	b = append(b, c.Payload...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// DecodeCommand decodes exactly one encoded command. It returns ErrMalformed
// for bad framing (short input, bad or non-minimal length, trailing bytes)
// and ErrChecksum when the CRC does not match. The payload is a copy.
func DecodeCommand(b []byte) (Command, error) {
	c, n, err := decodeCommand(b)
	if err != nil {
		return Command{}, err
	}
	if n != len(b) {
		return Command{}, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-n)
	}
	c.Payload = cloneBytes(c.Payload)
	return c, nil
}

// decodeCommand decodes the command at the start of b and returns how many
// bytes it used. Payload aliases b.
func decodeCommand(b []byte) (Command, int, error) {
	if len(b) < minCommandLen {
		return Command{}, 0, fmt.Errorf("%w: %d bytes, need at least %d", ErrMalformed, len(b), minCommandLen)
	}
	c := Command{Type: CmdType(b[0] & maxCmdType), Ignorable: b[0]&ignorableBit != 0, Version: b[1]}
	copy(c.RequestID[:], b[2:18])
	plen, k := binary.Uvarint(b[18:])
	if k <= 0 || k != uvarintLen(plen) {
		return Command{}, 0, fmt.Errorf("%w: bad payload length", ErrMalformed)
	}
	off := 18 + k
	if avail := len(b) - off - 4; avail < 0 || plen > uint64(avail) {
		return Command{}, 0, fmt.Errorf("%w: payload length %d exceeds input", ErrMalformed, plen)
	}
	end := off + int(plen)
	if binary.BigEndian.Uint32(b[end:]) != crc32.Checksum(b[:end], castagnoli) {
		return Command{}, 0, ErrChecksum
	}
	if plen > 0 {
		c.Payload = b[off:end:end]
	}
	return c, end + 4, nil
}

// EncodeBatch encodes the commands of one Raft log entry:
// ['D'][uvarint count] then each command's Encode.
func EncodeBatch(cmds []Command) []byte {
	n := 1 + binary.MaxVarintLen64
	for _, c := range cmds {
		n += c.encodedLen()
	}
	b := make([]byte, 0, n)
	b = append(b, batchMagic)
	b = binary.AppendUvarint(b, uint64(len(cmds)))
	for _, c := range cmds {
		b = c.appendTo(b)
	}
	return b
}

// DecodeBatch decodes an EncodeBatch result. Payloads are copies.
func DecodeBatch(b []byte) ([]Command, error) {
	cmds, err := decodeBatch(b)
	if err != nil {
		return nil, err
	}
	for i := range cmds {
		cmds[i].Payload = cloneBytes(cmds[i].Payload)
	}
	return cmds, nil
}

// decodeBatch is DecodeBatch with payloads aliasing b.
func decodeBatch(b []byte) ([]Command, error) {
	if len(b) < 2 || b[0] != batchMagic {
		return nil, fmt.Errorf("%w: not a command batch", ErrMalformed)
	}
	count, k := binary.Uvarint(b[1:])
	if k <= 0 || k != uvarintLen(count) {
		return nil, fmt.Errorf("%w: bad batch count", ErrMalformed)
	}
	rest := b[1+k:]
	if count > uint64(len(rest)/minCommandLen) {
		return nil, fmt.Errorf("%w: batch count %d exceeds input", ErrMalformed, count)
	}
	cmds := make([]Command, 0, count)
	for range count {
		c, n, err := decodeCommand(rest)
		if err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
		rest = rest[n:]
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after batch", ErrMalformed, len(rest))
	}
	return cmds, nil
}

// uvarintLen is the minimal encoded length of x; decoders reject longer
// encodings so every accepted input re-encodes to the same bytes.
func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

package transport

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
)

// MaxBody is the largest RPC request or response body (snapshots travel by
// RPC).
const MaxBody = 64 << 20

// maxMethod bounds an RPC method name.
const maxMethod = 1024

// maxErrorText bounds the error text a server sends back.
const maxErrorText = 64 << 10

// Response status bytes.
const (
	statusOK    byte = 0
	statusError byte = 1
)

// Request frame:  [uvarint len(method)][method][uvarint timeout ms, 0 = none]
//
//	[u32 big-endian len(body)][body]
//
// Response frame: [status][u32 big-endian len(payload)][payload]; payload is
// the body for statusOK and the error text for statusError.

// requestHeader encodes everything of a request frame before its body.
func requestHeader(method string, timeoutMS uint64, bodyLen int) []byte {
	h := make([]byte, 0, 2*binary.MaxVarintLen64+len(method)+4)
	h = binary.AppendUvarint(h, uint64(len(method)))
	h = append(h, method...)
	h = binary.AppendUvarint(h, timeoutMS)
	return binary.BigEndian.AppendUint32(h, uint32(bodyLen))
}

// readRequest decodes one request frame.
func readRequest(r *bufio.Reader) (method string, timeoutMS uint64, body []byte, err error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", 0, nil, err
	}
	if n > maxMethod {
		return "", 0, nil, fmt.Errorf("%w: method length %d", ErrFrameTooLarge, n)
	}
	m := make([]byte, n)
	if _, err := io.ReadFull(r, m); err != nil {
		return "", 0, nil, unexpected(err)
	}
	if timeoutMS, err = binary.ReadUvarint(r); err != nil {
		return "", 0, nil, unexpected(err)
	}
	body, err = readPayload(r)
	return string(m), timeoutMS, body, err
}

// responseHeader encodes the status and payload length of a response frame.
func responseHeader(status byte, payloadLen int) []byte {
	h := []byte{status, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(h[1:], uint32(payloadLen))
	return h
}

// readResponse decodes one response frame.
func readResponse(r *bufio.Reader) (status byte, payload []byte, err error) {
	status, err = r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	if status != statusOK && status != statusError {
		return 0, nil, fmt.Errorf("%w: status %d", ErrMalformed, status)
	}
	payload, err = readPayload(r)
	return status, payload, err
}

// readPayload reads a u32 length and that many bytes, growing the buffer as
// data arrives so a peer announcing a large body cannot make us allocate it
// up front.
func readPayload(r io.Reader) ([]byte, error) {
	var l [4]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, unexpected(err)
	}
	n := int(binary.BigEndian.Uint32(l[:]))
	if n > MaxBody {
		return nil, fmt.Errorf("%w: body length %d", ErrFrameTooLarge, n)
	}
	const chunk = 1 << 20
	b := make([]byte, 0, min(n, chunk))
	for len(b) < n {
		k := min(n-len(b), chunk)
		b = slices.Grow(b, k)
		if _, err := io.ReadFull(r, b[len(b):len(b)+k]); err != nil {
			return nil, unexpected(err)
		}
		b = b[:len(b)+k]
	}
	return b, nil
}

// unexpected turns a clean EOF inside a frame into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
	"time"
)

// Vectors made with Python 3.11: json.dumps({"url": u}, indent=4, sort_keys=True).
func TestAppendSignedURL(t *testing.T) {
	tests := []struct {
		name, url, want string
	}{
		{"plain", "http://10.0.0.1:8080", "{\n    \"url\": \"http://10.0.0.1:8080\"\n}"},
		{"escapes", "http://h/ä?x=<&>\"\\", "{\n    \"url\": \"http://h/\\u00e4?x=<&>\\\"\\\\\"\n}"},
		{"astral and controls", "http://e/\U0001F600\x7f\x01", "{\n    \"url\": \"http://e/\\ud83d\\ude00\\u007f\\u0001\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendSignedURL(nil, tt.url)); got != tt.want {
				t.Fatalf("AppendSignedURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

func TestMintVerify(t *testing.T) {
	key := WorkerKey([]byte("cluster-secret"), 7)
	now := time.UnixMilli(1_700_000_000_000)
	c := Claims{WorkerID: 7, Endpoint: "chat-1", Reqnum: 42, RequestIdx: 9, Cost: 100.5, Expires: now.UnixMilli() + 60_000}
	tok := Mint(key, c)
	got, err := Verify(key, tok, now)
	if err != nil || got != c {
		t.Fatalf("Verify(Mint(c)) = %+v, %v, want %+v", got, err, c)
	}
	tests := []struct {
		name string
		key  []byte
		tok  string
		now  time.Time
		want error
	}{
		{"other worker's key", WorkerKey([]byte("cluster-secret"), 8), tok, now, ErrBadMAC},
		{"other cluster", WorkerKey([]byte("other"), 7), tok, now, ErrBadMAC},
		{"expired", key, tok, now.Add(time.Minute), ErrExpired},
		{"tampered claim", key, "v1.7.chat-1.43" + tok[len("v1.7.chat-1.42"):], now, ErrBadMAC},
		{"truncated", key, tok[:len(tok)-3], now, ErrBadMAC},
		{"garbage", key, "hello", now, ErrMalformed},
		{"empty", key, "", now, ErrMalformed},
		{"only the version", key, "v1.garbage", now, ErrMalformed},
		{"version and dot", key, "v1.", now, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Verify(tt.key, tt.tok, tt.now); !errors.Is(err, tt.want) {
				t.Fatalf("Verify(%q) = %v, want %v", tt.tok, err, tt.want)
			}
		})
	}
}

func BenchmarkAppend(b *testing.B) {
	key := WorkerKey([]byte("s"), 1)
	buf := make([]byte, 0, 256)
	c := Claims{WorkerID: 1, Endpoint: "e", Reqnum: 1, RequestIdx: 2, Cost: 100, Expires: 1}
	b.ReportAllocs()
	for b.Loop() {
		buf = Append(buf[:0], key, c)
	}
}

func TestMacSumMatchesCryptoHMAC(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 65, 200, 511, 512, 513, 2000} {
		msg := make([]byte, n)
		for i := range msg {
			msg[i] = byte(i * 7)
		}
		for _, key := range [][]byte{nil, []byte("k"), make([]byte, 64), make([]byte, 100)} {
			m := hmac.New(sha256.New, key)
			m.Write(msg)
			got := macSum(key, msg)
			if !hmac.Equal(got[:], m.Sum(nil)) {
				t.Fatalf("macSum(key %d bytes, msg %d bytes) differs from crypto/hmac", len(key), n)
			}
		}
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	key := WorkerKey([]byte("s"), 1)
	buf := make([]byte, 0, 256)
	c := Claims{WorkerID: 1, Endpoint: "endpoint-name", Reqnum: 123456789, RequestIdx: 2, Cost: 100.5, Expires: 1}
	if n := testing.AllocsPerRun(100, func() { buf = Append(buf[:0], key, c) }); n != 0 {
		t.Fatalf("Append allocates %v times per call, want 0", n)
	}
}

func FuzzVerify(f *testing.F) {
	key := WorkerKey([]byte("s"), 1)
	f.Add(Mint(key, Claims{WorkerID: 1, Endpoint: "e", Reqnum: 2, RequestIdx: 3, Cost: 1.5, Expires: 9e12}))
	for _, s := range []string{"", "v1.", "v1.garbage", "v1.1.e.2.3.1.5.9.x", "v1......."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		Verify(key, tok, time.UnixMilli(0)) // must not panic
	})
}

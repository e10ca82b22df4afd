package affinity

// MaxBlocks is the most prefix block ids a hint may carry (the leading
// 512 blocks of a prompt: 262,144 tokens). Clients send only the leading
// MaxBlocks ids; /route/ refuses more with 400.
const MaxBlocks = 512

// BlockTokens is the number of prompt tokens one prefix block covers.
const BlockTokens = 512

// SessionBlock is the pseudo-block id of a session string: FNV-1a (64-bit)
// of "session\x00" followed by the string's bytes. No allocation.
func SessionBlock(session []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range []byte("session\x00") {
		h = (h ^ uint64(c)) * fnvPrime
	}
	for _, c := range session {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hint is what a request says about its prompt: an optional session and the
// ids of its leading prefix blocks. The zero Hint says nothing.
type Hint struct {
	Session    uint64 // SessionBlock of the session; used when HasSession
	HasSession bool
	Blocks     []uint64
}

// Len is the number of blocks the hint names (the session counts as one).
func (h *Hint) Len() int {
	n := len(h.Blocks)
	if h.HasSession {
		n++
	}
	return n
}

// Empty reports whether the hint says nothing.
func (h *Hint) Empty() bool { return h.Len() == 0 }

// at is the i-th block of the hint: the session first, then the prefix.
func (h *Hint) at(i int) uint64 {
	if h.HasSession {
		if i == 0 {
			return h.Session
		}
		i--
	}
	return h.Blocks[i]
}

package affinity

// LRU is a worker's KV cache of blocks, least recently used evicted first
// (the fake model's cache, and the real caches of `drover sim --routing`).
// Not safe for concurrent use.
type LRU struct {
	cap        int
	nodes      map[uint64]*lruNode
	head, tail *lruNode // head: most recent
}

type lruNode struct {
	key        uint64
	prev, next *lruNode
}

// NewLRU returns an empty cache of capacity blocks.
func NewLRU(capacity int) *LRU {
	return &LRU{cap: max(capacity, 0), nodes: make(map[uint64]*lruNode, max(capacity, 0))}
}

// Len is the number of blocks held.
func (c *LRU) Len() int { return len(c.nodes) }

// Has reports whether b is held (without touching it).
func (c *LRU) Has(b uint64) bool { _, ok := c.nodes[b]; return ok }

// PrefixHit is the number of leading blocks of ids held.
func (c *LRU) PrefixHit(ids []uint64) int {
	for i, b := range ids {
		if !c.Has(b) {
			return i
		}
	}
	return len(ids)
}

// Touch makes every block of ids most recently used, inserting the absent
// ones and evicting beyond capacity.
func (c *LRU) Touch(ids []uint64) {
	for _, b := range ids {
		c.touch(b)
	}
}

// Clear drops every block (the worker restarted).
func (c *LRU) Clear() {
	clear(c.nodes)
	c.head, c.tail = nil, nil
}

func (c *LRU) touch(b uint64) {
	if c.cap == 0 {
		return
	}
	if n, ok := c.nodes[b]; ok {
		c.unlink(n)
		c.pushFront(n)
		return
	}
	n := &lruNode{key: b}
	c.nodes[b] = n
	c.pushFront(n)
	if len(c.nodes) > c.cap {
		old := c.tail
		c.unlink(old)
		delete(c.nodes, old.key)
	}
}

func (c *LRU) unlink(n *lruNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		c.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		c.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (c *LRU) pushFront(n *lruNode) {
	n.next = c.head
	if c.head != nil {
		c.head.prev = n
	}
	c.head = n
	if c.tail == nil {
		c.tail = n
	}
}

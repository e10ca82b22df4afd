package cluster

import "math/rand/v2"

// queueTree is an endpoint's held requests in queue order (Enqueued, then
// Node, then RequestIdx: queueLess), as a treap whose nodes also hold the
// count and the summed cost of their subtree. Insert, delete and "how many
// entries, of what cost, are ahead of this one" take O(log n) expected
// time. Not safe for concurrent use (epQueue.mu guards it).
type queueTree struct {
	root *treeNode
}

type treeNode struct {
	it          *queueItem
	prio        uint64
	left, right *treeNode
	n           int     // entries in this subtree
	cost        float64 // their summed Cost
}

func (t *treeNode) fix() {
	t.n, t.cost = 1, t.it.e.Cost
	if t.left != nil {
		t.n += t.left.n
		t.cost += t.left.cost
	}
	if t.right != nil {
		t.n += t.right.n
		t.cost += t.right.cost
	}
}

// len is the number of entries.
func (q *queueTree) len() int {
	if q.root == nil {
		return 0
	}
	return q.root.n
}

// split cuts t into the entries before it (l) and the rest (r).
func split(t *treeNode, it *queueItem) (l, r *treeNode) {
	if t == nil {
		return nil, nil
	}
	if queueLess(&t.it.e, &it.e) {
		t.right, r = split(t.right, it)
		t.fix()
		return t, r
	}
	l, t.left = split(t.left, it)
	t.fix()
	return l, t
}

// join joins two treaps whose keys are ordered (every key of l before r's).
func join(l, r *treeNode) *treeNode {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.prio > r.prio:
		l.right = join(l.right, r)
		l.fix()
		return l
	default:
		r.left = join(l, r.left)
		r.fix()
		return r
	}
}

// insert adds it (its key must not be in the tree).
func (q *queueTree) insert(it *queueItem) {
	n := &treeNode{it: it, prio: rand.Uint64()}
	n.fix()
	l, r := split(q.root, it)
	q.root = join(join(l, n), r)
}

// remove deletes it, found by its current key; false if it is not there.
func (q *queueTree) remove(it *queueItem) bool {
	var removed bool
	q.root = removeNode(q.root, it, &removed)
	return removed
}

func removeNode(t *treeNode, it *queueItem, removed *bool) *treeNode {
	if t == nil {
		return nil
	}
	switch {
	case t.it == it:
		*removed = true
		return join(t.left, t.right)
	case queueLess(&it.e, &t.it.e):
		t.left = removeNode(t.left, it, removed)
	default:
		t.right = removeNode(t.right, it, removed)
	}
	t.fix()
	return t
}

// ahead counts the entries before it in queue order and sums their cost.
// it need not be in the tree (nil: every entry).
func (q *queueTree) ahead(it *queueItem) (n int, cost float64) {
	if it == nil {
		if q.root == nil {
			return 0, 0
		}
		return q.root.n, q.root.cost
	}
	for t := q.root; t != nil; {
		if queueLess(&t.it.e, &it.e) {
			n++
			cost += t.it.e.Cost
			if t.left != nil {
				n += t.left.n
				cost += t.left.cost
			}
			t = t.right
		} else {
			t = t.left
		}
	}
	return n, cost
}

// each calls f on every entry in queue order.
func (q *queueTree) each(f func(*queueItem)) {
	var walk func(*treeNode)
	walk = func(t *treeNode) {
		if t == nil {
			return
		}
		walk(t.left)
		f(t.it)
		walk(t.right)
	}
	walk(q.root)
}

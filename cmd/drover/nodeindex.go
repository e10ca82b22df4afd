package main

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// nodeIndex returns the configured index, or derives one from the node id:
// the number its id ends with (n1, node-7, gpu12 → 1, 7, 12; the usual
// naming makes these unique), else a hash of the id. Indexes must differ
// between the nodes of a cluster; set --node-index where ids don't end in
// distinct numbers.
func nodeIndex(flag int, id string) int {
	if flag >= 0 {
		return flag
	}
	digits := len(id) - len(strings.TrimRight(id, "0123456789"))
	if digits > 0 {
		if n, err := strconv.Atoi(id[len(id)-digits:]); err == nil {
			return n % 1024
		}
	}
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % 1024)
}

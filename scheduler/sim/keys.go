package sim

import (
	"cmp"
	"maps"
	"slices"
)

// sortedKeys returns m's keys in order (deterministic iteration).
func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}

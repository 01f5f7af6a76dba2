package control

import "unsafe"

// arena hands out the per-notebook strings and string slices of one
// evaluation from large shared blocks: a 100,000-notebook evaluation would
// otherwise make 300,000 small allocations for the reproducing commands
// alone. Strings point into blocks that are never written again once a
// string is cut from them, so they are as immutable as any Go string.
type arena struct {
	bytes   []byte
	strings []string
}

const (
	arenaBytes   = 1 << 20
	arenaStrings = 1 << 14
)

// concat returns the concatenation of parts as a string in the arena.
func (a *arena) concat(parts ...string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n == 0 {
		return ""
	}
	if cap(a.bytes)-len(a.bytes) < n {
		a.bytes = make([]byte, 0, max(n, arenaBytes))
	}
	start := len(a.bytes)
	for _, p := range parts {
		a.bytes = append(a.bytes, p...)
	}
	return unsafe.String(&a.bytes[start], n)
}

// slice returns an empty string slice of capacity n from the arena; its
// capacity is capped so that appending beyond n reallocates instead of
// writing into a neighbour's strings.
func (a *arena) slice(n int) []string {
	if cap(a.strings)-len(a.strings) < n {
		a.strings = make([]string, 0, max(n, arenaStrings))
	}
	start := len(a.strings)
	a.strings = a.strings[:start+n]
	return a.strings[start : start : start+n]
}

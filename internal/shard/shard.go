// Package shard splits a set of AWS accounts between N independent scans
// (one per machine or pod) without coordination: every account belongs to
// exactly one shard, decided by its ID alone, so the shards agree however the
// account list was obtained and whichever accounts join or leave.
//
// The rule, reproducible in any language: shard(id) = FNV-1a-64(id) mod N,
// where id is the 12-digit account ID as ASCII and FNV-1a-64 is the 64-bit
// Fowler–Noll–Vo 1a hash (offset basis 14695981039346656037, prime
// 1099511628211). Shards are numbered from 0, like a Kubernetes Indexed
// Job's JOB_COMPLETION_INDEX.
package shard

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxCount bounds N: more shards than this would leave most of them empty
// in any real organisation (AWS caps an organisation at a few thousand
// accounts by default).
const MaxCount = 10000

// ErrSyntax is matched (errors.Is) by every error Parse returns.
var ErrSyntax = errors.New("invalid shard")

// Shard is one of Count shards; the zero value means "no sharding" and owns
// every account.
type Shard struct {
	Index int // 0 ≤ Index < Count
	Count int
}

// Parse reads "K/N" (0 ≤ K < N). The empty string is the zero Shard.
func Parse(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	k, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("%w %q: want K/N, for example 0/4", ErrSyntax, s)
	}
	index, err1 := strconv.Atoi(strings.TrimSpace(k))
	count, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("%w %q: K and N must be whole numbers (K/N, for example 0/4)", ErrSyntax, s)
	case count < 1 || count > MaxCount:
		return Shard{}, fmt.Errorf("%w %q: N must be 1 to %d", ErrSyntax, s, MaxCount)
	case index < 0 || index >= count:
		return Shard{}, fmt.Errorf("%w %q: K must be 0 to %d (shards are numbered from 0, like JOB_COMPLETION_INDEX)", ErrSyntax, s, count-1)
	}
	return Shard{Index: index, Count: count}, nil
}

// String is "K/N", or "" for the zero Shard.
func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Of returns the shard (0 ≤ shard < count) that owns accountID.
func Of(accountID string, count int) int {
	if count <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(accountID)) // a hash.Hash never fails to write
	return int(h.Sum64() % uint64(count))
}

// Owns reports whether accountID belongs to s. The zero Shard owns every
// account.
func (s Shard) Owns(accountID string) bool {
	return s.Count <= 1 || Of(accountID, s.Count) == s.Index
}

// Filter returns the IDs s owns, in their order.
func (s Shard) Filter(ids []string) []string {
	if s.Count <= 1 {
		return ids
	}
	var out []string
	for _, id := range ids {
		if s.Owns(id) {
			out = append(out, id)
		}
	}
	return out
}

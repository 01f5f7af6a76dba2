package shard

import (
	"errors"
	"fmt"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"", Shard{}, false},
		{"0/1", Shard{0, 1}, false},
		{"0/4", Shard{0, 4}, false},
		{"3/4", Shard{3, 4}, false},
		{" 2 / 5 ", Shard{2, 5}, false},
		{"4/4", Shard{}, true}, // numbered from 0
		{"-1/4", Shard{}, true},
		{"1/0", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
		{"1/2/3", Shard{}, true},
		{fmt.Sprintf("0/%d", MaxCount+1), Shard{}, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil && !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) error %v does not match ErrSyntax", tt.in, err)
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && tt.in != "" {
			if back, _ := Parse(got.String()); back != got {
				t.Errorf("String %q does not parse back to %+v", got.String(), got)
			}
		}
	}
}

// TestOfIsTheDocumentedHash pins the assignment to FNV-1a-64 mod N, so that
// shards computed by another tool (or an older sagefence) agree. The values
// were computed independently in Python.
func TestOfIsTheDocumentedHash(t *testing.T) {
	tests := []struct {
		id         string
		mod4, mod3 int
	}{
		{"123456789012", 3, 2},
		{"111122223333", 1, 2},
		{"000000000001", 2, 0},
		{"999999999999", 1, 2},
	}
	for _, tt := range tests {
		if got := Of(tt.id, 4); got != tt.mod4 {
			t.Errorf("Of(%s, 4) = %d, want %d", tt.id, got, tt.mod4)
		}
		if got := Of(tt.id, 3); got != tt.mod3 {
			t.Errorf("Of(%s, 3) = %d, want %d", tt.id, got, tt.mod3)
		}
	}
}

func TestShardsPartitionTheAccounts(t *testing.T) {
	var ids []string
	for i := range 1000 {
		ids = append(ids, fmt.Sprintf("%012d", 100000000000+i*7919))
	}
	for _, n := range []int{1, 2, 3, 7, 16} {
		owners := map[string]int{}
		sizes := make([]int, n)
		for k := range n {
			for _, id := range (Shard{k, n}).Filter(ids) {
				owners[id]++
				sizes[k]++
			}
		}
		for _, id := range ids {
			if owners[id] != 1 {
				t.Fatalf("N=%d: account %s is in %d shards, want exactly 1", n, id, owners[id])
			}
		}
		// The hash spreads accounts evenly enough that no shard gets
		// twice its fair share.
		for k, s := range sizes {
			if s > 2*len(ids)/n {
				t.Errorf("N=%d: shard %d holds %d of %d accounts", n, k, s, len(ids))
			}
		}
	}
}

func TestZeroShardOwnsEverything(t *testing.T) {
	var s Shard
	if !s.Owns("123456789012") || len(s.Filter([]string{"a", "b"})) != 2 || s.String() != "" {
		t.Error("the zero Shard must own every account")
	}
}

func TestAssignmentIgnoresTheOtherAccounts(t *testing.T) {
	// The same account lands in the same shard whatever else is in the list.
	s := Shard{Index: Of("123456789012", 5), Count: 5}
	for _, others := range [][]string{nil, {"111122223333"}, {"000000000001", "999999999999"}} {
		got := s.Filter(append([]string{"123456789012"}, others...))
		if len(got) == 0 || got[0] != "123456789012" {
			t.Errorf("with %v: %v", others, got)
		}
	}
}

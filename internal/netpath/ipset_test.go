package netpath

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func v4(p string) ipSet { return setOf(prefixSpan(netip.MustParsePrefix(p))) }

func contains(s ipSet, a u128) bool {
	for _, sp := range s {
		if !a.less(sp.lo) && !sp.hi.less(a) {
			return true
		}
	}
	return false
}

// TestSetOpsAgainstMembership checks union, intersect and subtract against
// per-address membership on random IPv4 prefixes, and overlaps and covers
// against the intersection and difference.
func TestSetOpsAgainstMembership(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randSet := func() ipSet {
		var spans []span
		for i := 0; i < 1+rng.IntN(4); i++ {
			a := netip.AddrFrom4([4]byte{byte(rng.IntN(4) * 64), byte(rng.IntN(256)), 0, 0})
			spans = append(spans, prefixSpan(netip.PrefixFrom(a, 1+rng.IntN(12))))
		}
		return setOf(spans...)
	}
	for i := 0; i < 500; i++ {
		a, b := randSet(), randSet()
		u, in, sub := a.union(b), a.intersect(b), a.subtract(b)
		if a.overlaps(b) != !in.empty() {
			t.Fatalf("overlaps(%v, %v) = %v, but the intersection is %v", a, b, a.overlaps(b), in)
		}
		if a.covers(b) != b.subtract(a).empty() || !u.covers(a) || !u.covers(b) {
			t.Fatalf("covers disagrees with subtract for %v, %v", a, b)
		}
		for j := 0; j < 200; j++ {
			x := u128{0, uint64(rng.Uint32())}
			ina, inb := contains(a, x), contains(b, x)
			if contains(u, x) != (ina || inb) || contains(in, x) != (ina && inb) || contains(sub, x) != (ina && !inb) {
				t.Fatalf("set ops disagree with membership at %v for %v, %v", x, a, b)
			}
		}
		for _, s := range []ipSet{u, in, sub} {
			for k := 1; k < len(s); k++ {
				if !s[k-1].hi.inc().less(s[k].lo) {
					t.Fatalf("spans not disjoint and separated: %v", s)
				}
			}
		}
	}
}

func TestPublicSpace(t *testing.T) {
	pub4, pub6 := publicSpace(false), publicSpace(true)
	for _, c := range []struct {
		p      string
		public bool
	}{
		{"8.8.8.8/32", true}, {"52.94.0.0/22", true}, {"10.1.2.3/32", false}, {"172.31.0.1/32", false},
		{"192.168.1.1/32", false}, {"100.64.0.1/32", false}, {"169.254.169.254/32", false}, {"224.0.0.1/32", false},
		{"172.32.0.1/32", true}, {"2600:1f18::1/128", true}, {"fd00::1/128", false}, {"fe80::1/128", false}, {"2001:db8::1/128", false},
	} {
		p := netip.MustParsePrefix(c.p)
		s := setOf(prefixSpan(p))
		pub := pub4
		if p.Addr().Is6() {
			pub = pub6
		}
		if got := !pub.intersect(s).empty(); got != c.public {
			t.Errorf("%s public = %v, want %v", c.p, got, c.public)
		}
	}
	if !v4("0.0.0.0/1").union(v4("128.0.0.0/1")).covers(pub4) {
		t.Error("0/1 + 128/1 must cover all public IPv4")
	}
	if v4("0.0.0.0/1").covers(pub4) {
		t.Error("0/1 alone must not cover all public IPv4")
	}
	if !setOf(prefixSpan(netip.MustParsePrefix("::/0"))).covers(pub6) {
		t.Error("::/0 must cover public IPv6")
	}
}

func TestPrefixSpanIPv6Edges(t *testing.T) {
	for _, c := range []struct {
		p      string
		lo, hi u128
	}{
		{"::/0", u128{}, maxV6},
		{"2000::/3", u128{0x2000 << 48, 0}, u128{0x3fffffffffffffff, ^uint64(0)}},
		{"2600::/64", u128{0x2600 << 48, 0}, u128{0x2600 << 48, ^uint64(0)}},
		{"2600::1/128", u128{0x2600 << 48, 1}, u128{0x2600 << 48, 1}},
	} {
		got := prefixSpan(netip.MustParsePrefix(c.p))
		if got.lo != c.lo || got.hi != c.hi {
			t.Errorf("%s = %v, want %v-%v", c.p, got, c.lo, c.hi)
		}
	}
}

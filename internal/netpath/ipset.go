package netpath

import (
	"net/netip"
	"slices"
	"sync"
)

// u128 is an address as an unsigned integer: IPv4 addresses use the low 32
// bits, IPv6 addresses all 128.
type u128 struct{ hi, lo uint64 }

func (a u128) less(b u128) bool { return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo) }

func (a u128) inc() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func (a u128) dec() u128 {
	if a.lo == 0 {
		return u128{a.hi - 1, ^uint64(0)}
	}
	return u128{a.hi, a.lo - 1}
}

func maxU(a, b u128) u128 {
	if a.less(b) {
		return b
	}
	return a
}

func minU(a, b u128) u128 {
	if a.less(b) {
		return a
	}
	return b
}

// span is an inclusive range of addresses.
type span struct{ lo, hi u128 }

// ipSet is a set of addresses of one family: sorted, disjoint, non-adjacent spans.
type ipSet []span

var maxV6 = u128{^uint64(0), ^uint64(0)}

// universe is every address of the family.
func universe(v6 bool) ipSet {
	if v6 {
		return ipSet{{u128{}, maxV6}}
	}
	return ipSet{{u128{}, u128{0, 0xffffffff}}}
}

// prefixSpan turns a masked prefix into its address range.
func prefixSpan(p netip.Prefix) span {
	p = p.Masked()
	bits := p.Bits()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
		size := uint64(1) << (32 - bits)
		return span{u128{0, v}, u128{0, v + size - 1}}
	}
	b := p.Addr().As16()
	var hi, lo uint64
	for i := 0; i < 8; i++ {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	start := u128{hi, lo}
	end := start
	host := 128 - bits
	switch {
	case host == 0:
	case host < 64:
		end.lo |= (uint64(1) << host) - 1
	case host == 64:
		end.lo = ^uint64(0)
	case host < 128:
		end.lo = ^uint64(0)
		end.hi |= (uint64(1) << (host - 64)) - 1
	default:
		end = maxV6
	}
	return span{start, end}
}

// setOf builds a set from spans in any order.
func setOf(spans ...span) ipSet {
	return mergeInPlace(slices.Clone(spans))
}

// mergeInPlace sorts spans and merges overlapping and adjacent ones, in the
// spans' own memory; the set returned shares it.
func mergeInPlace(s []span) ipSet {
	if len(s) == 0 {
		return nil
	}
	slices.SortFunc(s, func(a, b span) int {
		switch {
		case a.lo.less(b.lo):
			return -1
		case b.lo.less(a.lo):
			return 1
		}
		return 0
	})
	out := ipSet(s[:1])
	for _, sp := range s[1:] {
		last := &out[len(out)-1]
		if last.hi == maxV6 || !last.hi.inc().less(sp.lo) {
			last.hi = maxU(last.hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func (s ipSet) empty() bool { return len(s) == 0 }

func (s ipSet) union(t ipSet) ipSet {
	if len(t) == 0 {
		return s
	}
	if len(s) == 0 {
		return t
	}
	return s.unionInto(make(ipSet, 0, len(s)+len(t)), t)
}

// unionInto is union with the result always written to dst[:0] (never
// returning s or t themselves); dst must not share memory with s or t.
func (s ipSet) unionInto(dst, t ipSet) ipSet {
	// Both are sorted: merge them in one pass, joining overlapping and
	// adjacent spans.
	out := dst[:0]
	add := func(sp span) {
		if n := len(out); n > 0 {
			last := &out[n-1]
			if last.hi == maxV6 || !last.hi.inc().less(sp.lo) {
				last.hi = maxU(last.hi, sp.hi)
				return
			}
		}
		out = append(out, sp)
	}
	i, j := 0, 0
	for i < len(s) || j < len(t) {
		if j == len(t) || (i < len(s) && !t[j].lo.less(s[i].lo)) {
			add(s[i])
			i++
		} else {
			add(t[j])
			j++
		}
	}
	return out
}

func (s ipSet) intersect(t ipSet) ipSet { return s.intersectInto(nil, t) }

// intersectInto is intersect with the result appended to dst[:0]; dst must
// not share memory with s or t.
func (s ipSet) intersectInto(dst, t ipSet) ipSet {
	out := dst[:0]
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo := maxU(s[i].lo, t[j].lo)
		hi := minU(s[i].hi, t[j].hi)
		if !hi.less(lo) {
			out = append(out, span{lo, hi})
		}
		if s[i].hi.less(t[j].hi) {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s ipSet) subtract(t ipSet) ipSet {
	if len(t) == 0 || len(s) == 0 {
		return s
	}
	var out ipSet
	j := 0
	for _, sp := range s {
		lo := sp.lo
		done := false
		for j < len(t) && t[j].hi.less(lo) {
			j++
		}
		k := j
		for ; k < len(t) && !sp.hi.less(t[k].lo); k++ {
			if lo.less(t[k].lo) {
				out = append(out, span{lo, t[k].lo.dec()})
			}
			if !t[k].hi.less(sp.hi) {
				done = true
				break
			}
			lo = t[k].hi.inc()
		}
		if !done {
			out = append(out, span{lo, sp.hi})
		}
	}
	return out
}

// overlaps reports whether s and t have an address in common; it is
// intersect(...).empty() negated, without building the intersection.
func (s ipSet) overlaps(t ipSet) bool {
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		if !minU(s[i].hi, t[j].hi).less(maxU(s[i].lo, t[j].lo)) {
			return true
		}
		if s[i].hi.less(t[j].hi) {
			i++
		} else {
			j++
		}
	}
	return false
}

// covers reports whether s contains every address of t. The spans of s are
// disjoint and never adjacent, so each span of t must lie inside one of them.
func (s ipSet) covers(t ipSet) bool {
	i := 0
	for _, sp := range t {
		for i < len(s) && s[i].hi.less(sp.lo) {
			i++
		}
		if i == len(s) || sp.lo.less(s[i].lo) || s[i].hi.less(sp.hi) {
			return false
		}
	}
	return true
}

// parsePrefix parses a CIDR, reporting whether it is IPv6.
func parsePrefix(cidr string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return netip.Prefix{}, false
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, true
}

// nonPublicV4 are the IPv4 ranges that are not reachable on the internet
// (RFC 6890 special-purpose: this network, private, shared CGN, loopback,
// link-local, IETF protocol, documentation, benchmarking, multicast, reserved).
var nonPublicV4 = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
	"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
	"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
}

// publicSpace returns the internet-routable address space of a family:
// IPv4 minus the special-purpose ranges; IPv6 global unicast (2000::/3)
// minus documentation space.
func publicSpace(v6 bool) ipSet {
	if v6 {
		g := setOf(prefixSpan(netip.MustParsePrefix("2000::/3")))
		return g.subtract(setOf(prefixSpan(netip.MustParsePrefix("2001:db8::/32"))))
	}
	var spans []span
	for _, c := range nonPublicV4 {
		spans = append(spans, prefixSpan(netip.MustParsePrefix(c)))
	}
	return universe(false).subtract(setOf(spans...))
}

// nat64 is the well-known NAT64 prefix: IPv6 addresses that embed IPv4
// ones, translated by a NAT gateway.
var nat64 = setOf(prefixSpan(netip.MustParsePrefix("64:ff9b::/96")))

// add returns a+b, saturating at the largest value.
func (a u128) add(b u128) u128 {
	lo := a.lo + b.lo
	carry := uint64(0)
	if lo < a.lo {
		carry = 1
	}
	hi := a.hi + b.hi + carry
	if hi < a.hi || (carry == 1 && hi == a.hi) {
		return maxV6
	}
	return u128{hi, lo}
}

// float is a as a float64 (for shares).
func (a u128) float() float64 { return float64(a.hi)*(1<<64) + float64(a.lo) }

// size is the number of addresses in s (saturating at 2^128-1).
func (s ipSet) size() u128 {
	var n u128
	for _, sp := range s {
		n = n.add(u128{sp.hi.hi - sp.lo.hi, sp.hi.lo - sp.lo.lo}.fixBorrow(sp)).add(u128{0, 1})
	}
	return n
}

// fixBorrow corrects hi-lo subtraction of a span for the borrow of the
// low word.
func (d u128) fixBorrow(sp span) u128 {
	if sp.hi.lo < sp.lo.lo {
		d.hi--
	}
	return d
}

// pow2 is 2^n for n in 0..127.
func pow2(n int) u128 {
	if n >= 64 {
		return u128{1 << (n - 64), 0}
	}
	return u128{0, 1 << n}
}

// publicSpaces are the public IPv4 and IPv6 spaces, computed once: they
// are constants, never changed after.
var publicSpaces = sync.OnceValues(func() (ipSet, ipSet) { return publicSpace(false), publicSpace(true) })

// walkedSpaces are the public IPv4 space and the public IPv6 space with
// the NAT64 prefix, computed once.
var walkedSpaces = sync.OnceValues(func() (ipSet, ipSet) {
	p4, p6 := publicSpaces()
	return p4, p6.union(nat64)
})

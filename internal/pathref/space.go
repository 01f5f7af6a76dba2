package pathref

import (
	"math/big"
	"net/netip"
	"slices"
)

// The ranges of the model, read-only: the RFC 6890 special-purpose IPv4
// ranges excluded from the public IPv4 space, IPv6 global unicast minus
// documentation, and the NAT64 prefix the walk carries but never counts.
var (
	specialV4 = mustPrefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4")
	globalV6 = netip.MustParsePrefix("2000::/3")
	docV6    = netip.MustParsePrefix("2001:db8::/32")
	nat64    = netip.MustParsePrefix("64:ff9b::/96")
)

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// isPublic reports whether a is in P4 or P6.
func isPublic(a netip.Addr) bool {
	if a.Is4() {
		for _, p := range specialV4 {
			if p.Contains(a) {
				return false
			}
		}
		return true
	}
	return globalV6.Contains(a) && !docV6.Contains(a)
}

// carried reports whether the walk carries a as a destination: public, or
// (IPv6) in the NAT64 prefix.
func carried(a netip.Addr) bool {
	return isPublic(a) || nat64.Contains(a)
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	b := p.Addr().As16()
	off := 0
	if p.Addr().Is4() {
		off = 96
	}
	for i := off + p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		a = a.Unmap()
	}
	return a
}

// boundaries collects the starts of the elementary intervals of one family
// cut by a set of prefixes: every prefix's first address and the address
// after its last. The family's first address is always a boundary.
type boundaries struct {
	v6   bool
	cuts []netip.Addr
}

func newBoundaries(v6 bool) *boundaries {
	first := netip.IPv4Unspecified()
	if v6 {
		first = netip.IPv6Unspecified()
	}
	return &boundaries{v6: v6, cuts: []netip.Addr{first}}
}

func (b *boundaries) add(p netip.Prefix) {
	if !p.IsValid() || p.Addr().Is6() != b.v6 {
		return
	}
	p = p.Masked()
	b.cuts = append(b.cuts, p.Addr())
	if next := lastAddr(p).Next(); next.IsValid() {
		b.cuts = append(b.cuts, next)
	}
}

// interval is one elementary interval [lo, hi].
type interval struct{ lo, hi netip.Addr }

// intervals sorts the cuts into the elementary intervals covering the whole
// family.
func (b *boundaries) intervals() []interval {
	cuts := slices.Clone(b.cuts)
	slices.SortFunc(cuts, netip.Addr.Compare)
	cuts = slices.Compact(cuts)
	last := netip.MustParseAddr("255.255.255.255")
	if b.v6 {
		last = netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
	}
	out := make([]interval, len(cuts))
	for i, c := range cuts {
		hi := last
		if i+1 < len(cuts) {
			hi = cuts[i+1].Prev()
		}
		out[i] = interval{c, hi}
	}
	return out
}

// size is the number of addresses in iv.
func (iv interval) size() *big.Int {
	lo, hi := addrInt(iv.lo), addrInt(iv.hi)
	n := new(big.Int).Sub(hi, lo)
	return n.Add(n, big.NewInt(1))
}

func addrInt(a netip.Addr) *big.Int {
	if a.Is4() {
		b := a.As4()
		return new(big.Int).SetBytes(b[:])
	}
	b := a.As16()
	return new(big.Int).SetBytes(b[:])
}

// segment is an elementary port segment [lo, hi] (inclusive).
type segment struct{ lo, hi int }

// portSegments cuts 0-65535 at every boundary given (a range's first port
// and the port after its last).
func portSegments(cuts []int) []segment {
	cs := append([]int{0}, cuts...)
	slices.Sort(cs)
	cs = slices.Compact(cs)
	var out []segment
	for i, c := range cs {
		if c < 0 || c > 65535 {
			continue
		}
		hi := 65535
		if i+1 < len(cs) && cs[i+1]-1 < hi {
			hi = cs[i+1] - 1
		}
		out = append(out, segment{c, hi})
	}
	return out
}

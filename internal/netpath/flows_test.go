package netpath

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// member reports whether flows hold (proto, port, addr), read directly
// from the representation.
func member(f flows, proto int, port int32, a u128) bool {
	for _, s := range f.segsOf(proto) {
		if port >= s.lo && port <= s.hi {
			return contains(s.set, a)
		}
	}
	return false
}

// checkFlows verifies the representation's invariants: listed protocols
// sorted and distinct, segments covering 0-65535 in order, sets sorted.
func checkFlows(t *testing.T, f flows) {
	t.Helper()
	for i, p := range f.by {
		if i > 0 && f.by[i-1].proto >= p.proto {
			t.Fatalf("protocols out of order: %+v", f.by)
		}
		next := int32(0)
		for _, s := range p.segs {
			if s.lo != next || s.hi < s.lo {
				t.Fatalf("segments do not tile 0-65535: %+v", p.segs)
			}
			next = s.hi + 1
		}
		if next != 65536 {
			t.Fatalf("segments end at %d: %+v", next-1, p.segs)
		}
	}
}

func randFlows(rng *rand.Rand) flows {
	protos := []int{protoAll, protoTCP, protoUDP, protoICMP, 50}
	var f flows
	for range 1 + rng.IntN(4) {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(4) * 64), byte(rng.IntN(256)), 0, 0})
		set := setOf(prefixSpan(netip.PrefixFrom(a, 1+rng.IntN(12))))
		lo := int32(rng.IntN(3) * 1000)
		hi := lo + int32(rng.IntN(2000))
		f = f.union(ruleFlows(protos[rng.IntN(len(protos))], lo, hi, set))
	}
	return f
}

// TestFlowOpsAgainstMembership: union, intersect, subtract and restrict
// of flows agree with per-(protocol, port, address) membership.
func TestFlowOpsAgainstMembership(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	protos := []int{protoTCP, protoUDP, protoICMP, 50, 99}
	for i := 0; i < 400; i++ {
		a, b := randFlows(rng), randFlows(rng)
		set := setOf(prefixSpan(netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(rng.IntN(256)), 0, 0, 0}), 1+rng.IntN(8))))
		u, in, sub, res := a.union(b), a.intersect(b), a.subtract(b), a.restrict(set)
		for _, f := range []flows{u, in, sub, res} {
			checkFlows(t, f)
		}
		for j := 0; j < 300; j++ {
			p := protos[rng.IntN(len(protos))]
			port := int32(rng.IntN(4000))
			x := u128{0, uint64(rng.Uint32())}
			ma, mb := member(a, p, port, x), member(b, p, port, x)
			if member(u, p, port, x) != (ma || mb) || member(in, p, port, x) != (ma && mb) ||
				member(sub, p, port, x) != (ma && !mb) || member(res, p, port, x) != (ma && contains(set, x)) {
				t.Fatalf("flow ops disagree with membership at %d/%d/%v", p, port, x)
			}
		}
		if a.empty() != (len(a.addresses()) == 0) {
			t.Fatalf("empty() and addresses() disagree for %+v", a)
		}
	}
}

// refACL evaluates an ACL the slow way: entries in rule order, first match
// for one (protocol, port, address).
func refACL(acl *inventory.NetworkACL, egress bool, proto int, port int32, a netip.Addr) bool {
	es := slices.Clone(acl.Entries)
	slices.SortStableFunc(es, func(x, y inventory.ACLEntry) int { return int(x.RuleNumber) - int(y.RuleNumber) })
	for _, e := range es {
		if e.Egress != egress {
			continue
		}
		c := e.CIDR
		if a.Is6() {
			c = e.IPv6CIDR
		}
		p, err := netip.ParsePrefix(c)
		if err != nil || !p.Contains(a) {
			continue
		}
		ep, _ := parseProto(e.Protocol)
		if ep != protoAll && ep != proto {
			continue
		}
		if e.HasPorts && hasPorts(proto) && (port < e.FromPort || port > e.ToPort) {
			continue
		}
		return e.Action == "allow"
	}
	return false
}

// TestACLAgainstFirstMatch: the compiled ACL allows exactly what the first
// matching entry allows, on random ACLs, protocols, ports and addresses.
func TestACLAgainstFirstMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	cidrs := []string{"0.0.0.0/0", "10.0.0.0/8", "8.8.8.8/32", "0.0.0.0/1", "128.0.0.0/2", "52.94.0.0/22"}
	protos := []string{"-1", "6", "17", "1", "50"}
	for i := 0; i < 300; i++ {
		acl := &inventory.NetworkACL{ID: "acl"}
		for range 1 + rng.IntN(7) {
			e := inventory.ACLEntry{RuleNumber: int32(1 + rng.IntN(200)), Egress: rng.IntN(2) == 0, Protocol: protos[rng.IntN(len(protos))],
				Action: []string{"allow", "deny"}[rng.IntN(2)], CIDR: cidrs[rng.IntN(len(cidrs))]}
			if e.Protocol == "6" || e.Protocol == "17" {
				e.HasPorts, e.FromPort = true, int32(rng.IntN(2000))
				e.ToPort = e.FromPort + int32(rng.IntN(2000))
			}
			acl.Entries = append(acl.Entries, e)
		}
		c := compileACL(acl)
		for j := 0; j < 200; j++ {
			b := [4]byte{byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))}
			if rng.IntN(4) == 0 {
				b = [4]byte{8, 8, 8, 8}
			}
			a := netip.AddrFrom4(b)
			x := u128{0, uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
			proto := []int{6, 17, 1, 50, 99}[rng.IntN(5)]
			port := int32(rng.IntN(4000))
			for d, egress := range []bool{true, false} {
				got := member([]flows{c.out[fam4], c.in[fam4]}[d], proto, port, x)
				if want := refACL(acl, egress, proto, port, a); got != want {
					t.Fatalf("ACL %+v egress=%v %d/%d %s: compiled %v, first match %v", acl.Entries, egress, proto, port, a, got, want)
				}
			}
		}
	}
}

// TestLongestPrefixAgainstLinearScan: what each route wins is what a
// linear longest-match scan picks, ties broken by rank.
func TestLongestPrefixAgainstLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 19))
	for i := 0; i < 300; i++ {
		var ents []entry
		routes := 1 + rng.IntN(5)
		for r := 0; r < routes; r++ {
			for range 1 + rng.IntN(3) {
				a := netip.AddrFrom4([4]byte{byte(rng.IntN(4) * 64), 0, 0, 0})
				p := netip.PrefixFrom(a, rng.IntN(4)).Masked()
				ents = append(ents, entry{route: r, bits: p.Bits(), span: prefixSpan(p), rank: rng.IntN(2)})
			}
		}
		won := longestPrefix(ents, routes)
		for j := 0; j < 200; j++ {
			x := u128{0, uint64(rng.Uint32())}
			best, bestRank := -1, 0
			var winners []int
			for _, e := range ents {
				if x.less(e.span.lo) || e.span.hi.less(x) {
					continue
				}
				switch {
				case e.bits > best || (e.bits == best && e.rank < bestRank):
					best, bestRank, winners = e.bits, e.rank, []int{e.route}
				case e.bits == best && e.rank == bestRank:
					winners = append(winners, e.route)
				}
			}
			for r := 0; r < routes; r++ {
				if contains(won[r], x) != slices.Contains(winners, r) {
					t.Fatalf("route %d at %v: won=%v, linear scan winners %v (entries %+v)", r, x, contains(won[r], x), winners, ents)
				}
			}
		}
	}
}

// TestEveryNetworkOperationIsUnderstood: every operation the collector can
// record as failed is one netpath turns into unknown facts.
func TestEveryNetworkOperationIsUnderstood(t *testing.T) {
	for _, op := range awsop.Network() {
		if !Understands(op) {
			t.Errorf("netpath does not understand a failure of %s", op)
		}
	}
	if Understands("ec2:DescribeInstances") {
		t.Error("Understands accepts an operation sagefence does not read")
	}
}

func TestSizeAndThreshold(t *testing.T) {
	p4, p6 := publicSpaces()
	if got := p4.size(); got.hi != 0 || got.lo != 3702258688 {
		t.Errorf("public IPv4 space = %v addresses", got)
	}
	if full := universe(true).size(); full != maxV6 {
		t.Errorf("the IPv6 universe saturates at 2^128-1, got %v", full)
	}
	if s := p6.size(); s.add(pow2(96)) != pow2(125) {
		t.Errorf("public IPv6 space = %v, want 2^125 - 2^96", s)
	}
	o := Options{}.withDefaults()
	if o.limit(fam4) != pow2(24) || o.limit(fam6) != pow2(96) {
		t.Errorf("default limits %v %v", o.limit(fam4), o.limit(fam6))
	}
}

package netpath

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

// oraclePolicy is what computePolicy must find, computed the slow and
// obvious way: each protocol on its own, one class per port segment
// between that protocol's own rule boundaries, every set built fresh, the
// ACL evaluated without its memo.
func oraclePolicy(acl sortedACL, groups []*inventory.SecurityGroup, v6 bool) famPolicy {
	protos := []int{protoICMP, protoTCP, protoUDP, protoICMPv6, 253}
	bounds := map[int][]int32{}
	note := func(p string, from, to int32, ports bool) {
		n := protoNumber(p)
		if n >= 0 && !slices.Contains(protos, n) {
			protos = append(protos, n)
		}
		if ports && hasPorts(n) {
			bounds[n] = append(bounds[n], max(from, 0), min(to, 65534)+1)
		}
	}
	for _, g := range groups {
		for _, r := range append(slices.Clone(g.Egress), g.Ingress...) {
			note(r.Protocol, r.FromPort, r.ToPort, true)
		}
	}
	for _, e := range append(slices.Clone(acl.egress), acl.ingress...) {
		note(e.Protocol, e.FromPort, e.ToPort, e.HasPorts)
	}
	slices.Sort(protos)
	pub := publicSpaces4or6(v6)
	var fp famPolicy
	for _, proto := range protos {
		ports := []int32{0}
		if hasPorts(proto) {
			ports = append(ports, bounds[proto]...)
			slices.Sort(ports)
			ports = slices.Compact(ports)
		}
		// Replies come back to an ephemeral port: any segment of it.
		var ret ipSet
		if hasPorts(proto) {
			for _, p := range append([]int32{ephemeralLo}, ports...) {
				if p >= ephemeralLo && p <= ephemeralHi {
					ret = ret.union(evalACL(acl, class{proto, p}, v6, false))
				}
			}
		} else {
			ret = evalACL(acl, class{proto: proto}, v6, false)
		}
		for _, port := range ports {
			if port > 65535 {
				continue
			}
			c := class{proto, port}
			sg, rule, _ := sgAllowed(nil, groups, c, v6, true)
			sg = slices.Clone(sg).intersect(pub)
			fp.sgReach = fp.sgReach.union(sg)
			reach := sg.intersect(evalACL(acl, c, v6, true)).intersect(ret)
			fp.reach = fp.reach.union(reach)
			if !fp.open && !reach.empty() && reach.subtract(pub).empty() && pub.subtract(reach).empty() {
				fp.open, fp.openRule = true, rule.String()
			}
			if !evalACL(acl, c, v6, false).intersect(pub).empty() {
				fp.inboundFromPublic = true
			}
		}
	}
	return fp
}

func randomPolicyInputs(rng *rand.Rand) (*inventory.NetworkACL, []*inventory.SecurityGroup) {
	protos := []string{"-1", "tcp", "udp", "icmp", "50", "6", "17"}
	ports := []int32{0, 22, 53, 80, 443, 444, 1024, 1025, 8080, 32768, 65535}
	cidrs := []string{"0.0.0.0/0", "10.0.0.0/8", "52.94.0.0/22", "0.0.0.0/1", "128.0.0.0/1", "8.8.8.8/32", "172.16.0.0/12"}
	cidrs6 := []string{"::/0", "2600:1f18::/32", "fd00::/8", "2000::/3"}
	portRange := func() (int32, int32) {
		a, b := ports[rng.IntN(len(ports))], ports[rng.IntN(len(ports))]
		return min(a, b), max(a, b)
	}
	rule := func() inventory.SGRule {
		r := inventory.SGRule{Protocol: protos[rng.IntN(len(protos))]}
		r.FromPort, r.ToPort = portRange()
		for range 1 + rng.IntN(2) {
			r.CIDRs = append(r.CIDRs, cidrs[rng.IntN(len(cidrs))])
		}
		if rng.IntN(2) == 0 {
			r.IPv6CIDRs = []string{cidrs6[rng.IntN(len(cidrs6))]}
		}
		return r
	}
	var groups []*inventory.SecurityGroup
	for g := range 1 + rng.IntN(3) {
		sg := &inventory.SecurityGroup{ID: fmt.Sprintf("sg-%d", g)}
		for range rng.IntN(4) {
			sg.Egress = append(sg.Egress, rule())
		}
		for range rng.IntN(3) {
			sg.Ingress = append(sg.Ingress, rule())
		}
		groups = append(groups, sg)
	}
	acl := &inventory.NetworkACL{ID: "acl-1"}
	for i := range rng.IntN(7) {
		e := inventory.ACLEntry{RuleNumber: int32(10 * (1 + rng.IntN(20))), Egress: rng.IntN(2) == 0, Action: "allow",
			Protocol: []string{"-1", "6", "17", "1", "50"}[rng.IntN(5)]}
		if rng.IntN(3) == 0 {
			e.Action = "deny"
		}
		if e.Protocol == "6" || e.Protocol == "17" {
			e.HasPorts = true
			e.FromPort, e.ToPort = portRange()
		}
		if i%3 == 2 {
			e.IPv6CIDR = cidrs6[rng.IntN(len(cidrs6))]
		} else {
			e.CIDR = cidrs[rng.IntN(len(cidrs))]
		}
		acl.Entries = append(acl.Entries, e)
	}
	// The default rules AWS adds to every ACL: allow all (100), deny all (*).
	for _, eg := range []bool{false, true} {
		if rng.IntN(2) == 0 {
			acl.Entries = append(acl.Entries, inventory.ACLEntry{RuleNumber: 100, Egress: eg, Protocol: "-1", Action: "allow", CIDR: "0.0.0.0/0"},
				inventory.ACLEntry{RuleNumber: 101, Egress: eg, Protocol: "-1", Action: "allow", IPv6CIDR: "::/0"})
		}
		acl.Entries = append(acl.Entries, inventory.ACLEntry{RuleNumber: 32767, Egress: eg, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"})
	}
	return acl, groups
}

// TestPolicyAgainstOracle: on random security groups and ACLs, the fast
// policy (shared port boundaries, reused buffers, memoized ACL, one scratch
// for many policies) decides exactly what the slow oracle decides.
func TestPolicyAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var sc policyScratch // shared across cases, as an Index shares it
	opens := 0
	for i := 0; i < 3000; i++ {
		acl, groups := randomPolicyInputs(rng)
		sorted := sortACL(acl)
		got := computePolicy(&sc, sorted, groups)
		for _, v6 := range []bool{false, true} {
			want := oraclePolicy(sortACL(acl), groups, v6)
			fam := got.v4
			if v6 {
				fam = got.v6
			}
			if fam.open != want.open || fam.openRule != want.openRule || fam.inboundFromPublic != want.inboundFromPublic ||
				!slices.Equal(fam.reach, want.reach) || !slices.Equal(fam.sgReach, want.sgReach) {
				t.Fatalf("case %d v6=%v:\nACL %+v\ngroups %s\n got open=%v %q inbound=%v reach=%v sgReach=%v\nwant open=%v %q inbound=%v reach=%v sgReach=%v",
					i, v6, acl.Entries, describeGroups(groups), fam.open, fam.openRule, fam.inboundFromPublic, fam.reach, fam.sgReach,
					want.open, want.openRule, want.inboundFromPublic, want.reach, want.sgReach)
			}
			if fam.open {
				opens++
			}
		}
	}
	if opens == 0 || opens == 6000 {
		t.Fatalf("random cases are one-sided: %d of 6000 open", opens)
	}
}

func describeGroups(groups []*inventory.SecurityGroup) string {
	s := ""
	for _, g := range groups {
		s += fmt.Sprintf("%s egress %+v ingress %+v; ", g.ID, g.Egress, g.Ingress)
	}
	return s
}

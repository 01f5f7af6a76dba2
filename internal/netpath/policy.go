package netpath

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// parseProto reads a protocol as security groups and network ACLs spell
// it: -1 or "all" for every protocol, a name AWS uses, or a number 0-255.
func parseProto(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "-1", "all":
		return protoAll, true
	case "tcp":
		return protoTCP, true
	case "udp":
		return protoUDP, true
	case "icmp":
		return protoICMP, true
	case "icmpv6":
		return protoICMPv6, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != s {
		return 0, false
	}
	return n, true
}

// policy is what a set of security groups allows, per family: flows to
// any address of the family (not yet limited to public space).
type policy struct {
	unknowns []Unknown
	egress   [2]flows
	ingress  [2]flows
	// widest is, per family and direction, the rule with the widest CIDR
	// (the one to name when the groups open the internet).
	widest [2][2]ruleRef
	// awsLists are AWS-managed prefix lists the egress rules allow.
	awsLists []string
}

// ruleRef points at the security-group rule that decided something; it is
// formatted only when it is reported.
type ruleRef struct {
	group *inventory.SecurityGroup
	rule  *inventory.SGRule
	cidr  string
	dir   string
	bits  int
}

func (r ruleRef) String() string {
	if r.group == nil {
		return ""
	}
	return fmt.Sprintf("%s %s %s %s", r.group.ID, r.dir, describeProto(r.rule.Protocol, r.rule.FromPort, r.rule.ToPort), r.cidr)
}

func describeProto(p string, from, to int32) string {
	n, _ := parseProto(p)
	switch {
	case n == protoAll:
		return "all traffic"
	case hasPorts(n) && from == to:
		return fmt.Sprintf("%s/%d", p, from)
	case hasPorts(n):
		return fmt.Sprintf("%s/%d-%d", p, from, to)
	}
	return p
}

// policyFor compiles the union of a set of groups, cached by their IDs.
func (f *facts) policyFor(groups []*inventory.SecurityGroup, key string) *policy {
	if p, ok := f.policies[key]; ok {
		return p
	}
	p := &policy{}
	for _, g := range groups {
		for dir, rules := range [2][]inventory.SGRule{g.Egress, g.Ingress} {
			for i := range rules {
				f.addRule(p, g, &rules[i], i, dir == 0)
			}
		}
	}
	f.policies[key] = p
	return p
}

func (f *facts) addRule(p *policy, g *inventory.SecurityGroup, r *inventory.SGRule, idx int, egress bool) {
	dir, d := "ingress", 1
	if egress {
		dir, d = "egress", 0
	}
	fact := fmt.Sprintf("security group %s %s rule %d", g.ID, dir, idx+1)
	proto, ok := parseProto(r.Protocol)
	if !ok {
		p.unknowns = append(p.unknowns, Unknown{Fact: fact + " protocol", Resource: g.ID, Why: fmt.Sprintf("protocol %q is not recognised", r.Protocol)})
		return
	}
	lo, hi := int32(0), int32(65535)
	if hasPorts(proto) {
		lo, hi = r.FromPort, r.ToPort
		if lo < 0 || hi > 65535 || lo > hi {
			p.unknowns = append(p.unknowns, Unknown{Fact: fact + " ports", Resource: g.ID, Why: fmt.Sprintf("port range %d-%d is not valid", r.FromPort, r.ToPort)})
			return
		}
	}
	var spans [2][]span
	add := func(cidr string, want family, from string) bool {
		pfx, ok := parsePrefix(cidr)
		if !ok || (want >= 0 && pfx.Addr().Is4() == want.v6()) {
			p.unknowns = append(p.unknowns, Unknown{Fact: fmt.Sprintf("%s %s %q", fact, from, cidr), Resource: g.ID, Why: "not a valid CIDR"})
			return false
		}
		fam := familyOf(pfx)
		spans[fam] = append(spans[fam], prefixSpan(pfx))
		if w := &p.widest[fam][d]; w.group == nil || pfx.Bits() < w.bits {
			*w = ruleRef{group: g, rule: r, cidr: cidr, dir: dir, bits: pfx.Bits()}
		}
		return true
	}
	for _, c := range r.CIDRs {
		if !add(c, fam4, "CIDR") {
			return
		}
	}
	for _, c := range r.IPv6CIDRs {
		if !add(c, fam6, "IPv6 CIDR") {
			return
		}
	}
	for _, id := range r.PrefixListIDs {
		pl, u := f.prefixList(id)
		if u != nil {
			p.unknowns = append(p.unknowns, *u)
			return
		}
		if pl.AWSManaged() {
			if egress && !slices.Contains(p.awsLists, id) {
				p.awsLists = append(p.awsLists, id)
			}
			continue
		}
		for _, c := range pl.Entries {
			if !add(c, -1, "prefix list "+id+" entry") {
				return
			}
		}
	}
	for fam := fam4; fam <= fam6; fam++ {
		if len(spans[fam]) == 0 {
			continue
		}
		fl := ruleFlows(proto, lo, hi, setOf(spans[fam]...))
		if egress {
			p.egress[fam] = p.egress[fam].union(fl)
		} else {
			p.ingress[fam] = p.ingress[fam].union(fl)
		}
	}
}

// aclFacts is a network ACL compiled per family: the flows each direction
// allows (first match by rule number), and the replies each direction lets
// through.
type aclFacts struct {
	id       string
	unknowns []Unknown
	out, in  [2]flows
	// replyIn are, per protocol, the addresses whose replies (to some
	// ephemeral port) the inbound entries admit; replyOut the addresses
	// the outbound entries let replies go to.
	replyIn, replyOut [2]flows
}

// aclOf is the network ACL of a subnet: the one of its VPC that claims
// it. A failed read, none, or several are unknown.
func (f *facts) aclOf(subnet, vpc string) (*aclFacts, *Unknown) {
	fact := "network ACL of subnet " + subnet
	if why, failed := f.vpcFailure(vpc, subnet, awsop.DescribeNetworkAcls); failed {
		return nil, &Unknown{Fact: fact, Resource: subnet, Why: why}
	}
	claims := ofVPC(f.aclBySub[subnet], vpc, func(a *inventory.NetworkACL) string { return a.VPCID })
	switch len(claims) {
	case 1:
	case 0:
		return nil, &Unknown{Fact: fact, Resource: subnet, Why: "not found in the inventory"}
	default:
		ids := make([]string, len(claims))
		for i, a := range claims {
			ids[i] = a.ID
		}
		return nil, &Unknown{Fact: fact, Resource: subnet, Why: "claimed by several network ACLs: " + strings.Join(ids, ", ")}
	}
	acl := claims[0]
	if a, ok := f.acls[acl.ID]; ok {
		return a, nil
	}
	a := compileACL(acl)
	f.acls[acl.ID] = a
	return a, nil
}

func compileACL(acl *inventory.NetworkACL) *aclFacts {
	a := &aclFacts{id: acl.ID}
	type parsed struct {
		num    int32
		egress bool
		allow  bool
		fam    family
		fl     flows
	}
	var es []parsed
	for _, e := range acl.Entries {
		fact := fmt.Sprintf("network ACL %s rule %d (%s)", acl.ID, e.RuleNumber, map[bool]string{true: "outbound", false: "inbound"}[e.Egress])
		// Network ACLs spell protocols as numbers only (-1 for all).
		proto, ok := parseProto(e.Protocol)
		if _, err := strconv.Atoi(e.Protocol); err != nil {
			ok = false
		}
		if !ok {
			a.unknowns = append(a.unknowns, Unknown{Fact: fact + " protocol", Resource: acl.ID, Why: fmt.Sprintf("protocol %q is not recognised", e.Protocol)})
			continue
		}
		var allow bool
		switch e.Action {
		case "allow":
			allow = true
		case "deny":
		default:
			a.unknowns = append(a.unknowns, Unknown{Fact: fact + " action", Resource: acl.ID, Why: fmt.Sprintf("action %q is not allow or deny", e.Action)})
			continue
		}
		if (e.CIDR == "") == (e.IPv6CIDR == "") {
			a.unknowns = append(a.unknowns, Unknown{Fact: fact + " CIDR", Resource: acl.ID, Why: "an entry needs exactly one of an IPv4 and an IPv6 CIDR"})
			continue
		}
		fam, cidr := fam4, e.CIDR
		if e.IPv6CIDR != "" {
			fam, cidr = fam6, e.IPv6CIDR
		}
		pfx, ok := parsePrefix(cidr)
		if !ok || pfx.Addr().Is4() == fam.v6() {
			a.unknowns = append(a.unknowns, Unknown{Fact: fmt.Sprintf("%s CIDR %q", fact, cidr), Resource: acl.ID, Why: "not a valid " + fam.String() + " CIDR"})
			continue
		}
		lo, hi := int32(0), int32(65535)
		if e.HasPorts && hasPorts(proto) {
			lo, hi = e.FromPort, e.ToPort
			if lo < 0 || hi > 65535 || lo > hi {
				a.unknowns = append(a.unknowns, Unknown{Fact: fact + " ports", Resource: acl.ID, Why: fmt.Sprintf("port range %d-%d is not valid", e.FromPort, e.ToPort)})
				continue
			}
		}
		es = append(es, parsed{e.RuleNumber, e.Egress, allow, fam, ruleFlows(proto, lo, hi, setOf(prefixSpan(pfx)))})
	}
	slices.SortStableFunc(es, func(x, y parsed) int { return int(x.num) - int(y.num) })
	for fam := fam4; fam <= fam6; fam++ {
		for d, egress := range [2]bool{true, false} {
			remaining, allowed := allFlows(universe(fam.v6())), flows{}
			for _, e := range es {
				if e.egress != egress || e.fam != fam {
					continue
				}
				hit := remaining.intersect(e.fl)
				if hit.empty() {
					continue
				}
				if e.allow {
					allowed = allowed.union(hit)
				}
				remaining = remaining.subtract(hit)
				if remaining.empty() {
					break
				}
			}
			if d == 0 {
				a.out[fam] = allowed
			} else {
				a.in[fam] = allowed
			}
		}
		a.replyIn[fam] = a.in[fam].perProto(ephemeralUnion)
		a.replyOut[fam] = a.out[fam].perProto(ephemeralUnion)
	}
	return a
}

// ephemeralUnion is every address allowed on some ephemeral port.
func ephemeralUnion(segs []portSeg, _ int) ipSet {
	var out ipSet
	for _, s := range segs {
		if s.hi >= ephemeralLo && s.lo <= ephemeralHi {
			out = out.union(s.set)
		}
	}
	return out
}

// leaving is what a subnet's ACL lets leave it towards a destination and
// come back from it.
func (a *aclFacts) leaving(fam family) flows {
	return a.out[fam].intersect(a.replyIn[fam])
}

// entering keeps the traffic classes the ACL lets in from some address of
// src and lets replies go back to some address of src: a mask over every
// destination.
func (a *aclFacts) entering(fam family, src ipSet) flows {
	u := universe(fam.v6())
	overlapsSrc := func(set ipSet, _ int, _, _ int32) bool { return set.overlaps(src) }
	return a.in[fam].classMask(overlapsSrc, u).intersect(a.replyOut[fam].classMask(overlapsSrc, u))
}

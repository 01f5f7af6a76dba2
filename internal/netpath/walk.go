package netpath

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// The walk follows public traffic hop by hop (docs/path-model.md). What
// happens past a position depends on the flows only through intersections
// with fixed masks (routes, network ACLs), so each position is compiled
// once into a summary: a list of terms, each a mask of flows and what
// becomes of the flows in it (an exit, an opaque end, a dead end, or an
// unknown fact). A notebook's outcome is its own flows intersected with
// each term of its subnet's summary. Summaries are shared by every
// notebook and every path that reaches the same position in the same
// state.

// Path is a way out towards public address space.
type Path string

// Paths, most exposed first (the control adds "direct" for SageMaker's own).
const (
	PathIGW       Path = "igw"
	PathIPv6      Path = "ipv6"
	PathNAT       Path = "nat"
	PathAppliance Path = "appliance"
	PathTransit   Path = "transit"
	PathNone      Path = "none"
)

// Exposure orders paths: higher is more exposed.
func (p Path) Exposure() int {
	switch p {
	case PathIGW:
		return 5
	case PathIPv6:
		return 4
	case PathNAT:
		return 3
	case PathAppliance:
		return 2
	case PathTransit:
		return 1
	}
	return 0
}

// Hop is one step of a path, for evidence and reproduction.
type Hop struct {
	Kind       string
	ResourceID string
	AccountID  string
	Region     string
	// Decision is the route or rule that decided the hop, or why the path
	// stops there.
	Decision string
}

type outcomeKind uint8

const (
	outDead outcomeKind = iota
	outExit
	outOpaque
	outUnknown
)

// term is one way the flows entering a position can end.
type term struct {
	mask    flows
	kind    outcomeKind
	path    Path
	reason  string
	hops    []Hop
	unknown *Unknown
}

type summary struct{ terms []term }

// maxHops bounds a path; a longer one is an unknown.
const maxHops = 32

// state is a position of the walk and what the traffic there is.
type state struct {
	f      *facts
	subnet string
	vpc    string
	fam    family
	// mapped: the source has a public address at an internet gateway of
	// this VPC (IPv4); always true for IPv6.
	mapped bool
	// natted: a NAT gateway was traversed, so an exit is a NAT path.
	natted bool
	// leave: the subnet's network ACL applies to traffic leaving it (the
	// subnet of a NAT gateway the traffic just went through).
	leave bool
	// src is the source address range that network ACLs entered on the
	// way see (srcKey names it).
	src    ipSet
	srcKey string
	depth  int
}

type summaryKey struct {
	account, region, subnet, vpc, srcKey string
	fam                                  family
	mapped, natted, leave                bool
}

func (st *state) key() summaryKey {
	return summaryKey{st.f.reg.AccountID, st.f.reg.Region, st.subnet, st.vpc, st.srcKey, st.fam, st.mapped, st.natted, st.leave}
}

func (st *state) hop(kind, id, decision string) Hop {
	return Hop{Kind: kind, ResourceID: id, AccountID: st.f.reg.AccountID, Region: st.f.reg.Region, Decision: decision}
}

func everything(fam family) flows { return allFlows(universe(fam.v6())) }

// notCollected ends sight at an object of a VPC the inventory did not read.
func notCollected(st state, what string) term {
	return term{mask: everything(st.fam), kind: outOpaque, path: PathTransit,
		reason: what + ": not collected (" + st.vpc + " was not read in account " + st.f.reg.AccountID + ")"}
}

func dead(fam family, reason string, hops ...Hop) term {
	return term{mask: everything(fam), kind: outDead, reason: reason, hops: hops}
}

func unknownTerm(fam family, u Unknown, hops ...Hop) term {
	return term{mask: everything(fam), kind: outUnknown, unknown: &u, reason: u.String(), hops: hops}
}

// prefix narrows terms by a mask and puts hops before theirs.
func prefix(terms []term, mask *flows, hops ...Hop) []term {
	out := make([]term, 0, len(terms))
	for _, t := range terms {
		if mask != nil {
			t.mask = t.mask.intersect(*mask)
			if t.mask.empty() {
				continue
			}
		}
		if len(hops) > 0 {
			t.hops = append(slices.Clip(hops), t.hops...)
		}
		out = append(out, t)
	}
	return out
}

// at returns the summary of a position: what becomes of flows that reach
// its subnet's route table. low is the shallowest position still being
// compiled that the summary depends on (a routing loop back to it); a
// summary that depends on an unfinished one is not cached.
func (r *Resolver) at(st state) (*summary, int) {
	k := st.key()
	if s, ok := r.summaries[k]; ok {
		return s, maxHops + 1
	}
	if d, ok := r.inProgress[k]; ok {
		return &summary{terms: []term{dead(st.fam, "routing loop: the path comes back to subnet "+st.subnet)}}, d
	}
	if st.depth > maxHops {
		u := Unknown{Fact: "path from subnet " + st.subnet, Resource: st.subnet, Why: fmt.Sprintf("longer than %d hops", maxHops)}
		return &summary{terms: []term{unknownTerm(st.fam, u)}}, maxHops + 1
	}
	r.inProgress[k] = st.depth
	s, low := r.compile(st)
	delete(r.inProgress, k)
	if low >= st.depth {
		r.summaries[k] = s
		low = maxHops + 1
	}
	return s, low
}

func (r *Resolver) compile(st state) (*summary, int) {
	f, fam := st.f, st.fam
	low := maxHops + 1
	rt, _, u := f.routeTableOf(st.subnet, st.vpc)
	if u != nil {
		return &summary{terms: []term{unknownTerm(fam, *u)}}, low
	}
	t := f.table(rt)
	if len(t.unknowns) > 0 {
		return &summary{terms: []term{unknownTerm(fam, t.unknowns[0], st.hop("route-table", rt.ID, "not understood"))}}, low
	}
	s := &summary{}
	for i := range t.pieces[fam] {
		p := &t.pieces[fam][i]
		if p.won.empty() {
			continue
		}
		m := allFlows(p.won)
		sub, l := r.follow(st, p)
		low = min(low, l)
		s.terms = append(s.terms, prefix(sub, &m, st.hop("route-table", rt.ID, p.route))...)
	}
	if nr := t.noRoute[fam]; !nr.empty() {
		m := allFlows(nr)
		s.terms = append(s.terms, term{mask: m, kind: outDead, reason: "no route in " + rt.ID,
			hops: []Hop{st.hop("route-table", rt.ID, "no route")}})
	}
	return s, low
}

// filter is what a network ACL lets through at a subnet boundary, and
// the hop and reason to record for what it drops.
type filter struct {
	mask flows
	hop  Hop
	why  string
}

// through narrows terms by filters, in path order, and adds for each the
// dead end of what it drops, so that a path an ACL stops keeps its hops.
func through(fam family, terms []term, fs ...filter) []term {
	for i := len(fs) - 1; i >= 0; i-- {
		f := fs[i]
		out := prefix(terms, &f.mask)
		if drop := everything(fam).subtract(f.mask); !drop.empty() {
			out = append(out, term{mask: drop, kind: outDead, reason: f.why, hops: []Hop{f.hop}})
		}
		terms = out
	}
	return terms
}

// aclFilter compiles the network ACL of a subnet the walk crosses, or
// the unknown that stops it.
func (f *facts) aclFilter(subnet, vpc string) (*aclFacts, *Unknown) {
	acl, u := f.aclOf(subnet, vpc)
	if u != nil {
		return nil, u
	}
	if len(acl.unknowns) > 0 {
		return nil, &acl.unknowns[0]
	}
	return acl, nil
}

// leaveFilter is what the subnet's network ACL lets leave it, when it
// applies (the subnet of a NAT gateway the traffic went through), else
// nil.
func (st *state) leaveFilter() ([]filter, *Unknown) {
	if !st.leave {
		return nil, nil
	}
	acl, u := st.f.aclFilter(st.subnet, st.vpc)
	if u != nil {
		return nil, u
	}
	return []filter{{mask: acl.leaving(st.fam), hop: st.hop("network-acl", acl.id, "denies the destination or its replies"),
		why: "network ACL " + acl.id + " of subnet " + st.subnet + " does not let the traffic out or its replies back"}}, nil
}

// enterFilter is what a subnet's network ACL lets in from the source and
// lets back to it.
func (st *state) enterFilter(f *facts, subnet, vpc string) (filter, *Unknown) {
	acl, u := f.aclFilter(subnet, vpc)
	if u != nil {
		return filter{}, u
	}
	h := Hop{Kind: "network-acl", ResourceID: acl.id, AccountID: f.reg.AccountID, Region: f.reg.Region, Decision: "denies the source or its replies"}
	return filter{mask: acl.entering(st.fam, st.src), hop: h,
		why: "network ACL " + acl.id + " of subnet " + subnet + " does not admit the source or let its replies back"}, nil
}

// follow is what happens to flows a route sends to its target.
func (r *Resolver) follow(st state, p *piece) ([]term, int) {
	fam := st.fam
	noLoop := maxHops + 1
	if p.unknown != nil {
		return []term{unknownTerm(fam, *p.unknown)}, noLoop
	}
	switch p.kind {
	case KindLocal:
		return []term{dead(fam, "stays in the VPC (local route)")}, noLoop
	case KindBlackhole:
		return []term{dead(fam, "blackhole route to "+p.target)}, noLoop
	case KindService:
		return []term{dead(fam, "gateway endpoint "+p.target+" to an AWS service")}, noLoop
	case KindPeering:
		return []term{dead(fam, "VPC peering is not transitive: the peer's internet gateway or NAT cannot carry this VPC's traffic",
			st.hop("vpc-peering-connection", p.target, "no edge-to-edge routing"))}, noLoop
	case KindAppliance, KindOpaque:
		// Sight ends, but what the subnet's ACL drops on the way out
		// never gets there.
		fs, u := st.leaveFilter()
		if u != nil {
			return []term{unknownTerm(fam, *u)}, noLoop
		}
		t := term{mask: everything(fam), kind: outOpaque, path: PathAppliance,
			reason: "appliance " + p.target + ": the scanner cannot see past it", hops: []Hop{st.hop("appliance", p.target, "sight ends")}}
		if p.kind == KindOpaque {
			t.path, t.reason, t.hops = PathTransit, opaqueWhat(p.r)+" "+p.target+": the scanner cannot see past it", []Hop{st.hop("gateway", p.target, "sight ends")}
		}
		return through(fam, []term{t}, fs...), noLoop
	case KindIGW, KindEIGW:
		return r.internetGateway(st, p), noLoop
	case KindNAT:
		return r.natGateway(st, p)
	case KindTGW:
		return r.transitGateway(st, p)
	}
	return []term{unknownTerm(fam, Unknown{Fact: "route " + p.route, Resource: p.target, Why: "target kind not handled"})}, noLoop
}

func opaqueWhat(r *inventory.Route) string {
	switch {
	case strings.HasPrefix(r.GatewayID, "vgw-"):
		return "virtual private gateway (VPN or Direct Connect)"
	case r.LocalGatewayID != "":
		return "local gateway"
	case r.CarrierGatewayID != "":
		return "carrier gateway"
	case r.CoreNetworkARN != "":
		return "Cloud WAN core network"
	case r.OdbNetworkARN != "":
		return "ODB network"
	}
	return "gateway"
}

func (r *Resolver) internetGateway(st state, p *piece) []term {
	f, fam := st.f, st.fam
	kind := "internet-gateway"
	if p.kind == KindEIGW {
		kind = "egress-only-internet-gateway"
	}
	attached, u, collected := f.gatewayAttached(p.target, st.vpc, p.kind == KindEIGW)
	switch {
	case u != nil:
		return []term{unknownTerm(fam, *u)}
	case !collected:
		return []term{notCollected(st, kind+" "+p.target)}
	}
	h := st.hop(kind, p.target, "attached to "+st.vpc)
	if !attached {
		h.Decision = "not attached to " + st.vpc
		return []term{dead(fam, p.target+" is not attached to "+st.vpc+": its routes are blackholes", h)}
	}
	fs, u := st.leaveFilter()
	if u != nil {
		return []term{unknownTerm(fam, *u)}
	}
	exit := func(path Path) []term {
		t := term{mask: allFlows(public(fam)), kind: outExit, path: path, hops: []Hop{h}, reason: "internet through " + p.target}
		return through(fam, []term{t}, fs...)
	}
	switch {
	case fam == fam6:
		return exit(PathIPv6)
	case p.kind == KindEIGW:
		return []term{dead(fam, "an egress-only internet gateway carries IPv6 only", h)}
	case !st.mapped:
		h.Decision = "drops private sources"
		return []term{dead(fam, p.target+" has no public address for this traffic (SageMaker assigns private addresses only; no NAT on the way)", h)}
	case st.natted:
		return exit(PathNAT)
	}
	return exit(PathIGW)
}

func (r *Resolver) natGateway(st state, p *piece) ([]term, int) {
	f, fam := st.f, st.fam
	noLoop := maxHops + 1
	if why, failed := f.vpcFailure(st.vpc, p.target, awsop.DescribeNatGateways); failed {
		return []term{unknownTerm(fam, Unknown{Fact: "NAT gateway " + p.target, Resource: p.target, Why: why})}, noLoop
	}
	nat, ok := f.nats[p.target]
	if !ok {
		if !f.covVPC[st.vpc] {
			return []term{notCollected(st, "NAT gateway "+p.target)}, noLoop
		}
		return []term{dead(fam, "NAT gateway "+p.target+" no longer exists: its routes are blackholes",
			st.hop("nat-gateway", p.target, "deleted"))}, noLoop
	}
	switch nat.State {
	case "deleted", "deleting", "failed":
		return []term{dead(fam, "NAT gateway "+p.target+" is "+nat.State+": its routes are blackholes",
			st.hop("nat-gateway", p.target, nat.State))}, noLoop
	}
	private := strings.EqualFold(nat.ConnectivityType, "private")
	if fam == fam6 {
		h := st.hop("nat-gateway", p.target, "IPv6")
		return []term{
			{mask: allFlows(nat64), kind: outOpaque, path: PathNAT, reason: "NAT64 through NAT gateway " + p.target + " is not analysed", hops: []Hop{h}},
			{mask: allFlows(public(fam)), kind: outDead, reason: "a NAT gateway forwards no native IPv6", hops: []Hop{h}},
		}, noLoop
	}
	if nat.SubnetID == "" {
		return []term{unknownTerm(fam, Unknown{Fact: "subnet of NAT gateway " + p.target, Resource: p.target, Why: "not recorded"})}, noLoop
	}
	fs, u := st.leaveFilter()
	if u != nil {
		return []term{unknownTerm(fam, *u)}, noLoop
	}
	vpc := firstNonEmpty(nat.VPCID, st.vpc)
	hops := []Hop{st.hop("nat-gateway", p.target, "")}
	if nat.SubnetID != st.subnet {
		if _, ok := f.subnets[nat.SubnetID]; !ok || f.readFailed(vpc, nat.SubnetID, awsop.DescribeSubnets) {
			return []term{unknownTerm(fam, f.missing("subnet of NAT gateway "+p.target, nat.SubnetID, vpc, awsop.DescribeSubnets))}, noLoop
		}
		ef, u := st.enterFilter(f, nat.SubnetID, vpc)
		if u != nil {
			return []term{unknownTerm(fam, *u)}, noLoop
		}
		fs = append(fs, ef)
		hops = append(hops, st.hop("subnet", nat.SubnetID, "the NAT gateway's subnet; network ACL "+ef.hop.ResourceID+" applies"))
	}
	decision := "public, in " + nat.SubnetID
	if private {
		decision = "private, in " + nat.SubnetID + ": no internet gateway can carry its traffic"
	}
	next := state{f: f, subnet: nat.SubnetID, vpc: vpc, fam: fam, mapped: !private, natted: true, leave: true,
		src: subnetCIDRs(f.subnets[nat.SubnetID], fam.v6()), srcKey: nat.SubnetID, depth: st.depth + 1}
	sub, low := r.at(next)
	hops[0].Decision = decision
	return prefix(through(fam, sub.terms, fs...), nil, hops...), low
}

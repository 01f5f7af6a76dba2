// Package netpath computes, without any I/O, where a SageMaker notebook
// instance's traffic to public destinations goes when it leaves through
// its VPC, hop by hop as AWS Reachability Analyzer reasons
// (docs/path-model.md): the subnet's effective route table (explicit
// association, else its own VPC's main table), longest-prefix routes,
// NAT gateways and their own subnets' routes to attached internet
// gateways, transit gateways (the source attachment's route table, static
// and propagated routes, blackholes) into egress VPCs across accounts,
// customer-managed prefix lists, the union of the security groups and the
// network ACLs (stateless, first match, both directions) at every subnet
// the traffic crosses.
//
// Every fact is parsed once into typed values; what does not parse or is
// not recognised is an Unknown that travels with the analysis. It answers
// facts, not verdicts: for each way out, whether it is an exit to the
// internet or an end of sight, the reachable public space, and the hops;
// package control turns an Analysis into the control's sub-checks.
package netpath

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Options tune the analysis.
type Options struct {
	// OpenV4Bits and OpenV6Bits are the open threshold as prefix lengths:
	// a notebook's egress is open when it can reach more public addresses
	// than one such prefix holds. 0 means 8 (2^24 IPv4 addresses) and 32
	// (2^96 IPv6 addresses).
	OpenV4Bits, OpenV6Bits int
}

// DefaultOpenV4Bits and DefaultOpenV6Bits are the default open threshold.
const (
	DefaultOpenV4Bits = 8
	DefaultOpenV6Bits = 32
)

func (o Options) withDefaults() Options {
	if o.OpenV4Bits <= 0 {
		o.OpenV4Bits = DefaultOpenV4Bits
	}
	if o.OpenV6Bits <= 0 {
		o.OpenV6Bits = DefaultOpenV6Bits
	}
	return o
}

func (o Options) limit(f family) u128 {
	if f == fam6 {
		return pow2(128 - o.OpenV6Bits)
	}
	return pow2(32 - o.OpenV4Bits)
}

// PublicRoute is a route of the notebook subnet's effective table that
// wins (longest prefix) for some public addresses.
type PublicRoute struct {
	Destination string
	Target      string
	Kind        Kind
	IPv6        bool
}

// String renders the route for evidence: "0.0.0.0/0 -> nat-1 (nat)".
func (r PublicRoute) String() string {
	return fmt.Sprintf("%s -> %s (%s)", r.Destination, r.Target, r.Kind)
}

// Egress is one way public traffic leaves: an exit to the internet, or
// an end of sight (Opaque).
type Egress struct {
	Path Path
	// Opaque is true when the path ends at something the scanner cannot
	// see past (an appliance, a VPN, an account out of scope...).
	Opaque bool
	// Reason says where and why the path ends.
	Reason string
	// Hops are the path from the notebook's route table to its end.
	Hops []Hop
	// IPv6 is the family of the traffic.
	IPv6 bool
}

// Route is the first hop's route, "dest -> target (kind)".
func (e *Egress) Route() string {
	if len(e.Hops) > 0 {
		return e.Hops[0].Decision
	}
	return ""
}

// DeadEnd is where public traffic the security groups allow stops.
type DeadEnd struct {
	Reason string
	Hops   []Hop
	IPv6   bool
}

// Reach is the public space a notebook can reach through exits, for one
// address family.
type Reach struct {
	IPv6 bool
	// Addresses is how many public addresses are reachable (saturated
	// at 2^128); Share is the fraction of the family's public space.
	Addresses float64
	Share     float64
	// Open is true above the threshold.
	Open bool
	// Threshold is the prefix length the count is compared with.
	Threshold int
	// Rule is the security-group rule with the widest destination, named
	// when the space is open.
	Rule string
}

// Analysis is what netpath found for one notebook's VPC placement.
type Analysis struct {
	VPCID            string
	Subnet           *inventory.Subnet
	RouteTableID     string
	RouteTableSource string // "explicit" or "main"
	NetworkACLID     string
	PublicIP         string
	HasIPv6          bool
	// SecurityGroupIDs are the groups that decide: the interface's when it
	// records some, else the notebook's.
	SecurityGroupIDs []string

	// PublicRoutes are the subnet's effective routes that carry public
	// traffic.
	PublicRoutes []PublicRoute
	// IGWRouteV4 is the IPv4 route to an attached internet gateway that
	// carries public traffic, if any (the SOP's "public subnet" test).
	IGWRouteV4 string
	// OpenIngressRule is a security-group rule admitting the whole internet.
	OpenIngressRule string
	// InboundReachable is true when the interface can be reached from the
	// internet (a public IPv4 address or IPv6 addresses behind an attached
	// internet gateway route, allowed by the network ACL).
	InboundReachable bool

	// Unknowns are the facts on the notebook's path that could not be
	// determined; any makes the notebook ERROR.
	Unknowns []Unknown
	Notes    []string

	// Egress are the ways out carrying public flows, most exposed first.
	Egress []Egress
	// DeadEnds are where allowed public flows stop.
	DeadEnds []DeadEnd
	// Reach is the reachable public space per evaluated family.
	Reach []Reach
	// Open is true when some family's reachable space is open.
	Open bool
}

// Missing lists the unknowns as text.
func (a *Analysis) Missing() []string {
	out := make([]string, len(a.Unknowns))
	for i, u := range a.Unknowns {
		out[i] = u.String()
	}
	return out
}

// AddressesMatter reports whether the verdict depends on the network
// interface's own addresses: a public IPv4 address or IPv6 addresses count
// only behind a route to an internet or egress-only gateway.
func (a *Analysis) AddressesMatter() bool {
	if len(a.Unknowns) > 0 {
		return true
	}
	for _, r := range a.PublicRoutes {
		if r.Kind == KindIGW || r.Kind == KindEIGW {
			return true
		}
	}
	return false
}

// Best returns the most exposed way out, or nil.
func (a *Analysis) Best() *Egress {
	if len(a.Egress) == 0 {
		return nil
	}
	return &a.Egress[0]
}

// Index analyses the notebooks of one account-region.
type Index struct {
	r *Resolver
	f *facts
}

// Index returns the index of one region of the inventory.
func (r *Resolver) Index(account, region string) Index {
	return Index{r: r, f: r.facts(account, region)}
}

// analysisKey is everything an Analysis depends on besides the region:
// notebooks that share it share one Analysis, so nothing it says may name
// a notebook or an interface the key does not hold.
type analysisKey struct {
	subnet, groups, eniGroups, publicIP, missingENI string
	ipv6, ipv6Assumed                               bool
}

// Analyze computes the network facts of a notebook placed in a subnet. It
// returns nil for a notebook with no subnet; a notebook of an
// account-region the inventory does not hold has only an unknown. The returned Analysis is
// shared by every notebook with the same placement and must not be
// modified.
func (ix Index) Analyze(nb *inventory.Notebook) *Analysis {
	if nb.SubnetID == "" {
		return nil
	}
	f := ix.f
	if f == nil {
		return &Analysis{Unknowns: []Unknown{{Fact: "subnet " + nb.SubnetID, Resource: nb.SubnetID,
			Why: "its account-region is not in the inventory"}}}
	}
	key := analysisKey{subnet: nb.SubnetID, groups: strings.Join(nb.SecurityGroupIDs, ",")}
	var eni *inventory.NetworkInterface
	if nb.NetworkInterfaceID != "" {
		if _, failed := f.failure(nb.NetworkInterfaceID, awsop.DescribeNetworkInterfaces); failed {
			key.missingENI = nb.NetworkInterfaceID
		} else if e, ok := f.enis[nb.NetworkInterfaceID]; ok {
			eni = e
			key.publicIP = e.PublicIP
			key.ipv6 = len(e.IPv6Addresses) > 0
			if len(e.SecurityGroupIDs) > 0 && !slices.Equal(e.SecurityGroupIDs, nb.SecurityGroupIDs) {
				key.eniGroups = e.ID + ":" + strings.Join(e.SecurityGroupIDs, ",") // the note names the interface
			}
		} else {
			key.missingENI = nb.NetworkInterfaceID
		}
	} else if strings.EqualFold(nb.IPAddressType, "dualstack") {
		key.ipv6, key.ipv6Assumed = true, true
	}
	if a, ok := f.analyses[key]; ok {
		return a
	}
	a := ix.r.analyze(f, nb, eni, key)
	a.Notes = slices.Clip(a.Notes)
	f.analyses[key] = a
	return a
}

func (r *Resolver) analyze(f *facts, nb *inventory.Notebook, eni *inventory.NetworkInterface, key analysisKey) *Analysis {
	a := &Analysis{PublicIP: key.publicIP, HasIPv6: key.ipv6}
	if key.ipv6Assumed {
		a.Notes = append(a.Notes, "no network interface recorded; IPv6 assumed from IpAddressType=dualstack")
	}
	sub, ok := f.subnets[nb.SubnetID]
	if _, failed := f.failure(nb.SubnetID, awsop.DescribeSubnets); failed || !ok {
		a.Unknowns = append(a.Unknowns, f.missing("subnet", nb.SubnetID, "", awsop.DescribeSubnets))
		return a
	}
	a.Subnet, a.VPCID = sub, sub.VPCID
	if key.missingENI != "" {
		a.Unknowns = append(a.Unknowns, f.missing("network interface", key.missingENI, sub.VPCID, awsop.DescribeNetworkInterfaces))
	}
	ids := nb.SecurityGroupIDs
	if key.eniGroups != "" {
		ids = eni.SecurityGroupIDs
		a.Notes = append(a.Notes, fmt.Sprintf("network interface %s has security groups %s, the notebook records %s: the interface's groups decide",
			eni.ID, strings.Join(eni.SecurityGroupIDs, ","), firstNonEmpty(strings.Join(nb.SecurityGroupIDs, ","), "none")))
	}
	a.SecurityGroupIDs = ids
	if len(ids) == 0 {
		a.Unknowns = append(a.Unknowns, Unknown{Fact: "security groups of the notebook", Resource: sub.ID,
			Why: "none recorded on the notebook or its network interface (AWS always attaches at least one)"})
	}
	groups := make([]*inventory.SecurityGroup, 0, len(ids))
	for _, id := range ids {
		g, ok := f.sgs[id]
		if _, failed := f.failure(id, awsop.DescribeSecurityGroups); failed || !ok {
			a.Unknowns = append(a.Unknowns, f.missing("security group", id, sub.VPCID, awsop.DescribeSecurityGroups))
			continue
		}
		groups = append(groups, g)
	}
	// The VPC's contents are its owner's to read when it is shared.
	vf := r.vpcFacts(f, sub.VPCID)
	rt, src, u := vf.routeTableOf(sub.ID, sub.VPCID)
	if u != nil {
		a.Unknowns = append(a.Unknowns, *u)
	} else {
		a.RouteTableID, a.RouteTableSource = rt.ID, src
	}
	acl, u := vf.aclOf(sub.ID, sub.VPCID)
	if u != nil {
		a.Unknowns = append(a.Unknowns, *u)
	} else {
		a.NetworkACLID = acl.id
		a.Unknowns = append(a.Unknowns, acl.unknowns...)
	}
	if len(a.Unknowns) > 0 {
		return a
	}
	pol := f.policyFor(groups, strings.Join(ids, ","))
	a.Unknowns = append(a.Unknowns, pol.unknowns...)
	t := vf.table(rt)
	a.Unknowns = append(a.Unknowns, t.unknowns...)
	if len(a.Unknowns) > 0 {
		return a
	}
	a.Notes = append(a.Notes, t.notes...)
	for _, id := range pol.awsLists {
		a.Notes = append(a.Notes, "egress to AWS-managed prefix list "+id+": AWS service destinations, not counted as internet")
	}
	r.routeFacts(a, vf, t, sub)
	r.ingressFacts(a, pol, acl, t, vf, sub)

	fams := []family{fam4}
	if a.HasIPv6 {
		fams = append(fams, fam6)
	}
	for _, fam := range fams {
		r.egress(a, vf, sub, pol, acl, fam)
	}
	sort.SliceStable(a.Egress, func(i, j int) bool {
		x, y := a.Egress[i], a.Egress[j]
		if x.Opaque != y.Opaque {
			return !x.Opaque
		}
		return x.Path.Exposure() > y.Path.Exposure()
	})
	return a
}

// routeFacts fills the subnet's public routes and its internet gateway
// route. An internet gateway whose attachment is unknown is unknown here
// where it decides: in a subnet that gives public addresses.
func (r *Resolver) routeFacts(a *Analysis, f *facts, t *table, sub *inventory.Subnet) {
	for fam := fam4; fam <= fam6; fam++ {
		for i := range t.pieces[fam] {
			p := &t.pieces[fam][i]
			switch p.kind {
			case KindLocal, KindBlackhole, KindService:
				continue
			}
			a.PublicRoutes = append(a.PublicRoutes, PublicRoute{Destination: p.dest, Target: p.target, Kind: p.kind, IPv6: fam == fam6})
			if fam != fam4 || p.kind != KindIGW || a.IGWRouteV4 != "" {
				continue
			}
			switch attached, u := f.igwAttached(p.target, sub.VPCID); {
			case u != nil && sub.MapPublicIPOnLaunch:
				a.addUnknown(*u)
			case attached:
				a.IGWRouteV4 = p.route
			}
		}
	}
}

func (a *Analysis) addUnknown(u Unknown) {
	if !slices.Contains(a.Unknowns, u) {
		a.Unknowns = append(a.Unknowns, u)
	}
}

// igwAttached is gatewayAttached for the analysis of a notebook's own
// subnet, whose VPC is always read: one not collected is unknown.
func (f *facts) igwAttached(id, vpc string) (bool, *Unknown) {
	attached, u, collected := f.gatewayAttached(id, vpc, false)
	if u == nil && !collected {
		u = &Unknown{Fact: "internet-gateway " + id, Resource: id, Why: "not collected"}
	}
	return attached, u
}

// ingressFacts finds a rule admitting the whole internet and whether the
// interface can be reached from it: a public address (IPv4) or an IPv6
// address, behind an internet gateway route that wins public space, and a
// network ACL that admits some of it. An internet gateway whose attachment
// is unknown is unknown here when a rule admits the whole internet.
func (r *Resolver) ingressFacts(a *Analysis, pol *policy, acl *aclFacts, t *table, f *facts, sub *inventory.Subnet) {
	for fam := fam4; fam <= fam6; fam++ {
		pub := public(fam)
		covers := pol.ingress[fam].other.covers(pub)
		for _, p := range pol.ingress[fam].by {
			for _, s := range p.segs {
				covers = covers || s.set.covers(pub)
			}
		}
		if covers && a.OpenIngressRule == "" {
			a.OpenIngressRule = pol.widest[fam][1].String()
		}
		if (fam == fam4 && a.PublicIP == "") || (fam == fam6 && !a.HasIPv6) {
			continue
		}
		behindIGW := false
		for i := range t.pieces[fam] {
			p := &t.pieces[fam][i]
			if p.kind != KindIGW || p.won.empty() {
				continue
			}
			switch attached, u := f.igwAttached(p.target, sub.VPCID); {
			case u != nil && covers:
				a.addUnknown(*u)
			case attached:
				behindIGW = true
			}
		}
		if behindIGW && acl.in[fam].addresses().overlaps(pub) {
			a.InboundReachable = true
		}
	}
}

// egress walks one family's public flows from the interface.
func (r *Resolver) egress(a *Analysis, f *facts, sub *inventory.Subnet, pol *policy, acl *aclFacts, fam family) {
	sg := pol.egress[fam].restrict(walked(fam))
	f0 := sg.intersect(acl.leaving(fam))
	reach := Reach{IPv6: fam == fam6, Threshold: r.opts.OpenV4Bits}
	if fam == fam6 {
		reach.Threshold = r.opts.OpenV6Bits
	}
	defer func() { a.Reach = append(a.Reach, reach) }()
	if f0.empty() {
		if !sg.empty() {
			a.Notes = append(a.Notes, fmt.Sprintf("network ACL %s blocks every public %s destination the security groups allow", acl.id, fam))
		}
		return
	}
	st := state{f: f, subnet: sub.ID, vpc: sub.VPCID, fam: fam, mapped: fam == fam6 || a.PublicIP != "",
		src: subnetCIDRs(sub, fam.v6()), srcKey: sub.ID}
	s, _ := r.at(st)
	var exits flows
	seenDead := map[string]bool{}
	for i := range s.terms {
		t := &s.terms[i]
		m := f0.intersect(t.mask)
		if m.empty() {
			continue
		}
		switch t.kind {
		case outUnknown:
			if !slices.ContainsFunc(a.Unknowns, func(u Unknown) bool { return u == *t.unknown }) {
				a.Unknowns = append(a.Unknowns, *t.unknown)
			}
		case outExit:
			exits = exits.union(m)
			a.Egress = append(a.Egress, Egress{Path: t.path, Reason: t.reason, Hops: t.hops, IPv6: fam == fam6})
		case outOpaque:
			a.Egress = append(a.Egress, Egress{Path: t.path, Opaque: true, Reason: t.reason, Hops: t.hops, IPv6: fam == fam6})
		case outDead:
			if !seenDead[t.reason] {
				seenDead[t.reason] = true
				a.DeadEnds = append(a.DeadEnds, DeadEnd{Reason: t.reason, Hops: t.hops, IPv6: fam == fam6})
			}
		}
	}
	n := exits.addresses().intersect(public(fam)).size()
	reach.Addresses = n.float()
	reach.Share = reach.Addresses / public(fam).size().float()
	reach.Open = r.opts.limit(fam).less(n)
	if reach.Open {
		// Named only when it is reported: formatting it costs.
		reach.Rule = pol.widest[fam][0].String()
	}
	a.Open = a.Open || reach.Open
}

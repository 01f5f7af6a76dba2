// Package netpath computes, without any I/O, whether a SageMaker notebook
// instance's network interface can reach the internet through its VPC: the
// subnet's effective route table (explicit association, else its own VPC's
// main table), longest-prefix routes that carry public address space, the
// targets those routes lead to, the union of the security groups' egress and
// the subnet's network ACL (stateless, first match wins, both directions).
//
// It answers facts, not verdicts: package control turns an Analysis into the
// control's sub-checks. Anything that cannot be determined from the
// inventory is listed in Analysis.Missing, and the control fails closed on it.
package netpath

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/sagefence/sagefence/internal/inventory"
)

// Kind classifies where a route sends traffic.
type Kind string

// Route target kinds.
const (
	KindLocal      Kind = "local"
	KindIGW        Kind = "igw"
	KindEIGW       Kind = "eigw"
	KindNAT        Kind = "nat"
	KindPrivateNAT Kind = "private-nat"
	KindService    Kind = "aws-service" // gateway VPC endpoint (S3, DynamoDB)
	KindAppliance  Kind = "appliance"   // instance, ENI, Gateway Load Balancer endpoint
	KindTransit    Kind = "transit"     // transit gateway, core network, peering, VGW, local/carrier gateway
	KindBlackhole  Kind = "blackhole"
	KindUnknown    Kind = "unknown" // the target could not be resolved from the inventory
)

// Path is a way out of the VPC towards public address space.
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

// exposure orders paths.
func (p Path) exposure() int {
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

// PublicRoute is a route of the effective table that wins (longest prefix)
// for some public addresses.
type PublicRoute struct {
	Destination string
	Target      string
	Kind        Kind
	IPv6        bool
	// PrefixList is true for a prefix-list destination whose contents the
	// inventory does not hold.
	PrefixList bool
	Note       string
	public     ipSet
}

// String renders the route for evidence: "0.0.0.0/0 -> nat-1 (nat)".
func (r PublicRoute) String() string {
	return fmt.Sprintf("%s -> %s (%s)", r.Destination, r.Target, r.Kind)
}

// Egress is one reachable way out.
type Egress struct {
	Path  Path
	Route PublicRoute
	// Open is true when security groups and the network ACL allow the whole
	// public address space of the route's family on some protocol and port.
	Open bool
	// Rule is the security-group rule that opens it to the whole internet.
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

	// PublicRoutes are the effective routes that carry public traffic.
	PublicRoutes []PublicRoute
	// Egress are the ways out that routes, security groups and the network
	// ACL all allow, most exposed first.
	Egress []Egress
	// IGWRouteV4 is the IPv4 route to an internet gateway that carries
	// public traffic, if any (the SOP's "public subnet" test).
	IGWRouteV4 string
	// OpenIngressRule is a security-group rule admitting the whole internet.
	OpenIngressRule string
	// InboundReachable is true when the ENI can be reached from the internet
	// (a public IPv4 address or IPv6 address behind an IGW route, allowed by
	// the network ACL).
	InboundReachable bool

	// Missing lists facts that could not be determined; any entry makes
	// the result unknown.
	Missing []string
	Notes   []string
}

// AddressesMatter reports whether the verdict depends on the network
// interface's own addresses: a public IPv4 address or IPv6 addresses count
// only behind a route to an internet or egress-only gateway, and an
// interface that could not be found is itself a missing fact.
func (a *Analysis) AddressesMatter() bool {
	if len(a.Missing) > 0 {
		return true
	}
	for _, r := range a.PublicRoutes {
		if r.Kind == KindIGW || r.Kind == KindEIGW {
			return true
		}
	}
	return false
}

// Best returns the most exposed reachable egress, or nil.
func (a *Analysis) Best() *Egress {
	if len(a.Egress) == 0 {
		return nil
	}
	return &a.Egress[0]
}

// Index is a region's inventory indexed by ID, with caches of per-table and
// per-policy work. It is not safe for concurrent use; make one per region.
type Index struct {
	region      *inventory.Region
	subnets     map[string]*inventory.Subnet
	rtExplicit  map[string]*inventory.RouteTable
	rtMain      map[string]*inventory.RouteTable
	nats        map[string]*inventory.NATGateway
	sgs         map[string]*inventory.SecurityGroup
	aclBySubnet map[string]*inventory.NetworkACL
	// aclSorted holds each ACL's entries in rule-number order.
	aclSorted map[string]sortedACL
	enis      map[string]*inventory.NetworkInterface
	endpoints map[string]*inventory.VPCEndpoint
	failed    map[string]string

	tableCache    map[string]tableInfo
	policyCache   map[string]policyInfo
	analysisCache map[analysisKey]*Analysis
	// scratch holds computePolicy's per-class sets between calls (an
	// Index is used by one goroutine at a time, like its caches).
	scratch policyScratch
}

// analysisKey is everything an Analysis depends on: notebooks that share a
// subnet, security groups and interface addressing share one Analysis.
type analysisKey struct {
	subnet, groups, publicIP, eni string
	ipv6                          bool
}

// failure operations the analysis depends on.
const (
	opSubnets     = "ec2:DescribeSubnets"
	opRouteTables = "ec2:DescribeRouteTables"
	opNAT         = "ec2:DescribeNatGateways"
	opSGs         = "ec2:DescribeSecurityGroups"
	opACLs        = "ec2:DescribeNetworkAcls"
	opENIs        = "ec2:DescribeNetworkInterfaces"
	opEndpoints   = "ec2:DescribeVpcEndpoints"
)

// NewIndex indexes one account-region of an inventory.
func NewIndex(r *inventory.Region) *Index {
	ix := &Index{
		region:      r,
		subnets:     make(map[string]*inventory.Subnet, len(r.Subnets)),
		rtExplicit:  map[string]*inventory.RouteTable{},
		rtMain:      map[string]*inventory.RouteTable{},
		nats:        make(map[string]*inventory.NATGateway, len(r.NATGateways)),
		sgs:         make(map[string]*inventory.SecurityGroup, len(r.SecurityGroups)),
		aclBySubnet: map[string]*inventory.NetworkACL{},
		aclSorted:   make(map[string]sortedACL, len(r.NetworkACLs)),
		enis:        make(map[string]*inventory.NetworkInterface, len(r.NetworkInterfaces)),
		endpoints:   make(map[string]*inventory.VPCEndpoint, len(r.VPCEndpoints)),
		failed:      map[string]string{},
		tableCache:  map[string]tableInfo{},
		policyCache: map[string]policyInfo{},

		analysisCache: map[analysisKey]*Analysis{},
	}
	for i := range r.Subnets {
		ix.subnets[r.Subnets[i].ID] = &r.Subnets[i]
	}
	for i := range r.RouteTables {
		rt := &r.RouteTables[i]
		if rt.Main {
			ix.rtMain[rt.VPCID] = rt
		}
		for _, s := range rt.SubnetIDs {
			ix.rtExplicit[s] = rt
		}
	}
	for i := range r.NATGateways {
		ix.nats[r.NATGateways[i].ID] = &r.NATGateways[i]
	}
	for i := range r.SecurityGroups {
		ix.sgs[r.SecurityGroups[i].ID] = &r.SecurityGroups[i]
	}
	for i := range r.NetworkACLs {
		ix.aclSorted[r.NetworkACLs[i].ID] = sortACL(&r.NetworkACLs[i])
		for _, s := range r.NetworkACLs[i].SubnetIDs {
			ix.aclBySubnet[s] = &r.NetworkACLs[i]
		}
	}
	for i := range r.NetworkInterfaces {
		ix.enis[r.NetworkInterfaces[i].ID] = &r.NetworkInterfaces[i]
	}
	for i := range r.VPCEndpoints {
		ix.endpoints[r.VPCEndpoints[i].ID] = &r.VPCEndpoints[i]
	}
	for _, e := range r.Errors {
		if e.Resource == "" {
			ix.failed[e.Operation] = e.Message
		}
	}
	return ix
}

// Failed reports whether a whole operation failed in this region.
func (ix *Index) Failed(op string) bool {
	_, ok := ix.failed[op]
	return ok
}

func (ix *Index) missing(a *Analysis, what, op string) {
	if msg, ok := ix.failed[op]; ok {
		a.Missing = append(a.Missing, fmt.Sprintf("%s: %s failed: %s", what, op, msg))
		return
	}
	a.Missing = append(a.Missing, what+": not found in the inventory")
}

// Analyze computes the VPC network facts for a notebook placed in a subnet.
// It returns nil for a notebook with no subnet. The returned Analysis is
// shared by every notebook with the same placement and must not be modified.
func (ix *Index) Analyze(nb *inventory.Notebook) *Analysis {
	if nb.SubnetID == "" {
		return nil
	}
	// The ENI: SageMaker gives its interfaces private IPs only, so without
	// a NetworkInterfaceId (a stopped notebook has none) there is no public
	// address. An ENI that is named but absent from the inventory is unknown.
	key := analysisKey{subnet: nb.SubnetID, groups: strings.Join(nb.SecurityGroupIDs, ",")}
	var ipv6Note string
	if nb.NetworkInterfaceID != "" {
		if eni, ok := ix.enis[nb.NetworkInterfaceID]; ok {
			key.publicIP = eni.PublicIP
			key.ipv6 = len(eni.IPv6Addresses) > 0
		} else {
			key.eni = nb.NetworkInterfaceID
		}
	} else if strings.EqualFold(nb.IPAddressType, "dualstack") {
		key.ipv6 = true
		ipv6Note = "no network interface recorded; IPv6 assumed from IpAddressType=dualstack"
	}
	if a, ok := ix.analysisCache[key]; ok {
		return a
	}
	a := ix.analyze(nb, key)
	if ipv6Note != "" {
		a.Notes = append(a.Notes, ipv6Note)
	}
	a.Notes = slices.Clip(a.Notes)
	a.Missing = slices.Clip(a.Missing)
	ix.analysisCache[key] = a
	return a
}

func (ix *Index) analyze(nb *inventory.Notebook, key analysisKey) *Analysis {
	a := &Analysis{PublicIP: key.publicIP, HasIPv6: key.ipv6}
	sub, ok := ix.subnets[nb.SubnetID]
	if !ok {
		ix.missing(a, "subnet "+nb.SubnetID, opSubnets)
		return a
	}
	a.Subnet, a.VPCID = sub, sub.VPCID
	if key.eni != "" {
		ix.missing(a, "network interface "+key.eni, opENIs)
	}

	rt, src := ix.rtExplicit[sub.ID], "explicit"
	if rt == nil {
		rt, src = ix.rtMain[sub.VPCID], "main"
	}
	if rt == nil {
		ix.missing(a, "route table of subnet "+sub.ID+" (no explicit association and no main table of "+sub.VPCID+")", opRouteTables)
	} else {
		a.RouteTableID, a.RouteTableSource = rt.ID, src
	}

	acl := ix.aclBySubnet[sub.ID]
	if acl == nil {
		ix.missing(a, "network ACL of subnet "+sub.ID, opACLs)
	} else {
		a.NetworkACLID = acl.ID
	}

	groups := make([]*inventory.SecurityGroup, 0, len(nb.SecurityGroupIDs))
	for _, id := range nb.SecurityGroupIDs {
		sg, ok := ix.sgs[id]
		if !ok {
			ix.missing(a, "security group "+id, opSGs)
			continue
		}
		groups = append(groups, sg)
	}
	if len(nb.SecurityGroupIDs) == 0 {
		a.Notes = append(a.Notes, "no security groups recorded on the notebook")
	}
	if len(a.Missing) > 0 {
		return a
	}

	ti := ix.table(rt)
	if len(ti.missing) > 0 {
		a.Missing = append(a.Missing, ti.missing...)
		return a
	}
	a.Notes = append(a.Notes, ti.notes...)
	a.PublicRoutes = ti.routes
	a.IGWRouteV4 = ti.igwV4

	pol := ix.policy(acl, groups, nb.SecurityGroupIDs)
	a.OpenIngressRule = pol.openIngress

	for _, r := range ti.routes {
		if r.IPv6 && !a.HasIPv6 {
			continue
		}
		var path Path
		switch r.Kind {
		case KindIGW:
			if r.IPv6 {
				path = PathIPv6
			} else if a.PublicIP != "" {
				path = PathIGW
			} else {
				a.Notes = append(a.Notes, "route "+r.String()+" reaches an internet gateway, but the network interface has no public IPv4 address (SageMaker assigns private addresses only)")
				continue
			}
		case KindEIGW:
			path = PathIPv6
		case KindNAT:
			path = PathNAT
		case KindAppliance:
			path = PathAppliance
		case KindTransit:
			path = PathTransit
		default:
			continue
		}
		fam := pol.v4
		if r.IPv6 {
			fam = pol.v6
		}
		if !r.PrefixList && !fam.reach.overlaps(r.public) {
			if fam.sgReach.overlaps(r.public) {
				a.Notes = append(a.Notes, "route "+r.String()+" is blocked by network ACL "+acl.ID)
			}
			continue
		}
		if r.PrefixList && fam.reach.empty() {
			continue
		}
		e := Egress{Path: path, Route: r, Open: fam.open}
		if fam.open {
			e.Rule = fam.openRule
		}
		a.Egress = append(a.Egress, e)
	}
	sort.SliceStable(a.Egress, func(i, j int) bool {
		pi, pj := a.Egress[i], a.Egress[j]
		if pi.Path.exposure() != pj.Path.exposure() {
			return pi.Path.exposure() > pj.Path.exposure()
		}
		return pi.Open && !pj.Open
	})

	// Inbound: the internet can reach the ENI only through an internet
	// gateway (not an egress-only one) to an address it owns publicly.
	for _, r := range ti.routes {
		if r.Kind != KindIGW {
			continue
		}
		if (!r.IPv6 && a.PublicIP != "" && pol.v4.inboundFromPublic) || (r.IPv6 && a.HasIPv6 && pol.v6.inboundFromPublic) {
			a.InboundReachable = true
		}
	}
	return a
}

// tableInfo is the per-route-table work, cached.
type tableInfo struct {
	routes  []PublicRoute
	igwV4   string
	missing []string
	notes   []string
}

func routeDest(r *inventory.Route) (string, bool) {
	switch {
	case r.DestinationCIDR != "":
		return r.DestinationCIDR, false
	case r.DestinationIPv6CIDR != "":
		return r.DestinationIPv6CIDR, true
	}
	return r.DestinationPrefixListID, false
}

// classify resolves a route's target.
func (ix *Index) classify(r *inventory.Route) (target string, kind Kind, note, missing string) {
	switch {
	case r.NATGatewayID != "":
		target = r.NATGatewayID
		if strings.EqualFold(r.State, "blackhole") {
			return target, KindBlackhole, "", ""
		}
		nat, ok := ix.nats[r.NATGatewayID]
		if !ok {
			if msg, failed := ix.failed[opNAT]; failed {
				return target, KindUnknown, "", "NAT gateway " + target + ": " + opNAT + " failed: " + msg
			}
			return target, KindBlackhole, "NAT gateway " + target + " no longer exists: its routes are blackholes", ""
		}
		switch nat.State {
		case "deleted", "deleting", "failed":
			return target, KindBlackhole, "NAT gateway " + target + " is " + nat.State + ": its routes are blackholes", ""
		}
		if strings.EqualFold(nat.ConnectivityType, "private") {
			return target, KindPrivateNAT, "NAT gateway " + target + " is private: it gives no internet access", ""
		}
		return target, KindNAT, "", ""
	case strings.EqualFold(r.State, "blackhole"):
		return firstNonEmpty(r.GatewayID, r.InstanceID, r.NetworkInterfaceID, r.TransitGatewayID, r.VPCPeeringConnectionID, r.EgressOnlyInternetGatewayID, "-"), KindBlackhole, "", ""
	case r.GatewayID == "local":
		return "local", KindLocal, "", ""
	case strings.HasPrefix(r.GatewayID, "igw-"):
		return r.GatewayID, KindIGW, "", ""
	case strings.HasPrefix(r.GatewayID, "vgw-"):
		return r.GatewayID, KindTransit, "", ""
	case strings.HasPrefix(r.GatewayID, "vpce-"):
		ep, ok := ix.endpoints[r.GatewayID]
		switch {
		case ok && ep.Type == "Gateway":
			return r.GatewayID, KindService, "", ""
		case ok:
			return r.GatewayID, KindAppliance, "", ""
		}
		if _, failed := ix.failed[opEndpoints]; failed {
			return r.GatewayID, KindAppliance, "VPC endpoint " + r.GatewayID + " could not be described; treated as an appliance", ""
		}
		return r.GatewayID, KindAppliance, "VPC endpoint " + r.GatewayID + " not found; treated as an appliance", ""
	case r.EgressOnlyInternetGatewayID != "":
		return r.EgressOnlyInternetGatewayID, KindEIGW, "", ""
	case r.InstanceID != "":
		return r.InstanceID, KindAppliance, "", ""
	case r.NetworkInterfaceID != "":
		return r.NetworkInterfaceID, KindAppliance, "", ""
	case r.TransitGatewayID != "":
		return r.TransitGatewayID, KindTransit, "", ""
	case r.CoreNetworkARN != "":
		return r.CoreNetworkARN, KindTransit, "", ""
	case r.VPCPeeringConnectionID != "":
		return r.VPCPeeringConnectionID, KindTransit, "", ""
	case r.LocalGatewayID != "":
		return r.LocalGatewayID, KindTransit, "", ""
	case r.CarrierGatewayID != "":
		return r.CarrierGatewayID, KindTransit, "", ""
	case r.GatewayID != "":
		return r.GatewayID, KindAppliance, "route target " + r.GatewayID + " not recognised; treated as an appliance", ""
	}
	return "-", KindAppliance, "route with no recognised target; treated as an appliance", ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func (ix *Index) table(rt *inventory.RouteTable) tableInfo {
	if ti, ok := ix.tableCache[rt.ID]; ok {
		return ti
	}
	ti := computeTable(ix, rt)
	ix.tableCache[rt.ID] = ti
	return ti
}

func computeTable(ix *Index, rt *inventory.RouteTable) tableInfo {
	type parsed struct {
		route  *inventory.Route
		bits   int
		v6     bool
		region ipSet
	}
	var ti tableInfo
	var cidrRoutes []parsed
	for i := range rt.Routes {
		r := &rt.Routes[i]
		dest, v6 := routeDest(r)
		if r.DestinationCIDR == "" && r.DestinationIPv6CIDR == "" {
			if dest == "" {
				continue
			}
			// A prefix-list destination: AWS service ranges when it leads to a
			// gateway endpoint; a customer list through anything else may hold
			// public ranges the inventory does not show.
			target, kind, note, miss := ix.classify(r)
			if miss != "" {
				ti.missing = append(ti.missing, miss)
				continue
			}
			switch kind {
			case KindService, KindLocal, KindBlackhole, KindPrivateNAT:
				continue
			}
			ti.routes = append(ti.routes, PublicRoute{Destination: dest, Target: target, Kind: kind, PrefixList: true,
				Note: firstNonEmpty(note, "prefix list "+dest+": contents not evaluated")})
			continue
		}
		p, ok := parsePrefix(dest)
		if !ok {
			ti.missing = append(ti.missing, fmt.Sprintf("route table %s: unparsable destination %q", rt.ID, dest))
			continue
		}
		cidrRoutes = append(cidrRoutes, parsed{route: r, bits: p.Bits(), v6: !p.Addr().Is4(), region: setOf(prefixSpan(p))})
		_ = v6
	}
	pub4, pub6 := publicSpaces()
	for i, cr := range cidrRoutes {
		won := cr.region
		for j, other := range cidrRoutes {
			if i != j && other.v6 == cr.v6 && other.bits > cr.bits {
				won = won.subtract(other.region)
			}
		}
		pub := pub4
		if cr.v6 {
			pub = pub6
		}
		won = won.intersect(pub)
		if won.empty() {
			continue
		}
		target, kind, note, miss := ix.classify(cr.route)
		if miss != "" {
			ti.missing = append(ti.missing, miss)
			continue
		}
		if note != "" {
			ti.notes = append(ti.notes, note)
		}
		dest, _ := routeDest(cr.route)
		pr := PublicRoute{Destination: dest, Target: target, Kind: kind, IPv6: cr.v6, public: won, Note: note}
		switch kind {
		case KindLocal, KindBlackhole, KindService, KindPrivateNAT:
			// Public space that stays in the VPC, is dropped, or goes to AWS
			// services or a private NAT is not an internet path.
			continue
		case KindIGW:
			if !cr.v6 && ti.igwV4 == "" {
				ti.igwV4 = pr.String()
			}
		}
		ti.routes = append(ti.routes, pr)
	}
	return ti
}

var publicSpaces = sync.OnceValues(func() (ipSet, ipSet) { return publicSpace(false), publicSpace(true) })

// famPolicy is what the security groups and network ACL allow for one family.
type famPolicy struct {
	// sgReach is every public destination the security groups allow.
	sgReach ipSet
	// reach is every public destination that the security groups, the ACL
	// outbound and the ACL inbound (return traffic) allow together.
	reach ipSet
	// open: on some protocol and port, reach is the whole public space.
	open     bool
	openRule string
	// inboundFromPublic: the ACL admits some public source inbound.
	inboundFromPublic bool
}

type policyInfo struct {
	v4, v6      famPolicy
	openIngress string
}

func (ix *Index) policy(acl *inventory.NetworkACL, groups []*inventory.SecurityGroup, ids []string) policyInfo {
	key := acl.ID + "|" + strings.Join(ids, ",")
	if p, ok := ix.policyCache[key]; ok {
		return p
	}
	p := computePolicy(&ix.scratch, ix.aclSorted[acl.ID], groups)
	ix.policyCache[key] = p
	return p
}

// Protocol numbers.
const (
	protoAll    = -1
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

func protoNumber(s string) int {
	switch strings.ToLower(s) {
	case "-1", "all", "":
		return protoAll
	case "tcp":
		return protoTCP
	case "udp":
		return protoUDP
	case "icmp":
		return protoICMP
	case "icmpv6":
		return protoICMPv6
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return -2 // unknown protocol: matches only rules for all traffic
	}
	return n
}

func hasPorts(proto int) bool { return proto == protoTCP || proto == protoUDP }

// class is one kind of traffic: a protocol and, for TCP/UDP, a port.
type class struct {
	proto int
	port  int32
}

// ephemeral is the client port range return traffic comes back to.
const ephemeralLo, ephemeralHi = 1024, 65535

// policyScratch are buffers computePolicy reuses from class to class and
// from call to call; only the sets kept in a policy are allocated.
type policyScratch struct {
	spans                    []span
	sgPub, tmp, reach        ipSet
	sgReach, reachAll, spare ipSet
}

func computePolicy(sc *policyScratch, acl sortedACL, groups []*inventory.SecurityGroup) policyInfo {
	var p policyInfo
	var ingressRule string
	classes := trafficClasses(acl, groups)
	// accumulate sets *acc to its union with x, merging into the spare
	// buffer and keeping the old one as the next spare.
	accumulate := func(acc *ipSet, x ipSet) {
		merged := acc.unionInto(sc.spare[:0], x)
		sc.spare, *acc = *acc, merged
	}
	for _, v6 := range []bool{false, true} {
		fp := famPolicy{}
		pub := publicSpaces4or6(v6)
		sc.sgReach, sc.reachAll = sc.sgReach[:0], sc.reachAll[:0]
		// Return traffic depends on the protocol only; classes are sorted
		// by protocol, so the last one computed is the one to reuse.
		var ret ipSet
		retProto, haveRet := 0, false
		for _, c := range classes {
			var sg ipSet
			var rule ruleRef
			sg, rule, sc.spans = sgAllowed(sc.spans, groups, c, v6, true)
			sc.sgPub = sg.intersectInto(sc.sgPub, pub)
			if sc.sgPub.empty() {
				continue
			}
			accumulate(&sc.sgReach, sc.sgPub)
			out := aclAllowed(acl, c, v6, true)
			if !haveRet || retProto != c.proto {
				retProto, ret, haveRet = c.proto, aclReturnAllowed(acl, c.proto, v6), true
			}
			sc.tmp = sc.sgPub.intersectInto(sc.tmp, out)
			sc.reach = sc.tmp.intersectInto(sc.reach, ret)
			accumulate(&sc.reachAll, sc.reach)
			if !fp.open && sc.reach.covers(pub) {
				fp.open, fp.openRule = true, rule.String()
			}
		}
		fp.sgReach, fp.reach = slices.Clone(sc.sgReach), slices.Clone(sc.reachAll)
		// Inbound from the internet, for open-ingress reachability.
		for _, c := range classes {
			if aclAllowed(acl, c, v6, false).overlaps(pub) {
				fp.inboundFromPublic = true
				break
			}
		}
		if ingressRule == "" {
			for _, c := range classes {
				var in ipSet
				var rule ruleRef
				in, rule, sc.spans = sgAllowed(sc.spans, groups, c, v6, false)
				if in.covers(pub) {
					ingressRule = rule.String()
					break
				}
			}
		}
		if v6 {
			p.v6 = fp
		} else {
			p.v4 = fp
		}
	}
	p.openIngress = ingressRule
	return p
}

func publicSpaces4or6(v6 bool) ipSet {
	a, b := publicSpaces()
	if v6 {
		return b
	}
	return a
}

// trafficClasses splits traffic into classes within which every security
// group rule and ACL entry decides the same way: one per protocol mentioned,
// and for TCP/UDP one per port segment between rule boundaries. The same
// classes serve both address families. They come sorted by protocol, then
// port, since both lists are.
func trafficClasses(acl sortedACL, groups []*inventory.SecurityGroup) []class {
	// Port boundaries apply to TCP and UDP alike: a rule's range for one
	// protocol only splits the other's classes more finely, which changes
	// no verdict and keeps this one list.
	bounds := []int32{0}
	// 253 (reserved for experiments) stands for any protocol no rule
	// names: only "all traffic" rules match it.
	protos := []int{protoICMP, protoTCP, protoUDP, protoICMPv6, 253}
	note := func(proto int, from, to int32, ports bool) {
		if proto >= 0 && !slices.Contains(protos, proto) {
			protos = append(protos, proto)
		}
		if !ports || !hasPorts(proto) {
			return
		}
		bounds = append(bounds, max(from, 0))
		if to < 65535 {
			bounds = append(bounds, to+1)
		}
	}
	for _, g := range groups {
		for _, rules := range [][]inventory.SGRule{g.Egress, g.Ingress} {
			for i := range rules {
				note(protoNumber(rules[i].Protocol), rules[i].FromPort, rules[i].ToPort, true)
			}
		}
	}
	for _, dir := range [][]inventory.ACLEntry{acl.egress, acl.ingress} {
		for i := range dir {
			note(protoNumber(dir[i].Protocol), dir[i].FromPort, dir[i].ToPort, dir[i].HasPorts)
		}
	}
	slices.Sort(protos)
	slices.Sort(bounds)
	bounds = slices.Compact(bounds)
	out := make([]class, 0, len(protos)+2*len(bounds))
	for _, proto := range protos {
		if hasPorts(proto) {
			for _, port := range bounds {
				out = append(out, class{proto, port})
			}
			continue
		}
		out = append(out, class{proto: proto})
	}
	return out
}

func ruleMatches(ruleProto string, from, to int32, ports bool, c class) bool {
	n := protoNumber(ruleProto)
	if n == protoAll {
		return true
	}
	if n != c.proto {
		return false
	}
	if hasPorts(c.proto) && ports {
		return c.port >= from && c.port <= to
	}
	return true
}

// sgAllowed is the union of destinations (egress) or sources (ingress) the
// groups allow for a class, with one rule that allows the most.
// ruleRef points at the security-group rule that decided something; it is
// formatted only when it is reported.
type ruleRef struct {
	group *inventory.SecurityGroup
	rule  *inventory.SGRule
	cidr  string
	dir   string
}

func (r ruleRef) String() string {
	if r.group == nil {
		return ""
	}
	return fmt.Sprintf("%s %s %s %s", r.group.ID, r.dir, describeProto(r.rule.Protocol, r.rule.FromPort, r.rule.ToPort), r.cidr)
}

// sgAllowed is the union of destinations (egress) or sources (ingress) the
// groups allow for a class, with the rule that allows the most. The set is
// built in buf, which is returned grown for reuse: the set is valid until
// buf is used again.
func sgAllowed(buf []span, groups []*inventory.SecurityGroup, c class, v6, egress bool) (ipSet, ruleRef, []span) {
	spans := buf[:0]
	var best ruleRef
	bestBits := 129
	for _, g := range groups {
		rules := g.Ingress
		dir := "ingress"
		if egress {
			rules, dir = g.Egress, "egress"
		}
		for i := range rules {
			r := &rules[i]
			if !ruleMatches(r.Protocol, r.FromPort, r.ToPort, true, c) {
				continue
			}
			cidrs := r.CIDRs
			if v6 {
				cidrs = r.IPv6CIDRs
			}
			for _, cidr := range cidrs {
				pfx, ok := parsePrefix(cidr)
				if !ok || pfx.Addr().Is4() == v6 {
					continue
				}
				spans = append(spans, prefixSpan(pfx))
				if pfx.Bits() < bestBits {
					best, bestBits = ruleRef{group: g, rule: r, cidr: cidr, dir: dir}, pfx.Bits()
				}
			}
		}
	}
	return mergeInPlace(spans), best, spans
}

func describeProto(p string, from, to int32) string {
	n := protoNumber(p)
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

// aclAllowed evaluates the ACL's entries of one direction in rule-number
// order, first match wins, and returns the addresses allowed for the class.
func aclAllowed(acl sortedACL, c class, v6, egress bool) ipSet {
	q := aclQuery{c, v6, egress}
	if set, ok := acl.memo[q]; ok {
		return set
	}
	set := evalACL(acl, c, v6, egress)
	if acl.memo != nil {
		acl.memo[q] = set
	}
	return set
}

func evalACL(acl sortedACL, c class, v6, egress bool) ipSet {
	remaining := universe(v6)
	var allowed ipSet
	entries := acl.ingress
	if egress {
		entries = acl.egress
	}
	for _, e := range entries {
		cidr := e.CIDR
		if v6 {
			cidr = e.IPv6CIDR
		}
		if cidr == "" {
			continue
		}
		pfx, ok := parsePrefix(cidr)
		if !ok || pfx.Addr().Is4() == v6 {
			continue
		}
		if !ruleMatches(e.Protocol, e.FromPort, e.ToPort, e.HasPorts, c) {
			continue
		}
		hit := remaining.intersect(setOf(prefixSpan(pfx)))
		if hit.empty() {
			continue
		}
		if strings.EqualFold(e.Action, "allow") {
			allowed = allowed.union(hit)
		}
		remaining = remaining.subtract(hit)
		if remaining.empty() {
			break
		}
	}
	return allowed
}

// aclReturnAllowed is the set of remote addresses whose replies the ACL lets
// back in: inbound entries for the protocol on some ephemeral port.
func aclReturnAllowed(acl sortedACL, proto int, v6 bool) ipSet {
	if !hasPorts(proto) {
		return aclAllowed(acl, class{proto: proto}, v6, false)
	}
	ports := map[int32]bool{ephemeralLo: true}
	for _, e := range acl.ingress {
		if !e.HasPorts {
			continue
		}
		for _, b := range []int32{e.FromPort, e.ToPort + 1} {
			if b > ephemeralLo && b <= ephemeralHi {
				ports[b] = true
			}
		}
	}
	var set ipSet
	for port := range ports {
		set = set.union(aclAllowed(acl, class{proto, port}, v6, false))
	}
	return set
}

// sortedACL is an ACL's entries per direction in rule-number order, the
// order in which they are evaluated.
type sortedACL struct {
	egress, ingress []inventory.ACLEntry
	// memo holds what aclAllowed computed for this ACL: many security
	// group sets share one ACL and ask about the same traffic classes.
	memo map[aclQuery]ipSet
}

type aclQuery struct {
	c          class
	v6, egress bool
}

func sortACL(acl *inventory.NetworkACL) sortedACL {
	s := sortedACL{memo: map[aclQuery]ipSet{}}
	for _, e := range acl.Entries {
		if e.Egress {
			s.egress = append(s.egress, e)
		} else {
			s.ingress = append(s.ingress, e)
		}
	}
	byNumber := func(a, b inventory.ACLEntry) int { return int(a.RuleNumber) - int(b.RuleNumber) }
	slices.SortStableFunc(s.egress, byNumber)
	slices.SortStableFunc(s.ingress, byNumber)
	return s
}

package netpath

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Kind classifies where a route sends traffic.
type Kind string

// Route target kinds.
const (
	KindLocal     Kind = "local"
	KindIGW       Kind = "igw"
	KindEIGW      Kind = "eigw"
	KindNAT       Kind = "nat"
	KindTGW       Kind = "tgw"
	KindPeering   Kind = "peering"
	KindService   Kind = "aws-service" // gateway VPC endpoint (S3, DynamoDB)
	KindAppliance Kind = "appliance"   // instance, interface, next-hop IP, Gateway Load Balancer endpoint
	KindOpaque    Kind = "transit"     // VGW, local or carrier gateway, Cloud WAN, ODB network
	KindBlackhole Kind = "blackhole"
	KindUnknown   Kind = "unknown"
)

// family indexes per-family data: 0 is IPv4, 1 is IPv6.
type family int

const (
	fam4 family = 0
	fam6 family = 1
)

func (f family) v6() bool { return f == fam6 }

func (f family) String() string {
	if f == fam6 {
		return "IPv6"
	}
	return "IPv4"
}

// walked is the space a walk carries: the public space, and for IPv6 the
// NAT64 prefix too.
func walked(f family) ipSet {
	p4, p6w := walkedSpaces()
	if f == fam6 {
		return p6w
	}
	return p4
}

// public is the space that counts as the internet.
func public(f family) ipSet {
	p4, p6 := publicSpaces()
	if f == fam6 {
		return p6
	}
	return p4
}

// piece is what one route of a table wins: the addresses (within the
// walked space) for which it is the longest match.
type piece struct {
	route  string // "0.0.0.0/0 -> nat-1 (nat)", for evidence
	dest   string
	target string
	kind   Kind
	won    ipSet
	// awsService: a route to an AWS-managed prefix list, which stands for
	// AWS service ranges whose addresses the inventory does not hold.
	awsService bool
	// unknown is set when the route's target or state is not understood:
	// it is an unknown wherever the route carries a flow.
	unknown *Unknown
	r       *inventory.Route
}

// table is a route table compiled for both families.
type table struct {
	// unknowns affect every path through the table.
	unknowns []Unknown
	pieces   [2][]piece
	// noRoute is the walked space no route covers.
	noRoute [2]ipSet
	notes   []string
}

func (f *facts) table(rt *inventory.RouteTable) *table {
	if t, ok := f.tables[rt.ID]; ok {
		return t
	}
	t := f.compileTable(rt)
	f.tables[rt.ID] = t
	return t
}

// entry is one destination prefix of a route (a prefix-list route has one
// per entry of the family). On an exact tie of prefixes the lower rank
// wins and equal ranks both win.
type entry struct {
	route int
	bits  int
	span  span
	rank  int
}

func (f *facts) compileTable(rt *inventory.RouteTable) *table {
	t := &table{}
	var ents [2][]entry
	type meta struct {
		dest       string
		awsService bool
	}
	metas := make([]meta, len(rt.Routes))
	blackhole := make([]bool, len(rt.Routes))
	skip := make([]bool, len(rt.Routes))
	for i := range rt.Routes {
		r := &rt.Routes[i]
		switch strings.ToLower(r.State) {
		case "", "active":
		case "blackhole":
			blackhole[i] = true
		case "filtered":
			skip[i] = true // not installed: as if absent
			continue
		default:
			// Handled with the target: unknown where it carries a flow.
		}
		n := 0
		for _, d := range []string{r.DestinationCIDR, r.DestinationIPv6CIDR, r.DestinationPrefixListID} {
			if d != "" {
				n++
			}
		}
		if n != 1 {
			t.unknowns = append(t.unknowns, Unknown{Fact: fmt.Sprintf("route table %s route %d destination", rt.ID, i+1), Resource: rt.ID,
				Why: fmt.Sprintf("a route needs exactly one destination, it has %d", n)})
			skip[i] = true
			continue
		}
		switch {
		case r.DestinationCIDR != "" || r.DestinationIPv6CIDR != "":
			v6 := r.DestinationIPv6CIDR != ""
			d := r.DestinationCIDR
			if v6 {
				d = r.DestinationIPv6CIDR
			}
			metas[i].dest = d
			p, ok := parsePrefix(d)
			if !ok || p.Addr().Is4() == v6 {
				t.unknowns = append(t.unknowns, Unknown{Fact: fmt.Sprintf("route table %s destination %q", rt.ID, d), Resource: rt.ID, Why: "not a valid " + map[bool]string{false: "IPv4", true: "IPv6"}[v6] + " CIDR"})
				skip[i] = true
				continue
			}
			ents[familyOf(p)] = append(ents[familyOf(p)], entry{route: i, bits: p.Bits(), span: prefixSpan(p)})
		default:
			id := r.DestinationPrefixListID
			metas[i].dest = id
			pl, u := f.prefixList(id)
			if u != nil {
				// A gateway endpoint's route can only carry its AWS
				// service's list: the list is AWS-managed whatever the
				// inventory holds of it.
				if ep, ok := f.endpoints[r.GatewayID]; ok && ep.Type == "Gateway" {
					metas[i].awsService = true
					t.notes = append(t.notes, fmt.Sprintf("route %s -> %s: the gateway endpoint's AWS service prefix list", id, r.GatewayID))
					continue
				}
				t.unknowns = append(t.unknowns, *u)
				skip[i] = true
				continue
			}
			if pl.AWSManaged() {
				metas[i].awsService = true
				t.notes = append(t.notes, fmt.Sprintf("route %s -> %s: AWS-managed prefix list %s (AWS service destinations)", id, targetID(r), pl.Name))
				continue
			}
			t.unknowns = append(t.unknowns, listEntries(pl, i, 1, &ents)...)
		}
	}
	for fam := fam4; fam <= fam6; fam++ {
		var won []ipSet
		won, t.noRoute[fam] = compete(ents[fam], len(rt.Routes), fam)
		for i := range rt.Routes {
			if skip[i] {
				continue
			}
			set := won[i]
			if set.empty() && !metas[i].awsService {
				continue
			}
			if metas[i].awsService && fam == fam6 {
				continue // listed once, with the IPv4 pieces
			}
			p := f.classify(&rt.Routes[i], rt.VPCID)
			p.dest, p.won, p.awsService = metas[i].dest, set, metas[i].awsService
			if blackhole[i] {
				p.kind, p.unknown = KindBlackhole, nil
			}
			p.route = fmt.Sprintf("%s -> %s (%s)", p.dest, p.target, p.kind)
			t.pieces[fam] = append(t.pieces[fam], p)
		}
	}
	return t
}

// compete runs the longest-prefix competition of one family's entries
// within the walked space: what each route wins, and what no route covers.
func compete(ents []entry, routes int, fam family) (won []ipSet, noRoute ipSet) {
	w := walked(fam)
	won = longestPrefix(ents, routes)
	for i := range won {
		won[i] = won[i].intersect(w)
	}
	var covered ipSet
	for _, e := range ents {
		covered = covered.union(setOf(e.span))
	}
	return won, w.subtract(covered)
}

// longestPrefix returns, per route index, the addresses for which one of
// its entries is the longest match. On an exact tie of prefixes the lower
// rank wins (a CIDR over a prefix-list entry; for a transit gateway, static
// over propagated), and tied entries of the same rank both win.
func longestPrefix(ents []entry, routes int) []ipSet {
	won := make([]ipSet, routes)
	if len(ents) == 0 {
		return won
	}
	sorted := slices.Clone(ents)
	slices.SortStableFunc(sorted, func(a, b entry) int { return b.bits - a.bits })
	var longer ipSet // union of every strictly longer entry
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].bits == sorted[i].bits {
			j++
		}
		group := sorted[i:j]
		for _, e := range group {
			s := setOf(e.span).subtract(longer)
			for _, o := range group {
				if o.rank < e.rank && o.span == e.span {
					s = nil // the same prefix, preferred
					break
				}
			}
			won[e.route] = won[e.route].union(s)
		}
		for _, e := range group {
			longer = longer.union(setOf(e.span))
		}
		i = j
	}
	return won
}

func targetID(r *inventory.Route) string {
	return firstNonEmpty(r.NATGatewayID, r.TransitGatewayID, r.VPCPeeringConnectionID, r.EgressOnlyInternetGatewayID,
		r.InstanceID, r.NetworkInterfaceID, r.LocalGatewayID, r.CarrierGatewayID, r.CoreNetworkARN, r.OdbNetworkARN,
		r.NextHopIP, r.GatewayID, "-")
}

// classify recognises a route's target. NAT gateways, internet gateways
// and transit gateways are resolved by the walk, which knows where it is.
func (f *facts) classify(r *inventory.Route, vpc string) piece {
	p := piece{target: targetID(r), r: r}
	targets := 0
	for _, v := range []string{r.GatewayID, r.NATGatewayID, r.TransitGatewayID, r.VPCPeeringConnectionID, r.EgressOnlyInternetGatewayID,
		r.InstanceID, r.NetworkInterfaceID, r.LocalGatewayID, r.CarrierGatewayID, r.CoreNetworkARN, r.OdbNetworkARN, r.NextHopIP} {
		if v != "" {
			targets++
		}
	}
	if targets > 1 && !(targets == 2 && r.InstanceID != "" && r.NetworkInterfaceID != "") {
		// EC2 names an instance route's interface too; any other pair
		// is not one route.
		p.kind = KindUnknown
		p.unknown = &Unknown{Fact: "route " + routeDest(r) + " target", Resource: vpc, Why: fmt.Sprintf("%d targets, a route has one", targets)}
		return p
	}
	switch st := strings.ToLower(r.State); st {
	case "", "active", "blackhole":
	default:
		p.kind = KindUnknown
		p.unknown = &Unknown{Fact: "route " + routeDest(r) + " -> " + p.target + " state", Resource: p.target, Why: fmt.Sprintf("state %q is not recognised", r.State)}
		return p
	}
	switch {
	case r.GatewayID == "local":
		p.kind = KindLocal
	case r.NATGatewayID != "":
		p.kind = KindNAT
	case r.TransitGatewayID != "":
		p.kind = KindTGW
	case r.VPCPeeringConnectionID != "":
		p.kind = KindPeering
	case r.EgressOnlyInternetGatewayID != "":
		p.kind = KindEIGW
	case r.InstanceID != "", r.NetworkInterfaceID != "", r.NextHopIP != "":
		// An instance's interface is listed too: the instance decides.
		p.kind = KindAppliance
	case r.LocalGatewayID != "", r.CarrierGatewayID != "", r.CoreNetworkARN != "", r.OdbNetworkARN != "":
		p.kind = KindOpaque
	case strings.HasPrefix(r.GatewayID, "igw-"):
		p.kind = KindIGW
	case strings.HasPrefix(r.GatewayID, "vgw-"):
		p.kind = KindOpaque
	case strings.HasPrefix(r.GatewayID, "vpce-"):
		ep, ok := f.endpoints[r.GatewayID]
		why, failed := f.vpcFailure(vpc, r.GatewayID, awsop.DescribeVpcEndpoints)
		switch {
		case failed:
			// A gateway endpoint (AWS service) or a load balancer's
			// (an appliance): a failed read cannot tell, even of one it
			// returned before it failed.
			p.kind = KindUnknown
			p.unknown = &Unknown{Fact: "VPC endpoint " + r.GatewayID, Resource: r.GatewayID, Why: why}
		case ok && ep.Type == "Gateway":
			p.kind = KindService
		default:
			// A Gateway Load Balancer endpoint (or one the inventory does
			// not hold): an appliance that sight ends at.
			p.kind = KindAppliance
		}
	default:
		p.kind = KindUnknown
		why := "no target"
		if r.GatewayID != "" {
			why = fmt.Sprintf("target %q is not a kind sagefence recognises", r.GatewayID)
		} else if targets > 0 {
			why = "target not recognised"
		}
		p.unknown = &Unknown{Fact: "route " + routeDest(r) + " target", Resource: vpc, Why: why}
	}
	return p
}

func routeDest(r *inventory.Route) string {
	return firstNonEmpty(r.DestinationCIDR, r.DestinationIPv6CIDR, r.DestinationPrefixListID, "(none)")
}

// familyOf is a prefix's address family.
func familyOf(p netip.Prefix) family {
	if p.Addr().Is4() {
		return fam4
	}
	return fam6
}

// listEntries adds a customer-managed prefix list's entries to ents as
// destinations of route i at rank, and returns the entries that do not
// parse, as unknowns.
func listEntries(pl *inventory.PrefixList, i, rank int, ents *[2][]entry) []Unknown {
	var us []Unknown
	for _, c := range pl.Entries {
		p, ok := parsePrefix(c)
		if !ok {
			us = append(us, Unknown{Fact: fmt.Sprintf("prefix list %s entry %q", pl.ID, c), Resource: pl.ID, Why: "not a valid CIDR"})
			continue
		}
		ents[familyOf(p)] = append(ents[familyOf(p)], entry{route: i, bits: p.Bits(), span: prefixSpan(p), rank: rank})
	}
	return us
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

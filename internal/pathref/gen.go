package pathref

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Accounts of generated estates: the notebooks' account, a network
// account (transit gateway owner, egress VPCs) and one never in scope.
const (
	GenAccount    = "111111111111"
	GenNetwork    = "222222222222"
	GenOutOfScope = "333333333333"
	GenRegion     = "us-east-1"
)

// Generate builds a small, adversarial estate from a seed, valid for
// inventory.Validate: one or two accounts in one region, two to four
// VPCs with NAT, internet and egress-only gateways (attached, detached or
// absent), route tables (explicit, main, replaced or missing main) whose
// routes cover split defaults, blackholes, prefix lists and every target
// kind, network ACLs (allowlists, blocklists, reply denials), security
// groups, a transit gateway shared across accounts with route tables and
// VPN attachments, prefix lists (AWS and customer), coverage and failed
// reads. A "chaos" level drawn per estate decides how much is malformed
// (unknown protocols, unparsable CIDRs, unrecognised targets and states),
// so that some estates are clean and some are not.
func Generate(seed uint64) *inventory.Inventory {
	return GenerateFrom(seed, nil)
}

// GenerateFrom is Generate with its first random draws taken from data
// (eight bytes each), so that a fuzzer's mutations steer the estate's
// shape; with no data it is Generate(seed).
func GenerateFrom(seed uint64, data []byte) *inventory.Inventory {
	src := &source{data: data, pcg: rand.NewPCG(seed, 0x5a6ef3c19d2b4e87)}
	g := &gen{r: rand.New(src)}
	return g.inventory()
}

// source reads data first, then a PCG stream.
type source struct {
	data []byte
	pcg  *rand.PCG
}

func (s *source) Uint64() uint64 {
	if len(s.data) == 0 {
		return s.pcg.Uint64()
	}
	var b [8]byte
	n := copy(b[:], s.data)
	s.data = s.data[n:]
	return binary.LittleEndian.Uint64(b[:])
}

type gen struct {
	r       *rand.Rand
	chaos   float64 // 0 clean, 1 mild, 2 heavy
	shared  *genVPC // a network VPC shared with the scanned account
	schema2 bool
	regions map[string]*inventory.Region
	vpcs    []*genVPC
	tgw     *genTGW
	groups  []string
}

type genVPC struct {
	i       int
	id      string
	account string
	cidr    string
	ipv6    string
	subnets []*inventory.Subnet
	igw     string
	eigw    string
	nats    []*inventory.NATGateway
	gwEP    string // a Gateway endpoint
	lbEP    string // a GatewayLoadBalancer endpoint
	// designed VPCs follow the textbook layout (private subnets to a NAT
	// gateway in the last subnet, public, to an internet gateway) that
	// random routes then perturb; the others are random throughout.
	designed bool
	att      string // its transit gateway attachment
}

type genTGW struct {
	id, owner string
	atts      []*inventory.TransitGatewayAttachment // the owner's view
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// bad is the chance of a malformed fact, scaled by chaos.
func (g *gen) bad(p float64) bool { return g.chance(p * g.chaos) }

func pick[T any](g *gen, xs ...T) T { return xs[g.r.IntN(len(xs))] }

// weighted picks among choices by weight.
func (g *gen) weighted(w ...float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	v := g.r.Float64() * total
	for i, x := range w {
		if v < x {
			return i
		}
		v -= x
	}
	return len(w) - 1
}

func (g *gen) region(account string) *inventory.Region {
	r := g.regions[account]
	if r == nil {
		r = &inventory.Region{AccountID: account, Region: GenRegion, Notebooks: []inventory.Notebook{}}
		if g.schema2 {
			r.Coverage = &inventory.Coverage{VPCs: []string{}}
		}
		g.regions[account] = r
	}
	return r
}

func (g *gen) inventory() *inventory.Inventory {
	g.chaos = []float64{0, 1, 2}[g.weighted(0.4, 0.4, 0.2)]
	g.schema2 = g.chance(0.85)
	g.regions = map[string]*inventory.Region{}
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion}
	if !g.schema2 {
		inv.SchemaVersion = inventory.SchemaVersion1
	}
	g.region(GenAccount)

	// The network account: read (network only), listed but never read,
	// out of scope, or in scope with its read failed.
	network := g.schema2 && g.chance(0.6)
	netMode := "none"
	if network {
		netMode = []string{"read", "listed", "out", "failed"}[g.weighted(0.55, 0.15, 0.15, 0.15)]
	}

	nVPC := 2 + g.r.IntN(3)
	for i := range nVPC {
		account := GenAccount
		if i > 0 && network && g.chance(0.5) {
			account = GenNetwork
		}
		g.vpc(i, account)
	}
	if g.schema2 && g.chance(0.65) {
		g.transitGateway(network)
	}
	for _, v := range g.vpcs {
		g.routeTables(v)
		g.networkACLs(v)
	}
	if g.schema2 {
		for _, acct := range []string{GenAccount, GenNetwork} {
			if r := g.regions[acct]; r != nil {
				g.prefixLists(r)
			}
		}
	}
	g.share()
	g.securityGroups()
	g.notebooks()
	for _, acct := range []string{GenAccount, GenNetwork} {
		if r := g.regions[acct]; r != nil && g.chance(0.12*g.chaos) {
			g.failRead(r)
		}
	}

	inv.Regions = append(inv.Regions, *g.regions[GenAccount])
	switch netMode {
	case "read":
		if r := g.regions[GenNetwork]; r != nil {
			r.NetworkOnly = true
			inv.Regions = append(inv.Regions, *r)
		}
		if g.chance(0.5) {
			inv.NetworkAccounts = []string{GenNetwork}
		}
	case "listed":
		inv.NetworkAccounts = []string{GenNetwork}
	case "failed":
		inv.NetworkAccounts = []string{GenNetwork}
		inv.Errors = append(inv.Errors, inventory.CollectError{AccountID: GenNetwork, Operation: awsop.AssumeRole,
			Code: "AccessDenied", Message: "not authorized to perform sts:AssumeRole"})
	}
	return inv
}

func (g *gen) vpc(i int, account string) {
	v := &genVPC{i: i, id: fmt.Sprintf("vpc-%d", i), account: account, cidr: fmt.Sprintf("10.%d.0.0/16", i), designed: g.chance(0.6)}
	r := g.region(account)
	if g.chance(0.4) {
		v.ipv6 = fmt.Sprintf("2600:1f18:%d::/56", i)
	}
	vp := inventory.VPC{ID: v.id, CIDRBlocks: []string{v.cidr}}
	if v.ipv6 != "" {
		vp.IPv6CIDRBlocks = []string{v.ipv6}
	}
	r.VPCs = append(r.VPCs, vp)
	nSubnets := 1 + g.r.IntN(3)
	if v.designed {
		nSubnets = 2 + g.r.IntN(2)
	}
	for k := range nSubnets {
		s := &inventory.Subnet{
			ID: fmt.Sprintf("subnet-%d%d", i, k), VPCID: v.id, CIDRBlock: fmt.Sprintf("10.%d.%d.0/24", i, k),
			AvailabilityZone: pick(g, "us-east-1a", "us-east-1b"), MapPublicIPOnLaunch: g.chance(0.3),
		}
		if g.bad(0.02) {
			s.CIDRBlock = "10.0.0.0/33"
		}
		if v.ipv6 != "" && g.chance(0.8) {
			s.IPv6CIDRBlocks = []string{fmt.Sprintf("2600:1f18:%d:%d::/64", i, k)}
		}
		v.subnets = append(v.subnets, s)
	}
	for _, s := range v.subnets {
		r.Subnets = append(r.Subnets, *s)
	}
	if v.designed || g.chance(0.75) {
		v.igw = fmt.Sprintf("igw-%d", i)
		state := []string{"available", "attached", "detached", "detaching", "attaching", "", "Available"}[g.weighted(0.55, 0.3, 0.08, 0.03, 0.04, 0.02*g.chaos, 0.02*g.chaos)]
		gw := inventory.InternetGateway{ID: v.igw, VPCIDs: []string{v.id}}
		if g.schema2 {
			gw.Attachments = []inventory.GatewayAttachment{{VPCID: v.id, State: state}}
		}
		r.InternetGateways = append(r.InternetGateways, gw)
	}
	if v.ipv6 != "" && g.chance(0.5) {
		v.eigw = fmt.Sprintf("eigw-%d", i)
		r.EgressOnlyInternetGateways = append(r.EgressOnlyInternetGateways, inventory.EgressOnlyInternetGateway{ID: v.eigw, VPCIDs: []string{v.id}})
	}
	nNAT := g.weighted(0.2, 0.5, 0.3)
	if v.designed {
		nNAT = max(nNAT, 1)
	}
	for n := range nNAT {
		nat := inventory.NATGateway{
			ID: fmt.Sprintf("nat-%d%d", i, n), VPCID: v.id, SubnetID: pick(g, v.subnets...).ID,
			State:            []string{"available", "pending", "deleted", "deleting", "failed"}[g.weighted(0.82, 0.05, 0.05, 0.04, 0.04)],
			ConnectivityType: []string{"public", "", "private"}[g.weighted(0.6, 0.15, 0.25)],
		}
		if v.designed && n == 0 {
			nat.SubnetID = v.subnets[len(v.subnets)-1].ID
			nat.State = []string{"available", "deleted"}[g.weighted(0.9, 0.1)]
			nat.ConnectivityType = []string{"public", "private"}[g.weighted(0.85, 0.15)]
		}
		r.NATGateways = append(r.NATGateways, nat)
		v.nats = append(v.nats, &nat)
	}
	if g.chance(0.3) {
		v.gwEP = fmt.Sprintf("vpce-%dg", i)
		r.VPCEndpoints = append(r.VPCEndpoints, inventory.VPCEndpoint{ID: v.gwEP, VPCID: v.id, Type: "Gateway", ServiceName: "com.amazonaws.us-east-1.s3"})
	}
	if g.chance(0.2) {
		v.lbEP = fmt.Sprintf("vpce-%dl", i)
		r.VPCEndpoints = append(r.VPCEndpoints, inventory.VPCEndpoint{ID: v.lbEP, VPCID: v.id, Type: "GatewayLoadBalancer"})
	}
	if r.Coverage != nil && !g.bad(0.05) {
		r.Coverage.VPCs = append(r.Coverage.VPCs, v.id)
	}
	g.vpcs = append(g.vpcs, v)
}

// transitGateway shares one transit gateway between the VPCs: attachment
// records in each VPC's account and the owner's, two route tables.
func (g *gen) transitGateway(network bool) {
	owner := GenAccount
	switch g.weighted(0.4, 0.5, 0.1) {
	case 1:
		if network {
			owner = GenNetwork
		}
	case 2:
		owner = GenOutOfScope
	}
	t := &genTGW{id: "tgw-1", owner: owner}
	g.tgw = t
	tables := []string{"tgw-rtb-spoke", "tgw-rtb-egress"}
	for _, v := range g.vpcs {
		if !g.chance(0.8) {
			continue
		}
		a := &inventory.TransitGatewayAttachment{
			ID: fmt.Sprintf("tgw-attach-%d", v.i), TransitGatewayID: t.id, TransitGatewayOwnerID: owner,
			ResourceType: "vpc", ResourceID: v.id, ResourceOwnerID: v.account,
			State: []string{"available", "pending", "modifying", "deleted", "deleting", "failed", "rejected", "", "Available"}[g.weighted(
				0.85, 0.03, 0.03, 0.03, 0.03, 0.03, 0.02, 0.02*g.chaos, 0.02*g.chaos)],
			RouteTableID:     tables[g.weighted(0.8, 0.2)],
			AssociationState: []string{"associated", "", "disassociated"}[g.weighted(0.8, 0.12, 0.08)],
		}
		if v.i > 0 {
			a.RouteTableID = tables[g.weighted(0.2, 0.8)]
		}
		v.att = a.ID
		if g.chance(0.08) {
			a.RouteTableID = ""
		}
		for _, s := range v.subnets {
			if len(a.SubnetIDs) == 0 || g.chance(0.3) {
				a.SubnetIDs = append(a.SubnetIDs, s.ID)
			}
		}
		t.atts = append(t.atts, a)
		// The VPC account's own record: subnets, maybe no association.
		own := *a
		if g.chance(0.5) {
			own.RouteTableID, own.AssociationState = "", ""
		}
		vr := g.region(v.account)
		vr.TransitGatewayAttachments = append(vr.TransitGatewayAttachments, own)
		if g.chance(0.06) {
			// Attached again: the deleted attachment is still described,
			// before or after the live one.
			old := *a
			old.ID, old.State, old.RouteTableID, old.AssociationState = a.ID+"-old", "deleted", "", ""
			if g.chance(0.5) {
				old.ID = "tgw-attach-0" + a.ID[len("tgw-attach-"):]
			}
			t.atts = append(t.atts, &old)
			vr.TransitGatewayAttachments = append(vr.TransitGatewayAttachments, old)
		}
	}
	for _, kind := range []string{"vpn", "tgw-peering", "direct-connect-gateway"} {
		if g.chance(0.3) {
			t.atts = append(t.atts, &inventory.TransitGatewayAttachment{
				ID: "tgw-attach-" + kind, TransitGatewayID: t.id, TransitGatewayOwnerID: owner,
				ResourceType: kind, ResourceID: kind + "-1", State: "available", RouteTableID: pick(g, tables...), AssociationState: "associated",
			})
		}
	}
	if len(t.atts) == 0 {
		g.tgw = nil
		return
	}
	if owner == GenOutOfScope {
		return // the owner's facts are not in this inventory
	}
	or := g.region(owner)
	for _, a := range t.atts {
		rec := *a
		if rec.ResourceType == "vpc" && g.chance(0.5) {
			rec.SubnetIDs = nil // the owner's DescribeTransitGatewayAttachments lists no subnets
		}
		if !slices.ContainsFunc(or.TransitGatewayAttachments, func(x inventory.TransitGatewayAttachment) bool { return x.ID == rec.ID }) {
			or.TransitGatewayAttachments = append(or.TransitGatewayAttachments, rec)
		} else {
			for k := range or.TransitGatewayAttachments {
				if or.TransitGatewayAttachments[k].ID == rec.ID {
					or.TransitGatewayAttachments[k].RouteTableID = rec.RouteTableID
					or.TransitGatewayAttachments[k].AssociationState = rec.AssociationState
				}
			}
		}
	}
	for _, id := range tables {
		if g.bad(0.03) {
			continue // a table its attachments name is missing
		}
		or.TransitGatewayRouteTables = append(or.TransitGatewayRouteTables, g.tgwTable(id, g.tgwDesign(id)))
	}
	if or.Coverage != nil && !g.bad(0.05) {
		or.Coverage.TransitGateways = append(or.Coverage.TransitGateways, t.id)
	}
}

// tgwDesign is the hub-and-spoke route of a table: the spokes' default
// route to an egress VPC, the egress table's route back to the spokes.
func (g *gen) tgwDesign(id string) []inventory.TransitGatewayRoute {
	if !g.chance(0.7) {
		return nil
	}
	var to *genVPC
	for _, v := range g.vpcs {
		if v.att == "" {
			continue
		}
		if id == "tgw-rtb-spoke" && v.i > 0 && (to == nil || v.designed) {
			to = v
		}
		if id == "tgw-rtb-egress" && v.i == 0 {
			to = v
		}
	}
	if to == nil {
		return nil
	}
	ra := []inventory.TransitGatewayRouteAttachment{{ID: to.att, ResourceType: "vpc", ResourceID: to.id}}
	if id == "tgw-rtb-spoke" {
		return []inventory.TransitGatewayRoute{{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active", Attachments: ra}}
	}
	return []inventory.TransitGatewayRoute{{DestinationCIDR: to.cidr, Type: "propagated", State: "active", Attachments: ra}}
}

// tgwTable is a transit gateway route table: the designed routes, then
// random ones (any destination, type, state, ECMP, unknown attachments).
func (g *gen) tgwTable(id string, routes []inventory.TransitGatewayRoute) inventory.TransitGatewayRouteTable {
	rt := inventory.TransitGatewayRouteTable{ID: id, TransitGatewayID: g.tgw.id, Routes: append([]inventory.TransitGatewayRoute{}, routes...), Truncated: g.bad(0.03)}
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.DestinationCIDR+r.PrefixListID+r.Type] = true
	}
	for range g.r.IntN(4) {
		r := inventory.TransitGatewayRoute{
			Type:  []string{"static", "propagated", "dynamic", ""}[g.weighted(0.6, 0.4, 0.04*g.chaos, 0.03*g.chaos)],
			State: []string{"active", "blackhole", "pending"}[g.weighted(0.8, 0.15, 0.04*g.chaos)],
		}
		switch g.weighted(0.4, 0.15, 0.15, 0.1, 0.07, 0.08, 0.03*g.chaos, 0.02*g.chaos) {
		case 0:
			r.DestinationCIDR = "0.0.0.0/0"
		case 1:
			r.DestinationCIDR = "10.0.0.0/8"
		case 2:
			r.DestinationCIDR = pick(g, g.vpcs...).cidr
		case 3:
			r.DestinationCIDR = pick(g, "52.0.0.0/8", "8.8.8.0/24", "0.0.0.0/1")
		case 4:
			r.DestinationCIDR = "::/0"
		case 5:
			r.PrefixListID = pick(g, "pl-cust-all", "pl-cust-some", "pl-cust-priv")
		case 6:
			r.DestinationCIDR = "0.0.0.0/0 "
		default:
			// no destination
		}
		key := r.DestinationCIDR + r.PrefixListID + r.Type
		if seen[key] {
			continue
		}
		seen[key] = true
		n := g.weighted(0.08*g.chaos, 0.82, 0.1)
		if r.State == "blackhole" {
			n = 0
		}
		for range n {
			a := pick(g, g.tgw.atts...)
			ra := inventory.TransitGatewayRouteAttachment{ID: a.ID, ResourceType: a.ResourceType, ResourceID: a.ResourceID}
			switch {
			case g.chance(0.15):
				ra.ResourceType = "" // the reader looks the attachment up
			case g.bad(0.03):
				ra.ResourceType = "widget"
			case g.bad(0.02):
				ra.ID = "tgw-attach-gone"
			}
			r.Attachments = append(r.Attachments, ra)
		}
		rt.Routes = append(rt.Routes, r)
	}
	return rt
}

// routeTables gives a VPC a main table and up to two custom ones.
func (g *gen) routeTables(v *genVPC) {
	r := g.region(v.account)
	if v.designed {
		r.RouteTables = append(r.RouteTables, g.designedTables(v)...)
		return
	}
	n := 1 + g.r.IntN(3)
	tables := make([]inventory.RouteTable, n)
	mainIdx := g.r.IntN(n) // a replaced main table is any of them
	if g.bad(0.03) {
		mainIdx = -1
	}
	for k := range tables {
		tables[k] = inventory.RouteTable{ID: fmt.Sprintf("rtb-%d%d", v.i, k), VPCID: v.id, Main: k == mainIdx}
	}
	for _, s := range v.subnets {
		if k := g.r.IntN(n + 1); k < n && k != mainIdx {
			tables[k].SubnetIDs = append(tables[k].SubnetIDs, s.ID)
		}
	}
	for k := range tables {
		tables[k].Routes = g.routes(v, g.servesNAT(v, tables, k))
	}
	r.RouteTables = append(r.RouteTables, tables...)
	g.claimTwice(r, v)
}

// claimTwice sometimes adds a second claim on one of a VPC's subnets, or
// on its main table, by a table of the VPC or of another one, the way a
// merged or hand-edited inventory can carry it.
func (g *gen) claimTwice(r *inventory.Region, v *genVPC) {
	if !g.bad(0.04) || len(v.subnets) == 0 {
		return
	}
	vpc := v.id
	if g.chance(0.3) {
		vpc = "vpc-elsewhere"
	}
	s := pick(g, v.subnets...)
	extra := inventory.RouteTable{ID: fmt.Sprintf("rtb-%d-dup", v.i), VPCID: vpc, Routes: g.routes(v, false)}
	switch g.weighted(0.5, 0.25, 0.25) {
	case 0:
		extra.SubnetIDs = []string{s.ID}
	case 1:
		extra.Main = true
	default:
		r.NetworkACLs = append(r.NetworkACLs, inventory.NetworkACL{ID: fmt.Sprintf("acl-%d-dup", v.i), VPCID: vpc,
			SubnetIDs: []string{s.ID}, Entries: g.aclEntries(v.ipv6 != "")})
		return
	}
	r.RouteTables = append(r.RouteTables, extra)
}

// designedTables are a public main table (default route to the internet
// gateway) and a private table for every other subnet (default route to
// the NAT gateway or the transit gateway), each perhaps with random
// routes added; sometimes the private table has replaced the main one.
func (g *gen) designedTables(v *genVPC) []inventory.RouteTable {
	public := inventory.RouteTable{ID: fmt.Sprintf("rtb-%dp", v.i), VPCID: v.id, Main: true}
	private := inventory.RouteTable{ID: fmt.Sprintf("rtb-%dq", v.i), VPCID: v.id}
	last := v.subnets[len(v.subnets)-1].ID
	for _, s := range v.subnets[:len(v.subnets)-1] {
		private.SubnetIDs = append(private.SubnetIDs, s.ID)
	}
	if g.chance(0.15) {
		public.Main, private.Main = false, true
		public.SubnetIDs = []string{last}
	}
	local := func() []inventory.Route {
		rs := []inventory.Route{{DestinationCIDR: v.cidr, GatewayID: "local", State: "active"}}
		if v.ipv6 != "" {
			rs = append(rs, inventory.Route{DestinationIPv6CIDR: v.ipv6, GatewayID: "local", State: "active"})
		}
		return rs
	}
	public.Routes = append(local(), inventory.Route{DestinationCIDR: "0.0.0.0/0", GatewayID: v.igw, State: "active"})
	if v.ipv6 != "" {
		public.Routes = append(public.Routes, inventory.Route{DestinationIPv6CIDR: "::/0", GatewayID: v.igw, State: "active"})
	}
	out := inventory.Route{DestinationCIDR: "0.0.0.0/0", NATGatewayID: v.nats[0].ID, State: "active"}
	if v.att != "" && g.chance(0.5) {
		out = inventory.Route{DestinationCIDR: "0.0.0.0/0", TransitGatewayID: g.tgw.id, State: "active"}
	}
	private.Routes = append(local(), out)
	if v.eigw != "" && g.chance(0.7) {
		private.Routes = append(private.Routes, inventory.Route{DestinationIPv6CIDR: "::/0", EgressOnlyInternetGatewayID: v.eigw, State: "active"})
	}
	tables := []inventory.RouteTable{public, private}
	for k := range tables {
		if g.chance(0.5) {
			extra := g.routes(v, k == 0)
			for _, x := range extra[len(local()):] {
				if !slices.ContainsFunc(tables[k].Routes, func(y inventory.Route) bool {
					return y.DestinationCIDR == x.DestinationCIDR && y.DestinationIPv6CIDR == x.DestinationIPv6CIDR && y.DestinationPrefixListID == x.DestinationPrefixListID
				}) {
					tables[k].Routes = append(tables[k].Routes, x)
				}
			}
		}
	}
	return tables
}

// servesNAT reports whether table k routes a subnet holding a public NAT
// gateway, so that its routes lean towards an internet gateway.
func (g *gen) servesNAT(v *genVPC, tables []inventory.RouteTable, k int) bool {
	for _, n := range v.nats {
		if n.ConnectivityType == "private" {
			continue
		}
		explicit := slices.ContainsFunc(tables, func(x inventory.RouteTable) bool { return slices.Contains(x.SubnetIDs, n.SubnetID) })
		if slices.Contains(tables[k].SubnetIDs, n.SubnetID) || (tables[k].Main && !explicit) {
			return true
		}
	}
	return false
}

func (g *gen) routes(v *genVPC, natSubnet bool) []inventory.Route {
	routes := []inventory.Route{{DestinationCIDR: v.cidr, GatewayID: "local", State: "active"}}
	if v.ipv6 != "" {
		routes = append(routes, inventory.Route{DestinationIPv6CIDR: v.ipv6, GatewayID: "local", State: "active"})
	}
	seen := map[string]bool{}
	for range 1 + g.r.IntN(4) {
		var dests []inventory.Route
		switch g.weighted(0.4, 0.08, 0.1, 0.08, 0.1, 0.04, 0.03, 0.07, 0.03*g.chaos, 0.015*g.chaos, 0.01*g.chaos) {
		case 0:
			dests = []inventory.Route{{DestinationCIDR: "0.0.0.0/0"}}
		case 1:
			dests = []inventory.Route{{DestinationCIDR: "0.0.0.0/1"}, {DestinationCIDR: "128.0.0.0/1"}}
		case 2:
			dests = []inventory.Route{{DestinationCIDR: pick(g, "8.8.8.0/24", "52.0.0.0/8", "1.1.1.1/32")}}
		case 3:
			dests = []inventory.Route{{DestinationCIDR: pick(g, "10.0.0.0/8", "172.16.0.0/12", pick(g, g.vpcs...).cidr)}}
		case 4:
			dests = []inventory.Route{{DestinationIPv6CIDR: "::/0"}}
		case 5:
			dests = []inventory.Route{{DestinationIPv6CIDR: "64:ff9b::/96"}}
		case 6:
			dests = []inventory.Route{{DestinationIPv6CIDR: "2600::/16"}}
		case 7:
			dests = []inventory.Route{{DestinationPrefixListID: pick(g, "pl-cust-all", "pl-cust-some", "pl-cust-priv", "pl-cust-v6", "pl-aws-s3", "pl-aws-s3")}}
		case 8:
			dests = []inventory.Route{{DestinationCIDR: pick(g, "0.0.0.0/0 ", "0.0.0.0/33")}}
		case 9:
			dests = []inventory.Route{{}}
		default:
			dests = []inventory.Route{{DestinationCIDR: "0.0.0.0/0", DestinationIPv6CIDR: "::/0"}}
		}
		target := g.target(v, natSubnet, dests[0].DestinationIPv6CIDR != "")
		target.State = []string{"active", "", "blackhole", "filtered", "garbage"}[g.weighted(0.7, 0.15, 0.07, 0.05, 0.03*g.chaos)]
		for _, d := range dests {
			key := d.DestinationCIDR + "|" + d.DestinationIPv6CIDR + "|" + d.DestinationPrefixListID
			if seen[key] || key == v.cidr+"||" {
				continue
			}
			seen[key] = true
			rt := target
			rt.DestinationCIDR, rt.DestinationIPv6CIDR, rt.DestinationPrefixListID = d.DestinationCIDR, d.DestinationIPv6CIDR, d.DestinationPrefixListID
			routes = append(routes, rt)
		}
	}
	return routes
}

// target draws a route target, leaning towards what the VPC has.
func (g *gen) target(v *genVPC, natSubnet, v6 bool) inventory.Route {
	igwW, natW := 0.25, 0.2
	if natSubnet {
		igwW, natW = 0.6, 0.05
	}
	if len(v.nats) == 0 {
		natW = 0
	}
	eigwW := 0.0
	if v.eigw != "" {
		eigwW = 0.05
		if v6 {
			eigwW = 0.3
		}
	}
	tgwW := 0.0
	if g.tgw != nil {
		tgwW = 0.2
	}
	switch g.weighted(igwW, 0.02, 0.02, natW, tgwW, 0.02, 0.05, 0.04, 0.02, 0.03, eigwW, 0.04, 0.02, 0.03, 0.015*g.chaos, 0.01*g.chaos, 0.01*g.chaos) {
	case 0:
		if v.igw != "" {
			return inventory.Route{GatewayID: v.igw}
		}
		return inventory.Route{GatewayID: "igw-gone"}
	case 1:
		for _, o := range g.vpcs {
			if o != v && o.igw != "" {
				return inventory.Route{GatewayID: o.igw} // another VPC's
			}
		}
		return inventory.Route{GatewayID: "igw-gone"}
	case 2:
		return inventory.Route{GatewayID: "igw-gone"}
	case 3:
		return inventory.Route{NATGatewayID: pick(g, v.nats...).ID}
	case 4:
		return inventory.Route{TransitGatewayID: g.tgw.id}
	case 5:
		return inventory.Route{TransitGatewayID: "tgw-9"} // a transit gateway nothing attaches
	case 6:
		return inventory.Route{VPCPeeringConnectionID: "pcx-1"}
	case 7:
		return inventory.Route{NetworkInterfaceID: "eni-fw"}
	case 8:
		return inventory.Route{InstanceID: "i-fw", NetworkInterfaceID: "eni-fw"}
	case 9:
		return inventory.Route{GatewayID: "vgw-1"}
	case 10:
		return inventory.Route{EgressOnlyInternetGatewayID: v.eigw}
	case 11:
		switch {
		case v.gwEP != "" && g.chance(0.5):
			return inventory.Route{GatewayID: v.gwEP}
		case v.lbEP != "":
			return inventory.Route{GatewayID: v.lbEP}
		}
		return inventory.Route{GatewayID: "vpce-gone"}
	case 12:
		return inventory.Route{GatewayID: "local"}
	case 13:
		return pick(g, inventory.Route{LocalGatewayID: "lgw-1"}, inventory.Route{CarrierGatewayID: "cagw-1"},
			inventory.Route{CoreNetworkARN: "arn:aws:networkmanager::1:core-network/core-1"},
			inventory.Route{OdbNetworkARN: "arn:aws:odb:us-east-1:1:odb-network/odb-1"}, inventory.Route{NextHopIP: "10.0.0.5"})
	case 14:
		return inventory.Route{GatewayID: "gw-zzz"}
	case 15:
		return inventory.Route{}
	}
	return inventory.Route{GatewayID: "igw-0", NATGatewayID: "nat-00"} // two targets
}

// aclEntries draws one network ACL's entries in one of the common styles,
// perhaps with a malformed entry, and ends them with EC2's default rule.
func (g *gen) aclEntries(v6 bool) []inventory.ACLEntry {
	var e []inventory.ACLEntry
	both := func(num int32, egress bool, proto, action, cidr string, ports ...int32) {
		x := inventory.ACLEntry{RuleNumber: num, Egress: egress, Protocol: proto, Action: action, CIDR: cidr}
		if len(ports) == 2 {
			x.HasPorts, x.FromPort, x.ToPort = true, ports[0], ports[1]
		}
		e = append(e, x)
		if v6 && cidr == "0.0.0.0/0" {
			y := x
			y.RuleNumber++
			y.CIDR, y.IPv6CIDR = "", "::/0"
			e = append(e, y)
		}
	}
	allowAll := func(from int32) {
		both(from, true, "-1", "allow", "0.0.0.0/0")
		both(from, false, "-1", "allow", "0.0.0.0/0")
	}
	switch g.weighted(0.55, 0.12, 0.1, 0.04, 0.08, 0.05, 0.1, 0.06) {
	case 0:
		allowAll(100)
	case 1: // blocklist: deny a few addresses, allow the rest
		both(50, true, "-1", "deny", pick(g, "8.8.8.8/32", "1.1.1.0/24"))
		allowAll(100)
	case 2: // allowlist
		both(100, true, "-1", "allow", "8.8.8.0/24")
		both(110, true, "-1", "allow", "10.0.0.0/8")
		both(100, false, "-1", "allow", "0.0.0.0/0")
	case 3:
		both(100, false, "-1", "allow", "0.0.0.0/0")
	case 4: // replies denied
		both(50, false, "6", "deny", "0.0.0.0/0", 1024, 65535)
		both(60, false, "17", "deny", "0.0.0.0/0", 1024, 65535)
		allowAll(100)
	case 5: // private sources only
		both(100, true, "-1", "allow", "0.0.0.0/0")
		both(100, false, "-1", "allow", "10.0.0.0/8")
	case 6: // HTTPS out, its replies in, anything private
		both(100, true, "6", "allow", "0.0.0.0/0", 443, 443)
		both(110, true, "-1", "allow", "10.0.0.0/8")
		both(100, false, "6", "allow", "0.0.0.0/0", 1024, 65535)
		both(110, false, "-1", "allow", "10.0.0.0/8")
	default:
		for range 2 + g.r.IntN(4) {
			ports := []int32{}
			proto := pick(g, "-1", "6", "17", "1")
			if proto == "6" || proto == "17" {
				ports = pick(g, []int32{443, 443}, []int32{1024, 65535}, []int32{0, 65535}, []int32{53, 53})
			}
			both(int32(10*(1+g.r.IntN(20))), g.chance(0.5), proto, pick(g, "allow", "deny"),
				pick(g, "0.0.0.0/0", "8.8.0.0/16", "10.0.0.0/8", "52.0.0.0/8"), ports...)
		}
	}
	if g.bad(0.06) {
		x := inventory.ACLEntry{RuleNumber: int32(10 * (1 + g.r.IntN(15))), Egress: g.chance(0.5), Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}
		switch g.r.IntN(5) {
		case 0:
			x.Protocol = "tcp"
		case 1:
			x.Action = "permit"
		case 2:
			x.CIDR = "0.0.0.0/0 "
		case 3:
			x.IPv6CIDR = "::/0"
		default:
			x.Protocol, x.HasPorts, x.FromPort, x.ToPort = "6", true, 500, 400
		}
		e = append(e, x)
	}
	// EC2 refuses two entries with one number in one direction.
	seen := map[[2]int32]bool{}
	var out []inventory.ACLEntry
	for _, x := range e {
		dir := int32(0)
		if x.Egress {
			dir = 1
		}
		if seen[[2]int32{x.RuleNumber, dir}] {
			continue
		}
		seen[[2]int32{x.RuleNumber, dir}] = true
		out = append(out, x)
	}
	// The default rule, as EC2 reports it.
	for _, egress := range []bool{true, false} {
		out = append(out, inventory.ACLEntry{RuleNumber: 32767, Egress: egress, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"})
	}
	return out
}

func (g *gen) networkACLs(v *genVPC) {
	r := g.region(v.account)
	def := inventory.NetworkACL{ID: fmt.Sprintf("acl-%dd", v.i), VPCID: v.id, Default: true, Entries: g.aclEntries(v.ipv6 != "")}
	custom := inventory.NetworkACL{ID: fmt.Sprintf("acl-%dc", v.i), VPCID: v.id, Entries: g.aclEntries(v.ipv6 != "")}
	for _, s := range v.subnets {
		switch {
		case g.bad(0.02):
			// no association recorded
		case g.chance(0.4):
			custom.SubnetIDs = append(custom.SubnetIDs, s.ID)
		default:
			def.SubnetIDs = append(def.SubnetIDs, s.ID)
		}
	}
	r.NetworkACLs = append(r.NetworkACLs, def, custom)
}

// prefixLists records the lists a region may reference, each sometimes
// missing.
func (g *gen) prefixLists(r *inventory.Region) {
	lists := []inventory.PrefixList{
		{ID: "pl-cust-all", Name: "everything", OwnerID: r.AccountID, AddressFamily: "IPv4", Entries: []string{"0.0.0.0/0"}},
		{ID: "pl-cust-some", Name: "partners", OwnerID: r.AccountID, AddressFamily: "IPv4", Entries: []string{"8.8.8.0/24", "1.1.1.1/32"}},
		{ID: "pl-cust-priv", Name: "corporate", OwnerID: r.AccountID, AddressFamily: "IPv4", Entries: []string{"10.0.0.0/8", "192.168.0.0/16"}},
		{ID: "pl-cust-v6", Name: "everything-v6", OwnerID: r.AccountID, AddressFamily: "IPv6", Entries: []string{"::/0"}},
		{ID: "pl-aws-s3", Name: "com.amazonaws.us-east-1.s3", OwnerID: "AWS", AddressFamily: "IPv4"},
	}
	if g.chaos > 0 {
		lists = append(lists, inventory.PrefixList{ID: "pl-cust-bad", OwnerID: r.AccountID, Entries: []string{"8.8.8.0/24 "}})
	}
	for _, pl := range lists {
		if !g.bad(0.05) {
			r.PrefixLists = append(r.PrefixLists, pl)
		}
	}
}

func (g *gen) sgRule() inventory.SGRule {
	x := inventory.SGRule{}
	x.Protocol = []string{"-1", "tcp", "udp", "icmp", "icmpv6", "6", "50", "all", "TCP", "tcpx", "-2", "256", ""}[g.weighted(
		0.35, 0.25, 0.08, 0.05, 0.03, 0.04, 0.04, 0.02, 0.02, 0.02*g.chaos, 0.01*g.chaos, 0.01*g.chaos, 0.01*g.chaos)]
	ports := [][2]int32{{0, 65535}, {443, 443}, {80, 80}, {1024, 65535}, {53, 53}, {443, 80}}[g.weighted(0.3, 0.35, 0.1, 0.1, 0.1, 0.03*g.chaos)]
	x.FromPort, x.ToPort = ports[0], ports[1]
	for range 1 + g.r.IntN(2) {
		switch g.weighted(0.35, 0.1, 0.08, 0.06, 0.04, 0.04, 0.04, 0.08, 0.03, 0.02, 0.1, 0.05, 0.02*g.chaos, 0.02*g.chaos, 0.01*g.chaos) {
		case 0:
			x.CIDRs = append(x.CIDRs, "0.0.0.0/0")
		case 1:
			x.CIDRs = append(x.CIDRs, "10.0.0.0/8")
		case 2:
			x.CIDRs = append(x.CIDRs, "8.8.8.0/24")
		case 3:
			x.CIDRs = append(x.CIDRs, "52.0.0.0/8")
		case 4:
			x.CIDRs = append(x.CIDRs, "0.0.0.0/1")
		case 5:
			x.CIDRs = append(x.CIDRs, "128.0.0.0/1")
		case 6:
			x.CIDRs = append(x.CIDRs, "1.1.1.1/32")
		case 7:
			x.IPv6CIDRs = append(x.IPv6CIDRs, "::/0")
		case 8:
			x.IPv6CIDRs = append(x.IPv6CIDRs, "2600::/16")
		case 9:
			x.IPv6CIDRs = append(x.IPv6CIDRs, "64:ff9b::/96")
		case 10:
			lists := []string{"pl-cust-all", "pl-cust-some", "pl-cust-priv", "pl-cust-v6", "pl-aws-s3"}
			if g.chaos > 0 {
				lists = append(lists, "pl-cust-bad")
			}
			x.PrefixListIDs = append(x.PrefixListIDs, pick(g, lists...))
		case 11:
			x.SourceGroupIDs = append(x.SourceGroupIDs, "sg-0")
		case 12:
			x.CIDRs = append(x.CIDRs, "0.0.0.0/0 ")
		case 13:
			x.CIDRs = append(x.CIDRs, "10.0.0.0/33")
		default:
			x.IPv6CIDRs = append(x.IPv6CIDRs, "::/0x")
		}
	}
	return x
}

func (g *gen) securityGroups() {
	r := g.region(GenAccount)
	for k := range 2 + g.r.IntN(3) {
		sg := inventory.SecurityGroup{ID: fmt.Sprintf("sg-%d", k), VPCID: g.vpcs[0].id,
			Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{pick(g, "0.0.0.0/0", "10.0.0.0/8")}}}}
		for range 1 + g.r.IntN(3) {
			sg.Egress = append(sg.Egress, g.sgRule())
		}
		r.SecurityGroups = append(r.SecurityGroups, sg)
		g.groups = append(g.groups, sg.ID)
	}
}

// share sometimes makes one of the network account's VPCs shared with the
// scanned account (AWS RAM), as the collector records it: the participant
// holds the VPC (owned by the network account) and its subnets, and an
// error saying its contents are the owner's to read.
func (g *gen) share() {
	if !g.schema2 || !g.chance(0.3) {
		return
	}
	for _, v := range g.vpcs {
		if v.account != GenNetwork {
			continue
		}
		r, nr := g.region(GenAccount), g.region(GenNetwork)
		for i := range nr.VPCs {
			if nr.VPCs[i].ID == v.id {
				nr.VPCs[i].OwnerID = GenNetwork
				vp := nr.VPCs[i]
				r.VPCs = append(r.VPCs, vp)
			}
		}
		for _, sub := range v.subnets {
			r.Subnets = append(r.Subnets, *sub)
		}
		r.Errors = append(r.Errors, inventory.CollectError{AccountID: GenAccount, Region: r.Region, Operation: awsop.DescribeVpcs,
			Resource: v.id, Code: "SharedVPC", Message: "owned by " + GenNetwork})
		g.shared = v
		return
	}
}

func (g *gen) notebooks() {
	r := g.region(GenAccount)
	var subnets []*inventory.Subnet
	for _, v := range g.vpcs {
		if v.account == GenAccount || v == g.shared {
			subnets = append(subnets, v.subnets...)
		}
	}
	for k := range 1 + g.r.IntN(3) {
		nb := inventory.Notebook{Name: fmt.Sprintf("nb-%d", k), Status: "InService",
			DirectInternetAccess: []string{"Disabled", "Enabled", ""}[g.weighted(0.88, 0.08, 0.02*g.chaos)]}
		var subnet *inventory.Subnet
		switch g.weighted(0.95, 0.02*g.chaos, 0.02) {
		case 0:
			subnet = subnets[0]
			if g.chance(0.5) {
				subnet = pick(g, subnets...)
			}
			nb.SubnetID = subnet.ID
		case 1:
			nb.SubnetID = "subnet-gone"
		}
		switch g.weighted(0.93, 0.03*g.chaos, 0.03*g.chaos) {
		case 0:
			nb.SecurityGroupIDs = []string{pick(g, g.groups...)}
			if g.chance(0.3) {
				nb.SecurityGroupIDs = append(nb.SecurityGroupIDs, pick(g, g.groups...))
				slices.Sort(nb.SecurityGroupIDs)
				nb.SecurityGroupIDs = slices.Compact(nb.SecurityGroupIDs)
			}
		case 2:
			nb.SecurityGroupIDs = []string{"sg-gone"}
		}
		switch g.weighted(0.75, 0.2, 0.03*g.chaos) {
		case 0:
			if subnet == nil {
				break
			}
			eni := inventory.NetworkInterface{ID: fmt.Sprintf("eni-%d", k), SubnetID: subnet.ID, VPCID: subnet.VPCID,
				PrivateIPAddress: subnetHost(subnet, 10+k)}
			if g.chance(0.15) {
				eni.PublicIP = fmt.Sprintf("54.%d.1.%d", k, 10+k)
			}
			if len(subnet.IPv6CIDRBlocks) > 0 && g.chance(0.5) {
				eni.IPv6Addresses = []string{subnet.IPv6CIDRBlocks[0][:len(subnet.IPv6CIDRBlocks[0])-len("/64")] + fmt.Sprint(10+k)}
			}
			switch g.weighted(0.8, 0.1, 0.1) {
			case 0:
				eni.SecurityGroupIDs = nb.SecurityGroupIDs
			case 1:
				eni.SecurityGroupIDs = []string{pick(g, g.groups...)}
			}
			r.NetworkInterfaces = append(r.NetworkInterfaces, eni)
			nb.NetworkInterfaceID = eni.ID
		case 1:
			nb.IPAddressType = pick(g, "ipv4", "dualstack")
		default:
			nb.NetworkInterfaceID = "eni-gone"
		}
		if g.bad(0.02) {
			nb.Error = &inventory.CollectError{Operation: awsop.DescribeNotebookInstance, Resource: nb.Name, Message: "throttled"}
		}
		r.Notebooks = append(r.Notebooks, nb)
	}
}

// subnetHost is host n of a subnet's /24, or its CIDR's text when that
// does not parse (the reference then reads the source as every address).
func subnetHost(s *inventory.Subnet, n int) string {
	p, ok := parseFamily(s.CIDRBlock, false)
	if !ok {
		return "10.255.255." + fmt.Sprint(n)
	}
	b := p.Addr().As4()
	b[3] = byte(n)
	return fmt.Sprintf("%d.%d.%d.%d", b[0], b[1], b[2], b[3])
}

// failRead records a failed read the way the collector does: the objects
// of that kind are dropped (region-wide, or one VPC's), or one object's
// details are.
func (g *gen) failRead(r *inventory.Region) {
	ops := awsop.Network()
	op := pick(g, ops...)
	ce := inventory.CollectError{AccountID: r.AccountID, Region: r.Region, Operation: op, Code: "Throttling", Message: "Rate exceeded"}
	// A read that failed part way keeps what it read before the failure.
	partial := g.chance(0.3)
	vpc := ""
	if len(r.VPCs) > 0 && g.chance(0.5) {
		vpc = pick(g, r.VPCs...).ID
	}
	switch op {
	case awsop.GetManagedPrefixListEntries, awsop.DescribeManagedPrefixLists:
		if len(r.PrefixLists) > 0 && g.chance(0.6) {
			pl := &r.PrefixLists[g.r.IntN(len(r.PrefixLists))]
			ce.Resource = pl.ID
			if op == awsop.GetManagedPrefixListEntries {
				pl.Entries = nil
			} else {
				r.PrefixLists = slices.DeleteFunc(r.PrefixLists, func(x inventory.PrefixList) bool { return x.ID == ce.Resource })
			}
		} else if op == awsop.GetManagedPrefixListEntries {
			for k := range r.PrefixLists {
				r.PrefixLists[k].Entries = nil
			}
		} else {
			r.PrefixLists = nil
		}
	case awsop.SearchTransitGatewayRoutes, awsop.DescribeTransitGatewayRouteTables:
		if len(r.TransitGatewayRouteTables) > 0 && g.chance(0.6) {
			ce.Resource = pick(g, r.TransitGatewayRouteTables...).ID
			if partial {
				break
			}
			r.TransitGatewayRouteTables = slices.DeleteFunc(r.TransitGatewayRouteTables, func(x inventory.TransitGatewayRouteTable) bool { return x.ID == ce.Resource })
		} else {
			r.TransitGatewayRouteTables = nil
		}
	case awsop.DescribeSecurityGroups, awsop.DescribeNetworkInterfaces:
		vpc = ""
		fallthrough
	default:
		ce.Resource = vpc
		if !partial {
			drop(r, op, vpc)
		}
		if vpc != "" && r.Coverage != nil && g.chance(0.5) {
			r.Coverage.VPCs = slices.DeleteFunc(r.Coverage.VPCs, func(v string) bool { return v == vpc })
		}
	}
	r.Errors = append(r.Errors, ce)
}

// drop removes the objects one failed read would have returned: of one
// VPC, or all of them when vpc is empty.
func drop(r *inventory.Region, op, vpc string) {
	in := func(v string) bool { return vpc == "" || v == vpc }
	switch op {
	case awsop.DescribeSubnets:
		r.Subnets = slices.DeleteFunc(r.Subnets, func(x inventory.Subnet) bool { return in(x.VPCID) })
	case awsop.DescribeVpcs:
		r.VPCs = slices.DeleteFunc(r.VPCs, func(x inventory.VPC) bool { return in(x.ID) })
	case awsop.DescribeRouteTables:
		r.RouteTables = slices.DeleteFunc(r.RouteTables, func(x inventory.RouteTable) bool { return in(x.VPCID) })
	case awsop.DescribeNatGateways:
		r.NATGateways = slices.DeleteFunc(r.NATGateways, func(x inventory.NATGateway) bool { return in(x.VPCID) })
	case awsop.DescribeInternetGateways:
		r.InternetGateways = slices.DeleteFunc(r.InternetGateways, func(x inventory.InternetGateway) bool {
			return slices.ContainsFunc(x.VPCIDs, in)
		})
	case awsop.DescribeEgressOnlyInternetGateways:
		r.EgressOnlyInternetGateways = slices.DeleteFunc(r.EgressOnlyInternetGateways, func(x inventory.EgressOnlyInternetGateway) bool {
			return slices.ContainsFunc(x.VPCIDs, in)
		})
	case awsop.DescribeSecurityGroups:
		r.SecurityGroups = nil
	case awsop.DescribeNetworkAcls:
		r.NetworkACLs = slices.DeleteFunc(r.NetworkACLs, func(x inventory.NetworkACL) bool { return in(x.VPCID) })
	case awsop.DescribeNetworkInterfaces:
		r.NetworkInterfaces = nil
	case awsop.DescribeVpcEndpoints:
		r.VPCEndpoints = slices.DeleteFunc(r.VPCEndpoints, func(x inventory.VPCEndpoint) bool { return in(x.VPCID) })
	case awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments:
		r.TransitGatewayAttachments = slices.DeleteFunc(r.TransitGatewayAttachments, func(x inventory.TransitGatewayAttachment) bool {
			return vpc == "" || x.ResourceID == vpc
		})
	}
}

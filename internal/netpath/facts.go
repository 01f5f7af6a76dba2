package netpath

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Unknown is a fact the analysis needed and could not determine: absent
// because a call failed, malformed, or of a kind it does not recognise.
// An unknown on a notebook's path makes the notebook ERROR.
type Unknown struct {
	// Fact names what is unknown ("security group sg-1 rule 2 protocol").
	Fact string
	// Resource is the object it belongs to.
	Resource string
	// Why says what went wrong.
	Why string
}

func (u Unknown) String() string { return u.Fact + ": " + u.Why }

// Resolver holds an inventory's facts by account, region and ID, parsed
// into typed values on first use, for every region's analysis: a path can
// leave a notebook's account for a transit gateway owner's or an egress
// VPC's. It is not safe for concurrent use.
type Resolver struct {
	opts    Options
	schema1 bool
	regions map[regionKey]*facts
	// inScope are the accounts the collection could read: those with a
	// region in the inventory, its network accounts, and those it failed
	// to reach.
	inScope map[string]bool
	// accountErr are account-wide failures (a role that could not be
	// assumed), by account; regionErr those of one account-region that
	// has no facts.
	accountErr map[string]string
	regionErr  map[regionKey]string
	summaries  map[summaryKey]*summary
	inProgress map[summaryKey]int
}

type regionKey struct{ account, region string }

// New indexes an inventory for analysis.
func New(inv *inventory.Inventory, opts Options) *Resolver {
	r := &Resolver{
		opts:       opts.withDefaults(),
		schema1:    inv.SchemaVersion == inventory.SchemaVersion1,
		regions:    make(map[regionKey]*facts, len(inv.Regions)),
		inScope:    map[string]bool{},
		accountErr: map[string]string{},
		regionErr:  map[regionKey]string{},
		summaries:  map[summaryKey]*summary{},
		inProgress: map[summaryKey]int{},
	}
	for i := range inv.Regions {
		reg := &inv.Regions[i]
		r.regions[regionKey{reg.AccountID, reg.Region}] = &facts{res: r, reg: reg}
		r.inScope[reg.AccountID] = true
	}
	for _, a := range inv.NetworkAccounts {
		r.inScope[a] = true
	}
	for _, e := range inv.Errors {
		if e.AccountID == "" {
			continue
		}
		r.inScope[e.AccountID] = true
		msg := e.Operation + " failed: " + e.Message
		if e.Region == "" {
			r.accountErr[e.AccountID] = msg
		} else if k := (regionKey{e.AccountID, e.Region}); r.regionErr[k] == "" {
			r.regionErr[k] = msg
		}
	}
	return r
}

// facts is one account-region, indexed lazily.
type facts struct {
	res     *Resolver
	reg     *inventory.Region
	indexed bool

	subnets map[string]*inventory.Subnet
	// rtExplicit, rtMain and aclBySub keep every claim: a subnet claimed
	// twice is unknown, never decided by the order of the file.
	rtExplicit map[string][]*inventory.RouteTable // by subnet
	rtMain     map[string][]*inventory.RouteTable // by VPC
	nats       map[string]*inventory.NATGateway
	igws       map[string]gateway
	eigws      map[string]gateway
	sgs        map[string]*inventory.SecurityGroup
	aclBySub   map[string][]*inventory.NetworkACL
	enis       map[string]*inventory.NetworkInterface
	endpoints  map[string]*inventory.VPCEndpoint
	tgwAtts    map[string]*inventory.TransitGatewayAttachment
	tgwAttVPC  map[[2]string]*inventory.TransitGatewayAttachment // (tgw, vpc)
	tgwTables  map[string]*inventory.TransitGatewayRouteTable
	prefixes   map[string]*inventory.PrefixList
	covVPC     map[string]bool
	covTGW     map[string]bool
	// vpcOwner is each VPC's owner, when another account's (shared).
	vpcOwner map[string]string
	// failedOp are region-wide failures by operation; failedRes are
	// failures about one object, by operation and resource.
	failedOp  map[string]string
	failedRes map[[2]string]string

	tables      map[string]*table
	tgwCompiled map[string]*tgwTable
	acls        map[string]*aclFacts
	policies    map[string]*policy
	analyses    map[analysisKey]*Analysis
}

func (r *Resolver) facts(account, region string) *facts {
	f := r.regions[regionKey{account, region}]
	if f != nil && !f.indexed {
		f.index()
	}
	return f
}

func (f *facts) index() {
	r := f.reg
	f.indexed = true
	f.subnets = make(map[string]*inventory.Subnet, len(r.Subnets))
	for i := range r.Subnets {
		f.subnets[r.Subnets[i].ID] = &r.Subnets[i]
	}
	f.rtExplicit, f.rtMain = map[string][]*inventory.RouteTable{}, map[string][]*inventory.RouteTable{}
	for i := range r.RouteTables {
		rt := &r.RouteTables[i]
		if rt.Main {
			f.rtMain[rt.VPCID] = append(f.rtMain[rt.VPCID], rt)
		}
		for _, s := range rt.SubnetIDs {
			f.rtExplicit[s] = append(f.rtExplicit[s], rt)
		}
	}
	f.nats = make(map[string]*inventory.NATGateway, len(r.NATGateways))
	for i := range r.NATGateways {
		f.nats[r.NATGateways[i].ID] = &r.NATGateways[i]
	}
	f.igws = make(map[string]gateway, len(r.InternetGateways))
	for _, g := range r.InternetGateways {
		if len(g.Attachments) == 0 {
			f.igws[g.ID] = gateway{attached: g.VPCIDs} // schema 1: the VPCs it was found attached to
			continue
		}
		var gw gateway
		for _, a := range g.Attachments {
			switch a.State {
			case "available", "attached", "attaching":
				gw.attached = append(gw.attached, a.VPCID)
			case "detaching", "detached":
			default:
				if gw.odd == nil {
					gw.odd = map[string]string{}
				}
				gw.odd[a.VPCID] = a.State
			}
		}
		f.igws[g.ID] = gw
	}
	f.eigws = make(map[string]gateway, len(r.EgressOnlyInternetGateways))
	for _, g := range r.EgressOnlyInternetGateways {
		f.eigws[g.ID] = gateway{attached: g.VPCIDs}
	}
	f.sgs = make(map[string]*inventory.SecurityGroup, len(r.SecurityGroups))
	for i := range r.SecurityGroups {
		f.sgs[r.SecurityGroups[i].ID] = &r.SecurityGroups[i]
	}
	f.aclBySub = map[string][]*inventory.NetworkACL{}
	for i := range r.NetworkACLs {
		for _, s := range r.NetworkACLs[i].SubnetIDs {
			f.aclBySub[s] = append(f.aclBySub[s], &r.NetworkACLs[i])
		}
	}
	f.enis = make(map[string]*inventory.NetworkInterface, len(r.NetworkInterfaces))
	for i := range r.NetworkInterfaces {
		f.enis[r.NetworkInterfaces[i].ID] = &r.NetworkInterfaces[i]
	}
	f.endpoints = make(map[string]*inventory.VPCEndpoint, len(r.VPCEndpoints))
	for i := range r.VPCEndpoints {
		f.endpoints[r.VPCEndpoints[i].ID] = &r.VPCEndpoints[i]
	}
	f.tgwAtts = map[string]*inventory.TransitGatewayAttachment{}
	f.tgwAttVPC = map[[2]string]*inventory.TransitGatewayAttachment{}
	for i := range r.TransitGatewayAttachments {
		a := &r.TransitGatewayAttachments[i]
		f.tgwAtts[a.ID] = a
		if a.ResourceType != "vpc" {
			continue
		}
		// A VPC attached again keeps its deleted attachment in the
		// describes for a while: the one that carries traffic wins, then
		// one in a state not recognised (unknown), whatever the order.
		k := [2]string{a.TransitGatewayID, a.ResourceID}
		if cur := f.tgwAttVPC[k]; cur == nil || attachmentRank(a.State) > attachmentRank(cur.State) {
			f.tgwAttVPC[k] = a
		}
	}
	f.tgwTables = map[string]*inventory.TransitGatewayRouteTable{}
	for i := range r.TransitGatewayRouteTables {
		f.tgwTables[r.TransitGatewayRouteTables[i].ID] = &r.TransitGatewayRouteTables[i]
	}
	f.prefixes = map[string]*inventory.PrefixList{}
	for i := range r.PrefixLists {
		f.prefixes[r.PrefixLists[i].ID] = &r.PrefixLists[i]
	}
	f.vpcOwner = map[string]string{}
	for _, v := range r.VPCs {
		if v.OwnerID != "" && v.OwnerID != r.AccountID {
			f.vpcOwner[v.ID] = v.OwnerID
		}
	}
	f.covVPC, f.covTGW = map[string]bool{}, map[string]bool{}
	if c := r.Coverage; c != nil {
		for _, v := range c.VPCs {
			f.covVPC[v] = true
		}
		for _, t := range c.TransitGateways {
			f.covTGW[t] = true
		}
	} else {
		// Schema 1 read everything in the VPCs of the notebooks' subnets,
		// security groups and interfaces.
		for _, s := range r.Subnets {
			f.covVPC[s.VPCID] = true
		}
		for _, g := range r.SecurityGroups {
			f.covVPC[g.VPCID] = true
		}
		for _, e := range r.NetworkInterfaces {
			f.covVPC[e.VPCID] = true
		}
		delete(f.covVPC, "")
	}
	f.failedOp, f.failedRes = map[string]string{}, map[[2]string]string{}
	for _, e := range r.Errors {
		msg := e.Message
		if e.Code != "" && !strings.Contains(msg, e.Code) {
			msg = e.Code + ": " + msg
		}
		if e.Resource == "" {
			f.failedOp[e.Operation] = msg
		} else {
			f.failedRes[[2]string{e.Operation, e.Resource}] = msg
		}
	}
	f.tables, f.acls, f.policies = map[string]*table{}, map[string]*aclFacts{}, map[string]*policy{}
	f.analyses = map[analysisKey]*Analysis{}
}

// vpcFacts is where a VPC's contents (route tables, network ACLs, gateways,
// attachments) are read: the account-region's own facts, or, for a VPC
// another account owns and shares with it (AWS RAM), the owner's when the
// scan read the VPC there. Otherwise the participant's record of the
// shared VPC (a DescribeVpcs error naming it) leaves them unknown.
func (r *Resolver) vpcFacts(f *facts, vpc string) *facts {
	owner, shared := f.vpcOwner[vpc]
	if !shared {
		return f
	}
	if of := r.facts(owner, f.reg.Region); of != nil && of.covVPC[vpc] {
		return of
	}
	return f
}

// failure returns why a read of an object failed: a region-wide failure
// of one of ops, or one naming the object (or its VPC).
func (f *facts) failure(resource string, ops ...string) (string, bool) {
	for _, op := range ops {
		if msg, ok := f.failedOp[op]; ok {
			return op + " failed: " + msg, true
		}
		if msg, ok := f.failedRes[[2]string{op, resource}]; ok {
			return op + " failed for " + resource + ": " + msg, true
		}
	}
	return "", false
}

// vpcFailure is failure for an object read as part of its VPC's contents,
// or the failure of the VPC itself: one that could not be read, or one
// shared by another account, whose contents are the owner's to read.
func (f *facts) vpcFailure(vpc, resource string, ops ...string) (string, bool) {
	if why, ok := f.failure(resource, ops...); ok {
		return why, true
	}
	if why, ok := f.failure(vpc, ops...); ok {
		return why, true
	}
	if msg, ok := f.failedRes[[2]string{awsop.DescribeVpcs, vpc}]; ok {
		return awsop.DescribeVpcs + " failed for " + vpc + ": " + msg, true
	}
	return "", false
}

// Understands lists the operations whose failure the analysis turns into
// unknown facts: every operation in awsop.Network.
func Understands(op string) bool {
	switch op {
	case awsop.DescribeSubnets, awsop.DescribeVpcs, awsop.DescribeRouteTables, awsop.DescribeNatGateways,
		awsop.DescribeInternetGateways, awsop.DescribeEgressOnlyInternetGateways, awsop.DescribeSecurityGroups,
		awsop.DescribeNetworkAcls, awsop.DescribeNetworkInterfaces, awsop.DescribeVpcEndpoints,
		awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments,
		awsop.DescribeTransitGatewayRouteTables, awsop.SearchTransitGatewayRoutes,
		awsop.DescribeManagedPrefixLists, awsop.GetManagedPrefixListEntries:
		return true
	}
	return false
}

// routeTableOf is a subnet's effective route table and where it came
// from: the one explicit table of its VPC that claims it, else the VPC's
// one main table. A failed read of the VPC's tables, or a subnet or VPC
// that several tables claim, is unknown: a table present in a partial
// read may not be the one that applies.
func (f *facts) routeTableOf(subnet, vpc string) (*inventory.RouteTable, string, *Unknown) {
	fact := "route table of subnet " + subnet
	if why, failed := f.vpcFailure(vpc, subnet, awsop.DescribeRouteTables); failed {
		return nil, "", &Unknown{Fact: fact, Resource: subnet, Why: why}
	}
	explicit := ofVPC(f.rtExplicit[subnet], vpc, func(rt *inventory.RouteTable) string { return rt.VPCID })
	switch len(explicit) {
	case 1:
		return explicit[0], "explicit", nil
	case 0:
	default:
		return nil, "", &Unknown{Fact: fact, Resource: subnet, Why: "claimed by several route tables: " + tableIDs(explicit)}
	}
	switch main := f.rtMain[vpc]; len(main) {
	case 1:
		return main[0], "main", nil
	case 0:
		return nil, "", &Unknown{Fact: fact + " (no explicit association and no main table of " + vpc + ")", Resource: subnet,
			Why: "not found in the inventory"}
	default:
		return nil, "", &Unknown{Fact: "main route table of " + vpc, Resource: vpc, Why: "several tables are main: " + tableIDs(main)}
	}
}

func tableIDs(ts []*inventory.RouteTable) string {
	ids := make([]string, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
	}
	return strings.Join(ids, ", ")
}

// ofVPC keeps the objects of a VPC: an association an object of another
// VPC claims cannot exist, and is ignored.
func ofVPC[T any](xs []*T, vpc string, vpcOf func(*T) string) []*T {
	for _, x := range xs {
		if vpcOf(x) != vpc {
			out := make([]*T, 0, len(xs))
			for _, y := range xs {
				if vpcOf(y) == vpc {
					out = append(out, y)
				}
			}
			return out
		}
	}
	return xs
}

// gateway is an internet gateway's (or an egress-only one's) attachments.
type gateway struct {
	// attached are the VPCs it carries traffic for.
	attached []string
	// odd are attachment states not recognised, by VPC.
	odd map[string]string
}

// gatewayAttached says whether an internet gateway (or an egress-only
// one) carries a VPC's traffic. A gateway absent from a read that covered
// the VPC is not attached; after a failed read (even present: the read may
// have stopped before its attachment), or attached in a state that is not
// recognised, it is unknown; absent from a read that did
// not cover the VPC, it was not collected (collected false, no unknown).
func (f *facts) gatewayAttached(id, vpc string, egressOnly bool) (attached bool, u *Unknown, collected bool) {
	kind, op, gws := "internet-gateway", awsop.DescribeInternetGateways, f.igws
	if egressOnly {
		kind, op, gws = "egress-only-internet-gateway", awsop.DescribeEgressOnlyInternetGateways, f.eigws
	}
	if why, failed := f.vpcFailure(vpc, id, op); failed {
		return false, &Unknown{Fact: kind + " " + id, Resource: id, Why: why}, true
	}
	gw, ok := gws[id]
	if !ok {
		return false, nil, f.covVPC[vpc]
	}
	if slices.Contains(gw.attached, vpc) {
		return true, nil, true
	}
	if state, odd := gw.odd[vpc]; odd {
		return false, &Unknown{Fact: kind + " " + id + " attachment to " + vpc, Resource: id,
			Why: fmt.Sprintf("attachment state %q is not recognised", state)}, true
	}
	return false, nil, true
}

// readFailed reports whether a read of an object of a VPC failed.
func (f *facts) readFailed(vpc, resource string, ops ...string) bool {
	_, failed := f.vpcFailure(vpc, resource, ops...)
	return failed
}

// missing is the unknown for an object the inventory should hold.
func (f *facts) missing(kind, id, vpc string, ops ...string) Unknown {
	if why, ok := f.vpcFailure(vpc, id, ops...); ok {
		return Unknown{Fact: kind + " " + id, Resource: id, Why: why}
	}
	return Unknown{Fact: kind + " " + id, Resource: id, Why: "not found in the inventory"}
}

// prefixList resolves a prefix list: AWS-managed, its entries, or unknown.
func (f *facts) prefixList(id string) (*inventory.PrefixList, *Unknown) {
	pl, ok := f.prefixes[id]
	if ok && (pl.AWSManaged() || !f.prefixFailed(id)) {
		return pl, nil
	}
	u := Unknown{Fact: "prefix list " + id, Resource: id}
	switch why, failed := f.failure(id, awsop.DescribeManagedPrefixLists, awsop.GetManagedPrefixListEntries); {
	case failed:
		u.Why = why
	case f.res.schema1 || f.reg.Coverage == nil:
		u.Why = "not collected (the inventory predates prefix-list collection; scan again with this version)"
	default:
		u.Why = "not found in the inventory"
	}
	return nil, &u
}

// prefixFailed reports whether a read of a prefix list's entries failed:
// a list kept despite it may be partial.
func (f *facts) prefixFailed(id string) bool {
	_, failed := f.failure(id, awsop.GetManagedPrefixListEntries)
	return failed
}

// subnetCIDRs is a subnet's address blocks as a set of the family, or
// every address of the family when they are unknown.
func subnetCIDRs(sub *inventory.Subnet, v6 bool) ipSet {
	if sub == nil {
		return universe(v6)
	}
	var spans []span
	cidrs := []string{sub.CIDRBlock}
	if v6 {
		cidrs = sub.IPv6CIDRBlocks
	}
	for _, c := range cidrs {
		p, ok := parsePrefix(c)
		if !ok || p.Addr().Is4() == v6 {
			return universe(v6)
		}
		spans = append(spans, prefixSpan(p))
	}
	if len(spans) == 0 {
		return universe(v6)
	}
	return setOf(spans...)
}

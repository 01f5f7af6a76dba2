package netpath

import (
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
	// assumed), by account.
	accountErr map[string]string
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
		if e.Region == "" {
			r.accountErr[e.AccountID] = e.Operation + " failed: " + e.Message
		}
	}
	return r
}

// facts is one account-region, indexed lazily.
type facts struct {
	res     *Resolver
	reg     *inventory.Region
	indexed bool

	subnets    map[string]*inventory.Subnet
	rtExplicit map[string]*inventory.RouteTable
	rtMain     map[string]*inventory.RouteTable
	nats       map[string]*inventory.NATGateway
	igwVPCs    map[string][]string // attached VPCs by gateway
	eigwVPCs   map[string][]string
	sgs        map[string]*inventory.SecurityGroup
	aclBySub   map[string]*inventory.NetworkACL
	enis       map[string]*inventory.NetworkInterface
	endpoints  map[string]*inventory.VPCEndpoint
	tgwAtts    map[string]*inventory.TransitGatewayAttachment
	tgwAttVPC  map[[2]string]*inventory.TransitGatewayAttachment // (tgw, vpc)
	tgwTables  map[string]*inventory.TransitGatewayRouteTable
	prefixes   map[string]*inventory.PrefixList
	covVPC     map[string]bool
	covTGW     map[string]bool
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
	f.rtExplicit, f.rtMain = map[string]*inventory.RouteTable{}, map[string]*inventory.RouteTable{}
	for i := range r.RouteTables {
		rt := &r.RouteTables[i]
		if rt.Main {
			f.rtMain[rt.VPCID] = rt
		}
		for _, s := range rt.SubnetIDs {
			f.rtExplicit[s] = rt
		}
	}
	f.nats = make(map[string]*inventory.NATGateway, len(r.NATGateways))
	for i := range r.NATGateways {
		f.nats[r.NATGateways[i].ID] = &r.NATGateways[i]
	}
	f.igwVPCs = make(map[string][]string, len(r.InternetGateways))
	for _, g := range r.InternetGateways {
		if len(g.Attachments) == 0 {
			f.igwVPCs[g.ID] = g.VPCIDs // schema 1: the VPCs it was found attached to
			continue
		}
		var vpcs []string
		for _, a := range g.Attachments {
			if a.State == "available" || a.State == "attached" {
				vpcs = append(vpcs, a.VPCID)
			}
		}
		f.igwVPCs[g.ID] = vpcs
	}
	f.eigwVPCs = make(map[string][]string, len(r.EgressOnlyInternetGateways))
	for _, g := range r.EgressOnlyInternetGateways {
		f.eigwVPCs[g.ID] = g.VPCIDs
	}
	f.sgs = make(map[string]*inventory.SecurityGroup, len(r.SecurityGroups))
	for i := range r.SecurityGroups {
		f.sgs[r.SecurityGroups[i].ID] = &r.SecurityGroups[i]
	}
	f.aclBySub = map[string]*inventory.NetworkACL{}
	for i := range r.NetworkACLs {
		for _, s := range r.NetworkACLs[i].SubnetIDs {
			f.aclBySub[s] = &r.NetworkACLs[i]
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
		if a.ResourceType == "vpc" {
			f.tgwAttVPC[[2]string{a.TransitGatewayID, a.ResourceID}] = a
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

// vpcFailure is failure for an object read as part of its VPC's contents.
func (f *facts) vpcFailure(vpc, resource string, ops ...string) (string, bool) {
	if why, ok := f.failure(resource, ops...); ok {
		return why, true
	}
	return f.failure(vpc, ops...)
}

// Failed reports whether a whole operation failed in this account-region.
func (f *facts) Failed(op string) bool {
	_, ok := f.failedOp[op]
	return ok
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

// routeTableOf is a subnet's effective route table and where it came from.
func (f *facts) routeTableOf(sub *inventory.Subnet) (*inventory.RouteTable, string) {
	if rt := f.rtExplicit[sub.ID]; rt != nil {
		return rt, "explicit"
	}
	if rt := f.rtMain[sub.VPCID]; rt != nil {
		return rt, "main"
	}
	return nil, ""
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

func sortedKey(ids []string) string {
	if slices.IsSorted(ids) {
		return strings.Join(ids, ",")
	}
	s := slices.Clone(ids)
	slices.Sort(s)
	return strings.Join(s, ",")
}

func fmtUnknowns(us []Unknown) string {
	parts := make([]string, len(us))
	for i, u := range us {
		parts[i] = u.String()
	}
	return strings.Join(parts, "; ")
}

package pathref

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// tri is a three-valued truth. Ordered no < maybe < yes, Kleene's AND is
// min and OR is max: a flow that an unknown fact might allow is "maybe".
type tri uint8

const (
	no tri = iota
	maybe
	yes
)

// Protocol numbers the model gives ports to.
const (
	protoTCP = 6
	protoUDP = 17
)

func hasPorts(proto int) bool { return proto == protoTCP || proto == protoUDP }

// parseNumber reads an IANA protocol number 0-255 written in decimal digits.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n <= 255
}

// parseSGProtocol reads a security-group rule protocol: -1 means every
// protocol.
func parseSGProtocol(s string) (int, bool) {
	switch strings.ToLower(s) {
	case "-1", "all":
		return -1, true
	case "tcp":
		return protoTCP, true
	case "udp":
		return protoUDP, true
	case "icmp":
		return 1, true
	case "icmpv6":
		return 58, true
	}
	return parseNumber(s)
}

// parseACLProtocol reads a network ACL entry protocol: -1 or a number.
func parseACLProtocol(s string) (int, bool) {
	if s == "-1" {
		return -1, true
	}
	return parseNumber(s)
}

// parseFamily parses a CIDR that must be of one family.
func parseFamily(s string, v6 bool) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is6() != v6 {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

func everything(v6 bool) netip.Prefix {
	if v6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// dest is one destination of a security-group rule: a prefix, or unknown
// (with why) for one family (v4/v6 set) or both.
type dest struct {
	p       netip.Prefix
	unknown string
	v4, v6  bool // the families an unknown destination may hold
}

// sgRule is one parsed egress rule.
type sgRule struct {
	desc     string
	proto    int // -1: every protocol
	protoBad string
	from, to int
	portsBad string
	dests    []dest
}

type securityGroup struct {
	id     string
	egress []sgRule
}

// match is whether the rule allows f, and why when maybe.
func (r *sgRule) match(f flow) (tri, string) {
	if r.protoBad == "" && r.proto != -1 && r.proto != f.proto {
		return no, ""
	}
	m, why := yes, ""
	switch {
	case r.protoBad != "":
		m, why = maybe, r.protoBad
	case hasPorts(r.proto) && r.portsBad != "":
		m, why = maybe, r.portsBad
	case hasPorts(r.proto) && (f.port < r.from || f.port > r.to):
		return no, ""
	}
	d, dwhy := no, ""
	for _, x := range r.dests {
		switch {
		case x.unknown != "" && ((f.dst.Is4() && x.v4) || (f.dst.Is6() && x.v6)):
			if d < maybe {
				d, dwhy = maybe, x.unknown
			}
		case x.unknown == "" && x.p.Contains(f.dst):
			d = yes
		}
	}
	switch {
	case d == no:
		return no, ""
	case d == maybe && m == yes:
		return maybe, dwhy
	}
	return m, why
}

// aclEntry is one parsed network ACL entry.
type aclEntry struct {
	desc     string
	num      int32
	egress   bool
	proto    int
	protoBad bool
	action   tri // yes allow, no deny, maybe unrecognised
	fam      int // 4 or 6; 0 when the entry's family is unknown
	p        netip.Prefix
	cidrBad  bool
	hasPorts bool
	from, to int
	portsBad bool
	why      string // what is unknown about the entry
}

func parseACLEntry(aclID string, x inventory.ACLEntry) aclEntry {
	dir := "ingress"
	if x.Egress {
		dir = "egress"
	}
	e := aclEntry{desc: fmt.Sprintf("network ACL %s %s entry %d", aclID, dir, x.RuleNumber), num: x.RuleNumber, egress: x.Egress}
	var whys []string
	var ok bool
	if e.proto, ok = parseACLProtocol(x.Protocol); !ok {
		e.protoBad = true
		whys = append(whys, fmt.Sprintf("protocol %q not recognised", x.Protocol))
	}
	switch x.Action {
	case "allow":
		e.action = yes
	case "deny":
		e.action = no
	default:
		e.action = maybe
		whys = append(whys, fmt.Sprintf("action %q not recognised", x.Action))
	}
	switch {
	case x.CIDR != "" && x.IPv6CIDR == "":
		e.fam = 4
		if e.p, ok = parseFamily(x.CIDR, false); !ok {
			e.cidrBad = true
			whys = append(whys, fmt.Sprintf("CIDR %q does not parse as IPv4", x.CIDR))
		}
	case x.CIDR == "" && x.IPv6CIDR != "":
		e.fam = 6
		if e.p, ok = parseFamily(x.IPv6CIDR, true); !ok {
			e.cidrBad = true
			whys = append(whys, fmt.Sprintf("IPv6 CIDR %q does not parse as IPv6", x.IPv6CIDR))
		}
	default:
		e.cidrBad = true
		whys = append(whys, "not exactly one of cidr and ipv6_cidr")
	}
	if x.HasPorts {
		e.hasPorts = true
		e.from, e.to = int(x.FromPort), int(x.ToPort)
		if e.from < 0 || e.from > e.to || e.to > 65535 {
			e.portsBad = true
			// Only a TCP or UDP entry reads its ports.
			if e.protoBad || hasPorts(e.proto) {
				whys = append(whys, fmt.Sprintf("port range %d-%d not valid", x.FromPort, x.ToPort))
			}
		}
	}
	if len(whys) > 0 {
		e.why = e.desc + ": " + strings.Join(whys, ", ")
	}
	return e
}

// match is whether the entry applies to (proto, port, a); port is -1 for
// protocols without ports.
func (e *aclEntry) match(proto, port int, a netip.Addr) tri {
	if e.fam != 0 && (e.fam == 6) != a.Is6() {
		return no
	}
	m := yes
	switch {
	case e.protoBad:
		m = maybe
	case e.proto != -1 && e.proto != proto:
		return no
	case hasPorts(e.proto) && e.hasPorts && e.portsBad:
		m = maybe
	case hasPorts(e.proto) && e.hasPorts && (port < e.from || port > e.to):
		return no
	}
	switch {
	case e.cidrBad:
		m = min(m, maybe)
	case !e.p.Contains(a):
		return no
	}
	return m
}

type networkACL struct {
	id, vpc string
	subnets []string
	out, in []aclEntry // ascending rule number
}

// eval is first-match evaluation over entries (ascending), no match
// denying. An entry that may match makes the answer maybe unless what
// follows it would decide the same. why names the first unknown entry
// that mattered.
func eval(entries []aclEntry, proto, port int, a netip.Addr) (tri, string) {
	r, why := no, ""
	for i := len(entries) - 1; i >= 0; i-- {
		e := &entries[i]
		switch e.match(proto, port, a) {
		case yes:
			r = e.action
			if e.action == maybe {
				why = e.why
			}
		case maybe:
			if e.action != r {
				r, why = maybe, e.why
			} else if r == maybe {
				why = e.why
			}
		}
	}
	if r != maybe {
		why = ""
	}
	return r, why
}

// ephemeralPorts are the reply ports worth trying against entries: the
// first ephemeral port and each range boundary inside 1024-65535.
func ephemeralPorts(entries []aclEntry) []int {
	ports := []int{1024}
	for _, e := range entries {
		if !e.hasPorts || e.portsBad {
			continue
		}
		for _, p := range []int{e.from, e.to + 1} {
			if p > 1024 && p <= 65535 {
				ports = append(ports, p)
			}
		}
	}
	slices.Sort(ports)
	return slices.Compact(ports)
}

// anyPort is whether entries allow proto with address a on some reply
// port (any port for protocols without ports).
func anyPort(entries []aclEntry, proto int, a netip.Addr) (tri, string) {
	if !hasPorts(proto) {
		return eval(entries, proto, -1, a)
	}
	best, why := no, ""
	for _, p := range ephemeralPorts(entries) {
		t, w := eval(entries, proto, p, a)
		if t > best {
			best, why = t, w
		}
		if best == yes {
			break
		}
	}
	return best, why
}

// Route targets.
type targetKind int

const (
	tUnknown targetKind = iota
	tLocal
	tIGW
	tVGW
	tEndpoint
	tNAT
	tEIGW
	tAppliance
	tTGW
	tPeering
	tOutOfSight // local or carrier gateway, core network, ODB network
)

type target struct {
	kind targetKind
	id   string
	why  string
}

func classifyTarget(r *inventory.Route) target {
	type field struct {
		name, value string
		kind        targetKind
	}
	var set []field
	for _, f := range []field{
		{"gateway_id", r.GatewayID, tUnknown},
		{"nat_gateway_id", r.NATGatewayID, tNAT},
		{"egress_only_internet_gateway_id", r.EgressOnlyInternetGatewayID, tEIGW},
		{"instance_id", r.InstanceID, tAppliance},
		{"network_interface_id", r.NetworkInterfaceID, tAppliance},
		{"next_hop_ip", r.NextHopIP, tAppliance},
		{"transit_gateway_id", r.TransitGatewayID, tTGW},
		{"vpc_peering_connection_id", r.VPCPeeringConnectionID, tPeering},
		{"local_gateway_id", r.LocalGatewayID, tOutOfSight},
		{"carrier_gateway_id", r.CarrierGatewayID, tOutOfSight},
		{"core_network_arn", r.CoreNetworkARN, tOutOfSight},
		{"odb_network_arn", r.OdbNetworkARN, tOutOfSight},
	} {
		if f.value != "" {
			set = append(set, f)
		}
	}
	switch {
	case len(set) == 0:
		return target{why: "no target"}
	case len(set) == 2 && r.InstanceID != "" && r.NetworkInterfaceID != "":
		// EC2 reports an instance route with the instance's interface.
		return target{kind: tAppliance, id: r.InstanceID}
	case len(set) > 1:
		return target{why: fmt.Sprintf("several targets (%s, %s)", set[0].name, set[1].name)}
	}
	f := set[0]
	if f.name != "gateway_id" {
		return target{kind: f.kind, id: f.value}
	}
	switch {
	case f.value == "local":
		return target{kind: tLocal, id: f.value}
	case strings.HasPrefix(f.value, "igw-"):
		return target{kind: tIGW, id: f.value}
	case strings.HasPrefix(f.value, "vgw-"):
		return target{kind: tVGW, id: f.value}
	case strings.HasPrefix(f.value, "vpce-"):
		return target{kind: tEndpoint, id: f.value}
	}
	return target{id: f.value, why: fmt.Sprintf("gateway %q not recognised", f.value)}
}

// routeEntry is one destination prefix of a route (a prefix-list route
// gives one entry per prefix).
type routeEntry struct {
	desc      string
	p         netip.Prefix
	pl        bool
	blackhole bool
	t         target
}

type routeTable struct {
	id, vpc string
	main    bool
	subnets []string
	bad     string // why the whole table is unknown
	entries []routeEntry
}

// lookup returns the routes that carry a: the longest prefixes containing
// it, a CIDR route before prefix-list entries of the same length.
func (t *routeTable) lookup(a netip.Addr) []*routeEntry {
	var win []*routeEntry
	bits, cidr := -1, false
	for i := range t.entries {
		e := &t.entries[i]
		if !e.p.Contains(a) {
			continue
		}
		switch b := e.p.Bits(); {
		case b > bits:
			win, bits, cidr = []*routeEntry{e}, b, !e.pl
		case b == bits && !e.pl && !cidr:
			win, cidr = []*routeEntry{e}, true
		case b == bits && e.pl == !cidr:
			win = append(win, e)
		}
	}
	return win
}

// tgwRoute is one transit gateway route entry.
type tgwRoute struct {
	desc      string
	p         netip.Prefix
	pl        bool
	static    bool
	blackhole bool
	why       string // unknown state, or an active route without attachments
	typeWhy   string // unknown type: matters only in a tie
	atts      []inventory.TransitGatewayRouteAttachment
}

type tgwTable struct {
	id, tgw   string
	truncated bool
	bad       string
	routes    []tgwRoute
}

// lookup returns the winning routes for a, or why they cannot be told.
func (t *tgwTable) lookup(a netip.Addr) ([]*tgwRoute, string) {
	var tied []*tgwRoute
	bits := -1
	for i := range t.routes {
		r := &t.routes[i]
		if !r.p.Contains(a) {
			continue
		}
		switch b := r.p.Bits(); {
		case b > bits:
			tied, bits = []*tgwRoute{r}, b
		case b == bits:
			tied = append(tied, r)
		}
	}
	for _, r := range tied {
		if r.typeWhy != "" && len(tied) > 1 {
			return nil, r.typeWhy // its rank among the tied is unknown
		}
	}
	if slices.ContainsFunc(tied, func(r *tgwRoute) bool { return r.static }) {
		tied = slices.DeleteFunc(tied, func(r *tgwRoute) bool { return !r.static })
	}
	if slices.ContainsFunc(tied, func(r *tgwRoute) bool { return !r.pl }) {
		tied = slices.DeleteFunc(tied, func(r *tgwRoute) bool { return r.pl })
	}
	// A route outranked on a tie changes nothing, whatever is wrong with it.
	for _, r := range tied {
		if r.why != "" {
			return nil, r.why
		}
	}
	return tied, ""
}

// presence is what a lookup found.
type presence int

const (
	found presence = iota
	failedRead
	absentCovered // absent from a read that covered it: it does not exist
	notCollected
)

// Operations whose failure makes a kind of fact unknown.
var (
	opsSubnets    = []string{awsop.DescribeSubnets}
	opsTables     = []string{awsop.DescribeRouteTables}
	opsNAT        = []string{awsop.DescribeNatGateways}
	opsIGW        = []string{awsop.DescribeInternetGateways}
	opsEIGW       = []string{awsop.DescribeEgressOnlyInternetGateways}
	opsSG         = []string{awsop.DescribeSecurityGroups}
	opsACL        = []string{awsop.DescribeNetworkAcls}
	opsENI        = []string{awsop.DescribeNetworkInterfaces}
	opsEndpoints  = []string{awsop.DescribeVpcEndpoints}
	opsAtt        = []string{awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments}
	opsTGW        = []string{awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments, awsop.DescribeTransitGatewayRouteTables, awsop.SearchTransitGatewayRoutes}
	opsTGWTables  = []string{awsop.DescribeTransitGatewayRouteTables, awsop.SearchTransitGatewayRoutes}
	opsPrefixList = []string{awsop.DescribeManagedPrefixLists, awsop.GetManagedPrefixListEntries}
	opsVPC        = []string{awsop.DescribeSubnets, awsop.DescribeRouteTables, awsop.DescribeNatGateways,
		awsop.DescribeInternetGateways, awsop.DescribeEgressOnlyInternetGateways, awsop.DescribeNetworkAcls,
		awsop.DescribeVpcEndpoints, awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments,
		awsop.DescribeVpcs}
)

// regionIndex is one account-region's facts, parsed.
type regionIndex struct {
	reg       *inventory.Region
	subnets   map[string]*inventory.Subnet
	tables    []*routeTable
	acls      []*networkACL
	nats      map[string]*inventory.NATGateway
	igws      map[string]*inventory.InternetGateway
	eigws     map[string]*inventory.EgressOnlyInternetGateway
	endpoints map[string]*inventory.VPCEndpoint
	enis      map[string]*inventory.NetworkInterface
	groups    map[string]*securityGroup
	atts      []*inventory.TransitGatewayAttachment
	tgwTables map[string]*tgwTable
	lists     map[string]*inventory.PrefixList
	vpcs      map[string]bool // covered VPCs
	tgws      map[string]bool // covered transit gateways
}

func first[T any](m map[string]*T, id string, v *T) {
	if _, dup := m[id]; !dup {
		m[id] = v
	}
}

func newRegionIndex(reg *inventory.Region) *regionIndex {
	ri := &regionIndex{
		reg:       reg,
		subnets:   map[string]*inventory.Subnet{},
		nats:      map[string]*inventory.NATGateway{},
		igws:      map[string]*inventory.InternetGateway{},
		eigws:     map[string]*inventory.EgressOnlyInternetGateway{},
		endpoints: map[string]*inventory.VPCEndpoint{},
		enis:      map[string]*inventory.NetworkInterface{},
		groups:    map[string]*securityGroup{},
		tgwTables: map[string]*tgwTable{},
		lists:     map[string]*inventory.PrefixList{},
		vpcs:      map[string]bool{},
		tgws:      map[string]bool{},
	}
	for i := range reg.Subnets {
		first(ri.subnets, reg.Subnets[i].ID, &reg.Subnets[i])
	}
	for i := range reg.NATGateways {
		first(ri.nats, reg.NATGateways[i].ID, &reg.NATGateways[i])
	}
	for i := range reg.InternetGateways {
		first(ri.igws, reg.InternetGateways[i].ID, &reg.InternetGateways[i])
	}
	for i := range reg.EgressOnlyInternetGateways {
		first(ri.eigws, reg.EgressOnlyInternetGateways[i].ID, &reg.EgressOnlyInternetGateways[i])
	}
	for i := range reg.VPCEndpoints {
		first(ri.endpoints, reg.VPCEndpoints[i].ID, &reg.VPCEndpoints[i])
	}
	for i := range reg.NetworkInterfaces {
		first(ri.enis, reg.NetworkInterfaces[i].ID, &reg.NetworkInterfaces[i])
	}
	for i := range reg.PrefixLists {
		first(ri.lists, reg.PrefixLists[i].ID, &reg.PrefixLists[i])
	}
	for i := range reg.TransitGatewayAttachments {
		ri.atts = append(ri.atts, &reg.TransitGatewayAttachments[i])
	}
	if c := reg.Coverage; c != nil {
		for _, v := range c.VPCs {
			ri.vpcs[v] = true
		}
		for _, t := range c.TransitGateways {
			ri.tgws[t] = true
		}
	} else {
		// Schema 1 read the VPCs of its subnets, security groups and
		// interfaces whole; it never read transit gateways or prefix lists.
		for _, x := range reg.Subnets {
			ri.vpcs[x.VPCID] = true
		}
		for _, x := range reg.SecurityGroups {
			ri.vpcs[x.VPCID] = true
		}
		for _, x := range reg.NetworkInterfaces {
			ri.vpcs[x.VPCID] = true
		}
		delete(ri.vpcs, "")
	}
	// Prefix lists are resolved while parsing, so they come first.
	for i := range reg.SecurityGroups {
		sg := &reg.SecurityGroups[i]
		if _, dup := ri.groups[sg.ID]; !dup {
			ri.groups[sg.ID] = ri.parseGroup(sg)
		}
	}
	for i := range reg.RouteTables {
		ri.tables = append(ri.tables, ri.parseTable(&reg.RouteTables[i]))
	}
	for i := range reg.NetworkACLs {
		ri.acls = append(ri.acls, parseACL(&reg.NetworkACLs[i]))
	}
	for i := range reg.TransitGatewayRouteTables {
		t := &reg.TransitGatewayRouteTables[i]
		if _, dup := ri.tgwTables[t.ID]; !dup {
			ri.tgwTables[t.ID] = ri.parseTGWTable(t)
		}
	}
	return ri
}

// failed returns the message of a failed read of one of ops, region-wide
// or naming one of ids, or "".
func (ri *regionIndex) failed(ops []string, ids ...string) string {
	for _, e := range ri.reg.Errors {
		// A VPC that could not be read, or is another account's (shared),
		// leaves all its contents unknown.
		vpcWide := e.Operation == awsop.DescribeVpcs && e.Resource != "" && slices.Contains(ids, e.Resource)
		if !vpcWide && !slices.Contains(ops, e.Operation) {
			continue
		}
		if e.Resource == "" || (slices.Contains(ids, e.Resource)) {
			where := "region-wide"
			if e.Resource != "" {
				where = "for " + e.Resource
			}
			return fmt.Sprintf("%s failed %s in %s/%s: %s", e.Operation, where, ri.reg.AccountID, ri.reg.Region, e.Message)
		}
	}
	return ""
}

// absent classifies a fact the index does not hold: a failed read, a
// covered read of its VPC, or never read.
func (ri *regionIndex) absent(ops []string, what, id, vpc string) (presence, string) {
	if why := ri.failed(ops, id, vpc); why != "" {
		return failedRead, what + " " + id + ": " + why
	}
	if vpc != "" && ri.vpcs[vpc] {
		return absentCovered, what + " " + id + " does not exist (absent from the read of " + vpc + ")"
	}
	return notCollected, what + " " + id + " not collected in " + ri.reg.AccountID + "/" + ri.reg.Region
}

// lookup finds one object of a kind whose reads are ops, in vpc.
func lookup[T any](ri *regionIndex, m map[string]*T, ops []string, what, id, vpc string) (*T, presence, string) {
	if why := ri.failed(ops, id, vpc); why != "" {
		return nil, failedRead, what + " " + id + ": " + why
	}
	if x := m[id]; x != nil {
		return x, found, ""
	}
	p, why := ri.absent(ops, what, id, vpc)
	return nil, p, why
}

// prefixList resolves a managed prefix list: its entries (customer
// managed), aws true (AWS managed: a service's ranges, no address), or
// why it is unknown.
func (ri *regionIndex) prefixList(id string) (entries []netip.Prefix, aws bool, unknown string) {
	pl := ri.lists[id]
	if pl == nil {
		if why := ri.failed(opsPrefixList, id); why != "" {
			return nil, false, "prefix list " + id + ": " + why
		}
		return nil, false, "prefix list " + id + " not in the inventory of " + ri.reg.AccountID + "/" + ri.reg.Region
	}
	if pl.AWSManaged() {
		return nil, true, ""
	}
	if why := ri.failed(opsPrefixList, id); why != "" {
		return nil, false, "prefix list " + id + ": " + why
	}
	for _, s := range pl.Entries {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, fmt.Sprintf("prefix list %s entry %q does not parse", id, s)
		}
		entries = append(entries, p.Masked())
	}
	return entries, false, ""
}

func (ri *regionIndex) parseGroup(sg *inventory.SecurityGroup) *securityGroup {
	g := &securityGroup{id: sg.ID}
	for i, x := range sg.Egress {
		r := sgRule{desc: fmt.Sprintf("security group %s egress rule %d", sg.ID, i)}
		var ok bool
		if r.proto, ok = parseSGProtocol(x.Protocol); !ok {
			r.protoBad = fmt.Sprintf("%s: protocol %q not recognised", r.desc, x.Protocol)
		}
		r.from, r.to = int(x.FromPort), int(x.ToPort)
		if r.from < 0 || r.from > r.to || r.to > 65535 {
			r.portsBad = fmt.Sprintf("%s: port range %d-%d not valid", r.desc, x.FromPort, x.ToPort)
		}
		for _, c := range x.CIDRs {
			if p, ok := parseFamily(c, false); ok {
				r.dests = append(r.dests, dest{p: p})
			} else {
				r.dests = append(r.dests, dest{unknown: fmt.Sprintf("%s: CIDR %q does not parse as IPv4", r.desc, c), v4: true})
			}
		}
		for _, c := range x.IPv6CIDRs {
			if p, ok := parseFamily(c, true); ok {
				r.dests = append(r.dests, dest{p: p})
			} else {
				r.dests = append(r.dests, dest{unknown: fmt.Sprintf("%s: IPv6 CIDR %q does not parse as IPv6", r.desc, c), v6: true})
			}
		}
		for _, id := range x.PrefixListIDs {
			entries, _, unknown := ri.prefixList(id)
			if unknown != "" {
				r.dests = append(r.dests, dest{unknown: r.desc + ": " + unknown, v4: true, v6: true})
				continue
			}
			for _, p := range entries {
				r.dests = append(r.dests, dest{p: p})
			}
		}
		// Security-group references are not internet destinations.
		g.egress = append(g.egress, r)
	}
	return g
}

func parseACL(a *inventory.NetworkACL) *networkACL {
	acl := &networkACL{id: a.ID, vpc: a.VPCID, subnets: a.SubnetIDs}
	for _, x := range a.Entries {
		e := parseACLEntry(a.ID, x)
		if x.Egress {
			acl.out = append(acl.out, e)
		} else {
			acl.in = append(acl.in, e)
		}
	}
	byNumber := func(a, b aclEntry) int { return int(a.num) - int(b.num) }
	slices.SortStableFunc(acl.out, byNumber)
	slices.SortStableFunc(acl.in, byNumber)
	return acl
}

func (ri *regionIndex) parseTable(rt *inventory.RouteTable) *routeTable {
	t := &routeTable{id: rt.ID, vpc: rt.VPCID, main: rt.Main, subnets: rt.SubnetIDs}
	for i := range rt.Routes {
		r := &rt.Routes[i]
		desc := fmt.Sprintf("route table %s route %d", rt.ID, i)
		blackhole, badState := false, ""
		switch r.State {
		case "filtered":
			continue // ignored as if absent
		case "", "active":
		case "blackhole":
			blackhole = true
		default:
			// Whether the route is installed is unknown: it matters
			// exactly where it would win, like an unrecognised target.
			badState = fmt.Sprintf("state %q not recognised", r.State)
		}
		n := 0
		for _, d := range []string{r.DestinationCIDR, r.DestinationIPv6CIDR, r.DestinationPrefixListID} {
			if d != "" {
				n++
			}
		}
		if n != 1 {
			t.bad = fmt.Sprintf("%s: %d destinations, want exactly one", desc, n)
			return t
		}
		var tg target
		switch {
		case badState != "":
			tg = target{why: badState}
		case !blackhole:
			tg = classifyTarget(r)
		}
		add := func(p netip.Prefix, pl bool) {
			t.entries = append(t.entries, routeEntry{desc: desc, p: p, pl: pl, blackhole: blackhole, t: tg})
		}
		switch {
		case r.DestinationCIDR != "":
			p, ok := parseFamily(r.DestinationCIDR, false)
			if !ok {
				t.bad = fmt.Sprintf("%s: destination %q does not parse as IPv4", desc, r.DestinationCIDR)
				return t
			}
			add(p, false)
		case r.DestinationIPv6CIDR != "":
			p, ok := parseFamily(r.DestinationIPv6CIDR, true)
			if !ok {
				t.bad = fmt.Sprintf("%s: destination %q does not parse as IPv6", desc, r.DestinationIPv6CIDR)
				return t
			}
			add(p, false)
		default:
			entries, aws, unknown := ri.prefixList(r.DestinationPrefixListID)
			if ep := ri.endpoints[r.GatewayID]; unknown != "" && ep != nil && ep.Type == "Gateway" {
				// A gateway endpoint's route can only carry its AWS
				// service's list, whatever the inventory holds of it.
				unknown, aws = "", true
			}
			if unknown != "" {
				t.bad = desc + ": " + unknown
				return t
			}
			if aws {
				continue // an AWS service's ranges: takes no address
			}
			for _, p := range entries {
				add(p, true)
			}
		}
	}
	return t
}

func (ri *regionIndex) parseTGWTable(rt *inventory.TransitGatewayRouteTable) *tgwTable {
	t := &tgwTable{id: rt.ID, tgw: rt.TransitGatewayID, truncated: rt.Truncated}
	for i := range rt.Routes {
		r := &rt.Routes[i]
		desc := fmt.Sprintf("transit gateway route table %s route %d", rt.ID, i)
		x := tgwRoute{desc: desc, atts: r.Attachments}
		var whys []string
		switch r.State {
		case "active":
			if len(r.Attachments) == 0 {
				whys = append(whys, "active without attachments")
			}
		case "blackhole":
			x.blackhole = true
		default:
			whys = append(whys, fmt.Sprintf("state %q not recognised", r.State))
		}
		switch r.Type {
		case "static":
			x.static = true
		case "propagated":
		default:
			x.typeWhy = fmt.Sprintf("%s: type %q not recognised", desc, r.Type)
		}
		if len(whys) > 0 {
			x.why = desc + ": " + strings.Join(whys, ", ")
		}
		switch {
		case r.DestinationCIDR != "" && r.PrefixListID != "", r.DestinationCIDR == "" && r.PrefixListID == "":
			t.bad = desc + ": not exactly one destination"
			return t
		case r.DestinationCIDR != "":
			p, err := netip.ParsePrefix(r.DestinationCIDR)
			if err != nil {
				t.bad = fmt.Sprintf("%s: destination %q does not parse", desc, r.DestinationCIDR)
				return t
			}
			x.p = p.Masked()
			t.routes = append(t.routes, x)
		default:
			entries, aws, unknown := ri.prefixList(r.PrefixListID)
			if unknown != "" {
				t.bad = desc + ": " + unknown
				return t
			}
			if aws {
				continue
			}
			for _, p := range entries {
				y := x
				y.p, y.pl = p, true
				t.routes = append(t.routes, y)
			}
		}
	}
	return t
}

// effectiveTable is a subnet's explicit route table, else its own VPC's
// main table.
func (ri *regionIndex) effectiveTable(s *inventory.Subnet) (*routeTable, string) {
	if why := ri.failed(opsTables, s.VPCID, s.ID); why != "" {
		return nil, "route table of " + s.ID + ": " + why
	}
	var explicit, main []*routeTable
	for _, t := range ri.tables {
		if t.vpc != s.VPCID {
			continue // never another VPC's table
		}
		if slices.Contains(t.subnets, s.ID) {
			explicit = append(explicit, t)
		}
		if t.main {
			main = append(main, t)
		}
	}
	switch {
	case len(explicit) == 1:
		return explicit[0], ""
	case len(explicit) > 1:
		return nil, "subnet " + s.ID + " is associated with several route tables"
	case len(main) == 1:
		return main[0], ""
	case len(main) > 1:
		return nil, "VPC " + s.VPCID + " has several main route tables"
	}
	return nil, "subnet " + s.ID + " has no explicit route table and VPC " + s.VPCID + " no main table"
}

// acl is the network ACL of a subnet.
func (ri *regionIndex) acl(s *inventory.Subnet) (*networkACL, string) {
	if why := ri.failed(opsACL, s.VPCID, s.ID); why != "" {
		return nil, "network ACL of " + s.ID + ": " + why
	}
	var got []*networkACL
	for _, a := range ri.acls {
		if a.vpc == s.VPCID && slices.Contains(a.subnets, s.ID) {
			got = append(got, a)
		}
	}
	switch len(got) {
	case 1:
		return got[0], ""
	case 0:
		return nil, "subnet " + s.ID + " has no network ACL in the inventory"
	}
	return nil, "subnet " + s.ID + " is associated with several network ACLs"
}

// estate is the inventory's account-regions, indexed.
type estate struct {
	inv     *inventory.Inventory
	regions map[[2]string]*regionIndex
	scanned map[string]bool // accounts with a region entry or a failed read
	network map[string]bool
}

func newEstate(inv *inventory.Inventory) *estate {
	e := &estate{inv: inv, regions: map[[2]string]*regionIndex{}, scanned: map[string]bool{}, network: map[string]bool{}}
	for i := range inv.Regions {
		reg := &inv.Regions[i]
		key := [2]string{reg.AccountID, reg.Region}
		if _, dup := e.regions[key]; !dup {
			e.regions[key] = newRegionIndex(reg)
		}
		e.scanned[reg.AccountID] = true
	}
	for _, ce := range inv.Errors {
		if ce.AccountID != "" {
			e.scanned[ce.AccountID] = true
		}
	}
	for _, a := range inv.NetworkAccounts {
		e.network[a] = true
	}
	return e
}

func (e *estate) inScope(account string) bool { return e.scanned[account] || e.network[account] }

// region returns an in-scope account's index for region, or why there is
// none: unknown (the account's read failed) or not collected.
func (e *estate) region(account, region string) (*regionIndex, presence, string) {
	if ri := e.regions[[2]string{account, region}]; ri != nil {
		return ri, found, ""
	}
	for _, ce := range e.inv.Errors {
		if ce.AccountID == account && (ce.Region == "" || ce.Region == region) {
			return nil, failedRead, fmt.Sprintf("account %s could not be read in %s: %s failed: %s", account, region, ce.Operation, ce.Message)
		}
	}
	return nil, notCollected, "account " + account + " region " + region + " not collected"
}

// regionsNamed lists the account-regions of one region, in inventory order.
func (e *estate) regionsNamed(region string) []*regionIndex {
	var out []*regionIndex
	for i := range e.inv.Regions {
		if reg := &e.inv.Regions[i]; reg.Region == region {
			if ri := e.regions[[2]string{reg.AccountID, reg.Region}]; ri != nil && ri.reg == reg {
				out = append(out, ri)
			}
		}
	}
	return out
}

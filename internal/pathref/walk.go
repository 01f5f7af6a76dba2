package pathref

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/inventory"
)

// maxHops bounds a path's positions (the spec: more than 32 hops is
// unknown).
const maxHops = 32

// flow is one (protocol, port, destination) triple; port is -1 for
// protocols without ports.
type flow struct {
	proto, port int
	dst         netip.Addr
}

func (f flow) String() string {
	if f.port < 0 {
		return fmt.Sprintf("proto %d to %s", f.proto, f.dst)
	}
	return fmt.Sprintf("proto %d port %d to %s", f.proto, f.port, f.dst)
}

// position is a subnet in an account-region.
type position struct {
	ri     *regionIndex
	subnet *inventory.Subnet
}

func (p position) key() string { return p.ri.reg.AccountID + "/" + p.subnet.ID }

// state is what the walk carries along one path for one flow.
type state struct {
	at      position
	src     []netip.Prefix // the source range S
	mapped  bool           // the source has a public address at this VPC's internet gateway
	viaNAT  bool
	status  tri    // yes: allowed; maybe: an unknown fact might allow it
	why     string // what made status maybe
	checked string // the subnet whose outbound and reply entries already filtered the flow
	visited []string
}

// endKind is how a path ends.
type endKind int

const (
	endDead endKind = iota
	endExit
	endOpaque
	endUnknown
)

// end is one path's outcome for one flow.
type end struct {
	kind   endKind
	path   string // exit: igw, ipv6, nat; opaque: appliance, transit
	why    string
	status tri
	sWhy   string // why status is maybe
}

// walker walks flows through one region's estate and records how each
// path ends.
type walker struct {
	e      *estate
	region string
	ends   []end
}

func (w *walker) finish(st *state, kind endKind, path, why string) {
	w.ends = append(w.ends, end{kind: kind, path: path, why: why, status: st.status, sWhy: st.why})
}

func (w *walker) dead(st *state, why string)    { w.finish(st, endDead, "", why) }
func (w *walker) unknown(st *state, why string) { w.finish(st, endUnknown, "", why) }
func (w *walker) opaque(st *state, path, why string) {
	w.finish(st, endOpaque, path, why)
}

// filter ANDs a check into the flow's status; false when the flow is
// dropped (recorded as a dead end).
func (w *walker) filter(st *state, t tri, why, deadWhy string) bool {
	if t == no {
		w.dead(st, deadWhy)
		return false
	}
	if t == maybe && st.status == yes {
		st.why = why
	}
	st.status = min(st.status, t)
	return true
}

// outAndBack is whether subnet s's outbound entries allow f to its
// destination and s's inbound entries allow a reply from it.
func outAndBack(acl *networkACL, f flow) (tri, string) {
	out, why := eval(acl.out, f.proto, f.port, f.dst)
	if out == no {
		return no, ""
	}
	back, bwhy := anyPort(acl.in, f.proto, f.dst)
	if back < out {
		return back, bwhy
	}
	return out, why
}

// leave applies the destination check of the position's network ACL
// (leaving a NAT gateway's subnet, or arriving at a transit gateway
// attachment subnet); it is the same check each time, so it is skipped
// when the position already applied it.
func (w *walker) leave(st *state, f flow) bool {
	if st.checked == st.at.key() {
		return true
	}
	acl, why := st.at.ri.acl(st.at.subnet)
	if acl == nil {
		w.unknown(st, why)
		return false
	}
	t, twhy := outAndBack(acl, f)
	if !w.filter(st, t, twhy, "network ACL "+acl.id+" of "+st.at.subnet.ID+" denies it or its reply") {
		return false
	}
	st.checked = st.at.key()
	return true
}

// sources are the addresses of S worth trying against entries: each
// prefix's first address and every entry boundary inside it.
func sources(src []netip.Prefix, acl *networkACL) []netip.Addr {
	var out []netip.Addr
	for _, s := range src {
		out = append(out, s.Addr())
		for _, list := range [][]aclEntry{acl.in, acl.out} {
			for _, e := range list {
				if e.cidrBad || e.p.Addr().Is6() != s.Addr().Is6() {
					continue
				}
				if a := e.p.Addr(); s.Contains(a) {
					out = append(out, a)
				}
				if a := lastAddr(e.p).Next(); a.IsValid() && s.Contains(a) {
					out = append(out, a)
				}
			}
		}
	}
	return out
}

// enter applies the network ACL of subnet s entered from another subnet:
// its inbound entries must allow the flow from some address of S, and its
// outbound entries a reply to some address of S on some ephemeral port.
func (w *walker) enter(st *state, f flow, ri *regionIndex, s *inventory.Subnet) bool {
	acl, why := ri.acl(s)
	if acl == nil {
		w.unknown(st, why)
		return false
	}
	addrs := sources(st.src, acl)
	in, inWhy := no, ""
	for _, a := range addrs {
		if t, tw := eval(acl.in, f.proto, f.port, a); t > in {
			in, inWhy = t, tw
		}
	}
	if !w.filter(st, in, inWhy, "network ACL "+acl.id+" of "+s.ID+" denies it in from the source") {
		return false
	}
	back, backWhy := no, ""
	for _, a := range addrs {
		if t, tw := anyPort(acl.out, f.proto, a); t > back {
			back, backWhy = t, tw
		}
	}
	return w.filter(st, back, backWhy, "network ACL "+acl.id+" of "+s.ID+" denies the reply to the source")
}

// at routes the flow from the current position.
func (w *walker) at(f flow, st state) {
	key := st.at.key()
	if slices.Contains(st.visited, key) {
		w.dead(&st, "routing loop at "+key)
		return
	}
	if len(st.visited) >= maxHops {
		w.unknown(&st, "path of more than 32 hops")
		return
	}
	st.visited = append(slices.Clip(st.visited), key)
	t, why := st.at.ri.effectiveTable(st.at.subnet)
	if t == nil {
		w.unknown(&st, why)
		return
	}
	if t.bad != "" {
		w.unknown(&st, t.bad)
		return
	}
	win := t.lookup(f.dst)
	if len(win) == 0 {
		w.dead(&st, "no route in "+t.id)
		return
	}
	for _, r := range win {
		w.route(f, st, r)
	}
}

// byPresence ends a path at a fact that is not found.
func (w *walker) byPresence(st *state, p presence, why string) {
	switch p {
	case failedRead:
		w.unknown(st, why)
	case absentCovered:
		w.dead(st, why+": blackhole")
	default:
		w.opaque(st, "transit", why)
	}
}

func (w *walker) route(f flow, st state, r *routeEntry) {
	if r.blackhole {
		w.dead(&st, r.desc+": blackhole")
		return
	}
	ri, vpc := st.at.ri, st.at.subnet.VPCID
	switch r.t.kind {
	case tUnknown:
		w.unknown(&st, r.desc+": target "+r.t.why)
	case tLocal:
		w.dead(&st, r.desc+": local")
	case tPeering:
		w.dead(&st, r.desc+": peering is not transitive")
	case tNAT:
		w.nat(f, st, r)
	case tIGW:
		gw, p, why := lookup(ri, ri.igws, opsIGW, "internet gateway", r.t.id, vpc)
		if gw == nil {
			w.byPresence(&st, p, why)
			return
		}
		switch attached, why := igwAttached(gw, vpc); {
		case why != "":
			w.unknown(&st, why)
			return
		case !attached:
			w.dead(&st, "internet gateway "+gw.ID+" not attached to "+vpc+": blackhole")
			return
		}
		if !w.leave(&st, f) {
			return
		}
		switch {
		case f.dst.Is6():
			w.finish(&st, endExit, "ipv6", r.desc+" to "+gw.ID)
		case !st.mapped:
			w.dead(&st, "internet gateway "+gw.ID+" drops a private source")
		case st.viaNAT:
			w.finish(&st, endExit, "nat", r.desc+" to "+gw.ID)
		default:
			w.finish(&st, endExit, "igw", r.desc+" to "+gw.ID)
		}
	case tEIGW:
		gw, p, why := lookup(ri, ri.eigws, opsEIGW, "egress-only internet gateway", r.t.id, vpc)
		if gw == nil {
			w.byPresence(&st, p, why)
			return
		}
		if !slices.Contains(gw.VPCIDs, vpc) {
			w.dead(&st, "egress-only internet gateway "+gw.ID+" not of "+vpc+": blackhole")
			return
		}
		if f.dst.Is4() {
			w.dead(&st, "egress-only internet gateway carries no IPv4")
			return
		}
		if w.leave(&st, f) {
			w.finish(&st, endExit, "ipv6", r.desc+" to "+gw.ID)
		}
	case tEndpoint:
		ep, p, why := lookup(ri, ri.endpoints, opsEndpoints, "VPC endpoint", r.t.id, vpc)
		switch {
		case p == failedRead:
			w.unknown(&st, why)
			return
		case ep == nil:
			// The spec's "unrecognised endpoint" is an appliance: an
			// endpoint that cannot be identified is not a blackhole.
			if w.leave(&st, f) {
				w.opaque(&st, "appliance", r.desc+" to unrecognised endpoint "+r.t.id)
			}
			return
		case ep.Type == "Gateway":
			w.dead(&st, "gateway endpoint "+ep.ID+": AWS service")
		case w.leave(&st, f):
			w.opaque(&st, "appliance", r.desc+" to endpoint "+ep.ID+" ("+ep.Type+")")
		}
	case tAppliance:
		if w.leave(&st, f) {
			w.opaque(&st, "appliance", r.desc+" to appliance "+r.t.id)
		}
	case tVGW, tOutOfSight:
		if w.leave(&st, f) {
			w.opaque(&st, "transit", r.desc+" to "+r.t.id)
		}
	case tTGW:
		w.tgw(f, st, r.t.id)
	default:
		panic(fmt.Sprintf("pathref: target kind %d", r.t.kind))
	}
}

// igwAttached reads the attachment states (schema 2) or, when a gateway
// records none, its VPC list (schema 1 recorded only attached VPCs). An
// attachment to vpc in a state outside AWS's list is unknown (why).
func igwAttached(gw *inventory.InternetGateway, vpc string) (attached bool, why string) {
	if len(gw.Attachments) == 0 {
		return slices.Contains(gw.VPCIDs, vpc), ""
	}
	for _, a := range gw.Attachments {
		if a.VPCID != vpc {
			continue
		}
		switch a.State {
		case "available", "attached", "attaching":
			return true, ""
		case "detaching", "detached":
		default:
			why = fmt.Sprintf("internet gateway %s attachment to %s: state %q not recognised", gw.ID, vpc, a.State)
		}
	}
	return false, why
}

func (w *walker) nat(f flow, st state, r *routeEntry) {
	ri, vpc := st.at.ri, st.at.subnet.VPCID
	n, p, why := lookup(ri, ri.nats, opsNAT, "NAT gateway", r.t.id, vpc)
	if n == nil {
		w.byPresence(&st, p, why)
		return
	}
	switch n.State {
	case "deleted", "deleting", "failed":
		w.dead(&st, "NAT gateway "+n.ID+" is "+n.State+": blackhole")
		return
	}
	if n.SubnetID != st.at.subnet.ID && !w.leave(&st, f) {
		return
	}
	if f.dst.Is6() {
		if nat64.Contains(f.dst) {
			w.opaque(&st, "transit", "NAT64 through "+n.ID+" is not analysed")
		} else {
			w.dead(&st, "NAT gateway "+n.ID+" carries no IPv6")
		}
		return
	}
	natVPC := n.VPCID
	if natVPC == "" {
		natVPC = vpc
	}
	y, p, why := lookup(ri, ri.subnets, opsSubnets, "subnet", n.SubnetID, natVPC)
	if y == nil {
		if p == failedRead {
			w.byPresence(&st, p, why)
			return
		}
		// The gateway's subnet need not be held: its table and ACL are
		// found by its ID, and its unknown range makes S every address
		// (schema 1 read only the notebooks' subnets).
		y = &inventory.Subnet{ID: n.SubnetID, VPCID: natVPC}
	}
	if y.ID != st.at.subnet.ID && !w.enter(&st, f, ri, y) {
		return
	}
	st.src = subnetV4(y)
	st.mapped = n.ConnectivityType != "private"
	st.viaNAT = true
	st.at = position{ri, y}
	w.at(f, st)
}

// subnetV4 is a subnet's IPv4 range as a source; one that does not parse
// is every address.
func subnetV4(s *inventory.Subnet) []netip.Prefix {
	if p, ok := parseFamily(s.CIDRBlock, false); ok {
		return []netip.Prefix{p}
	}
	return []netip.Prefix{everything(false)}
}

// record is one account's record of a transit gateway attachment.
type record struct {
	account string
	a       *inventory.TransitGatewayAttachment
}

// records finds the records of an attachment in every account-region of
// the region, in inventory order: the VPC account's and the owner's.
func (w *walker) records(match func(*inventory.TransitGatewayAttachment) bool) []record {
	var out []record
	for _, ri := range w.e.regionsNamed(w.region) {
		// Several records (a VPC attached again beside its deleted
		// attachment): one that carries traffic, else one whose state is
		// not recognised, else the first.
		var best *inventory.TransitGatewayAttachment
		for _, a := range ri.atts {
			if match(a) && (best == nil || liveness(a.State) > liveness(best.State)) {
				best = a
			}
		}
		if best != nil {
			out = append(out, record{ri.reg.AccountID, best})
		}
	}
	return out
}

// liveness orders attachment states: 2 carries traffic, 0 does not, 1 is
// not recognised.
func liveness(state string) int {
	switch state {
	case "available", "pending", "modifying":
		return 2
	case "initiating", "initiatingRequest", "pendingAcceptance", "rollingBack", "rejected", "rejecting",
		"failing", "failed", "deleting", "deleted":
		return 0
	}
	return 1
}

// of returns an account's record, or nil.
func of(recs []record, account string) *inventory.TransitGatewayAttachment {
	for _, r := range recs {
		if r.account == account {
			return r.a
		}
	}
	return nil
}

// sight checks that an account's facts can be read: in scope and
// collected. It returns the account's index or ends the path.
func (w *walker) sight(st *state, account, what string) *regionIndex {
	if !w.e.inScope(account) {
		w.opaque(st, "transit", what+" in account "+account+" is out of scope (--network-accounts "+account+")")
		return nil
	}
	ri, p, why := w.e.region(account, w.region)
	if ri == nil {
		w.byPresence(st, p, what+": "+why)
	}
	return ri
}

func (w *walker) tgw(f flow, st state, tgwID string) {
	ri, vpc := st.at.ri, st.at.subnet.VPCID
	account := ri.reg.AccountID
	// 1. The attachment of the VPC to the transit gateway.
	recs := w.records(func(a *inventory.TransitGatewayAttachment) bool {
		return a.TransitGatewayID == tgwID && a.ResourceType == "vpc" && a.ResourceID == vpc
	})
	if len(recs) == 0 {
		if why := ri.failed(opsAtt, vpc, tgwID); why != "" {
			w.unknown(&st, "attachment of "+vpc+" to "+tgwID+": "+why)
			return
		}
		// Schema 1 never read attachments: only a schema 2 VPC read covers them.
		covered := ri.reg.Coverage != nil && ri.vpcs[vpc]
		for _, x := range w.e.regionsNamed(w.region) {
			covered = covered || x.tgws[tgwID]
		}
		if covered {
			w.dead(&st, vpc+" has no attachment to "+tgwID+": blackhole")
		} else {
			w.opaque(&st, "transit", "attachment of "+vpc+" to "+tgwID+" not collected")
		}
		return
	}
	owner := account
	for _, r := range recs {
		if r.a.TransitGatewayOwnerID != "" {
			owner = r.a.TransitGatewayOwnerID
			break
		}
	}
	primary := of(recs, owner)
	if primary == nil {
		primary = of(recs, account)
	}
	if primary == nil {
		primary = recs[0].a
	}
	switch primary.State {
	case "available", "pending", "modifying":
	case "initiating", "initiatingRequest", "pendingAcceptance", "rollingBack", "rejected", "rejecting",
		"failing", "failed", "deleting", "deleted":
		w.dead(&st, "attachment "+primary.ID+" is "+primary.State)
		return
	default:
		w.unknown(&st, fmt.Sprintf("attachment %s: state %q not recognised", primary.ID, primary.State))
		return
	}
	// 2. The source attachment subnet in the current zone.
	subnetIDs := primary.SubnetIDs
	if own := of(recs, account); own != nil && len(own.SubnetIDs) > 0 {
		subnetIDs = own.SubnetIDs
	}
	zone := st.at.subnet.AvailabilityZone
	var srcs []*inventory.Subnet
	var failedWhy, opaqueWhy string
	for _, id := range subnetIDs {
		s, p, why := lookup(ri, ri.subnets, opsSubnets, "attachment subnet", id, vpc)
		switch {
		case s != nil:
			if zone == "" || s.AvailabilityZone == "" || s.AvailabilityZone == zone {
				srcs = append(srcs, s)
			}
		case p == failedRead:
			failedWhy = why
		case p == notCollected:
			opaqueWhy = why
		}
	}
	if len(srcs) == 0 {
		switch {
		case failedWhy != "":
			w.unknown(&st, failedWhy)
		case opaqueWhy != "":
			w.opaque(&st, "transit", opaqueWhy)
		default:
			w.dead(&st, "attachment "+primary.ID+" has no subnet in "+zone)
		}
		return
	}
	// The traffic's own subnet, when it is an attachment subnet, is the
	// one it enters by: no boundary to cross.
	for _, src := range srcs {
		if src.ID == st.at.subnet.ID {
			srcs = []*inventory.Subnet{src}
			break
		}
	}
	if !w.leave(&st, f) {
		return
	}
	for _, src := range srcs {
		st := st
		if src.ID != st.at.subnet.ID && !w.enter(&st, f, ri, src) {
			continue
		}
		w.tgwRoute(f, st, tgwID, owner, primary, recs)
	}
}

// tgwRoute is steps 3 to 5 of the transit gateway hop.
func (w *walker) tgwRoute(f flow, st state, tgwID, owner string, primary *inventory.TransitGatewayAttachment, recs []record) {
	// 3. The owner's facts.
	ori := w.sight(&st, owner, "transit gateway "+tgwID)
	if ori == nil {
		return
	}
	if why := ori.failed(opsTGW, tgwID); why != "" {
		w.unknown(&st, "transit gateway "+tgwID+": "+why)
		return
	}
	if !ori.tgws[tgwID] {
		w.opaque(&st, "transit", "transit gateway "+tgwID+" not collected in "+owner)
		return
	}
	// 4. The association, the owner's record preferred.
	assoc := primary
	if rec := of(recs, owner); rec != nil {
		assoc = rec
	}
	// Only a finished disassociation stops the routing (path-model step 4).
	if assoc.AssociationState == "disassociated" {
		assoc = nil
	}
	if assoc == nil || assoc.RouteTableID == "" {
		w.dead(&st, "attachment "+primary.ID+" has no route table association")
		return
	}
	if why := ori.failed(opsTGWTables, assoc.RouteTableID); why != "" {
		w.unknown(&st, "transit gateway route table "+assoc.RouteTableID+": "+why)
		return
	}
	t := ori.tgwTables[assoc.RouteTableID]
	switch {
	case t == nil:
		w.unknown(&st, "transit gateway route table "+assoc.RouteTableID+" not in the inventory of "+owner)
		return
	case t.truncated:
		w.unknown(&st, "transit gateway route table "+t.id+" was read truncated")
		return
	case t.bad != "":
		w.unknown(&st, t.bad)
		return
	}
	// 5. Longest prefix, then each target attachment.
	win, why := t.lookup(f.dst)
	if why != "" {
		w.unknown(&st, why)
		return
	}
	if len(win) == 0 {
		w.dead(&st, "no route in "+t.id)
		return
	}
	for _, r := range win {
		if r.blackhole {
			w.dead(&st, r.desc+": blackhole")
			continue
		}
		for _, a := range r.atts {
			w.tgwTarget(f, st, ori, r, a)
		}
	}
}

func (w *walker) tgwTarget(f flow, st state, ori *regionIndex, r *tgwRoute, a inventory.TransitGatewayRouteAttachment) {
	recs := w.records(func(x *inventory.TransitGatewayAttachment) bool { return x.ID == a.ID })
	rec := of(recs, ori.reg.AccountID)
	if rec == nil && len(recs) > 0 {
		rec = recs[0].a
	}
	if rec == nil {
		// The owner read the gateway's attachments whole.
		w.dead(&st, r.desc+": attachment "+a.ID+" does not exist")
		return
	}
	rtype := rec.ResourceType
	if a.ResourceType != "" && a.ResourceType != rtype {
		w.unknown(&st, fmt.Sprintf("%s: attachment %s is %q in the route but %q in its record", r.desc, a.ID, a.ResourceType, rtype))
		return
	}
	switch rtype {
	case "vpc":
	case "vpn", "vpn-concentrator", "direct-connect-gateway", "connect", "peering", "tgw-peering", "network-function", "client-vpn":
		w.opaque(&st, "transit", r.desc+" to "+rtype+" attachment "+a.ID)
		return
	default:
		w.unknown(&st, fmt.Sprintf("%s: attachment %s resource type %q not recognised", r.desc, a.ID, rtype))
		return
	}
	if rec == nil {
		w.dead(&st, r.desc+": attachment "+a.ID+" does not exist")
		return
	}
	vpc := a.ResourceID
	if vpc == "" {
		vpc = rec.ResourceID
	}
	vpcOwner := rec.ResourceOwnerID
	if vpcOwner == "" {
		vpcOwner = ori.reg.AccountID
	}
	bri := w.sight(&st, vpcOwner, "VPC "+vpc)
	if bri == nil {
		return
	}
	if !bri.vpcs[vpc] {
		if why := bri.failed(opsVPC, vpc); why != "" {
			w.unknown(&st, "VPC "+vpc+": "+why)
		} else {
			w.opaque(&st, "transit", "VPC "+vpc+" not collected in "+vpcOwner)
		}
		return
	}
	subnetIDs := rec.SubnetIDs
	if own := of(recs, vpcOwner); own != nil && len(own.SubnetIDs) > 0 {
		subnetIDs = own.SubnetIDs
	}
	// Zone names are per account: in another account's VPC, none matches.
	zone := st.at.subnet.AvailabilityZone
	if bri != st.at.ri && bri.reg.AccountID != st.at.ri.reg.AccountID {
		zone = ""
	}
	var all, inZone []*inventory.Subnet
	type missing struct {
		p   presence
		why string
	}
	var unfound []missing
	for _, id := range subnetIDs {
		z, p, why := lookup(bri, bri.subnets, opsSubnets, "attachment subnet", id, vpc)
		switch {
		case z == nil && p != absentCovered:
			unfound = append(unfound, missing{p, why})
		case z != nil:
			all = append(all, z)
			if zone != "" && z.AvailabilityZone == zone {
				inZone = append(inZone, z)
			}
		}
	}
	if len(inZone) == 0 {
		// No subnet in the zone: each of them, the most exposed counts,
		// and each one that cannot be read ends its own path.
		for _, m := range unfound {
			w.byPresence(&st, m.p, m.why)
		}
		inZone = all
		if len(all) == 0 && len(unfound) == 0 {
			w.dead(&st, "attachment "+a.ID+" has no subnet")
			return
		}
	}
	for _, z := range inZone {
		st := st
		st.at = position{bri, z}
		st.mapped = f.dst.Is6()
		if !w.leave(&st, f) {
			continue
		}
		w.at(f, st)
	}
}

// describe renders an end for a verdict's notes.
func (x end) describe(f flow) string {
	var b strings.Builder
	switch x.kind {
	case endExit:
		b.WriteString("exit " + x.path)
	case endOpaque:
		b.WriteString("opaque " + x.path)
	case endUnknown:
		b.WriteString("unknown")
	default:
		b.WriteString("dead end")
	}
	fmt.Fprintf(&b, " (%s): %s", f, x.why)
	return b.String()
}

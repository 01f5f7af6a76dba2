package netpath

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// tgwTable is a transit gateway route table compiled for both families.
type tgwTable struct {
	unknowns []Unknown
	pieces   [2][]tgwPiece
	noRoute  [2]ipSet
}

type tgwPiece struct {
	route   string
	won     ipSet
	r       *inventory.TransitGatewayRoute
	unknown *Unknown
}

var tgwAttachmentOpaque = map[string]string{
	"vpn":                    "VPN",
	"vpn-concentrator":       "VPN concentrator",
	"direct-connect-gateway": "Direct Connect gateway",
	"connect":                "Connect",
	"peering":                "peering",
	"tgw-peering":            "transit gateway peering",
	"network-function":       "network function",
	"client-vpn":             "Client VPN",
}

func (f *facts) tgwTable(rt *inventory.TransitGatewayRouteTable) *tgwTable {
	if f.tgwCompiled == nil {
		f.tgwCompiled = map[string]*tgwTable{}
	}
	if t, ok := f.tgwCompiled[rt.ID]; ok {
		return t
	}
	t := &tgwTable{}
	if rt.Truncated {
		t.unknowns = append(t.unknowns, Unknown{Fact: "transit gateway route table " + rt.ID, Resource: rt.ID,
			Why: "SearchTransitGatewayRoutes returned only part of its routes"})
	}
	var ents [2][]entry
	dests := make([]string, len(rt.Routes))
	for i := range rt.Routes {
		r := &rt.Routes[i]
		rank := 0
		switch r.Type {
		case "static":
		case "propagated":
			rank = 2
		default:
			t.unknowns = append(t.unknowns, Unknown{Fact: fmt.Sprintf("transit gateway route table %s route %d type", rt.ID, i+1), Resource: rt.ID, Why: fmt.Sprintf("type %q is not recognised", r.Type)})
			continue
		}
		switch {
		case (r.DestinationCIDR == "") == (r.PrefixListID == ""):
			t.unknowns = append(t.unknowns, Unknown{Fact: fmt.Sprintf("transit gateway route table %s route %d destination", rt.ID, i+1), Resource: rt.ID, Why: "a route needs exactly one destination"})
		case r.DestinationCIDR != "":
			dests[i] = r.DestinationCIDR
			p, ok := parsePrefix(r.DestinationCIDR)
			if !ok {
				t.unknowns = append(t.unknowns, Unknown{Fact: fmt.Sprintf("transit gateway route table %s destination %q", rt.ID, r.DestinationCIDR), Resource: rt.ID, Why: "not a valid CIDR"})
				continue
			}
			ents[familyOf(p)] = append(ents[familyOf(p)], entry{route: i, bits: p.Bits(), span: prefixSpan(p), rank: rank})
		default:
			dests[i] = r.PrefixListID
			pl, u := f.prefixList(r.PrefixListID)
			if u != nil {
				t.unknowns = append(t.unknowns, *u)
				continue
			}
			if pl.AWSManaged() {
				continue // AWS service ranges: not counted, takes no address
			}
			t.unknowns = append(t.unknowns, listEntries(pl, i, rank+1, &ents)...)
		}
	}
	for fam := fam4; fam <= fam6; fam++ {
		var won []ipSet
		won, t.noRoute[fam] = compete(ents[fam], len(rt.Routes), fam)
		for i := range rt.Routes {
			set := won[i]
			if set.empty() {
				continue
			}
			r := &rt.Routes[i]
			p := tgwPiece{won: set, r: r}
			var targets []string
			for _, a := range r.Attachments {
				targets = append(targets, a.ID)
			}
			p.route = fmt.Sprintf("%s -> %s (%s, %s)", dests[i], firstNonEmpty(strings.Join(targets, ","), "-"), firstNonEmpty(r.Type, "static"), r.State)
			switch r.State {
			case "active", "blackhole":
			default:
				p.unknown = &Unknown{Fact: "transit gateway route " + p.route, Resource: rt.ID, Why: fmt.Sprintf("state %q is not recognised", r.State)}
			}
			if r.State == "active" && len(r.Attachments) == 0 {
				p.unknown = &Unknown{Fact: "transit gateway route " + dests[i] + " in " + rt.ID, Resource: rt.ID, Why: "active, but names no attachment"}
			}
			t.pieces[fam] = append(t.pieces[fam], p)
		}
	}
	f.tgwCompiled[rt.ID] = t
	return t
}

// A transit gateway attachment's state: it carries traffic, it does not,
// or the state is not recognised.
const (
	rankDead = iota
	rankUnknown
	rankCarries
)

func attachmentRank(state string) int {
	switch state {
	case "available", "pending", "modifying":
		return rankCarries
	case "initiating", "initiatingRequest", "pendingAcceptance", "rollingBack", "rejected", "rejecting",
		"failing", "failed", "deleting", "deleted":
		return rankDead
	}
	return rankUnknown
}

// attachmentOf finds the attachment of a VPC to a transit gateway, in the
// VPC's account or in any account of the region that read the gateway.
func (r *Resolver) attachmentOf(f *facts, tgw, vpc string) *inventory.TransitGatewayAttachment {
	if a := f.tgwAttVPC[[2]string{tgw, vpc}]; a != nil {
		return a
	}
	for k := range r.regions {
		if k.region != f.reg.Region || k.account == f.reg.AccountID {
			continue
		}
		if of := r.facts(k.account, k.region); of.covTGW[tgw] {
			if a := of.tgwAttVPC[[2]string{tgw, vpc}]; a != nil {
				return a
			}
		}
	}
	return nil
}

// tgwCovered reports whether some account of the region read a transit
// gateway's attachments whole (its owner).
func (r *Resolver) tgwCovered(region, tgw string) bool {
	for k := range r.regions {
		if k.region == region {
			if f := r.facts(k.account, k.region); f.covTGW[tgw] {
				return true
			}
		}
	}
	return false
}

// sight checks that an account's region can be read: in scope, reached,
// not failed. It returns the facts, or the term that ends the path.
func (r *Resolver) sight(st state, account, what string) (*facts, *term) {
	fam := st.fam
	if !r.inScope[account] {
		t := term{mask: everything(fam), kind: outOpaque, path: PathTransit,
			reason: fmt.Sprintf("%s is in account %s, which this scan does not read (add --network-accounts %s to follow it)", what, account, account)}
		return nil, &t
	}
	f := r.facts(account, st.f.reg.Region)
	if f != nil {
		return f, nil
	}
	if why, ok := r.accountErr[account]; ok {
		t := unknownTerm(fam, Unknown{Fact: what, Resource: account, Why: "account " + account + " could not be read: " + why})
		return nil, &t
	}
	if why, ok := r.regionErr[regionKey{account, st.f.reg.Region}]; ok {
		t := unknownTerm(fam, Unknown{Fact: what, Resource: account,
			Why: "account " + account + " could not be read in " + st.f.reg.Region + ": " + why})
		return nil, &t
	}
	t := term{mask: everything(fam), kind: outOpaque, path: PathTransit,
		reason: fmt.Sprintf("%s: account %s region %s was not collected", what, account, st.f.reg.Region)}
	return nil, &t
}

var tgwOps = []string{awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments, awsop.DescribeTransitGatewayRouteTables}

func (r *Resolver) transitGateway(st state, p *piece) ([]term, int) {
	f, fam := st.f, st.fam
	noLoop := maxHops + 1
	tgw := p.target
	att := r.attachmentOf(f, tgw, st.vpc)
	if att == nil {
		switch why, failed := f.vpcFailure(st.vpc, tgw, awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments); {
		case failed:
			return []term{unknownTerm(fam, Unknown{Fact: "attachment of " + st.vpc + " to " + tgw, Resource: tgw, Why: why})}, noLoop
		case !r.tgwCovered(f.reg.Region, tgw) && (r.schema1 || f.reg.Coverage == nil || !f.covVPC[st.vpc]):
			return []term{{mask: everything(fam), kind: outOpaque, path: PathTransit, hops: []Hop{st.hop("transit-gateway", tgw, "not collected")},
				reason: "transit gateway " + tgw + ": not collected (the inventory predates transit gateway collection; scan again with this version)"}}, noLoop
		}
		return []term{dead(fam, st.vpc+" has no attachment to "+tgw+": its routes are blackholes", st.hop("transit-gateway", tgw, "no attachment"))}, noLoop
	}
	ah := st.hop("transit-gateway-attachment", att.ID, fmt.Sprintf("%s to %s", st.vpc, tgw))
	// The owner's record of the attachment, when read, says its state.
	owner := firstNonEmpty(att.TransitGatewayOwnerID, f.reg.AccountID)
	state := att.State
	if of := r.facts(owner, f.reg.Region); of != nil && of.tgwAtts[att.ID] != nil {
		state = of.tgwAtts[att.ID].State
	}
	switch attachmentRank(state) {
	case rankCarries:
	case rankDead:
		return []term{dead(fam, "attachment "+att.ID+" is "+state, ah)}, noLoop
	default:
		return []term{unknownTerm(fam, Unknown{Fact: "transit gateway attachment " + att.ID, Resource: att.ID,
			Why: fmt.Sprintf("state %q is not recognised", state)}, ah)}, noLoop
	}
	// Traffic enters the transit gateway only through an attachment
	// subnet in the zone it comes from.
	zone := ""
	if sub := f.subnets[st.subnet]; sub != nil {
		zone = sub.AvailabilityZone
	}
	var entries []string // the attachment's subnets in the zone
	zonesKnown := zone != ""
	for _, s := range att.SubnetIDs {
		if f.readFailed(st.vpc, s, awsop.DescribeSubnets) {
			return []term{unknownTerm(fam, f.missing("attachment subnet", s, st.vpc, awsop.DescribeSubnets), ah)}, noLoop
		}
		sub := f.subnets[s]
		switch {
		case sub == nil || sub.AvailabilityZone == "":
			zonesKnown = false
		case sub.AvailabilityZone == zone:
			entries = append(entries, s)
		}
	}
	if zonesKnown && len(entries) == 0 && len(att.SubnetIDs) > 0 {
		return []term{dead(fam, "attachment "+att.ID+" has no subnet in "+zone+": the transit gateway drops this zone's traffic", ah)}, noLoop
	}
	fs, u := st.leaveFilter()
	if u != nil {
		return []term{unknownTerm(fam, *u)}, noLoop
	}
	pre := []Hop{ah}
	if len(entries) > 0 && !slices.Contains(entries, st.subnet) {
		// Entering the attachment subnet from another subnet: its ACL
		// must admit the source. AWS has one subnet per zone; should the
		// inventory name several, any of them may carry the traffic.
		var e filter
		for i, entry := range entries {
			ef, u := st.enterFilter(f, entry, st.vpc)
			if u != nil {
				return []term{unknownTerm(fam, *u)}, noLoop
			}
			if i > 0 {
				ef.mask = ef.mask.union(e.mask)
			}
			e = ef
			pre = append(pre, st.hop("subnet", entry, "attachment subnet; network ACL "+ef.hop.ResourceID+" applies"))
		}
		fs = append(fs, e)
	}
	of, end := r.sight(st, owner, "transit gateway "+tgw)
	if end != nil {
		return prefix(through(fam, []term{*end}, fs...), nil, pre...), noLoop
	}
	if why, failed := of.failure(tgw, tgwOps...); failed {
		return []term{unknownTerm(fam, Unknown{Fact: "transit gateway " + tgw, Resource: tgw, Why: why}, ah)}, noLoop
	}
	if !of.covTGW[tgw] {
		t := term{mask: everything(fam), kind: outOpaque, path: PathTransit,
			reason: "transit gateway " + tgw + " (account " + owner + "): its route tables were not collected"}
		return prefix(through(fam, []term{t}, fs...), nil, pre...), noLoop
	}
	assoc := att
	if oa := of.tgwAtts[att.ID]; oa != nil {
		assoc = oa
	}
	rtID := assoc.RouteTableID
	if assoc.AssociationState == "disassociated" {
		rtID = ""
	}
	if rtID == "" {
		return []term{dead(fam, "attachment "+att.ID+" is not associated with a route table", ah)}, noLoop
	}
	// A table kept despite a failed search of its routes may hold some.
	rt := of.tgwTables[rtID]
	if why, failed := of.failure(rtID, awsop.SearchTransitGatewayRoutes); failed || rt == nil {
		if !failed {
			why = "not found in the inventory"
		}
		return []term{unknownTerm(fam, Unknown{Fact: "transit gateway route table " + rtID, Resource: rtID, Why: why}, ah)}, noLoop
	}
	ct := of.tgwTable(rt)
	if len(ct.unknowns) > 0 {
		return []term{unknownTerm(fam, ct.unknowns[0], ah)}, noLoop
	}
	ost := st
	ost.f = of
	var out []term
	low := noLoop
	for i := range ct.pieces[fam] {
		tp := &ct.pieces[fam][i]
		m := allFlows(tp.won)
		rh := ost.hop("transit-gateway-route-table", rtID, tp.route)
		var sub []term
		switch {
		case tp.unknown != nil:
			sub = []term{unknownTerm(fam, *tp.unknown)}
		case tp.r.State == "blackhole":
			sub = []term{dead(fam, "blackhole route in "+rtID)}
		default:
			for _, ra := range tp.r.Attachments {
				s, l := r.intoAttachment(ost, f.reg.AccountID, zone, ra)
				low = min(low, l)
				sub = append(sub, s...)
			}
		}
		out = append(out, prefix(sub, &m, rh)...)
	}
	if nr := ct.noRoute[fam]; !nr.empty() {
		m := allFlows(nr)
		out = append(out, term{mask: m, kind: outDead, reason: "no route in " + rtID,
			hops: []Hop{ost.hop("transit-gateway-route-table", rtID, "no route")}})
	}
	return prefix(through(fam, out, fs...), nil, pre...), low
}

// intoAttachment follows a transit gateway route to one attachment, from
// a subnet in zone, a zone name of account zoneAccount.
func (r *Resolver) intoAttachment(ost state, zoneAccount, zone string, ra inventory.TransitGatewayRouteAttachment) ([]term, int) {
	of, fam := ost.f, ost.fam
	noLoop := maxHops + 1
	a := of.tgwAtts[ra.ID]
	h := ost.hop("transit-gateway-attachment", ra.ID, ra.ResourceType+" "+ra.ResourceID)
	if a == nil {
		// The owner's read of this gateway's attachments was whole: the
		// route names one that no longer exists.
		h.Decision = "no longer exists"
		return []term{dead(fam, "transit gateway attachment "+ra.ID+" no longer exists: the route is a blackhole", h)}, noLoop
	}
	typ, res := a.ResourceType, firstNonEmpty(a.ResourceID, ra.ResourceID)
	h.Decision = typ + " " + res
	if ra.ResourceType != "" && ra.ResourceType != typ {
		return []term{unknownTerm(fam, Unknown{Fact: "transit gateway attachment " + ra.ID, Resource: ra.ID,
			Why: fmt.Sprintf("the route says %q, the attachment %q", ra.ResourceType, typ)}, h)}, noLoop
	}
	if what, ok := tgwAttachmentOpaque[typ]; ok {
		return []term{{mask: everything(fam), kind: outOpaque, path: PathTransit, hops: []Hop{h},
			reason: "transit gateway attachment " + ra.ID + " (" + what + " " + res + "): the scanner cannot see past it"}}, noLoop
	}
	if typ != "vpc" {
		return []term{unknownTerm(fam, Unknown{Fact: "transit gateway attachment " + ra.ID, Resource: ra.ID, Why: fmt.Sprintf("resource type %q is not recognised", typ)}, h)}, noLoop
	}
	if len(a.SubnetIDs) == 0 {
		return []term{unknownTerm(fam, Unknown{Fact: "subnets of transit gateway attachment " + ra.ID, Resource: ra.ID, Why: "not found in the inventory"}, h)}, noLoop
	}
	vpc := res
	owner := firstNonEmpty(a.ResourceOwnerID, of.reg.AccountID)
	bf, end := r.sight(ost, owner, "VPC "+vpc)
	if end != nil {
		return prefix([]term{*end}, nil, h), noLoop
	}
	// Any read of the VPC's contents that failed leaves what lies past
	// its attachment unknown.
	vpcOps := []string{awsop.DescribeVpcs, awsop.DescribeSubnets, awsop.DescribeRouteTables, awsop.DescribeNatGateways,
		awsop.DescribeInternetGateways, awsop.DescribeEgressOnlyInternetGateways, awsop.DescribeNetworkAcls,
		awsop.DescribeVpcEndpoints, awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments}
	if why, failed := bf.failure(vpc, vpcOps...); failed {
		return []term{unknownTerm(fam, Unknown{Fact: "VPC " + vpc, Resource: vpc, Why: why}, h)}, noLoop
	}
	if !bf.covVPC[vpc] {
		return []term{{mask: everything(fam), kind: outOpaque, path: PathTransit, hops: []Hop{h},
			reason: "VPC " + vpc + " (account " + owner + "): not collected"}}, noLoop
	}
	// The attachment subnets in the traffic's zone, else each of them.
	// Zone names are an account's own: us-east-1a of one account may be
	// another zone in another, so there every subnet may carry it.
	if bf.reg.AccountID != zoneAccount {
		zone = ""
	}
	var subnets []string
	for _, s := range a.SubnetIDs {
		if sub := bf.subnets[s]; zone != "" && sub != nil && sub.AvailabilityZone == zone {
			subnets = append(subnets, s)
		}
	}
	if len(subnets) == 0 {
		subnets = slices.Clone(a.SubnetIDs)
	}
	var out []term
	low := noLoop
	for _, z := range subnets {
		acl, u := bf.aclFilter(z, vpc)
		if u != nil {
			out = append(out, unknownTerm(fam, *u, h))
			continue
		}
		zf := filter{mask: acl.leaving(fam), hop: Hop{Kind: "network-acl", ResourceID: acl.id, AccountID: owner, Region: bf.reg.Region, Decision: "denies the destination or its replies"},
			why: "network ACL " + acl.id + " of attachment subnet " + z + " does not let the traffic out or its replies back"}
		sh := Hop{Kind: "subnet", ResourceID: z, AccountID: owner, Region: bf.reg.Region, Decision: "attachment subnet; network ACL " + acl.id + " applies"}
		next := state{f: bf, subnet: z, vpc: vpc, fam: fam, mapped: fam == fam6, natted: ost.natted, leave: false,
			src: ost.src, srcKey: ost.srcKey, depth: ost.depth + 1}
		sub, l := r.at(next)
		low = min(low, l)
		zh := h
		zh.Decision = fmt.Sprintf("into %s (account %s) at %s", vpc, owner, z)
		out = append(out, prefix(through(fam, sub.terms, zf), nil, zh, sh)...)
	}
	return out, low
}

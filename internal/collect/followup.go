package collect

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// The follow-up phase. Once the pool has read every account-region's
// notebooks and their VPCs, the path analysis may still need what lies
// past them: public traffic a VPC routes to a transit gateway is forwarded
// by the gateway's route tables, in the account that owns it, often into
// an egress VPC of a network account. The follow-up reads exactly that, in
// rounds, until nothing new is needed (at most maxFollowUpRounds):
//
//   - a transit gateway a covered VPC routes public space to, in its owner's
//     account and the same region: its attachments, route tables and
//     routes (readTransitGateways), once per owner and region for every VPC
//     that leads there;
//   - a VPC a read transit gateway route table sends public space to, in
//     its owner's account: round 2 of a region (readVPCs), naming the VPC
//     in any failure.
//
// and the prefix lists the new routes reference. Only accounts in scope
// are read (those the scan selected, all shards included, and the network
// accounts), through the same role, one AssumeRole per account; the
// analysis reports a path into any other account as out of sight, naming
// it. The calls depend on the transit gateways, their route tables and
// the VPCs behind them, never on the number of notebooks.

// maxFollowUpRounds bounds the transit gateway -> VPC -> transit gateway
// chain followed. Real estates need one round (spoke -> hub -> egress VPC);
// a second covers an egress VPC that itself routes through a transit gateway.
const maxFollowUpRounds = 4

// followUp runs the follow-up phase over what the pool read and records
// the network accounts in the inventory.
func (r *run) followUp(ctx context.Context) {
	f := &follow{run: r, entries: map[acctRegion]*inventory.Region{}, attempted: map[target]bool{}}
	r.mu.Lock()
	scanned := map[string]bool{}
	for i := range r.inv.Regions {
		reg := r.inv.Regions[i]
		f.entries[acctRegion{reg.AccountID, reg.Region}] = &reg
		scanned[reg.AccountID] = true
	}
	r.mu.Unlock()
	for _, id := range r.scope {
		if !scanned[id] {
			r.inv.NetworkAccounts = append(r.inv.NetworkAccounts, id)
		}
	}

	// A cancelled scan reports what it has (and that it was interrupted);
	// reading more would only add Canceled errors.
	done := false
	for range maxFollowUpRounds {
		if ctx.Err() != nil {
			done = true
			break
		}
		tgws := f.tgwNeeds()
		f.readAll(ctx, tgws, f.readTGWs)
		vpcs := f.vpcNeeds()
		f.readAll(ctx, vpcs, f.readVPCs)
		if len(tgws) == 0 && len(vpcs) == 0 {
			done = true
			break
		}
	}
	// What paths still lead to is recorded as not read, so that the
	// analysis fails closed there instead of taking it for out of sight:
	// after an interruption (a saved inventory must not look complete),
	// or a chain longer than the rounds.
	why := ""
	switch {
	case ctx.Err() != nil:
		why = "the scan was interrupted before it was read"
	case !done:
		why = fmt.Sprintf("the scan stopped following paths after %d rounds", maxFollowUpRounds)
	}
	if why != "" {
		code := CodeNotRead
		if ctx.Err() != nil {
			code = CodeCanceled
		}
		f.notRead(f.tgwNeeds(), awsop.DescribeTransitGatewayRouteTables, "transit gateway", code, why)
		f.notRead(f.vpcNeeds(), awsop.DescribeVpcs, "VPC", code, why)
	}

	regions := make([]inventory.Region, 0, len(f.entries))
	for _, reg := range f.entries {
		regions = append(regions, *reg)
	}
	r.mu.Lock()
	r.inv.Regions = regions
	r.mu.Unlock()
}

// follow is the state of the follow-up phase. Between reads it is used by
// one goroutine; during a read each account-region's entry is written by
// the one goroutine reading it.
type follow struct {
	run     *run
	entries map[acctRegion]*inventory.Region
	// attempted are the reads made, successful or not: each transit
	// gateway and VPC is read at most once per account-region.
	attempted map[target]bool
}

// target is one transit gateway or VPC in one account-region.
type target struct {
	acctRegion
	id string
}

func (f *follow) inScope(account string) bool {
	_, ok := slices.BinarySearch(f.run.scope, account)
	return ok
}

// needed reports whether id should be read in k: in scope, neither covered
// there nor read before.
func (f *follow) needed(k acctRegion, id string, covered func(*inventory.Coverage) []string) bool {
	if !f.inScope(k.account) || f.attempted[target{k, id}] {
		return false
	}
	if e := f.entries[k]; e != nil && e.Coverage != nil && slices.Contains(covered(e.Coverage), id) {
		return false
	}
	return true
}

// tgwNeeds are the transit gateways to read, by owner account-region:
// those a route of a covered VPC's route table sends public space to, the
// owner taken from the VPC's attachment to the gateway (TransitGatewayOwnerID,
// else the VPC's account). A route to a gateway the VPC has no attachment
// to is a blackhole; nothing needs reading for it.
func (f *follow) tgwNeeds() map[acctRegion][]string {
	need := map[acctRegion][]string{}
	for k, e := range f.entries {
		if e.Coverage == nil {
			continue
		}
		for _, t := range e.RouteTables {
			if !slices.Contains(e.Coverage.VPCs, t.VPCID) {
				continue
			}
			for _, rt := range t.Routes {
				if rt.TransitGatewayID == "" || !activeRoute(rt.State) || !mayCarryPublic(rt.DestinationCIDR, rt.DestinationIPv6CIDR, rt.DestinationPrefixListID) {
					continue
				}
				att, ok := vpcAttachment(e.TransitGatewayAttachments, rt.TransitGatewayID, t.VPCID)
				if !ok {
					continue
				}
				owner := cmp.Or(att.TransitGatewayOwnerID, k.account)
				where := acctRegion{owner, k.region}
				if f.needed(where, rt.TransitGatewayID, func(c *inventory.Coverage) []string { return c.TransitGateways }) {
					need[where] = append(need[where], rt.TransitGatewayID)
				}
			}
		}
	}
	for k, ids := range need {
		need[k] = sortedSet(ids)
	}
	return need
}

// vpcNeeds are the VPCs to read, by owner account-region: those an active
// route of a read transit gateway route table sends public space to, each
// owned by the account its attachment (from the gateway owner's
// attachment list) names.
func (f *follow) vpcNeeds() map[acctRegion][]string {
	need := map[acctRegion][]string{}
	for k, e := range f.entries {
		for _, t := range e.TransitGatewayRouteTables {
			for _, rt := range t.Routes {
				if rt.State != "active" || !mayCarryPublic(rt.DestinationCIDR, "", rt.PrefixListID) {
					continue
				}
				for _, ra := range rt.Attachments {
					i := slices.IndexFunc(e.TransitGatewayAttachments, func(a inventory.TransitGatewayAttachment) bool { return a.ID == ra.ID })
					if i < 0 {
						continue
					}
					att := e.TransitGatewayAttachments[i]
					if att.ResourceType != "vpc" || att.ResourceID == "" {
						continue
					}
					owner := acctRegion{cmp.Or(att.ResourceOwnerID, k.account), k.region}
					if f.needed(owner, att.ResourceID, func(c *inventory.Coverage) []string { return c.VPCs }) {
						need[owner] = append(need[owner], att.ResourceID)
					}
				}
			}
		}
	}
	// A VPC another account owns and shares with the one read (AWS RAM):
	// its NAT gateways, gateways and attachments are read in the owner's.
	for k, e := range f.entries {
		for _, v := range e.VPCs {
			if v.OwnerID == "" || v.OwnerID == k.account {
				continue
			}
			owner := acctRegion{v.OwnerID, k.region}
			if f.needed(owner, v.ID, func(c *inventory.Coverage) []string { return c.VPCs }) {
				need[owner] = append(need[owner], v.ID)
			}
		}
	}
	for k, ids := range need {
		need[k] = sortedSet(ids)
	}
	return need
}

// readAll runs read for every account-region of need, the pool's number
// of account-regions at once, after obtaining each account's session once.
func (f *follow) readAll(ctx context.Context, need map[acctRegion][]string, read func(context.Context, acctRegion, EC2API, []string)) {
	if len(need) == 0 {
		return
	}
	keys := make([]acctRegion, 0, len(need))
	for k, ids := range need {
		keys = append(keys, k)
		for _, id := range ids {
			f.attempted[target{k, id}] = true
		}
	}
	slices.SortFunc(keys, func(a, b acctRegion) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.region, b.region))
	})
	workers := f.run.opts.RegionConcurrency
	if workers <= 0 {
		workers = DefaultRegionConcurrency
	}

	// One session per account, obtained before its regions are read so
	// that two regions of one account never assume the role twice.
	sources := map[string]accountSource{}
	var accounts []string
	for _, k := range keys {
		if _, ok := sources[k.account]; !ok {
			sources[k.account] = nil
			accounts = append(accounts, k.account)
		}
	}
	found := make([]accountSource, len(accounts))
	var g errgroup.Group
	g.SetLimit(workers)
	for i, id := range accounts {
		g.Go(func() error {
			found[i], _ = f.run.session(ctx, id) // a denial is recorded
			return nil
		})
	}
	_ = g.Wait()
	for i, id := range accounts {
		sources[id] = found[i]
	}

	// Entries are created before the reads start, so that no read adds to
	// the map while another looks in it.
	type job struct {
		k  acctRegion
		ec EC2API
	}
	var jobs []job
	for _, k := range keys {
		src := sources[k.account]
		if src == nil {
			continue // the account could not be read: recorded in setup or session
		}
		jobs = append(jobs, job{k, f.client(k, src)})
		f.entry(k)
	}
	g = errgroup.Group{}
	g.SetLimit(workers)
	for _, j := range jobs {
		g.Go(func() error {
			read(ctx, j.k, j.ec, need[j.k])
			return nil
		})
	}
	_ = g.Wait()
}

// notRead records each needed object as not read, in its account-region's
// entry, with code and why.
func (f *follow) notRead(need map[acctRegion][]string, op, what, code, why string) {
	for k, ids := range need {
		e := f.entry(k)
		for _, id := range ids {
			e.Errors = mergeErrors(e.Errors, []inventory.CollectError{{
				AccountID: k.account, Region: k.region, Operation: op, Resource: id, Code: code,
				Message: fmt.Sprintf("%s %s is on a path, but %s", what, id, why),
			}})
		}
	}
}

// entry is k's entry, made network-only when the scan has none.
func (f *follow) entry(k acctRegion) *inventory.Region {
	if f.entries[k] == nil {
		f.entries[k] = &inventory.Region{
			AccountID: k.account, Region: k.region, NetworkOnly: true,
			Notebooks: []inventory.Notebook{}, Coverage: &inventory.Coverage{VPCs: []string{}},
		}
	}
	return f.entries[k]
}

// client is the EC2 client of an account-region: the pool's, when it read
// the region, else a new one.
func (f *follow) client(k acctRegion, src accountSource) EC2API {
	f.run.mu.Lock()
	defer f.run.mu.Unlock()
	if ec, ok := f.run.clients[k]; ok {
		return ec
	}
	_, ec := src.region(k.region)
	f.run.clients[k] = ec
	return ec
}

func (f *follow) options() Options { return Options{Concurrency: f.run.opts.Concurrency} }

// readTGWs reads transit gateways in their owner's account-region and
// merges them into its entry; the owner's record of an attachment wins.
func (f *follow) readTGWs(ctx context.Context, k acctRegion, ec EC2API, ids []string) {
	e := f.entries[k]
	rec := &recorder{account: k.account, region: k.region}
	got := readTransitGateways(ctx, ec, rec, ids, f.options())
	mergeFacts(e, &got.facts, true)
	if got.covered {
		e.Coverage.TransitGateways = sortedSet(e.Coverage.TransitGateways, ids)
	}
	f.readPrefixLists(ctx, e, ec, rec)
	e.Errors = mergeErrors(e.Errors, rec.list())
}

// readVPCs reads VPCs a transit gateway leads into, in their owner's
// account-region, and merges them into its entry; a failure names each
// VPC, never the whole region.
func (f *follow) readVPCs(ctx context.Context, k acctRegion, ec EC2API, ids []string) {
	e := f.entries[k]
	rec := &recorder{account: k.account, region: k.region}
	part := readVPCs(ctx, ec, failer{rec: rec, each: true}, ids, f.options())
	mergeFacts(e, &part, false)
	e.Coverage.VPCs = sortedSet(e.Coverage.VPCs, ids)
	f.readPrefixLists(ctx, e, ec, rec)
	e.Errors = mergeErrors(e.Errors, rec.list())
}

// readPrefixLists reads the prefix lists e's facts reference and e lacks,
// naming each list in any failure.
func (f *follow) readPrefixLists(ctx context.Context, e *inventory.Region, ec EC2API, rec *recorder) {
	if ids := prefixListRefs(e); len(ids) > 0 {
		lists := readPrefixLists(ctx, ec, failer{rec: rec, each: true}, ids, f.options())
		mergeFacts(e, &inventory.Region{PrefixLists: lists}, false)
	}
}

// mergeErrors appends add to errs, in the recorder's order.
func mergeErrors(errs, add []inventory.CollectError) []inventory.CollectError {
	if len(add) == 0 {
		return errs
	}
	out := append(slices.Clip(errs), add...)
	slices.SortStableFunc(out, func(a, b inventory.CollectError) int {
		return cmp.Or(strings.Compare(a.Operation, b.Operation), strings.Compare(a.Resource, b.Resource))
	})
	return out
}

// vpcAttachment finds vpcID's attachment to tgwID among atts, preferring
// one that is not being deleted.
func vpcAttachment(atts []inventory.TransitGatewayAttachment, tgwID, vpcID string) (inventory.TransitGatewayAttachment, bool) {
	var found *inventory.TransitGatewayAttachment
	for i, a := range atts {
		if a.TransitGatewayID != tgwID || a.ResourceType != "vpc" || a.ResourceID != vpcID {
			continue
		}
		if found == nil || (gone(found.State) && !gone(a.State)) {
			found = &atts[i]
		}
	}
	if found == nil {
		return inventory.TransitGatewayAttachment{}, false
	}
	return *found, true
}

func gone(state string) bool {
	switch state {
	case "deleting", "deleted", "failed", "failing", "rejected", "rejecting":
		return true
	}
	return false
}

// activeRoute is a VPC route state that routes (empty is read as active).
func activeRoute(state string) bool { return state == "" || state == "active" }

// privateSpace is the address space a route can send without carrying any
// public destination.
var privateSpace = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"),
}

// mayCarryPublic reports whether a route destination may hold public
// addresses: a prefix list (whatever it holds), or a CIDR not entirely
// inside private space. An unparsable CIDR may hold anything.
func mayCarryPublic(cidr, ipv6CIDR, prefixList string) bool {
	if prefixList != "" {
		return true
	}
	dest := cmp.Or(cidr, ipv6CIDR)
	if dest == "" {
		return false
	}
	p, err := netip.ParsePrefix(dest)
	if err != nil {
		return true
	}
	p = p.Masked()
	for _, q := range privateSpace {
		if q.Bits() <= p.Bits() && q.Contains(p.Addr()) {
			return false
		}
	}
	return true
}

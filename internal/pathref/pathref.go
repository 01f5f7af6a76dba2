// Package pathref is a deliberately simple, slow reference implementation
// of the path model (docs/path-model.md), for tests only: the product
// never uses it. It shares no code with netpath or control, so that a
// property test can hold the two against each other.
//
// It is brute force on purpose. Every CIDR in the inventory cuts each
// address family into elementary intervals inside which every address
// behaves the same; every port range cuts 0-65535 into segments. Evaluate
// takes one address per interval, one port per segment and every
// protocol the inventory names (plus one it does not), and walks each
// such flow on its own through the spec's hops: linear scans for the
// longest prefix, network ACL entries one by one, security-group rules
// one by one. A fact that does not parse is unknown; the walk reasons in
// three values (allowed, denied, maybe) so that an unknown fact counts
// only where it could change where a flow ends.
//
// The package also holds Generate, the random inventory generator the
// property tests and fuzz targets share.
package pathref

import (
	"fmt"
	"math/big"
	"net/netip"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/inventory"
)

// Options set the open threshold: reachable public space is open when it
// holds more than 2^(32-OpenV4Bits) IPv4 or 2^(128-OpenV6Bits) IPv6
// addresses. Zero means the defaults, 8 and 32 (one /8, one /32).
type Options struct {
	OpenV4Bits, OpenV6Bits int
}

// Key names a notebook.
type Key struct {
	Account, Region, Notebook string
}

// Verdict is the reference's answer for one notebook.
type Verdict struct {
	// Applicable is false for a notebook whose path is not evaluated: its
	// DirectInternetAccess is not "Disabled", or it has no subnet.
	Applicable bool
	// Unknown is true when the walk consulted a fact it could not
	// determine (Why says which).
	Unknown bool
	Why     []string
	// ReachV4 and ReachV6 count the public addresses some allowed flow
	// reaches through an exit.
	ReachV4, ReachV6 *big.Int
	// Open is true when either count is over the threshold.
	Open bool
	// Opaque is true when some allowed flow ends where sight ends: an
	// appliance, a transit end, an account out of scope, a fact not
	// collected, NAT64.
	Opaque bool
	// Paths are the exit kinds ("igw", "ipv6", "nat") and opaque kinds
	// ("appliance", "transit") some allowed flow reaches, sorted.
	Paths []string
	// Ends describe a sample of how allowed flows end, for reports.
	Ends []string
}

// maxNotes bounds Why and Ends.
const maxNotes = 12

// Evaluate returns a verdict for every notebook of the inventory.
func Evaluate(inv *inventory.Inventory, opts Options) map[Key]Verdict {
	if opts.OpenV4Bits == 0 {
		opts.OpenV4Bits = 8
	}
	if opts.OpenV6Bits == 0 {
		opts.OpenV6Bits = 32
	}
	e := newEstate(inv)
	flows := newFlowSpace(e)
	out := map[Key]Verdict{}
	for i := range inv.Regions {
		reg := &inv.Regions[i]
		ri := e.regions[[2]string{reg.AccountID, reg.Region}]
		if ri == nil || ri.reg != reg {
			continue // a duplicate account-region: Validate refuses those
		}
		for j := range reg.Notebooks {
			nb := &reg.Notebooks[j]
			out[Key{reg.AccountID, reg.Region, nb.Name}] = evaluate(e, ri, flows, nb, opts)
		}
	}
	return out
}

// flowSpace is every flow worth trying: per family, the intervals that
// the walk carries (public or NAT64); the protocols; the port segments.
type flowSpace struct {
	v4, v6    []interval
	protocols []int
	ports     []segment
}

func newFlowSpace(e *estate) *flowSpace {
	b4, b6 := newBoundaries(false), newBoundaries(true)
	add := func(p netip.Prefix) { b4.add(p); b6.add(p) }
	for _, p := range specialV4 {
		add(p)
	}
	add(globalV6)
	add(docV6)
	add(nat64)
	protos := map[int]bool{protoTCP: true, protoUDP: true}
	var cuts []int
	portRange := func(from, to int) {
		if from >= 0 && from <= to && to <= 65535 {
			cuts = append(cuts, from, to+1)
		}
	}
	for _, ri := range e.regions {
		for _, g := range ri.groups {
			for _, r := range g.egress {
				for _, d := range r.dests {
					if d.unknown == "" {
						add(d.p)
					}
				}
				if r.protoBad == "" && r.proto >= 0 {
					protos[r.proto] = true
				}
				if hasPorts(r.proto) && r.portsBad == "" {
					portRange(r.from, r.to)
				}
			}
		}
		for _, a := range ri.acls {
			for _, list := range [][]aclEntry{a.out, a.in} {
				for _, x := range list {
					if !x.cidrBad {
						add(x.p)
					}
					if !x.protoBad && x.proto >= 0 {
						protos[x.proto] = true
					}
					if x.hasPorts && !x.portsBad {
						portRange(x.from, x.to)
					}
				}
			}
		}
		for _, t := range ri.tables {
			for _, r := range t.entries {
				add(r.p)
			}
		}
		for _, t := range ri.tgwTables {
			for _, r := range t.routes {
				add(r.p)
			}
		}
	}
	fs := &flowSpace{ports: portSegments(cuts)}
	for _, iv := range b4.intervals() {
		if carried(iv.lo) {
			fs.v4 = append(fs.v4, iv)
		}
	}
	for _, iv := range b6.intervals() {
		if carried(iv.lo) {
			fs.v6 = append(fs.v6, iv)
		}
	}
	for p := range protos {
		fs.protocols = append(fs.protocols, p)
	}
	// One protocol no rule names stands for all the others.
	for p := 255; p >= 0; p-- {
		if !protos[p] {
			fs.protocols = append(fs.protocols, p)
			break
		}
	}
	slices.Sort(fs.protocols)
	return fs
}

// notes is a small, deduplicated, bounded set of strings.
type notes map[string]bool

func (n notes) add(s string) {
	if len(n) < maxNotes {
		n[s] = true
	}
}

func (n notes) sorted() []string {
	if len(n) == 0 {
		return nil
	}
	out := make([]string, 0, len(n))
	for s := range n {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func unknownVerdict(why string) Verdict {
	return Verdict{Applicable: true, Unknown: true, Why: []string{why}, ReachV4: new(big.Int), ReachV6: new(big.Int)}
}

// evaluate walks one notebook's flows.
func evaluate(e *estate, ri *regionIndex, fs *flowSpace, nb *inventory.Notebook, opts Options) Verdict {
	if nb.Error != nil {
		return unknownVerdict("notebook " + nb.Name + ": " + nb.Error.Operation + " failed: " + nb.Error.Message)
	}
	if nb.DirectInternetAccess != inventory.DirectInternetAccessDisabled || nb.SubnetID == "" {
		return Verdict{ReachV4: new(big.Int), ReachV6: new(big.Int)}
	}
	// Where the walk starts: the notebook's own facts must all be known.
	if why := ri.failed(opsSubnets, nb.SubnetID); why != "" {
		return unknownVerdict("subnet " + nb.SubnetID + ": " + why)
	}
	x0 := ri.subnets[nb.SubnetID]
	if x0 == nil {
		return unknownVerdict("subnet " + nb.SubnetID + " not in the inventory")
	}
	var eni *inventory.NetworkInterface
	if id := nb.NetworkInterfaceID; id != "" {
		if why := ri.failed(opsENI, id); why != "" {
			return unknownVerdict("network interface " + id + ": " + why)
		}
		if eni = ri.enis[id]; eni == nil {
			return unknownVerdict("network interface " + id + " not in the inventory")
		}
	}
	groupIDs := nb.SecurityGroupIDs
	if eni != nil && len(eni.SecurityGroupIDs) > 0 {
		groupIDs = eni.SecurityGroupIDs
	}
	if len(groupIDs) == 0 {
		return unknownVerdict("no security groups recorded on the notebook or its interface")
	}
	var groups []*securityGroup
	for _, id := range groupIDs {
		if why := ri.failed(opsSG, id); why != "" {
			return unknownVerdict("security group " + id + ": " + why)
		}
		g := ri.groups[id]
		if g == nil {
			return unknownVerdict("security group " + id + " not in the inventory")
		}
		groups = append(groups, g)
	}

	v := Verdict{Applicable: true, ReachV4: new(big.Int), ReachV6: new(big.Int)}
	why, ends, paths := notes{}, notes{}, map[string]bool{}
	w := &walker{e: e, region: ri.reg.Region}
	start := position{ri, x0}
	// A VPC another account owns and shares: its contents are the
	// owner's, when the owner's read covers it.
	for _, vpc := range ri.reg.VPCs {
		if vpc.ID != x0.VPCID || vpc.OwnerID == "" || vpc.OwnerID == ri.reg.AccountID {
			continue
		}
		if ori, _, _ := e.region(vpc.OwnerID, ri.reg.Region); ori != nil && ori.vpcs[vpc.ID] {
			start.ri = ori
			if s := ori.subnets[x0.ID]; s != nil {
				start.subnet = s
			}
		}
	}

	v6 := false
	if eni != nil {
		v6 = len(eni.IPv6Addresses) > 0
	} else {
		v6 = strings.EqualFold(nb.IPAddressType, "dualstack")
	}
	for _, fam := range []bool{false, true} {
		if fam && !v6 {
			continue
		}
		src := sourceRange(eni, x0, fam)
		reach := new(big.Int)
		ivs := fs.v4
		if fam {
			ivs = fs.v6
		}
		for _, iv := range ivs {
			reached := false
			for _, proto := range fs.protocols {
				ports := []segment{{-1, -1}}
				if hasPorts(proto) {
					ports = fs.ports
				}
				for _, seg := range ports {
					f := flow{proto: proto, port: seg.lo, dst: iv.lo}
					st := state{at: start, src: src, mapped: fam || (eni != nil && eni.PublicIP != ""), status: yes}
					w.ends = w.ends[:0]
					if allowedByGroups(w, &st, groups, f) && w.leave(&st, f) {
						w.at(f, st)
					}
					for _, x := range w.ends {
						switch {
						case x.kind == endDead:
						case x.kind == endUnknown:
							v.Unknown = true
							why.add(x.why)
						case x.kind == endExit && !isPublic(f.dst):
							// NAT64 at an exit is no public address.
						case x.status == maybe:
							v.Unknown = true
							why.add(x.sWhy + " (a flow it may allow ends at " + x.describe(f) + ")")
						case x.kind == endExit:
							reached = true
							paths[x.path] = true
							ends.add(x.describe(f))
						default:
							v.Opaque = true
							paths[x.path] = true
							ends.add(x.describe(f))
						}
					}
				}
			}
			if reached {
				reach.Add(reach, iv.size())
			}
		}
		limit := new(big.Int).Lsh(big.NewInt(1), uint(32-opts.OpenV4Bits))
		if fam {
			v.ReachV6 = reach
			limit = new(big.Int).Lsh(big.NewInt(1), uint(128-opts.OpenV6Bits))
		} else {
			v.ReachV4 = reach
		}
		if reach.Cmp(limit) > 0 {
			v.Open = true
		}
	}
	v.Why, v.Ends = why.sorted(), ends.sorted()
	for p := range paths {
		v.Paths = append(v.Paths, p)
	}
	slices.Sort(v.Paths)
	return v
}

// allowedByGroups sets the flow's status from the union of the groups'
// egress rules; false (a dead end) when none allows it.
func allowedByGroups(w *walker, st *state, groups []*securityGroup, f flow) bool {
	best, why := no, ""
	for _, g := range groups {
		for i := range g.egress {
			if t, tw := g.egress[i].match(f); t > best {
				best, why = t, tw
			}
		}
		if best == yes {
			break
		}
	}
	return w.filter(st, best, why, "no security-group egress rule allows it")
}

// sourceRange is S for a family: the interface's addresses, else the
// subnet's ranges; anything that does not parse, or nothing at all, is
// every address.
func sourceRange(eni *inventory.NetworkInterface, x0 *inventory.Subnet, v6 bool) []netip.Prefix {
	var raw []string
	single := false
	// The subnet's range, not the interface's own address (path model):
	// an ACL that admits some of the subnet admits the notebook.
	switch {
	case !v6:
		raw = []string{x0.CIDRBlock}
	default:
		raw = x0.IPv6CIDRBlocks
	}
	var out []netip.Prefix
	for _, s := range raw {
		if single {
			if a, err := netip.ParseAddr(s); err == nil && a.Is6() == v6 {
				out = append(out, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
		} else if p, ok := parseFamily(s, v6); ok {
			out = append(out, p)
			continue
		}
		return []netip.Prefix{everything(v6)}
	}
	if len(out) == 0 {
		return []netip.Prefix{everything(v6)}
	}
	return out
}

// String summarises a verdict for test logs.
func (v Verdict) String() string {
	if !v.Applicable {
		return "not applicable"
	}
	ends := v.Ends
	if len(ends) > 3 {
		ends = append(ends[:3:3], fmt.Sprintf("and %d more", len(v.Ends)-3))
	}
	return fmt.Sprintf("unknown=%v open=%v opaque=%v reach4=%v reach6=%v paths=%v why=%q ends=%q",
		v.Unknown, v.Open, v.Opaque, v.ReachV4, v.ReachV6, v.Paths, v.Why, ends)
}

package remediate

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Where a replacement notebook can go. A subnet qualifies when it is
// private by placement (no active route to an internet gateway on its
// effective route table, MapPublicIpOnLaunch false) and the control can
// judge a replacement placed there. The judgement is the control's own:
// every subnet of the region is evaluated with a hypothetical notebook
// (DirectInternetAccess=Disabled, the groups the replacement would have,
// no network interface yet), so a path through a NAT gateway, a transit
// gateway to a central NAT, or an appliance counts exactly as a scan of
// the replacement would count it.

// maxOtherVPCCandidates bounds the subnets of other VPCs a plan proposes
// when the notebook's own VPC has none that qualifies.
const maxOtherVPCCandidates = 10

// Candidate is a subnet considered for a replacement notebook.
type Candidate struct {
	SubnetID         string `json:"subnet_id"`
	VPCID            string `json:"vpc_id"`
	CIDR             string `json:"cidr,omitempty"`
	AvailabilityZone string `json:"availability_zone,omitempty"`
	RouteTableID     string `json:"route_table_id,omitempty"`
	NetworkACLID     string `json:"network_acl_id,omitempty"`
	// SecurityGroupIDs are the groups the replacement would have in this
	// subnet's VPC; GroupsSource says where they come from.
	SecurityGroupIDs []string `json:"security_group_ids,omitempty"`
	GroupsSource     string   `json:"groups_source,omitempty"`
	// Qualifies is true for a private subnet where the control could judge
	// the replacement.
	Qualifies bool `json:"qualifies"`
	// Status and InternetPath are the control's verdict on the replacement
	// placed here; empty when it could not be placed (no groups).
	Status       finding.Status       `json:"status,omitempty"`
	InternetPath finding.InternetPath `json:"internet_path,omitempty"`
	// Why says why the subnet qualifies or not.
	Why string `json:"why"`
}

// regionIndex holds one region's subnets and groups by ID and what the
// plan derives from each subnet's route table, built once: candidates are
// judged for every subnet of the region, for every recreate action.
type regionIndex struct {
	subnets map[string]*inventory.Subnet
	groups  map[string]*inventory.SecurityGroup
	route   map[string]string // subnet -> effective route table ID
	public  map[string]string // subnet -> publicReason
	s3      map[string]bool   // subnet -> s3Reachable
}

func (b *planner) index(reg *inventory.Region) *regionIndex {
	key := reg.AccountID + "/" + reg.Region
	if ix, ok := b.indexes[key]; ok {
		return ix
	}
	ix := &regionIndex{subnets: map[string]*inventory.Subnet{}, groups: map[string]*inventory.SecurityGroup{},
		route: map[string]string{}, public: map[string]string{}, s3: map[string]bool{}}
	for i := range reg.SecurityGroups {
		ix.groups[reg.SecurityGroups[i].ID] = &reg.SecurityGroups[i]
	}
	for i := range reg.Subnets {
		s := &reg.Subnets[i]
		ix.subnets[s.ID] = s
		if rt := routeTable(reg, s); rt != nil {
			ix.route[s.ID] = rt.ID
		}
		ix.public[s.ID] = publicReason(reg, s)
		ix.s3[s.ID] = s3Reachable(reg, s)
	}
	b.indexes[key] = ix
	return ix
}

func (ix *regionIndex) vpcOf(subnet string) string {
	if s := ix.subnets[subnet]; s != nil {
		return s.VPCID
	}
	return ""
}

// placementKey identifies one hypothetical replacement.
type placementKey struct {
	account, region, subnet, groups string
	dualstack                       bool
}

func (b *planner) placement(reg *inventory.Region, subnet string, groups []string, nb *inventory.Notebook) placementKey {
	return placementKey{reg.AccountID, reg.Region, subnet, strings.Join(groups, ","), strings.EqualFold(nb.IPAddressType, "dualstack")}
}

// groupChoice is the security groups a replacement would have in a VPC.
type groupChoice struct {
	ids    []string
	source string
}

// replacementGroups are the groups the plan gives a replacement:
// --target-security-groups, else the old notebook's.
func (b *planner) replacementGroups(nb *inventory.Notebook) ([]string, string) {
	if len(b.opts.TargetSecurityGroups) > 0 {
		g := slices.Clone(b.opts.TargetSecurityGroups)
		slices.Sort(g)
		return g, "--target-security-groups"
	}
	g := slices.Clone(nb.SecurityGroupIDs)
	slices.Sort(g)
	return g, "the old notebook's"
}

// groupsIn are the groups a replacement would have in a VPC: the plan's
// own when they belong to it, else groups to reuse there (those of the
// notebooks already in the VPC without direct internet access, the most
// used set first), else the VPC's default group.
func (b *planner) groupsIn(reg *inventory.Region, vpc string, nb *inventory.Notebook) groupChoice {
	ix := b.index(reg)
	sgs, source := b.replacementGroups(nb)
	home := ix.vpcOf(nb.SubnetID)
	if len(sgs) > 0 && !slices.ContainsFunc(sgs, func(id string) bool {
		g := ix.groups[id]
		// A group not in the inventory is taken to be in the old
		// notebook's VPC; the control then cannot judge the placement.
		return (g == nil && vpc != home) || (g != nil && g.VPCID != vpc)
	}) {
		return groupChoice{ids: sgs, source: source}
	}
	key := reg.AccountID + "/" + reg.Region + "/" + vpc
	if g, ok := b.reuse[key]; ok {
		return g
	}
	users := map[string][]string{}
	for i := range reg.Notebooks {
		n := &reg.Notebooks[i]
		if n.DirectInternetAccess != inventory.DirectInternetAccessDisabled || len(n.SecurityGroupIDs) == 0 {
			continue
		}
		if ix.vpcOf(n.SubnetID) != vpc {
			continue
		}
		ids := slices.Clone(n.SecurityGroupIDs)
		slices.Sort(ids)
		k := strings.Join(ids, ",")
		users[k] = append(users[k], n.Name)
	}
	var g groupChoice
	best := ""
	for _, k := range slices.Sorted(maps.Keys(users)) {
		if best == "" || len(users[k]) > len(users[best]) {
			best = k
		}
	}
	if best != "" {
		names := users[best]
		slices.Sort(names)
		g = groupChoice{ids: strings.Split(best, ","), source: "used by notebook " + names[0]}
		if len(names) > 1 {
			g.source = fmt.Sprintf("used by notebooks %s and %d more", names[0], len(names)-1)
		}
	} else {
		for i := range reg.SecurityGroups {
			if sg := &reg.SecurityGroups[i]; sg.VPCID == vpc && sg.Name == "default" {
				g = groupChoice{ids: []string{sg.ID}, source: "the default group of " + vpc}
				break
			}
		}
	}
	b.reuse[key] = g
	return g
}

// judge evaluates, once, a hypothetical replacement in every subnet of the
// region of every recreate action, in a copy of the inventory whose only
// notebooks are those hypotheticals. Every region stays in the copy: a
// path may lead through another account's transit gateway.
func (b *planner) judge() error {
	if b.verdicts != nil {
		return nil
	}
	b.verdicts = map[placementKey]*finding.Result{}
	ev := b.opts.Evaluator
	if ev == nil {
		var err error
		if ev, err = control.New(control.Options{}); err != nil {
			return fmt.Errorf("plan: judging candidate subnets: %w", err)
		}
	}
	hyp := *b.inv
	hyp.Regions = slices.Clone(b.inv.Regions)
	index := map[string]int{}
	for i := range hyp.Regions {
		hyp.Regions[i].Notebooks = nil
		index[hyp.Regions[i].AccountID+"/"+hyp.Regions[i].Region] = i
	}
	byName := map[[3]string]placementKey{}
	for _, id := range slices.Sorted(maps.Keys(b.actions)) {
		a := b.actions[id]
		if a.Kind != ActionRecreateNotebook {
			continue
		}
		reg := b.regions[a.AccountID+"/"+a.Region]
		nb := findNotebook(reg, a.Resource)
		for i := range reg.Subnets {
			s := &reg.Subnets[i]
			g := b.groupsIn(reg, s.VPCID, nb)
			if len(g.ids) == 0 {
				continue
			}
			k := b.placement(reg, s.ID, g.ids, nb)
			if _, ok := b.verdicts[k]; ok {
				continue
			}
			b.verdicts[k] = nil
			name := fmt.Sprintf("sagefence-candidate-%d", len(byName))
			byName[[3]string{reg.AccountID, reg.Region, name}] = k
			r := &hyp.Regions[index[reg.AccountID+"/"+reg.Region]]
			r.Notebooks = append(r.Notebooks, inventory.Notebook{
				Name: name, Status: "InService", DirectInternetAccess: inventory.DirectInternetAccessDisabled,
				SubnetID: s.ID, SecurityGroupIDs: g.ids, IPAddressType: nb.IPAddressType,
			})
		}
	}
	if len(byName) == 0 {
		return nil
	}
	results, _ := ev.Evaluate(&hyp)
	for i := range results {
		r := &results[i]
		if k, ok := byName[[3]string{r.AccountID, r.Region, r.Resource.Name}]; ok {
			b.verdicts[k] = r
		}
	}
	return nil
}

// candidates are the subnets of the notebook's own VPC (and of the target
// subnet's, homes) with why each qualifies or not, best first; when none
// of them qualifies, the best subnets of the region's other VPCs follow.
func (b *planner) candidates(reg *inventory.Region, nb *inventory.Notebook, homes []string) []Candidate {
	ix := b.index(reg)
	home, homeAZ := "", ""
	if s := ix.subnets[nb.SubnetID]; s != nil {
		home, homeAZ = s.VPCID, s.AvailabilityZone
	}
	var own, other []Candidate
	for i := range reg.Subnets {
		s := &reg.Subnets[i]
		c := b.candidate(reg, s, nb)
		if slices.Contains(homes, s.VPCID) {
			own = append(own, c)
		} else if c.Qualifies {
			other = append(other, c)
		}
	}
	needS3 := b.bucket != ""
	rank := func(c Candidate) [5]bool {
		return [5]bool{!c.Qualifies, needS3 && !reachesS3(ix, c),
			c.Status != finding.StatusPass, c.VPCID != home, c.AvailabilityZone != homeAZ}
	}
	less := func(x, y Candidate) bool {
		rx, ry := rank(x), rank(y)
		for k := range rx {
			if rx[k] != ry[k] {
				return !rx[k]
			}
		}
		return x.SubnetID < y.SubnetID
	}
	sort.Slice(own, func(i, j int) bool { return less(own[i], own[j]) })
	if len(own) > 0 && own[0].Qualifies {
		return own
	}
	sort.Slice(other, func(i, j int) bool { return less(other[i], other[j]) })
	if len(other) > maxOtherVPCCandidates {
		other = other[:maxOtherVPCCandidates]
	}
	// Qualifying subnets elsewhere first, then why the own VPC's do not.
	return append(other, own...)
}

// candidate judges one subnet for a replacement of nb.
func (b *planner) candidate(reg *inventory.Region, s *inventory.Subnet, nb *inventory.Notebook) Candidate {
	ix := b.index(reg)
	c := Candidate{SubnetID: s.ID, VPCID: s.VPCID, CIDR: s.CIDRBlock, AvailabilityZone: s.AvailabilityZone,
		RouteTableID: ix.route[s.ID]}
	g := b.groupsIn(reg, s.VPCID, nb)
	c.SecurityGroupIDs, c.GroupsSource = g.ids, g.source
	var r *finding.Result
	if len(g.ids) > 0 {
		r = b.verdicts[b.placement(reg, s.ID, g.ids, nb)]
	}
	if r != nil {
		c.Status, c.InternetPath, c.NetworkACLID = r.Status, r.InternetPath, r.Evidence.NetworkACLID
	}
	switch why := ix.public[s.ID]; {
	case why != "":
		c.Why = "not private: " + why
	case r == nil:
		c.Why = fmt.Sprintf("no security group to reuse in %s; pass --target-security-groups", s.VPCID)
	default:
		c.Qualifies, c.Why = verdictWhy(r)
		if b.bucket != "" && !reachesS3(ix, c) {
			c.Why += "; no S3 VPC endpoint or NAT path for the data copy"
		}
	}
	return c
}

func findCandidate(cs []Candidate, subnet string) *Candidate {
	for i := range cs {
		if cs[i].SubnetID == subnet {
			return &cs[i]
		}
	}
	return nil
}

// reachesS3 reports whether a replacement in the candidate subnet can
// reach S3 to restore its data: an S3 VPC endpoint or a NAT route in its
// VPC, or an internet path through a NAT gateway elsewhere (a transit
// gateway's central egress).
func reachesS3(ix *regionIndex, c Candidate) bool {
	return ix.s3[c.SubnetID] || c.InternetPath == finding.PathNAT
}

// verdictWhy says what the control found for a replacement placed in a
// private subnet; it qualifies unless the control could not judge it.
func verdictWhy(r *finding.Result) (bool, string) {
	var egress string
	var also []string
	for _, c := range r.Checks {
		switch {
		case c.Status == finding.StatusError:
			return false, c.Message
		case c.ID == control.CheckEgress && c.Status == finding.StatusPass:
			egress = c.Message
		case c.ID == control.CheckEgress && c.Status == finding.StatusFail:
			egress = "the replacement would fail " + c.ID + ": " + pathWords(r)
		case c.ID == control.CheckEgress && c.Status == finding.StatusReview:
			egress = "the replacement would need review (" + c.ID + "): " + c.Message
		case c.Status == finding.StatusFail || c.Status == finding.StatusReview:
			also = append(also, fmt.Sprintf("the replacement would %s %s: %s", verb(c.Status), c.ID, c.Message))
		}
	}
	return true, strings.Join(append([]string{egress}, also...), "; ")
}

func verb(s finding.Status) string {
	if s == finding.StatusReview {
		return "need review for"
	}
	return "fail"
}

// pathWords names an internet path by its hops: "internet path nat via
// nat-1 -> igw-1 (route 0.0.0.0/0 -> nat-1 (nat))"; the first hop in
// another account names it.
func pathWords(r *finding.Result) string {
	var via []string
	route, account, last := "", r.AccountID, ""
	for _, h := range r.Hops {
		switch h.Kind {
		case "route-table":
			if route == "" {
				route = h.Decision
			}
		case "nat-gateway", "internet-gateway", "egress-only-internet-gateway", "transit-gateway-attachment":
			if h.ResourceID == last {
				continue
			}
			last = h.ResourceID
			id := h.ResourceID
			if h.AccountID != "" && h.AccountID != account {
				account = h.AccountID
				id += " (account " + account + ")"
			}
			via = append(via, id)
		}
	}
	s := "internet path " + string(r.InternetPath)
	if len(via) > 0 {
		s += " via " + strings.Join(via, " -> ")
	}
	if route != "" {
		s += " (route " + route + ")"
	}
	return s
}

// warnPlacement says what the replacement will fail where it is going.
func (b *planner) warnPlacement(reg *inventory.Region, a *Action, nb *inventory.Notebook, target *inventory.Subnet) {
	if why := publicReason(reg, target); why != "" {
		a.warn("target subnet %s is not private: it %s", target.ID, why)
	}
	g := b.groupsIn(reg, target.VPCID, nb)
	if len(g.ids) == 0 {
		return
	}
	r := b.verdicts[b.placement(reg, target.ID, g.ids, nb)]
	if r == nil {
		return
	}
	for _, c := range r.Checks {
		switch {
		case c.Status == finding.StatusError:
			a.warn("in subnet %s the replacement could not be evaluated: %s", target.ID, c.Message)
		case c.ID == control.CheckEgress && c.Status == finding.StatusFail:
			a.warn("in subnet %s the replacement will fail %s (%s); plan again with --fix egress after apply",
				target.ID, c.ID, pathWords(r))
		case c.Status == finding.StatusFail || c.Status == finding.StatusReview:
			a.warn("in subnet %s the replacement will %s %s: %s", target.ID, verb(c.Status), c.ID, c.Message)
		}
	}
}

// suggest fills Unblock with the flags that resolve a missing target
// subnet or unusable groups: the best qualifying candidate, with the
// groups to reuse in its VPC when the plan's own do not belong there.
func (b *planner) suggest(reg *inventory.Region, a *Action, nb *inventory.Notebook, target *inventory.Subnet, sgs []string, groupsOK bool) {
	var groups []string
	switch {
	case target == nil:
		for _, c := range a.Candidates {
			if c.Qualifies {
				a.Unblock = append(a.Unblock, "--target-subnet "+c.SubnetID)
				groups = c.SecurityGroupIDs
				break
			}
		}
	case !groupsOK:
		groups = b.groupsIn(reg, target.VPCID, nb).ids
	}
	if len(groups) > 0 && !slices.Equal(groups, sgs) {
		a.Unblock = append(a.Unblock, "--target-security-groups "+strings.Join(groups, ","))
	}
}

package remediate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// PlanSchemaVersion is the version of the plan JSON document.
const PlanSchemaVersion = "1"

// Sub-check IDs of CONTROL.md that a plan acts on.
const (
	checkDirect       = "direct-internet-access"
	checkEgress       = "internet-egress-path"
	checkPublicSubnet = "public-subnet"
	checkOpenIngress  = "open-ingress"
)

// Tags sagefence puts on notebooks.
const (
	TagReplacedBy = "sagefence:replaced-by"
	TagReplaces   = "sagefence:replaces"
	TagRunID      = "sagefence:run-id"
)

// Fix selects which failing sub-checks a plan fixes (--fix).
type Fix string

// Fixes.
const (
	// FixDirect recreates notebooks with direct internet access.
	FixDirect Fix = "direct"
	// FixEgress restricts security-group egress to the whole internet.
	FixEgress Fix = "egress"
	// FixPublicSubnet turns off MapPublicIpOnLaunch on public subnets.
	FixPublicSubnet Fix = "public-subnet"
	// FixStudioVPCOnly sets AppNetworkAccessType=VpcOnly on Studio
	// domains. It is asked for by name: it changes the network of every
	// app of a domain.
	FixStudioVPCOnly Fix = "studio-vpc-only"
)

// AllFixes is every fix.
func AllFixes() []Fix { return []Fix{FixDirect, FixEgress, FixPublicSubnet, FixStudioVPCOnly} }

// DefaultFixes is the selection when none is given: the notebook fixes.
func DefaultFixes() []Fix { return []Fix{FixDirect, FixEgress, FixPublicSubnet} }

// ParseFixes parses --fix: a comma-separated list of direct, egress,
// public-subnet and studio-vpc-only. An empty string selects the default
// fixes.
func ParseFixes(s string) ([]Fix, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultFixes(), nil
	}
	seen := map[Fix]bool{}
	var out []Fix
	for _, part := range strings.Split(s, ",") {
		f := Fix(strings.TrimSpace(part))
		if !slices.Contains(AllFixes(), f) {
			return nil, fmt.Errorf("unknown fix %q (want a comma-separated list of direct, egress, public-subnet, studio-vpc-only)", part)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

// ActionKind names what an action does.
type ActionKind string

// Action kinds, in the order a plan runs them: cheap network changes first,
// the slow notebook replacement last.
const (
	ActionRestrictSGEgress ActionKind = "restrict-sg-egress"
	ActionDisablePublicIP  ActionKind = "disable-public-ip-on-launch"
	ActionStudioVPCOnly    ActionKind = "set-domain-vpc-only"
	ActionRecreateNotebook ActionKind = "recreate-notebook"
)

func (k ActionKind) order() int {
	switch k {
	case ActionRestrictSGEgress:
		return 0
	case ActionDisablePublicIP:
		return 1
	case ActionStudioVPCOnly:
		return 2
	}
	return 3
}

// PlanOptions configure BuildPlan. They mirror the plan command's flags.
type PlanOptions struct {
	// Fixes selects the fixes (--fix); empty means all.
	Fixes []Fix
	// TargetSubnet is where replacement notebooks go (--target-subnet); empty
	// picks a private subnet of the old notebook's VPC.
	TargetSubnet string
	// TargetSecurityGroups for replacement notebooks; empty keeps the old ones.
	TargetSecurityGroups []string
	// AllowEgress replaces internet-wide egress: CIDRs or pl- prefix-list IDs;
	// empty allows the VPC's own CIDR blocks.
	AllowEgress []string
	// AllowShared lets the plan change security groups other network
	// interfaces use too.
	AllowShared bool
	// BackupBucket, s3://BUCKET/PREFIX, copies notebook data through S3.
	BackupBucket string
	// NewNames overrides replacement names (old name -> new name); the
	// default is "<name>-private".
	NewNames map[string]string
	// Interfaces, when set, looks up live network interfaces for blast
	// radius (DescribeNetworkInterfaces by group-id and subnet-id). Without
	// it the inventory's interfaces are used, and the plan says so.
	Interfaces func(ctx context.Context, accountID, region string) (NetworkInterfacesAPI, error)
	// Evaluator judges where a replacement notebook can go, as a scan
	// would judge the replacement; nil uses the default control options.
	// Pass the scan's, so that --open-threshold applies to both.
	Evaluator *control.Evaluator
	// Studio, when set, reads Studio domains, their apps and their VPC's
	// endpoints live (DescribeDomain, ListApps, DescribeVpcEndpoints).
	// Without it the inventory's are used, and the plan says so.
	Studio func(ctx context.Context, accountID, region string) (StudioClients, error)
	// AllowMissingEndpoints plans VpcOnly for a domain whose VPC cannot
	// reach the SageMaker API and runtime (--allow-missing-endpoints).
	AllowMissingEndpoints bool
}

// PlanSettings are the options a plan was built with, as recorded in it.
type PlanSettings struct {
	Fixes                []Fix    `json:"fixes"`
	TargetSubnet         string   `json:"target_subnet,omitempty"`
	TargetSecurityGroups []string `json:"target_security_groups,omitempty"`
	AllowEgress          []string `json:"allow_egress,omitempty"`
	AllowShared          bool     `json:"allow_shared,omitempty"`
	BackupBucket         string   `json:"backup_bucket,omitempty"`
	// AllowMissingEndpoints is --allow-missing-endpoints.
	AllowMissingEndpoints bool `json:"allow_missing_endpoints,omitempty"`
}

// Plan is a read-only, serialisable list of actions. Apply executes a plan
// once; its Hash identifies it in the journal.
type Plan struct {
	SchemaVersion        string       `json:"schema_version"`
	InventoryCollectedAt time.Time    `json:"inventory_collected_at"`
	Settings             PlanSettings `json:"settings"`
	Actions              []Action     `json:"actions"`
	// Notes are failing checks the plan does not fix, and why.
	Notes []string `json:"notes,omitempty"`
	// Hash is the SHA-256 of the plan's canonical JSON with Hash empty.
	Hash string `json:"hash"`
}

// Action is one change to one resource.
type Action struct {
	// ID is unique within a plan: "kind/account/region/resource".
	ID        string     `json:"id"`
	Kind      ActionKind `json:"action"`
	AccountID string     `json:"account_id"`
	Region    string     `json:"region"`
	// Resource is a security group ID, a subnet ID, a notebook name or a
	// Studio domain ID.
	Resource string `json:"resource"`
	// Notebooks are the notebooks whose failing checks this action fixes.
	Notebooks []string `json:"notebooks"`
	// Checks are the sub-check IDs it fixes.
	Checks  []string `json:"checks"`
	Summary string   `json:"summary"`
	// Blocked, when set, says why apply will not run this action.
	Blocked string `json:"blocked,omitempty"`
	// Unblock are the plan flags, with their values, that resolve the
	// blocks a flag can resolve ("--target-subnet subnet-0b").
	Unblock  []string `json:"unblock,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Before is the state the plan saw; apply skips the action when the live
	// state differs (drift). After is the state apply leaves.
	Before      State       `json:"before"`
	After       State       `json:"after"`
	BlastRadius BlastRadius `json:"blast_radius"`

	// restrict-sg-egress: the exact rules revoked and authorized.
	Revoke    []Rule `json:"revoke,omitempty"`
	Authorize []Rule `json:"authorize,omitempty"`
	// recreate-notebook: the replacement, where its subnet came from
	// ("option" or "automatic"), and what happens to the data.
	Replacement        *NotebookState `json:"replacement,omitempty"`
	TargetSubnetSource string         `json:"target_subnet_source,omitempty"`
	Data               *DataPlan      `json:"data,omitempty"`
	// Candidates are the subnets considered for the replacement, best
	// first, with why each qualifies or not (candidates.go).
	Candidates []Candidate `json:"candidates,omitempty"`

	// set-domain-vpc-only: the apps that must be stopped first, each with
	// the command that stops it, and the VPC endpoints Studio needs in
	// VpcOnly (studio.go).
	Apps      []AppToStop     `json:"apps,omitempty"`
	Endpoints []EndpointCheck `json:"endpoints,omitempty"`
}

// BlastRadius is what else an action affects.
type BlastRadius struct {
	Summary string `json:"summary"`
	// Shared is true when resources outside the action's notebooks use the
	// security group.
	Shared            bool           `json:"shared,omitempty"`
	NetworkInterfaces []InterfaceRef `json:"network_interfaces,omitempty"`
	Notebooks         []string       `json:"notebooks,omitempty"`
	// StudioDomains are the Studio domains (DOMAIN, or DOMAIN/PROFILE for
	// a user profile's own groups) whose apps are given the security group
	// or run in the subnet: every app they start gets the change, even
	// when none runs now (no interface to count).
	StudioDomains []string `json:"studio_domains,omitempty"`
	// OwnInterfaces are the network interfaces of the action's own
	// notebooks, left out of the count.
	OwnInterfaces []string `json:"own_network_interfaces,omitempty"`
	// Source says where the interfaces came from: "DescribeNetworkInterfaces"
	// (live, at plan time) or "inventory".
	Source string `json:"source,omitempty"`
}

// InterfaceRef is a network interface in a blast radius.
type InterfaceRef struct {
	ID          string `json:"id"`
	Type        string `json:"type,omitempty"`
	Description string `json:"description,omitempty"`
	SubnetID    string `json:"subnet_id,omitempty"`
	InstanceID  string `json:"instance_id,omitempty"`
}

// Data preservation modes.
const (
	DataStaysOnOldNotebook = "stays-on-old-notebook"
	DataCopiedThroughS3    = "copied-through-s3"
)

// DataPlan says what happens to a replaced notebook's ML storage volume.
type DataPlan struct {
	Mode      string `json:"mode"`
	Statement string `json:"statement"`
	Bucket    string `json:"bucket,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	// DataURI receives /home/ec2-user/SageMaker; MetaURI the manifests.
	DataURI string `json:"data_uri,omitempty"`
	MetaURI string `json:"meta_uri,omitempty"`
}

// BuildPlan turns the FAIL results of a report into actions. It changes
// nothing; the only calls it makes are the optional read-only
// DescribeNetworkInterfaces of opts.Interfaces. The same inputs give the same
// plan, byte for byte.
func BuildPlan(ctx context.Context, inv *inventory.Inventory, rep *finding.Report, opts PlanOptions) (*Plan, error) {
	if inv == nil || rep == nil {
		return nil, fmt.Errorf("plan: an inventory and a report are required")
	}
	fixes := opts.Fixes
	if len(fixes) == 0 {
		fixes = DefaultFixes()
	}
	allow, err := parseAllowEgress(opts.AllowEgress)
	if err != nil {
		return nil, err
	}
	var bucket, prefix string
	if opts.BackupBucket != "" {
		if bucket, prefix, err = ParseS3URI(opts.BackupBucket); err != nil {
			return nil, fmt.Errorf("--backup-bucket: %w", err)
		}
	}
	for old, name := range opts.NewNames {
		if err := validNotebookName(name); err != nil {
			return nil, fmt.Errorf("new name for notebook %s: %w", old, err)
		}
	}
	b := &planner{
		ctx: ctx, inv: inv, opts: opts, fixes: fixes, allow: allow, bucket: bucket, prefix: prefix,
		regions: map[string]*inventory.Region{}, actions: map[string]*Action{}, reuse: map[string]groupChoice{},
		indexes: map[string]*regionIndex{},
	}
	for i := range inv.Regions {
		r := &inv.Regions[i]
		b.regions[r.AccountID+"/"+r.Region] = r
	}
	results := slices.Clone(rep.Results)
	sort.SliceStable(results, func(i, j int) bool {
		a, c := results[i], results[j]
		return a.AccountID+"/"+a.Region+"/"+a.Resource.Name < c.AccountID+"/"+c.Region+"/"+c.Resource.Name
	})
	muted := map[string]bool{}
	for i := range results {
		if results[i].Status == finding.StatusMuted && results[i].Resource.ARN != "" {
			muted[results[i].Resource.ARN] = true
		}
		b.result(&results[i])
	}
	b.studio(muted)

	p := &Plan{
		SchemaVersion:        PlanSchemaVersion,
		InventoryCollectedAt: inv.CollectedAt.UTC(),
		Settings: PlanSettings{
			Fixes: fixes, TargetSubnet: opts.TargetSubnet, TargetSecurityGroups: opts.TargetSecurityGroups,
			AllowEgress: opts.AllowEgress, AllowShared: opts.AllowShared, BackupBucket: opts.BackupBucket,
			AllowMissingEndpoints: opts.AllowMissingEndpoints,
		},
		Actions: []Action{},
		Notes:   b.notes,
	}
	for _, id := range slices.Sorted(maps.Keys(b.actions)) {
		a := b.actions[id]
		if err := b.finish(a); err != nil {
			return nil, err
		}
		p.Actions = append(p.Actions, *a)
	}
	sort.Slice(p.Actions, func(i, j int) bool {
		a, c := p.Actions[i], p.Actions[j]
		if a.AccountID != c.AccountID {
			return a.AccountID < c.AccountID
		}
		if a.Region != c.Region {
			return a.Region < c.Region
		}
		if a.Kind.order() != c.Kind.order() {
			return a.Kind.order() < c.Kind.order()
		}
		return a.Resource < c.Resource
	})
	if p.Hash, err = p.ComputeHash(); err != nil {
		return nil, err
	}
	return p, nil
}

type planner struct {
	ctx           context.Context
	inv           *inventory.Inventory
	opts          PlanOptions
	fixes         []Fix
	allow         []string
	bucket        string
	prefix        string
	regions       map[string]*inventory.Region
	actions       map[string]*Action
	notes         []string
	interfaceAPIs map[string]NetworkInterfacesAPI
	studioAPIs    map[string]StudioClients
	// verdicts are the control's results for replacements placed in each
	// candidate subnet, computed once for every recreate action.
	verdicts map[placementKey]*finding.Result
	// reuse caches the groups proposed for replacements in a VPC.
	reuse   map[string]groupChoice
	indexes map[string]*regionIndex
}

func (b *planner) note(format string, args ...any) {
	b.notes = append(b.notes, fmt.Sprintf(format, args...))
}

func (b *planner) result(r *finding.Result) {
	if r.Resource.Type != "" && r.Resource.Type != finding.ResourceType {
		// A Studio domain's or user profile's result: its checks are not a
		// notebook's, and one may share a notebook's name. The notebook
		// fixes do not apply to it.
		return
	}
	name := r.Resource.Name
	where := fmt.Sprintf("%s (%s/%s)", name, r.AccountID, r.Region)
	switch r.Status {
	case finding.StatusFail:
	case finding.StatusError:
		b.note("notebook %s could not be evaluated (ERROR): nothing planned for it", where)
		return
	default:
		return // PASS, REVIEW and MUTED results need no automated change
	}
	reg := b.regions[r.AccountID+"/"+r.Region]
	var nb *inventory.Notebook
	if reg != nil {
		for i := range reg.Notebooks {
			if reg.Notebooks[i].Name == name {
				nb = &reg.Notebooks[i]
			}
		}
	}
	if nb == nil {
		b.note("notebook %s is in the report but not in the inventory: nothing planned for it", where)
		return
	}
	for _, c := range r.Checks {
		if c.Status != finding.StatusFail || c.Informational {
			continue
		}
		switch c.ID {
		case checkDirect:
			if b.selected(FixDirect, where, c.ID) {
				b.recreate(reg, nb)
			}
		case checkEgress:
			if b.selected(FixEgress, where, c.ID) {
				b.egress(reg, nb, where, r.Hops)
			}
		case checkPublicSubnet:
			if b.selected(FixPublicSubnet, where, c.ID) {
				b.publicSubnet(reg, nb, where)
			}
		case checkOpenIngress:
			b.note("notebook %s: %s has no automated fix; remove the ingress rule from 0.0.0.0/0 or ::/0 by hand", where, c.ID)
		}
	}
}

func (b *planner) selected(f Fix, where, check string) bool {
	if slices.Contains(b.fixes, f) {
		return true
	}
	b.note("notebook %s: %s fails but --fix does not include %s", where, check, f)
	return false
}

func actionID(kind ActionKind, account, region, resource string) string {
	return fmt.Sprintf("%s/%s/%s/%s", kind, account, region, resource)
}

// add returns the action for a resource, creating it on first use.
func (b *planner) add(kind ActionKind, reg *inventory.Region, resource, notebook, check string) (*Action, bool) {
	id := actionID(kind, reg.AccountID, reg.Region, resource)
	a, ok := b.actions[id]
	if !ok {
		a = &Action{ID: id, Kind: kind, AccountID: reg.AccountID, Region: reg.Region, Resource: resource}
		b.actions[id] = a
	}
	if !slices.Contains(a.Notebooks, notebook) {
		a.Notebooks = append(a.Notebooks, notebook)
		slices.Sort(a.Notebooks)
	}
	if !slices.Contains(a.Checks, check) {
		a.Checks = append(a.Checks, check)
		slices.Sort(a.Checks)
	}
	return a, ok
}

func (a *Action) block(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if a.Blocked == "" {
		a.Blocked = msg
	} else if !strings.Contains(a.Blocked, msg) {
		a.Blocked += "; " + msg
	}
}

func (a *Action) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if !slices.Contains(a.Warnings, msg) {
		a.Warnings = append(a.Warnings, msg)
	}
}

// isWholeInternet reports whether a rule's destination is 0.0.0.0/0 or ::/0.
func isWholeInternet(r Rule) bool { return r.CIDR == "0.0.0.0/0" || r.IPv6CIDR == "::/0" }

func (b *planner) egress(reg *inventory.Region, nb *inventory.Notebook, where string, hops []finding.Hop) {
	central := centralEgress(hops)
	found := false
	for _, id := range nb.SecurityGroupIDs {
		g := findSG(reg, id)
		if g == nil {
			b.note("notebook %s: security group %s is not in the inventory: cannot plan its egress", where, id)
			continue
		}
		rules := rulesFromInventory(g.Egress)
		if !slices.ContainsFunc(rules, isWholeInternet) {
			continue
		}
		found = true
		a, existed := b.add(ActionRestrictSGEgress, reg, id, nb.Name, checkEgress)
		if central != "" {
			a.warn("%s", central)
		}
		if existed {
			continue
		}
		a.Before = State{SecurityGroup: &SGState{GroupID: g.ID, GroupName: g.Name, VPCID: g.VPCID, Egress: rules}}
	}
	if !found {
		b.note("notebook %s: %s fails but none of its security groups has an egress rule to 0.0.0.0/0 or ::/0 "+
			"(the open space comes through a prefix list, several narrower rules or a blocklist network ACL); "+
			"review its egress by hand", where, checkEgress)
	}
}

// centralEgress says, for a path that leaves through a transit gateway,
// where it reaches the internet: the plan's security-group change is the
// local remedy, and the central NAT is someone else's to change.
func centralEgress(hops []finding.Hop) string {
	via := ""
	for _, h := range hops {
		switch {
		case h.Kind == "transit-gateway-attachment" && via == "":
			via = h.ResourceID
		case via != "" && (h.Kind == "nat-gateway" || h.Kind == "internet-gateway"):
			return fmt.Sprintf("egress is central: the notebook reaches the internet through %s %s (account %s, %s) via transit gateway attachment %s; "+
				"restricting the notebook's security group is the local remedy, the central egress is left as it is",
				strings.ReplaceAll(h.Kind, "-", " "), h.ResourceID, h.AccountID, h.Region, via)
		}
	}
	return ""
}

func (b *planner) publicSubnet(reg *inventory.Region, nb *inventory.Notebook, where string) {
	s := findSubnet(reg, nb.SubnetID)
	if s == nil {
		b.note("notebook %s: subnet %q is not in the inventory: cannot plan it", where, nb.SubnetID)
		return
	}
	a, existed := b.add(ActionDisablePublicIP, reg, s.ID, nb.Name, checkPublicSubnet)
	if existed {
		return
	}
	a.Before = State{Subnet: &SubnetState{SubnetID: s.ID, VPCID: s.VPCID, MapPublicIPOnLaunch: s.MapPublicIPOnLaunch}}
	a.After = State{Subnet: &SubnetState{SubnetID: s.ID, VPCID: s.VPCID, MapPublicIPOnLaunch: false}}
	a.Summary = fmt.Sprintf("set MapPublicIpOnLaunch=false on subnet %s (%s)", s.ID, s.CIDRBlock)
	if !s.MapPublicIPOnLaunch {
		a.block("subnet %s already has MapPublicIpOnLaunch=false", s.ID)
	}
}

// recreate records the action; finishRecreate plans it once every
// recreate is known, so that the candidate subnets of all of them are
// judged in one evaluation.
func (b *planner) recreate(reg *inventory.Region, nb *inventory.Notebook) {
	a, _ := b.add(ActionRecreateNotebook, reg, nb.Name, nb.Name, checkDirect)
	a.Before = State{Notebook: notebookFromInventory(nb)}
}

func (b *planner) finishRecreate(reg *inventory.Region, a *Action) error {
	nb := findNotebook(reg, a.Resource)
	if err := b.judge(); err != nil {
		return err
	}
	newName := b.opts.NewNames[nb.Name]
	if newName == "" {
		base := nb.Name
		if len(base) > 63-len("-private") {
			base = strings.TrimRight(base[:63-len("-private")], "-")
		}
		newName = base + "-private"
	}
	for i := range reg.Notebooks {
		if reg.Notebooks[i].Name == newName {
			a.block("a notebook named %s already exists; choose another name for the replacement", newName)
		}
	}
	switch nb.Status {
	case "InService", "Stopped":
	default:
		a.block("notebook %s is %s; plan again when it is InService or Stopped", nb.Name, nb.Status)
	}

	// Where the replacement goes.
	home := ""
	if s := findSubnet(reg, nb.SubnetID); s != nil {
		home = s.VPCID
	}
	var target *inventory.Subnet
	switch {
	case b.opts.TargetSubnet != "":
		a.TargetSubnetSource = "option"
		target = findSubnet(reg, b.opts.TargetSubnet)
		if target == nil {
			a.block("--target-subnet %s is not in the inventory of %s/%s", b.opts.TargetSubnet, reg.AccountID, reg.Region)
		}
	case nb.SubnetID == "":
		a.block("notebook %s has no VPC subnet, so no private subnet can be chosen for it; pass --target-subnet", nb.Name)
	default:
		a.TargetSubnetSource = "automatic"
	}
	homes := []string{home}
	if target != nil && target.VPCID != home {
		homes = append(homes, target.VPCID)
	}
	a.Candidates = b.candidates(reg, nb, homes)
	if a.TargetSubnetSource == "automatic" {
		for _, c := range a.Candidates {
			if c.Qualifies && c.VPCID == home {
				target = findSubnet(reg, c.SubnetID)
				break
			}
		}
		if target == nil {
			a.block("no private subnet (no internet gateway route on its route table, MapPublicIpOnLaunch false, its path known) "+
				"found in VPC %s; pass --target-subnet (the candidates say why each subnet does not qualify)", home)
		}
	}
	if target != nil {
		b.warnPlacement(reg, a, nb, target)
	}

	// Its security groups.
	sgs, _ := b.replacementGroups(nb)
	groupsOK := len(sgs) > 0
	if !groupsOK {
		a.block("notebook %s has no security groups to copy; pass --target-security-groups", nb.Name)
	}
	if target != nil {
		for _, id := range sgs {
			g := findSG(reg, id)
			switch {
			case g == nil:
				a.warn("security group %s is not in the inventory: its VPC could not be checked", id)
			case g.VPCID != target.VPCID:
				a.block("security group %s is in VPC %s, the target subnet %s in VPC %s; pass --target-security-groups",
					id, g.VPCID, target.ID, target.VPCID)
				groupsOK = false
			}
		}
	}
	b.suggest(reg, a, nb, target, sgs, groupsOK)

	repl := &NotebookState{
		Name: newName, Status: nb.Status, DirectInternetAccess: inventory.DirectInternetAccessDisabled,
		SecurityGroupIDs: sgs, InstanceType: nb.InstanceType, RoleARN: nb.RoleARN, KMSKeyID: nb.KMSKeyID,
		VolumeSizeInGB: nb.VolumeSizeInGB, LifecycleConfigName: nb.LifecycleConfigName,
		DefaultCodeRepository: nb.DefaultCodeRepository, AdditionalCodeRepositories: slices.Clone(nb.AdditionalCodeRepositories),
		RootAccess: nb.RootAccess, PlatformIdentifier: nb.PlatformIdentifier, MinimumIMDSVersion: nb.MinimumIMDSVersion,
		IPAddressType: nb.IPAddressType, AcceleratorTypes: slices.Clone(nb.AcceleratorTypes), Tags: map[string]string{},
	}
	if target != nil {
		repl.SubnetID = target.ID
	}
	var dropped []string
	for k, v := range nb.Tags {
		switch {
		case strings.HasPrefix(k, "aws:"):
			dropped = append(dropped, k)
		case strings.HasPrefix(k, "sagefence:"):
		default:
			repl.Tags[k] = v
		}
	}
	if len(dropped) > 0 {
		slices.Sort(dropped)
		a.warn("tags reserved by AWS cannot be copied: %s", strings.Join(dropped, ", "))
	}
	repl.Tags[TagReplaces] = nb.Name
	a.Replacement = normNotebook(repl)

	after := notebookFromInventory(nb)
	after.Status = "Stopped"
	if after.Tags == nil {
		after.Tags = map[string]string{}
	}
	after.Tags[TagReplacedBy] = newName
	a.After = State{Notebook: after}

	if b.bucket == "" {
		a.Data = &DataPlan{Mode: DataStaysOnOldNotebook, Statement: fmt.Sprintf(
			"Data is NOT copied: the files in /home/ec2-user/SageMaker stay on the stopped notebook %s until "+
				"`sagefence finalize` deletes it. Copy what you need to %s first, or plan again with --backup-bucket.",
			nb.Name, newName)}
	} else {
		d := dataPlan(b.bucket, b.prefix, nb.Name)
		a.Data = &d
		if c := findCandidate(a.Candidates, repl.SubnetID); target != nil && (c == nil || !reachesS3(b.index(reg), *c)) {
			a.warn("subnet %s has neither an S3 VPC endpoint in its VPC nor a NAT route: the replacement may not "+
				"reach s3://%s to restore the data (apply would then time out and stop)", target.ID, b.bucket)
		}
		if nb.Status == "Stopped" {
			a.warn("notebook %s is Stopped: apply starts it once to copy its data, then stops it again", nb.Name)
		}
	}
	a.Summary = fmt.Sprintf("replace notebook %s (DirectInternetAccess=%s) with %s (DirectInternetAccess=Disabled) in "+
		"subnet %s; stop %s and tag it %s=%s", nb.Name, orNone(nb.DirectInternetAccess), newName, orNone(repl.SubnetID),
		nb.Name, TagReplacedBy, newName)
	a.BlastRadius = BlastRadius{Summary: fmt.Sprintf(
		"users of %s lose their sessions when it stops and must switch to %s (a new URL, %s.notebook.%s.sagemaker.aws); "+
			"IAM policies, presigned-URL scripts and automation naming %s need updating",
		nb.Name, newName, newName, reg.Region, nb.Name)}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// dataPlan lays out where a notebook's data and manifests go in S3.
func dataPlan(bucket, prefix, name string) DataPlan {
	base := "s3://" + bucket + "/"
	if prefix != "" {
		base += prefix + "/"
	}
	d := DataPlan{
		Mode: DataCopiedThroughS3, Bucket: bucket, Prefix: prefix,
		DataURI: base + name + "/", MetaURI: base + name + ".sagefence/",
	}
	d.Statement = fmt.Sprintf("The files in /home/ec2-user/SageMaker are copied to %s by a temporary on-start lifecycle "+
		"script on %s, which writes a manifest (file count and bytes) to %s; the replacement restores them on "+
		"creation and writes its own manifest. Apply continues only when both manifests agree. The old notebook "+
		"is kept, stopped, until `sagefence finalize`. Its IAM role needs s3:ListBucket and s3:PutObject on the "+
		"bucket, the replacement's s3:ListBucket and s3:GetObject.", d.DataURI, name, d.MetaURI)
	return d
}

// ParseS3URI splits s3://BUCKET/PREFIX; the prefix may be empty.
func ParseS3URI(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET/PREFIX URI", s)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	prefix = strings.Trim(prefix, "/")
	if !regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`).MatchString(bucket) {
		return "", "", fmt.Errorf("%q: %q is not a valid bucket name", s, bucket)
	}
	return bucket, prefix, nil
}

func validNotebookName(name string) error {
	if len(name) > 63 || !regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9])*$`).MatchString(name) {
		return fmt.Errorf("%q is not a valid notebook instance name (letters, digits and hyphens, at most 63)", name)
	}
	return nil
}

func parseAllowEgress(in []string) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		switch {
		case s == "":
			continue
		case strings.HasPrefix(s, "pl-"):
		default:
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("--allow-egress %q: not a CIDR or a pl- prefix list ID", s)
			}
			if p.Bits() == 0 {
				return nil, fmt.Errorf("--allow-egress %q: that is the whole internet", s)
			}
			s = p.Masked().String()
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func findSG(reg *inventory.Region, id string) *inventory.SecurityGroup {
	for i := range reg.SecurityGroups {
		if reg.SecurityGroups[i].ID == id {
			return &reg.SecurityGroups[i]
		}
	}
	return nil
}

func findSubnet(reg *inventory.Region, id string) *inventory.Subnet {
	if id == "" {
		return nil
	}
	for i := range reg.Subnets {
		if reg.Subnets[i].ID == id {
			return &reg.Subnets[i]
		}
	}
	return nil
}

func findVPC(reg *inventory.Region, id string) *inventory.VPC {
	for i := range reg.VPCs {
		if reg.VPCs[i].ID == id {
			return &reg.VPCs[i]
		}
	}
	return nil
}

// routeTable is a subnet's effective route table: its explicit association,
// else its own VPC's main table.
func routeTable(reg *inventory.Region, s *inventory.Subnet) *inventory.RouteTable {
	var main *inventory.RouteTable
	for i := range reg.RouteTables {
		rt := &reg.RouteTables[i]
		if slices.Contains(rt.SubnetIDs, s.ID) {
			return rt
		}
		if rt.Main && rt.VPCID == s.VPCID {
			main = rt
		}
	}
	return main
}

func activeRoutes(rt *inventory.RouteTable, match func(inventory.Route) bool) bool {
	if rt == nil {
		return false
	}
	for _, r := range rt.Routes {
		if r.State != "blackhole" && match(r) {
			return true
		}
	}
	return false
}

func hasNATRoute(reg *inventory.Region, s *inventory.Subnet) bool {
	return activeRoutes(routeTable(reg, s), func(r inventory.Route) bool { return r.NATGatewayID != "" })
}

// publicReason says why a subnet is not private, or "" when it is.
func publicReason(reg *inventory.Region, s *inventory.Subnet) string {
	rt := routeTable(reg, s)
	var why []string
	if rt == nil {
		why = append(why, "has no known route table")
	}
	if rt != nil {
		for _, r := range rt.Routes {
			if r.State != "blackhole" && strings.HasPrefix(r.GatewayID, "igw-") {
				why = append(why, fmt.Sprintf("routes to an internet gateway (%s: %s -> %s)", rt.ID,
					firstOf(r.DestinationCIDR, r.DestinationIPv6CIDR, r.DestinationPrefixListID), r.GatewayID))
				break
			}
		}
	}
	if s.MapPublicIPOnLaunch {
		why = append(why, "has MapPublicIpOnLaunch=true")
	}
	return strings.Join(why, " and ")
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func s3Reachable(reg *inventory.Region, s *inventory.Subnet) bool {
	for _, e := range reg.VPCEndpoints {
		if e.VPCID == s.VPCID && strings.HasSuffix(e.ServiceName, ".s3") {
			return true
		}
	}
	return hasNATRoute(reg, s)
}

// finish fills in what needs the whole set of notebooks: the new egress, the
// blast radius and the summary.
func (b *planner) finish(a *Action) error {
	reg := b.regions[a.AccountID+"/"+a.Region]
	switch a.Kind {
	case ActionRestrictSGEgress:
		return b.finishSG(reg, a)
	case ActionDisablePublicIP:
		return b.finishSubnet(reg, a)
	case ActionRecreateNotebook:
		return b.finishRecreate(reg, a)
	case ActionStudioVPCOnly:
		return b.finishDomain(reg, a)
	}
	return nil
}

func (b *planner) finishSG(reg *inventory.Region, a *Action) error {
	g := a.Before.SecurityGroup
	allow := b.allow
	if len(allow) == 0 {
		if v := findVPC(reg, g.VPCID); v != nil {
			allow = append(slices.Clone(v.CIDRBlocks), v.IPv6CIDRBlocks...)
		}
		if len(allow) == 0 {
			a.block("the CIDR blocks of VPC %s are not in the inventory; pass --allow-egress", g.VPCID)
		}
	}
	have := map[string]bool{}
	for _, r := range g.Egress {
		have[normRule(r).key()] = true
	}
	added := map[string]bool{}
	for _, r := range g.Egress {
		if !isWholeInternet(r) {
			continue
		}
		a.Revoke = append(a.Revoke, r)
		v6 := r.IPv6CIDR != ""
		for _, dest := range allow {
			n := Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort}
			switch {
			case strings.HasPrefix(dest, "pl-"):
				n.PrefixListID = dest
			case strings.Contains(dest, ":") && v6:
				n.IPv6CIDR = dest
			case !strings.Contains(dest, ":") && !v6:
				n.CIDR = dest
			default:
				continue
			}
			n = normRule(n)
			n.Description = "sagefence: instead of " + r.Destination()
			if have[n.key()] || added[n.key()] {
				continue
			}
			added[n.key()] = true
			a.Authorize = append(a.Authorize, n)
		}
	}
	a.Revoke, a.Authorize = sortRules(a.Revoke), sortRules(a.Authorize)
	a.After = State{SecurityGroup: &SGState{GroupID: g.GroupID, GroupName: g.GroupName, VPCID: g.VPCID,
		Egress: applyRuleChange(g.Egress, a.Revoke, a.Authorize)}}
	a.Summary = fmt.Sprintf("security group %s (%s): revoke %d internet-wide egress rule(s), authorize %d",
		g.GroupID, g.GroupName, len(a.Revoke), len(a.Authorize))

	enis, source, err := b.interfaces(reg, "group-id", g.GroupID)
	if err != nil {
		a.block("blast radius unknown: %v", err)
	}
	own := map[string]bool{}
	for _, nb := range a.Notebooks {
		if n := findNotebook(reg, nb); n != nil && n.NetworkInterfaceID != "" {
			own[n.NetworkInterfaceID] = true
		}
	}
	br := BlastRadius{Source: source, OwnInterfaces: slices.Sorted(maps.Keys(own))}
	for _, e := range enis {
		if !own[e.ID] {
			br.NetworkInterfaces = append(br.NetworkInterfaces, e)
		}
	}
	for i := range reg.Notebooks {
		n := &reg.Notebooks[i]
		if slices.Contains(n.SecurityGroupIDs, g.GroupID) && !slices.Contains(a.Notebooks, n.Name) {
			br.Notebooks = append(br.Notebooks, n.Name)
		}
	}
	slices.Sort(br.Notebooks)
	br.StudioDomains = studioUsers(reg, func(d *inventory.StudioDomain, profile *inventory.StudioUserProfile) bool {
		if profile != nil {
			return slices.Contains(profile.SecurityGroupIDs, g.GroupID)
		}
		return slices.Contains(d.DefaultUserSecurityGroupIDs, g.GroupID) || slices.Contains(d.DefaultSpaceSecurityGroupIDs, g.GroupID) ||
			slices.Contains(d.DomainSecurityGroupIDs, g.GroupID)
	})
	br.Shared = len(br.NetworkInterfaces) > 0 || len(br.Notebooks) > 0 || len(br.StudioDomains) > 0
	if br.Shared {
		br.Summary = fmt.Sprintf("shared: %d other network interface(s)%s and %d other notebook(s)%s use %s",
			len(br.NetworkInterfaces), listIDs(br.NetworkInterfaces), len(br.Notebooks), listNames(br.Notebooks), g.GroupID)
		if len(br.StudioDomains) > 0 {
			br.Summary += fmt.Sprintf(", and the apps of Studio domain(s) %s", strings.Join(br.StudioDomains, ", "))
		}
		if !b.opts.AllowShared {
			a.block("security group %s is %s; pass --allow-shared to change it for all of them", g.GroupID, br.Summary)
			a.Unblock = append(a.Unblock, "--allow-shared")
		}
	} else {
		br.Summary = fmt.Sprintf("only notebook(s) %s use %s", strings.Join(a.Notebooks, ", "), g.GroupID)
	}
	a.BlastRadius = br
	return nil
}

func (b *planner) finishSubnet(reg *inventory.Region, a *Action) error {
	s := a.Before.Subnet
	enis, source, err := b.interfaces(reg, "subnet-id", s.SubnetID)
	if err != nil {
		a.warn("could not list what else lives in subnet %s: %v", s.SubnetID, err)
	}
	br := BlastRadius{Source: source, NetworkInterfaces: enis}
	for i := range reg.Notebooks {
		n := &reg.Notebooks[i]
		if n.SubnetID == s.SubnetID && !slices.Contains(a.Notebooks, n.Name) {
			br.Notebooks = append(br.Notebooks, n.Name)
		}
	}
	slices.Sort(br.Notebooks)
	br.StudioDomains = studioUsers(reg, func(d *inventory.StudioDomain, profile *inventory.StudioUserProfile) bool {
		return profile == nil && slices.Contains(d.SubnetIDs, s.SubnetID)
	})
	br.Summary = fmt.Sprintf("every instance launched in %s from now on gets no public IPv4 address unless it asks for "+
		"one; %d network interface(s)%s and %d other notebook(s)%s live there now and keep the addresses they have",
		s.SubnetID, len(enis), listIDs(enis), len(br.Notebooks), listNames(br.Notebooks))
	if len(br.StudioDomains) > 0 {
		br.Summary += fmt.Sprintf("; the apps of Studio domain(s) %s start there too", strings.Join(br.StudioDomains, ", "))
	}
	a.BlastRadius = br
	return nil
}

// studioUsers names the Studio domains (and user profiles, as
// DOMAIN/PROFILE) of reg that uses says use a group or subnet.
func studioUsers(reg *inventory.Region, uses func(d *inventory.StudioDomain, profile *inventory.StudioUserProfile) bool) []string {
	var out []string
	for i := range reg.StudioDomains {
		d := &reg.StudioDomains[i]
		if uses(d, nil) {
			out = append(out, d.Name)
		}
		for j := range d.UserProfiles {
			if uses(d, &d.UserProfiles[j]) {
				out = append(out, d.Name+"/"+d.UserProfiles[j].Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

func listIDs(enis []InterfaceRef) string {
	if len(enis) == 0 {
		return ""
	}
	ids := make([]string, len(enis))
	for i, e := range enis {
		ids[i] = e.ID
	}
	return " (" + strings.Join(ids, ", ") + ")"
}

func listNames(names []string) string {
	if len(names) == 0 {
		return ""
	}
	return " (" + strings.Join(names, ", ") + ")"
}

func findNotebook(reg *inventory.Region, name string) *inventory.Notebook {
	for i := range reg.Notebooks {
		if reg.Notebooks[i].Name == name {
			return &reg.Notebooks[i]
		}
	}
	return nil
}

// interfaces lists the network interfaces matching an EC2 filter, live when
// the options allow it, else from the inventory.
func (b *planner) interfaces(reg *inventory.Region, filter, value string) ([]InterfaceRef, string, error) {
	if b.opts.Interfaces == nil {
		var out []InterfaceRef
		for _, e := range reg.NetworkInterfaces {
			if (filter == "group-id" && slices.Contains(e.SecurityGroupIDs, value)) ||
				(filter == "subnet-id" && e.SubnetID == value) {
				out = append(out, InterfaceRef{ID: e.ID, Description: e.Description, SubnetID: e.SubnetID})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return out, "inventory", nil
	}
	key := reg.AccountID + "/" + reg.Region
	if b.interfaceAPIs == nil {
		b.interfaceAPIs = map[string]NetworkInterfacesAPI{}
	}
	api, ok := b.interfaceAPIs[key]
	if !ok {
		var err error
		if api, err = b.opts.Interfaces(b.ctx, reg.AccountID, reg.Region); err != nil {
			return nil, "DescribeNetworkInterfaces", fmt.Errorf("clients for %s: %w", key, err)
		}
		b.interfaceAPIs[key] = api
	}
	out, err := listInterfaces(b.ctx, api, filter, value)
	return out, "DescribeNetworkInterfaces", err
}

// listInterfaces lists the network interfaces matching one EC2 filter
// (group-id or subnet-id), sorted by ID.
func listInterfaces(ctx context.Context, api NetworkInterfacesAPI, filter, value string) ([]InterfaceRef, error) {
	var out []InterfaceRef
	p := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String(filter), Values: []string{value}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeNetworkInterfaces %s=%s: %w", filter, value, err)
		}
		for _, e := range page.NetworkInterfaces {
			ref := InterfaceRef{ID: aws.ToString(e.NetworkInterfaceId), Type: string(e.InterfaceType),
				Description: aws.ToString(e.Description), SubnetID: aws.ToString(e.SubnetId)}
			if e.Attachment != nil {
				ref.InstanceID = aws.ToString(e.Attachment.InstanceId)
			}
			out = append(out, ref)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// applyRuleChange is egress minus revoke plus authorize.
func applyRuleChange(egress, revoke, authorize []Rule) []Rule {
	drop := map[string]bool{}
	for _, r := range revoke {
		drop[normRule(r).key()] = true
	}
	var out []Rule
	for _, r := range egress {
		if !drop[normRule(r).key()] {
			out = append(out, r)
		}
	}
	return sortRules(append(out, authorize...))
}

// ComputeHash is the SHA-256 of the plan's JSON with Hash empty.
func (p *Plan) ComputeHash() (string, error) {
	c := *p
	c.Hash = ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("plan: hashing: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Encode writes the plan as indented JSON.
func (p *Plan) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("plan: writing JSON: %w", err)
	}
	return nil
}

// ReadPlan reads a plan written by Encode, checking its schema version and
// that it was not edited since it was built (its hash).
func ReadPlan(r io.Reader) (*Plan, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("plan: reading: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan: not a sagefence plan: %w", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks the schema version, the hash and that action IDs are unique.
func (p *Plan) Validate() error {
	if p.SchemaVersion != PlanSchemaVersion {
		return fmt.Errorf("plan: schema_version %q is not supported (want %q); build the plan again", p.SchemaVersion, PlanSchemaVersion)
	}
	h, err := p.ComputeHash()
	if err != nil {
		return err
	}
	if h != p.Hash {
		return fmt.Errorf("plan: hash mismatch (the file was changed after it was built); build the plan again")
	}
	seen := map[string]bool{}
	for _, a := range p.Actions {
		if seen[a.ID] {
			return fmt.Errorf("plan: action %s appears twice", a.ID)
		}
		seen[a.ID] = true
	}
	return nil
}

// Counts returns how many actions are ready and how many blocked.
func (p *Plan) Counts() (ready, blocked int) {
	for _, a := range p.Actions {
		if a.Blocked != "" {
			blocked++
		} else {
			ready++
		}
	}
	return ready, blocked
}

// tagsWith returns a copy of tags with extra set.
func tagsWith(tags map[string]string, extra map[string]string) map[string]string {
	out := maps.Clone(tags)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, extra)
	return out
}

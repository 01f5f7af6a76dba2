package control

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/netpath"
)

// Sub-checks of the Studio control (sagemaker-studio-no-direct-internet-access);
// internet-egress-path, public-subnet and open-ingress are the notebook
// control's, evaluated over the domain's subnets.
const (
	// CheckAppNetworkAccess is the domain's AppNetworkAccessType: FAIL
	// unless VpcOnly (the AWS Config rule sagemaker-domain-in-vpc).
	CheckAppNetworkAccess = "app-network-access-type"
	// CheckUserProfiles is whether the domain's user profiles, whose own
	// security groups add to the domain's, could be read.
	CheckUserProfiles = "user-profiles"
)

// placement is one set of security groups a domain's apps carry, named for
// the evidence.
type placement struct {
	label  string
	groups []string
}

// studioPlacements are the groups the domain's own apps carry: a user's
// apps and private spaces the default user settings' groups, shared spaces
// the default space settings' (the user settings' when it sets none), and
// domain-level apps (RStudio) the domain settings'. SageMaker adds an NFS
// group to each app for the domain's EFS volume; DescribeDomain does not
// name it and it carries no internet traffic.
func studioPlacements(d *inventory.StudioDomain) []placement {
	out := []placement{{label: "default user settings", groups: d.DefaultUserSecurityGroupIDs}}
	if len(d.DefaultSpaceSecurityGroupIDs) > 0 && !slices.Equal(d.DefaultSpaceSecurityGroupIDs, d.DefaultUserSecurityGroupIDs) {
		out = append(out, placement{label: "default space settings (shared spaces)", groups: d.DefaultSpaceSecurityGroupIDs})
	}
	if len(d.DomainSecurityGroupIDs) > 0 {
		out = append(out, placement{label: "domain settings (domain-level apps)", groups: d.DomainSecurityGroupIDs})
	}
	return out
}

// profilePlacement is a user profile's apps' groups: SecurityGroups "is
// aggregated when specified in both calls" (API_UserSettings), so the
// profile's own groups add to the domain's default user groups.
func profilePlacement(d *inventory.StudioDomain, p *inventory.StudioUserProfile) placement {
	groups := slices.Clone(p.SecurityGroupIDs)
	for _, g := range d.DefaultUserSecurityGroupIDs {
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	return placement{label: "user profile " + p.Name + "'s own and the domain's default user groups", groups: groups}
}

// studioEval is what one VpcOnly placement over one subnet came to.
type studioEval struct {
	subnet string
	pl     placement
	a      *netpath.Analysis
	checks []finding.Check // egress, public subnet, open ingress
	status finding.Status
	path   finding.InternetPath
}

// evaluateVPC runs the path analysis for every subnet of the domain with
// the placement's groups and returns the most exposed outcome: the worst
// status, then the most exposed path (an ERROR, whose path is unknown,
// dominates every PASS).
func evaluateVPC(ix netpath.Index, d *inventory.StudioDomain, pls []placement) studioEval {
	var worst *studioEval
	for _, pl := range pls {
		for _, s := range d.SubnetIDs {
			ev := evalPlacement(ix, d, s, pl)
			if worst == nil || ev.status.Rank() > worst.status.Rank() ||
				(ev.status == worst.status && ev.path.Exposure() > worst.path.Exposure()) {
				worst = &ev
			}
		}
	}
	return *worst
}

func evalPlacement(ix netpath.Index, d *inventory.StudioDomain, subnet string, pl placement) studioEval {
	ev := studioEval{subnet: subnet, pl: pl}
	prefix := "subnet " + subnet + ", " + pl.label + ": "
	if strings.TrimSpace(subnet) == "" || len(pl.groups) == 0 {
		msg := prefix + "no security groups recorded (a VpcOnly domain's apps always carry at least one): cannot be evaluated"
		if strings.TrimSpace(subnet) == "" {
			msg = pl.label + ": a subnet ID is empty: cannot be evaluated"
		}
		ev.checks = []finding.Check{
			{ID: CheckEgress, Status: finding.StatusError, Severity: finding.SeverityHigh, Message: msg},
			{ID: CheckPublicSubnet, Status: finding.StatusNotApplicable, Message: "not applicable: " + msg},
			{ID: CheckOpenIngress, Status: finding.StatusNotApplicable, Message: "not applicable: " + msg},
		}
		ev.status, ev.path = finding.StatusError, finding.PathUnknown
		return ev
	}
	// The analysis works on a placement: a subnet, security groups and
	// the address type; a domain's app is placed like a VPC notebook
	// with no interface of its own (SageMaker's Studio interfaces have
	// only private IPv4 addresses).
	nb := &inventory.Notebook{Name: d.ID, DirectInternetAccess: inventory.DirectInternetAccessDisabled,
		SubnetID: subnet, SecurityGroupIDs: pl.groups, IPAddressType: d.IPAddressType}
	a := ix.Analyze(nb)
	ev.a = a
	ev.checks = []finding.Check{egressCheck(nb, a, false), publicSubnetCheck(nb, a), openIngressCheck(nb, a)}
	for i := range ev.checks {
		ev.checks[i].Message = prefix + ev.checks[i].Message
	}
	ev.status, _ = decide(ev.checks)
	ev.path = pathOf(a)
	return ev
}

// pathOf is internet_path for a VPC placement.
func pathOf(a *netpath.Analysis) finding.InternetPath {
	switch {
	case a == nil || len(a.Unknowns) > 0:
		return finding.PathUnknown
	case a.Best() != nil:
		return finding.InternetPath(a.Best().Path)
	}
	return finding.PathNone
}

func flagCheck(d *inventory.StudioDomain) finding.Check {
	c := finding.Check{ID: CheckAppNetworkAccess, Severity: finding.SeverityHigh}
	switch d.AppNetworkAccessType {
	case inventory.AppNetworkAccessPublicInternetOnly:
		c.Status = finding.StatusFail
		c.Message = "AppNetworkAccessType is PublicInternetOnly: Studio apps reach the internet directly through a SageMaker-managed VPC, whatever the domain's VPC says"
	case "":
		c.Status = finding.StatusFail
		c.Message = "AppNetworkAccessType was not returned: its default is PublicInternetOnly, so Studio apps reach the internet directly through a SageMaker-managed VPC"
	case inventory.AppNetworkAccessVpcOnly:
		c.Status = finding.StatusPass
		c.Message = "AppNetworkAccessType is VpcOnly: all Studio traffic goes through the domain's subnets"
	default:
		c.Status = finding.StatusError
		c.Message = fmt.Sprintf("AppNetworkAccessType has an unrecognised value %q: cannot be evaluated", d.AppNetworkAccessType)
	}
	return c
}

// evaluateStudio returns the results of the region's domains: one per
// domain and one per user profile with its own security groups (or that
// could not be described), in name order.
func (e *Evaluator) evaluateStudio(reg *inventory.Region, ix netpath.Index, partition string) []finding.Result {
	var out []finding.Result
	for di := range reg.StudioDomains {
		d := &reg.StudioDomains[di]
		out = append(out, e.domainResult(reg, ix, d, partition))
		if d.Error != nil {
			continue
		}
		for pi := range d.UserProfiles {
			p := &d.UserProfiles[pi]
			if p.Error != nil || len(p.SecurityGroupIDs) > 0 {
				out = append(out, e.profileResult(reg, ix, d, p, partition))
			}
		}
	}
	slices.SortStableFunc(out, func(a, b finding.Result) int { return strings.Compare(a.Resource.Name, b.Resource.Name) })
	return out
}

func domainName(d *inventory.StudioDomain) string {
	if d.Name != "" {
		return d.Name
	}
	return d.ID
}

func (e *Evaluator) studioBase(reg *inventory.Region, typ, name, arn string, tags map[string]string) finding.Result {
	return finding.Result{
		ControlID: finding.ControlIDStudio, AccountID: reg.AccountID, Region: reg.Region,
		Resource:   finding.Resource{Type: typ, Name: name, ARN: arn, Tags: tags},
		Compliance: e.studioCompliance,
	}
}

func (e *Evaluator) domainResult(reg *inventory.Region, ix netpath.Index, d *inventory.StudioDomain, partition string) finding.Result {
	arn := d.ARN
	if arn == "" {
		arn = "arn:" + partition + ":sagemaker:" + reg.Region + ":" + reg.AccountID + ":domain/" + d.ID
	}
	r := e.studioBase(reg, finding.ResourceTypeDomain, domainName(d), arn, d.Tags)
	r.Evidence = finding.Evidence{VPCID: d.VPCID, StudioEvidence: &finding.StudioEvidence{DomainID: d.ID, AppNetworkAccessType: d.AppNetworkAccessType, SubnetIDs: d.SubnetIDs}}
	if d.Error != nil {
		e.studioError(&r, d, CheckAppNetworkAccess, d.Error)
		return r
	}
	var extra []finding.Check
	// Profiles add security groups to a VpcOnly domain's apps; a public
	// domain fails whatever they hold.
	if ce := childError(d, awsop.ListUserProfiles); ce != nil && d.AppNetworkAccessType == inventory.AppNetworkAccessVpcOnly {
		extra = append(extra, finding.Check{ID: CheckUserProfiles, Status: finding.StatusError, Severity: finding.SeverityHigh,
			Message: "the domain's user profiles could not be listed (" + ce.Operation + " failed: " + ce.Message + "): a profile's own security groups may open egress"})
	}
	e.decideStudio(&r, ix, d, studioPlacements(d), extra)
	return r
}

func (e *Evaluator) profileResult(reg *inventory.Region, ix netpath.Index, d *inventory.StudioDomain, p *inventory.StudioUserProfile, partition string) finding.Result {
	arn := p.ARN
	if arn == "" {
		arn = "arn:" + partition + ":sagemaker:" + reg.Region + ":" + reg.AccountID + ":user-profile/" + d.ID + "/" + p.Name
	}
	r := e.studioBase(reg, finding.ResourceTypeUserProfile, domainName(d)+"/"+p.Name, arn, nil)
	r.Evidence = finding.Evidence{VPCID: d.VPCID, StudioEvidence: &finding.StudioEvidence{DomainID: d.ID, UserProfileName: p.Name,
		AppNetworkAccessType: d.AppNetworkAccessType, SubnetIDs: d.SubnetIDs}}
	if p.Error != nil {
		e.studioError(&r, d, CheckUserProfiles, p.Error)
		return r
	}
	e.decideStudio(&r, ix, d, []placement{profilePlacement(d, p)}, nil)
	return r
}

// childError is the domain's failed read of op, if any.
func childError(d *inventory.StudioDomain, op string) *inventory.CollectError {
	for i := range d.Errors {
		if d.Errors[i].Operation == op {
			return &d.Errors[i]
		}
	}
	return nil
}

func (e *Evaluator) studioError(r *finding.Result, d *inventory.StudioDomain, check string, ce *inventory.CollectError) {
	r.Status, r.Severity, r.InternetPath = finding.StatusError, finding.SeverityHigh, finding.PathUnknown
	r.Checks = []finding.Check{{ID: check, Status: finding.StatusError, Severity: finding.SeverityHigh,
		Message: "could not be evaluated: " + ce.Operation + " failed: " + ce.Message}}
	r.Remediation = remediationStudioError
	r.Reproduce = finding.TemplateCommands(studioCommands{domainID: d.ID, profile: r.Evidence.UserProfileName}, finding.CommandArgs{Region: r.Region})
}

// decideStudio fills a domain's or profile's verdict: the flag, then, for
// a VpcOnly domain, the most exposed path over its subnets and pls.
func (e *Evaluator) decideStudio(r *finding.Result, ix netpath.Index, d *inventory.StudioDomain, pls []placement, extra []finding.Check) {
	flag := flagCheck(d)
	cmds := studioCommands{domainID: d.ID, profile: r.Evidence.UserProfileName}
	var vpc []finding.Check
	switch {
	case flag.Status != finding.StatusPass:
		why := "not applicable: the apps do not use the domain's VPC for internet traffic"
		if flag.Status == finding.StatusError {
			why = "not applicable: AppNetworkAccessType is unknown"
		}
		vpc = []finding.Check{
			{ID: CheckEgress, Status: finding.StatusNotApplicable, Severity: finding.SeverityMedium, Message: why},
			{ID: CheckPublicSubnet, Status: finding.StatusNotApplicable, Severity: finding.SeverityMedium, Message: why},
			{ID: CheckOpenIngress, Status: finding.StatusNotApplicable, Severity: finding.SeverityHigh, Message: why},
		}
		r.InternetPath = finding.PathDirect
		if flag.Status == finding.StatusError {
			r.InternetPath = finding.PathUnknown
		}
	case len(d.SubnetIDs) == 0:
		vpc = []finding.Check{{ID: CheckEgress, Status: finding.StatusError, Severity: finding.SeverityHigh,
			Message: "AppNetworkAccessType is VpcOnly but no subnet is recorded: cannot be evaluated"}}
		r.InternetPath = finding.PathUnknown
	default:
		w := evaluateVPC(ix, d, pls)
		vpc = w.checks
		r.InternetPath = w.path
		r.Evidence.SubnetID = w.subnet
		r.Evidence.SecurityGroupIDs = w.pl.groups
		r.Evidence.AppsWith = w.pl.label
		fillEvidence(&r.Evidence, w.a)
		r.Hops = decidingHops(w.a)
		nb := &inventory.Notebook{SubnetID: w.subnet, SecurityGroupIDs: w.pl.groups}
		pc := newPlacementCommands(nb, r.AccountID, r.Region, w.a)
		cmds.vpc = pc.vpc
		if w.a == nil || len(w.a.Unknowns) > 0 {
			r.InternetPath = finding.PathUnknown
		}
	}
	r.Checks = append(append([]finding.Check{flag}, vpc...), extra...)
	if e.profile == ProfileFSBP {
		for i := 1; i < len(r.Checks); i++ {
			r.Checks[i].Informational = true
		}
	}
	r.Status, r.Severity = decide(r.Checks)
	r.Remediation = studioRemediation(r.Status, r.Checks, r.Evidence)
	r.Reproduce = finding.TemplateCommands(cmds, finding.CommandArgs{Region: r.Region})
}

const remediationStudioError = "Grant the read permissions the scan needs (sagefence iam-policy --for audit) and scan again; until then treat the domain as exposed."

func studioRemediation(status finding.Status, checks []finding.Check, ev finding.Evidence) string {
	return remediationOf(status, checks, remediationStudioError, func(parts []string, c finding.Check) []string {
		switch c.ID {
		case CheckAppNetworkAccess:
			parts = append(parts, "Set the domain's AppNetworkAccessType to VpcOnly (UpdateDomain, after deleting its running apps) with private subnets and security groups whose egress is restricted; give the VPC endpoints Studio needs (SageMaker API and runtime, STS, S3, CloudWatch Logs).")
		case CheckEgress:
			parts = append(parts, "Restrict the egress of security groups "+strings.Join(ev.SecurityGroupIDs, ", ")+" ("+ev.AppsWith+") to the destinations Studio needs, or route the domain's subnets through an inspected proxy.")
		case CheckPublicSubnet:
			parts = append(parts, "Use private subnets for the domain; disable MapPublicIpOnLaunch on "+ev.SubnetID+".")
		}
		return parts
	})
}

// studioCommands renders a domain's or profile's commands: the describe
// call, then the EC2 commands of the deciding placement, if any.
type studioCommands struct {
	domainID, profile string
	vpc               func() []string
}

func (c studioCommands) AppendCommands(dst []string, args finding.CommandArgs) []string {
	r := " --region " + shellQuote(args.Region)
	dst = append(dst, "aws sagemaker describe-domain --domain-id "+shellQuote(c.domainID)+r+
		" --query '{AppNetworkAccessType:AppNetworkAccessType,VpcId:VpcId,SubnetIds:SubnetIds,DefaultUserSecurityGroups:DefaultUserSettings.SecurityGroups,DefaultSpaceSecurityGroups:DefaultSpaceSettings.SecurityGroups,DomainSecurityGroups:DomainSettings.SecurityGroupIds}'")
	if c.profile != "" {
		dst = append(dst, "aws sagemaker describe-user-profile --domain-id "+shellQuote(c.domainID)+" --user-profile-name "+shellQuote(c.profile)+r+
			" --query '{SecurityGroups:UserSettings.SecurityGroups}'")
	}
	if c.vpc != nil {
		dst = append(dst, c.vpc()...)
	}
	return dst
}

package remediate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Studio domains: the studio-vpc-only fix. A domain whose
// AppNetworkAccessType is PublicInternetOnly (or unset, AWS's default)
// gives every Studio app a SageMaker-managed internet path; UpdateDomain
// with AppNetworkAccessType=VpcOnly sends all of it through the domain's
// own VPC instead. AWS changes it only while no app of the domain is
// InService, Pending or Deleting (UpdateDomain API reference), and VpcOnly
// Studio works only if the VPC reaches the SageMaker API and runtime, by
// interface endpoints or a NAT gateway ("Connect Studio notebooks in a VPC
// to external resources"). See docs/remediation.md.

// Studio values as the SageMaker API spells them.
const (
	domainInService     = "InService"
	domainPending       = "Pending"
	domainUpdating      = "Updating"
	domainUpdateFailed  = "Update_Failed"
	domainFailed        = "Failed"
	appStatusInService  = "InService"
	appStatusPending    = "Pending"
	appStatusDeleting   = "Deleting"
	endpointAvailable   = "available"
	endpointTypeGateway = "Gateway"
)

// StudioAppRef is one app of a domain: what it runs for (a user profile or
// a space), its type, name and status.
type StudioAppRef struct {
	UserProfileName string `json:"user_profile_name,omitempty"`
	SpaceName       string `json:"space_name,omitempty"`
	AppType         string `json:"app_type"`
	AppName         string `json:"app_name"`
	Status          string `json:"status"`
}

// String is "JupyterLab app default of space team (InService)".
func (a StudioAppRef) String() string {
	return fmt.Sprintf("%s app %s of %s (%s)", a.AppType, a.AppName, a.owner(), a.Status)
}

func (a StudioAppRef) owner() string {
	if a.SpaceName != "" {
		return "space " + a.SpaceName
	}
	return "user profile " + a.UserProfileName
}

// DeleteCommand is the AWS CLI command that stops (deletes) the app.
func (a StudioAppRef) DeleteCommand(domainID, region string) string {
	who := "--user-profile-name " + a.UserProfileName
	if a.SpaceName != "" {
		who = "--space-name " + a.SpaceName
	}
	return fmt.Sprintf("aws sagemaker delete-app --domain-id %s %s --app-type %s --app-name %s --region %s",
		domainID, who, a.AppType, a.AppName, region)
}

// appBlocksUpdate reports whether an app in this status keeps UpdateDomain
// from changing AppNetworkAccessType (UpdateDomain API reference: "only if
// there are no apps in the InService, Pending, or Deleting state").
func appBlocksUpdate(status string) bool {
	return status == appStatusInService || status == appStatusPending || status == appStatusDeleting
}

// AppToStop is a running app a plan names, with the command that stops it.
type AppToStop struct {
	StudioAppRef
	Command string `json:"command"`
}

// DomainState is a Studio domain's network settings as remediation sees
// them.
type DomainState struct {
	DomainID string `json:"domain_id"`
	Name     string `json:"name,omitempty"`
	ARN      string `json:"arn,omitempty"`
	Status   string `json:"status,omitempty"`
	// AppNetworkAccessType is the effective value: PublicInternetOnly,
	// AWS's default, when DescribeDomain returned none.
	AppNetworkAccessType string `json:"app_network_access_type"`
	// AppNetworkAccessTypeUnset records that DescribeDomain returned no
	// AppNetworkAccessType. Backout then restores PublicInternetOnly
	// explicitly: UpdateDomain cannot unset it, and the two mean the same.
	AppNetworkAccessTypeUnset   bool     `json:"app_network_access_type_unset,omitempty"`
	VPCID                       string   `json:"vpc_id,omitempty"`
	SubnetIDs                   []string `json:"subnet_ids,omitempty"`
	DefaultUserSecurityGroupIDs []string `json:"default_user_security_group_ids,omitempty"`
	// RStudioDomainExecutionRoleARN is set when the domain runs RStudio:
	// AWS refuses to change AppNetworkAccessType then.
	RStudioDomainExecutionRoleARN string `json:"rstudio_domain_execution_role_arn,omitempty"`
	// ActiveApps are the apps in a status that blocks UpdateDomain, read
	// with the domain. They are evidence, not setting: Diff ignores them.
	ActiveApps []StudioAppRef `json:"active_apps,omitempty"`
}

// DomainAPI is what reading a Studio domain needs.
type DomainAPI interface {
	DescribeDomain(ctx context.Context, in *sagemaker.DescribeDomainInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeDomainOutput, error)
	ListApps(ctx context.Context, in *sagemaker.ListAppsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListAppsOutput, error)
}

// VPCEndpointsAPI is what checking a VPC's endpoints needs.
type VPCEndpointsAPI interface {
	DescribeVpcEndpoints(ctx context.Context, in *ec2.DescribeVpcEndpointsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeVpcEndpointsOutput, error)
}

// StudioClients are the reads a studio-vpc-only plan makes live.
type StudioClients struct {
	SageMaker DomainAPI
	EC2       VPCEndpointsAPI
}

// effectiveNetworkAccess is AppNetworkAccessType as AWS applies it.
func effectiveNetworkAccess(v string) string {
	if v == "" {
		return inventory.AppNetworkAccessPublicInternetOnly
	}
	return v
}

// observeDomain reads a domain (DescribeDomain) and its apps that block
// UpdateDomain (ListApps).
func observeDomain(ctx context.Context, c DomainAPI, id string) (State, error) {
	out, err := c.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String(id)})
	if isNotFound(err) {
		return State{Absent: true}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("studio domain %s: describing: %w", id, err)
	}
	d := &DomainState{
		DomainID: aws.ToString(out.DomainId), Name: aws.ToString(out.DomainName), ARN: aws.ToString(out.DomainArn),
		Status: string(out.Status), AppNetworkAccessType: effectiveNetworkAccess(string(out.AppNetworkAccessType)),
		AppNetworkAccessTypeUnset: out.AppNetworkAccessType == "", VPCID: aws.ToString(out.VpcId),
		SubnetIDs: slices.Sorted(slices.Values(out.SubnetIds)),
	}
	if d.DomainID == "" {
		d.DomainID = id
	}
	if out.DefaultUserSettings != nil {
		d.DefaultUserSecurityGroupIDs = slices.Sorted(slices.Values(out.DefaultUserSettings.SecurityGroups))
	}
	if s := out.DomainSettings; s != nil && s.RStudioServerProDomainSettings != nil {
		d.RStudioDomainExecutionRoleARN = aws.ToString(s.RStudioServerProDomainSettings.DomainExecutionRoleArn)
	}
	if d.ActiveApps, err = activeApps(ctx, c, id); err != nil {
		return State{}, err
	}
	return State{Domain: normDomain(d)}, nil
}

// activeApps lists a domain's apps whose status blocks UpdateDomain.
func activeApps(ctx context.Context, c DomainAPI, id string) ([]StudioAppRef, error) {
	var out []StudioAppRef
	p := sagemaker.NewListAppsPaginator(c, &sagemaker.ListAppsInput{DomainIdEquals: aws.String(id)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("studio domain %s: listing apps: %w", id, err)
		}
		for _, a := range page.Apps {
			if !appBlocksUpdate(string(a.Status)) {
				continue
			}
			out = append(out, StudioAppRef{UserProfileName: aws.ToString(a.UserProfileName), SpaceName: aws.ToString(a.SpaceName),
				AppType: string(a.AppType), AppName: aws.ToString(a.AppName), Status: string(a.Status)})
		}
	}
	sortApps(out)
	return out, nil
}

func sortApps(apps []StudioAppRef) {
	slices.SortFunc(apps, func(a, b StudioAppRef) int {
		return strings.Compare(a.owner()+"/"+a.AppType+"/"+a.AppName, b.owner()+"/"+b.AppType+"/"+b.AppName)
	})
}

func normDomain(d *DomainState) *DomainState {
	if len(d.SubnetIDs) == 0 {
		d.SubnetIDs = nil
	}
	if len(d.DefaultUserSecurityGroupIDs) == 0 {
		d.DefaultUserSecurityGroupIDs = nil
	}
	if len(d.ActiveApps) == 0 {
		d.ActiveApps = nil
	}
	return d
}

// domainFromInventory is the state a plan made offline starts from.
func domainFromInventory(d *inventory.StudioDomain) *DomainState {
	s := &DomainState{DomainID: d.ID, Name: d.Name, ARN: d.ARN, Status: d.Status,
		AppNetworkAccessType:      effectiveNetworkAccess(d.AppNetworkAccessType),
		AppNetworkAccessTypeUnset: d.AppNetworkAccessType == "", VPCID: d.VPCID,
		SubnetIDs:                   slices.Sorted(slices.Values(d.SubnetIDs)),
		DefaultUserSecurityGroupIDs: slices.Sorted(slices.Values(d.DefaultUserSecurityGroupIDs)),
	}
	for _, a := range d.Apps {
		if appBlocksUpdate(a.Status) {
			s.ActiveApps = append(s.ActiveApps, StudioAppRef{UserProfileName: a.UserProfileName, SpaceName: a.SpaceName,
				AppType: a.AppType, AppName: a.AppName, Status: a.Status})
		}
	}
	sortApps(s.ActiveApps)
	return normDomain(s)
}

// diffDomain compares the settings apply and backout change or depend on;
// the apps are not settings and are checked where they matter.
func diffDomain(w, g *DomainState) []string {
	var d []string
	cmp := func(field, want, got string) {
		if want != got {
			d = append(d, fmt.Sprintf("%s is %q, expected %q", field, got, want))
		}
	}
	cmp("status", w.Status, g.Status)
	cmp("AppNetworkAccessType", w.AppNetworkAccessType, g.AppNetworkAccessType)
	cmp("VpcId", w.VPCID, g.VPCID)
	cmp("SubnetIds", strings.Join(w.SubnetIDs, ","), strings.Join(g.SubnetIDs, ","))
	cmp("DefaultUserSettings.SecurityGroups", strings.Join(w.DefaultUserSecurityGroupIDs, ","), strings.Join(g.DefaultUserSecurityGroupIDs, ","))
	return d
}

// appsRunningError is the refusal to change AppNetworkAccessType while apps
// run, naming each and how to stop it.
func appsRunningError(domainID, region, what string, apps []StudioAppRef) error {
	lines := make([]string, len(apps))
	for i, a := range apps {
		lines[i] = a.String() + ": " + a.DeleteCommand(domainID, region)
	}
	return fmt.Errorf("studio domain %s: cannot %s while %d app(s) are InService, Pending or Deleting "+
		"(UpdateDomain refuses); delete them, wait for them to be Deleted, and try again: %s",
		domainID, what, len(apps), strings.Join(lines, "; "))
}

// --- the step ---------------------------------------------------------------

// setDomainNetworkAccess sets a domain's AppNetworkAccessType and waits
// until the domain is InService again.
type setDomainNetworkAccess struct {
	DomainID             string `json:"domain_id"`
	Region               string `json:"region"`
	AppNetworkAccessType string `json:"app_network_access_type"`
}

func (s *setDomainNetworkAccess) kind() string     { return StepSetDomainNetworkAccess }
func (s *setDomainNetworkAccess) resource() string { return s.DomainID }
func (s *setDomainNetworkAccess) observe(ctx context.Context, r *runner) (State, error) {
	return observeDomain(ctx, r.c.SageMaker, s.DomainID)
}

func (s *setDomainNetworkAccess) check(before State) error {
	d := before.Domain
	switch {
	case d == nil:
		return fmt.Errorf("studio domain %s does not exist", s.DomainID)
	case d.Status != domainInService:
		return fmt.Errorf("studio domain %s is %s; AppNetworkAccessType is changed only when it is InService", s.DomainID, d.Status)
	case d.AppNetworkAccessType == s.AppNetworkAccessType:
		return fmt.Errorf("studio domain %s already has AppNetworkAccessType=%s", s.DomainID, s.AppNetworkAccessType)
	case len(d.ActiveApps) > 0:
		return appsRunningError(s.DomainID, s.Region, "set AppNetworkAccessType="+s.AppNetworkAccessType, d.ActiveApps)
	}
	return nil
}

func (s *setDomainNetworkAccess) expect(before State) State {
	d := *before.Domain
	d.AppNetworkAccessType, d.AppNetworkAccessTypeUnset, d.Status = s.AppNetworkAccessType, false, domainInService
	return State{Domain: &d}
}

func (s *setDomainNetworkAccess) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := updateDomainNetwork(ctx, r.c.SageMaker, s.DomainID, s.AppNetworkAccessType); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, r.waitDomain(ctx, s.DomainID, s.AppNetworkAccessType)
}

// undo puts the AppNetworkAccessType back. Like apply, it needs the
// domain's apps stopped; when they are not, it changes nothing and says
// which to stop, and a second backout finishes the job.
func (s *setDomainNetworkAccess) undo(ctx context.Context, r *runner, before State) error {
	if err := r.waitDomain(ctx, s.DomainID, ""); err != nil {
		return err
	}
	live, err := s.observe(ctx, r)
	if err != nil {
		return err
	}
	if live.Absent {
		return fmt.Errorf("studio domain %s no longer exists", s.DomainID)
	}
	want := before.Domain.AppNetworkAccessType
	if live.Domain.AppNetworkAccessType == want {
		return nil
	}
	if len(live.Domain.ActiveApps) > 0 {
		return appsRunningError(s.DomainID, s.Region, "restore AppNetworkAccessType="+want, live.Domain.ActiveApps)
	}
	if err := updateDomainNetwork(ctx, r.c.SageMaker, s.DomainID, want); err != nil {
		return err
	}
	return r.waitDomain(ctx, s.DomainID, want)
}

func (s *setDomainNetworkAccess) settle(ctx context.Context, r *runner) error {
	return r.waitDomain(ctx, s.DomainID, "")
}

func updateDomainNetwork(ctx context.Context, c SageMakerAPI, id, access string) error {
	_, err := c.UpdateDomain(ctx, &sagemaker.UpdateDomainInput{DomainId: aws.String(id),
		AppNetworkAccessType: smtypes.AppNetworkAccessType(access)})
	if err != nil {
		return fmt.Errorf("studio domain %s: setting AppNetworkAccessType=%s: %w", id, access, err)
	}
	return nil
}

// waitDomain polls until the domain is InService and, when want is set,
// shows AppNetworkAccessType want: an update AWS accepted but that does not
// show is not done. A failed update, a domain being deleted, or a status
// not recognised is an error.
func (r *runner) waitDomain(ctx context.Context, id, want string) error {
	deadline := time.Now().Add(r.notebookWait)
	for {
		s, err := observeDomain(ctx, r.c.SageMaker, id)
		if err != nil {
			return err
		}
		if s.Absent {
			return fmt.Errorf("studio domain %s: disappeared while waiting for it to be InService", id)
		}
		d := s.Domain
		switch d.Status {
		case domainPending, domainUpdating:
		case domainInService:
			if want == "" || d.AppNetworkAccessType == want {
				return nil
			}
		default: // Update_Failed, Failed, Deleting, Delete_Failed, or new
			return fmt.Errorf("studio domain %s: status %s", id, d.Status)
		}
		if time.Now().After(deadline) {
			if d.Status == domainInService {
				return fmt.Errorf("studio domain %s: AppNetworkAccessType is still %s after %v, want %s", id, d.AppNetworkAccessType, r.notebookWait, want)
			}
			return fmt.Errorf("studio domain %s: still %s after %v", id, d.Status, r.notebookWait)
		}
		if err := r.sleep(ctx); err != nil {
			return fmt.Errorf("studio domain %s: waiting for InService: %w", id, err)
		}
	}
}

// --- VPC endpoints ------------------------------------------------------------

// EndpointCheck is what a plan found for one service a VpcOnly domain's
// apps need to reach.
type EndpointCheck struct {
	// Service is the endpoint service name, com.amazonaws.REGION.sagemaker.api.
	Service string `json:"service"`
	// Required services break Studio when unreachable; the others break
	// the features Why names.
	Required   bool   `json:"required"`
	Why        string `json:"why"`
	EndpointID string `json:"endpoint_id,omitempty"`
	Type       string `json:"type,omitempty"`
	State      string `json:"state,omitempty"`
	PrivateDNS *bool  `json:"private_dns_enabled,omitempty"`
	// Status is ok, missing, not-available or private-dns-disabled.
	Status string `json:"status"`
}

// Endpoint check statuses.
const (
	EndpointOK                 = "ok"
	EndpointMissing            = "missing"
	EndpointNotAvailable       = "not-available"
	EndpointPrivateDNSDisabled = "private-dns-disabled"
)

// studioService is a service VpcOnly Studio reaches, per AWS's "Connect
// Studio notebooks in a VPC to external resources" (Requirements to use
// VPC only mode).
type studioService struct {
	suffix   string
	required bool
	why      string
}

func studioServices() []studioService {
	return []studioService{
		{"sagemaker.api", true, "the SageMaker API: required to run Studio notebooks"},
		{"sagemaker.runtime", true, "the SageMaker runtime: required to run Studio notebooks and to train and host models"},
		{"s3", false, "Amazon S3 (gateway or interface endpoint), which AWS lists with \"other AWS services you require\""},
		{"sts", false, "AWS STS, for SageMaker Python SDK remote jobs"},
		{"logs", false, "CloudWatch Logs, for SageMaker Python SDK remote job status"},
		{"servicecatalog", false, "Service Catalog, for SageMaker Projects"},
	}
}

// endpointRef is a VPC endpoint as the check sees it; State and PrivateDNS
// are unknown for endpoints read from an inventory.
type endpointRef struct {
	ID, Type, ServiceName, State string
	PrivateDNS                   *bool
}

func listVPCEndpoints(ctx context.Context, c VPCEndpointsAPI, vpcID string) ([]endpointRef, error) {
	var out []endpointRef
	p := ec2.NewDescribeVpcEndpointsPaginator(c, &ec2.DescribeVpcEndpointsInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcID}}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("DescribeVpcEndpoints vpc-id=%s: %w", vpcID, err)
		}
		for _, e := range page.VpcEndpoints {
			out = append(out, endpointRef{ID: aws.ToString(e.VpcEndpointId), Type: string(e.VpcEndpointType),
				ServiceName: aws.ToString(e.ServiceName), State: string(e.State), PrivateDNS: e.PrivateDnsEnabled})
		}
	}
	slices.SortFunc(out, func(a, b endpointRef) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// checkEndpoints judges, for each service Studio needs, the best endpoint
// of the VPC: available, and for an interface endpoint with private DNS
// (without it the SDKs' default host names do not resolve to it).
func checkEndpoints(region string, eps []endpointRef) []EndpointCheck {
	var out []EndpointCheck
	for _, svc := range studioServices() {
		c := EndpointCheck{Service: "com.amazonaws." + region + "." + svc.suffix, Required: svc.required, Why: svc.why,
			Status: EndpointMissing}
		for _, e := range eps {
			if !strings.HasSuffix(e.ServiceName, "."+region+"."+svc.suffix) {
				continue
			}
			st := EndpointOK
			switch {
			case e.State != "" && !strings.EqualFold(e.State, endpointAvailable):
				st = EndpointNotAvailable
			case e.Type != endpointTypeGateway && e.PrivateDNS != nil && !*e.PrivateDNS:
				st = EndpointPrivateDNSDisabled
			}
			if endpointRank(st) > endpointRank(c.Status) {
				c.Status, c.EndpointID, c.Type, c.State, c.PrivateDNS = st, e.ID, e.Type, e.State, e.PrivateDNS
			}
		}
		out = append(out, c)
	}
	return out
}

// endpointRank orders statuses from worst to best: the check reports the
// best endpoint a service has.
func endpointRank(status string) int {
	return slices.Index([]string{EndpointMissing, EndpointNotAvailable, EndpointPrivateDNSDisabled, EndpointOK}, status)
}

func (c EndpointCheck) problem() string {
	switch c.Status {
	case EndpointMissing:
		return "no endpoint"
	case EndpointNotAvailable:
		return fmt.Sprintf("endpoint %s is %s", c.EndpointID, c.State)
	case EndpointPrivateDNSDisabled:
		return fmt.Sprintf("endpoint %s has private DNS disabled", c.EndpointID)
	}
	return ""
}

// --- the plan ---------------------------------------------------------------

// studio plans a set-domain-vpc-only action for every domain of the
// inventory that does not use VpcOnly; muted and unreadable ones are
// noted instead. Studio domains are selected from the inventory, not the
// report: the report's notebook results do not cover them.
func (b *planner) studio(muted map[string]bool) {
	for i := range b.inv.Regions {
		reg := &b.inv.Regions[i]
		for j := range reg.StudioDomains {
			d := &reg.StudioDomains[j]
			where := fmt.Sprintf("%s (%s/%s)", d.ID, reg.AccountID, reg.Region)
			switch {
			case d.Error != nil:
				b.note("studio domain %s could not be read (%s): nothing planned for it", where, d.Error.Message)
				continue
			case effectiveNetworkAccess(d.AppNetworkAccessType) == inventory.AppNetworkAccessVpcOnly:
				continue
			case effectiveNetworkAccess(d.AppNetworkAccessType) != inventory.AppNetworkAccessPublicInternetOnly:
				// A value the control cannot judge (ERROR): changing it,
				// and restoring it on backout, would be blind.
				b.note("studio domain %s has AppNetworkAccessType %q, which sagefence does not recognise: nothing planned for it", where, d.AppNetworkAccessType)
				continue
			case d.ARN != "" && muted[d.ARN]:
				b.note("studio domain %s is muted by an exception: nothing planned for it", where)
				continue
			case !slices.Contains(b.fixes, FixStudioVPCOnly):
				b.note("studio domain %s has AppNetworkAccessType %s but --fix does not include %s", where,
					effectiveNetworkAccess(d.AppNetworkAccessType), FixStudioVPCOnly)
				continue
			}
			id := actionID(ActionStudioVPCOnly, reg.AccountID, reg.Region, d.ID)
			b.actions[id] = &Action{ID: id, Kind: ActionStudioVPCOnly, AccountID: reg.AccountID, Region: reg.Region,
				Resource: d.ID, Checks: []string{finding.ControlIDStudio}}
		}
	}
}

// studioClients returns the live clients for an account-region, once.
func (b *planner) studioClients(reg *inventory.Region) (StudioClients, error) {
	key := reg.AccountID + "/" + reg.Region
	if c, ok := b.studioAPIs[key]; ok {
		return c, nil
	}
	c, err := b.opts.Studio(b.ctx, reg.AccountID, reg.Region)
	if err != nil {
		return StudioClients{}, fmt.Errorf("clients for %s: %w", key, err)
	}
	if b.studioAPIs == nil {
		b.studioAPIs = map[string]StudioClients{}
	}
	b.studioAPIs[key] = c
	return c, nil
}

// readDomain reads the domain and its VPC's endpoints live when the plan
// options allow it, else from the inventory.
func (b *planner) readDomain(reg *inventory.Region, d *inventory.StudioDomain) (State, []endpointRef, string, error) {
	if b.opts.Studio == nil {
		var eps []endpointRef
		for _, e := range reg.VPCEndpoints {
			if e.VPCID == d.VPCID {
				eps = append(eps, endpointRef{ID: e.ID, Type: e.Type, ServiceName: e.ServiceName})
			}
		}
		return State{Domain: domainFromInventory(d)}, eps, "inventory", nil
	}
	const source = "DescribeDomain, ListApps, DescribeVpcEndpoints"
	c, err := b.studioClients(reg)
	if err != nil {
		return State{}, nil, source, err
	}
	st, err := observeDomain(b.ctx, c.SageMaker, d.ID)
	if err != nil || st.Absent || st.Domain.VPCID == "" {
		return st, nil, source, err
	}
	eps, err := listVPCEndpoints(b.ctx, c.EC2, st.Domain.VPCID)
	return st, eps, source, err
}

func findDomain(reg *inventory.Region, id string) *inventory.StudioDomain {
	for i := range reg.StudioDomains {
		if reg.StudioDomains[i].ID == id {
			return &reg.StudioDomains[i]
		}
	}
	return nil
}

func (b *planner) finishDomain(reg *inventory.Region, a *Action) error {
	inv := findDomain(reg, a.Resource)
	a.Before = State{Domain: domainFromInventory(inv)}
	live, eps, source, err := b.readDomain(reg, inv)
	a.BlastRadius.Source = source
	switch {
	case err != nil:
		a.block("studio domain %s could not be read: %v", inv.ID, err)
		a.Summary = fmt.Sprintf("set AppNetworkAccessType=VpcOnly on Studio domain %s", inv.ID)
		return nil
	case live.Absent:
		a.block("studio domain %s no longer exists", inv.ID)
		a.Summary = fmt.Sprintf("set AppNetworkAccessType=VpcOnly on Studio domain %s", inv.ID)
		return nil
	}
	d := live.Domain
	a.Before = live
	after := *d
	after.AppNetworkAccessType, after.AppNetworkAccessTypeUnset, after.ActiveApps = inventory.AppNetworkAccessVpcOnly, false, nil
	a.After = State{Domain: &after}
	was := d.AppNetworkAccessType
	if d.AppNetworkAccessTypeUnset {
		was += " (unset: AWS's default)"
	}
	a.Summary = fmt.Sprintf("set AppNetworkAccessType=VpcOnly on Studio domain %s%s, now %s: its apps' traffic goes only "+
		"through VPC %s (subnets %s)", d.DomainID, parens(d.Name), was, orNone(d.VPCID), orNone(strings.Join(d.SubnetIDs, ", ")))
	a.BlastRadius.Summary = fmt.Sprintf("every app of domain %s (%d user profile(s), %d space(s)) uses VPC %s from its next "+
		"start: it reaches the internet and AWS services only as that VPC routes it; running apps keep their network "+
		"until they are stopped", d.DomainID, len(inv.UserProfiles), len(inv.Spaces), orNone(d.VPCID))

	if d.Status != domainInService {
		a.block("studio domain %s is %s; plan again when it is InService", d.DomainID, d.Status)
	}
	if len(d.ActiveApps) > 0 {
		for _, app := range d.ActiveApps {
			a.Apps = append(a.Apps, AppToStop{StudioAppRef: app, Command: app.DeleteCommand(d.DomainID, reg.Region)})
		}
		a.block("%d app(s) of studio domain %s are InService, Pending or Deleting, and UpdateDomain changes "+
			"AppNetworkAccessType only when none is: delete the running ones (apps lists the delete-app command for each), "+
			"wait for those Deleting, and plan again", len(d.ActiveApps), d.DomainID)
	}
	if len(d.DefaultUserSecurityGroupIDs) == 0 {
		a.block("studio domain %s has no default security groups (DefaultUserSettings.SecurityGroups), which VpcOnly "+
			"requires: set them with update-domain, then plan again", d.DomainID)
	}
	if d.RStudioDomainExecutionRoleARN != "" {
		a.block("studio domain %s has an RStudio domain execution role: AWS does not change its AppNetworkAccessType", d.DomainID)
	}
	if d.VPCID == "" || len(d.SubnetIDs) == 0 {
		a.block("studio domain %s has no VPC or subnets to send its traffic through", d.DomainID)
		return nil
	}
	for _, id := range d.SubnetIDs {
		if s := findSubnet(reg, id); s != nil {
			if why := publicReason(reg, s); why != "" {
				a.warn("subnet %s %s: AWS requires private subnets for VpcOnly", id, why)
			}
		}
	}
	b.judgeEndpoints(reg, a, d, eps, source)
	return nil
}

// judgeEndpoints records the endpoint checks and blocks the action when
// the SageMaker API or runtime would be unreachable: no usable endpoint
// and no NAT route from every one of the domain's subnets.
func (b *planner) judgeEndpoints(reg *inventory.Region, a *Action, d *DomainState, eps []endpointRef, source string) {
	a.Endpoints = checkEndpoints(reg.Region, eps)
	if source == "inventory" {
		a.warn("VPC endpoints come from the inventory: their state and private DNS were not checked")
	}
	nat := true
	for _, id := range d.SubnetIDs {
		s := findSubnet(reg, id)
		if s == nil || !hasNATRoute(reg, s) {
			nat = false
		}
	}
	var missing []string
	for _, c := range a.Endpoints {
		if c.Status == EndpointOK {
			continue
		}
		if !c.Required {
			a.warn("VPC %s: %s for %s (%s)", d.VPCID, c.problem(), c.Service, c.Why)
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (%s)", c.Service, c.problem()))
	}
	switch {
	case len(missing) == 0:
	case nat:
		a.warn("VPC %s has no usable endpoint for %s: Studio reaches them through the NAT route of every domain subnet, "+
			"so that egress path stays in use", d.VPCID, strings.Join(missing, ", "))
	case b.opts.AllowMissingEndpoints:
		a.warn("VPC %s has no usable endpoint for %s and the domain's subnets have no NAT route: in VpcOnly Studio "+
			"apps will not reach the SageMaker API and runtime until you add them", d.VPCID, strings.Join(missing, ", "))
	default:
		a.block("VPC %s has no usable endpoint for %s and not every domain subnet has a NAT route: in VpcOnly Studio "+
			"apps could not reach the SageMaker API and runtime; create interface endpoints with private DNS, or pass "+
			"--allow-missing-endpoints to apply anyway", d.VPCID, strings.Join(missing, ", "))
		a.Unblock = append(a.Unblock, "--allow-missing-endpoints")
	}
}

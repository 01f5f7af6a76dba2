package collect

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// StudioAPI is the part of the SageMaker client the Studio collection
// uses (ListTags, shared with the notebooks, reads a domain's tags).
type StudioAPI interface {
	ListDomains(ctx context.Context, in *sagemaker.ListDomainsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListDomainsOutput, error)
	DescribeDomain(ctx context.Context, in *sagemaker.DescribeDomainInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeDomainOutput, error)
	ListUserProfiles(ctx context.Context, in *sagemaker.ListUserProfilesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListUserProfilesOutput, error)
	DescribeUserProfile(ctx context.Context, in *sagemaker.DescribeUserProfileInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeUserProfileOutput, error)
	ListSpaces(ctx context.Context, in *sagemaker.ListSpacesInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListSpacesOutput, error)
	ListApps(ctx context.Context, in *sagemaker.ListAppsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListAppsOutput, error)
	ListTags(ctx context.Context, in *sagemaker.ListTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error)
}

// studioPageSize is the largest page the Studio list calls return.
const studioPageSize = 100

// collectDomains reads the region's Studio domains in three phases, each
// bounded by opts.Concurrency: the listing; then per domain
// DescribeDomain, its tags and the listings of its user profiles, spaces
// and apps; then DescribeUserProfile for every profile of every domain
// (ListUserProfiles does not return a profile's security groups). A
// failed ListDomains is a region error: the region's domains are
// unknown. A failed describe is the domain's or the profile's own error;
// a failed child listing is recorded on the domain (StudioDomain.Errors).
func collectDomains(ctx context.Context, sm StudioAPI, rec *recorder, opts Options) []inventory.StudioDomain {
	var domains []inventory.StudioDomain
	seen := map[string]bool{}
	pages := sagemaker.NewListDomainsPaginator(sm, &sagemaker.ListDomainsInput{MaxResults: aws.Int32(studioPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			rec.fail(awsop.ListDomains, "", err)
			break
		}
		for _, s := range page.Domains {
			id := aws.ToString(s.DomainId)
			if id == "" || seen[id] {
				continue
			}
			seen[id] = true
			domains = append(domains, inventory.StudioDomain{
				ID: id, Name: aws.ToString(s.DomainName), ARN: aws.ToString(s.DomainArn),
				Status: string(s.Status), CreationTime: s.CreationTime,
			})
		}
	}
	slices.SortFunc(domains, func(a, b inventory.StudioDomain) int { return strings.Compare(a.ID, b.ID) })

	var g errgroup.Group
	g.SetLimit(opts.concurrency())
	for i := range domains {
		g.Go(func() error {
			readDomain(ctx, sm, rec, &domains[i])
			return nil
		})
	}
	_ = g.Wait() // failures are recorded on the domains

	// Every profile of every domain, described opts.Concurrency at once;
	// each goroutine writes its own element.
	var profiles errgroup.Group
	profiles.SetLimit(opts.concurrency())
	for i := range domains {
		d := &domains[i]
		for j := range d.UserProfiles {
			profiles.Go(func() error {
				d.UserProfiles[j] = describeUserProfile(ctx, sm, rec, d.ID, d.UserProfiles[j])
				return nil
			})
		}
	}
	_ = profiles.Wait()
	return domains
}

// readDomain describes one domain, reads its tags and lists its profiles,
// spaces and apps. A domain that cannot be described keeps what the
// listing said and carries the error; its children are not read.
func readDomain(ctx context.Context, sm StudioAPI, rec *recorder, d *inventory.StudioDomain) {
	if err := ctx.Err(); err != nil {
		d.Error = rec.notebookError(awsop.DescribeDomain, d.ID, err)
		return
	}
	out, err := sm.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String(d.ID)})
	if err != nil {
		d.Error = rec.notebookError(awsop.DescribeDomain, d.ID, err)
		return
	}
	mapDomain(d, out)
	if d.ARN == "" {
		d.Error = &inventory.CollectError{AccountID: rec.account, Region: rec.region, Operation: awsop.DescribeDomain, Resource: d.ID,
			Message: "the domain has no ARN, so its tags cannot be read"}
		return
	}
	tags, err := listTags(ctx, sm, d.ARN)
	if err != nil {
		d.Error = rec.notebookError(awsop.ListTags, d.ID, err)
		return
	}
	d.Tags = tags
	child := func(op string, err error) {
		d.Errors = append(d.Errors, collectError(rec.account, rec.region, op, d.ID, err))
	}
	if err := listUserProfiles(ctx, sm, d); err != nil {
		child(awsop.ListUserProfiles, err)
	}
	if err := listSpaces(ctx, sm, d); err != nil {
		child(awsop.ListSpaces, err)
	}
	if err := listApps(ctx, sm, d); err != nil {
		child(awsop.ListApps, err)
	}
}

// mapDomain copies what DescribeDomain says about the domain's network and
// the settings a remediation needs. An absent AppNetworkAccessType stays
// empty, never defaulted.
func mapDomain(d *inventory.StudioDomain, out *sagemaker.DescribeDomainOutput) {
	if v := aws.ToString(out.DomainName); v != "" {
		d.Name = v
	}
	if v := aws.ToString(out.DomainArn); v != "" {
		d.ARN = v
	}
	d.Status = string(out.Status)
	d.AppNetworkAccessType = string(out.AppNetworkAccessType)
	d.VPCID = aws.ToString(out.VpcId)
	d.SubnetIDs = slices.Clone(out.SubnetIds)
	if u := out.DefaultUserSettings; u != nil {
		d.DefaultUserSecurityGroupIDs = slices.Clone(u.SecurityGroups)
		d.DefaultExecutionRole = aws.ToString(u.ExecutionRole)
	}
	if s := out.DefaultSpaceSettings; s != nil {
		d.DefaultSpaceSecurityGroupIDs = slices.Clone(s.SecurityGroups)
	}
	if s := out.DomainSettings; s != nil {
		d.DomainSecurityGroupIDs = slices.Clone(s.SecurityGroupIds)
		d.IPAddressType = string(s.IpAddressType)
	}
	d.SecurityGroupIDForDomainBoundary = aws.ToString(out.SecurityGroupIdForDomainBoundary)
	d.AppSecurityGroupManagement = string(out.AppSecurityGroupManagement)
	d.AuthMode = string(out.AuthMode)
	d.HomeEFSFileSystemID = aws.ToString(out.HomeEfsFileSystemId)
	d.KMSKeyID = aws.ToString(out.KmsKeyId)
	if out.CreationTime != nil {
		d.CreationTime = out.CreationTime
	}
}

// listUserProfiles lists the domain's profiles; each is described later.
// On error the domain keeps no profiles: a partial list would be
// evaluated as if complete.
func listUserProfiles(ctx context.Context, sm StudioAPI, d *inventory.StudioDomain) error {
	var out []inventory.StudioUserProfile
	seen := map[string]bool{}
	pages := sagemaker.NewListUserProfilesPaginator(sm, &sagemaker.ListUserProfilesInput{DomainIdEquals: aws.String(d.ID), MaxResults: aws.Int32(studioPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, p := range page.UserProfiles {
			name := aws.ToString(p.UserProfileName)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			out = append(out, inventory.StudioUserProfile{Name: name, Status: string(p.Status), CreationTime: p.CreationTime})
		}
	}
	slices.SortFunc(out, func(a, b inventory.StudioUserProfile) int { return strings.Compare(a.Name, b.Name) })
	d.UserProfiles = out
	return nil
}

// describeUserProfile reads a profile's own settings.
func describeUserProfile(ctx context.Context, sm StudioAPI, rec *recorder, domainID string, p inventory.StudioUserProfile) inventory.StudioUserProfile {
	resource := domainID + "/" + p.Name
	if err := ctx.Err(); err != nil {
		p.Error = rec.notebookError(awsop.DescribeUserProfile, resource, err)
		return p
	}
	out, err := sm.DescribeUserProfile(ctx, &sagemaker.DescribeUserProfileInput{DomainId: aws.String(domainID), UserProfileName: aws.String(p.Name)})
	if err != nil {
		p.Error = rec.notebookError(awsop.DescribeUserProfile, resource, err)
		return p
	}
	p.ARN = aws.ToString(out.UserProfileArn)
	p.Status = string(out.Status)
	if u := out.UserSettings; u != nil {
		p.SecurityGroupIDs = slices.Clone(u.SecurityGroups)
		p.ExecutionRole = aws.ToString(u.ExecutionRole)
	}
	if out.CreationTime != nil {
		p.CreationTime = out.CreationTime
	}
	return p
}

// listSpaces lists the domain's spaces. ListSpaces gives all a space has
// that matters here (ownership, sharing, app type); its ARN, which only
// DescribeSpace returns, is built from the domain's.
func listSpaces(ctx context.Context, sm StudioAPI, d *inventory.StudioDomain) error {
	var out []inventory.StudioSpace
	seen := map[string]bool{}
	pages := sagemaker.NewListSpacesPaginator(sm, &sagemaker.ListSpacesInput{DomainIdEquals: aws.String(d.ID), MaxResults: aws.Int32(studioPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, s := range page.Spaces {
			name := aws.ToString(s.SpaceName)
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			sp := inventory.StudioSpace{Name: name, Status: string(s.Status), CreationTime: s.CreationTime, ARN: spaceARN(d.ARN, name)}
			if o := s.OwnershipSettingsSummary; o != nil {
				sp.OwnerUserProfileName = aws.ToString(o.OwnerUserProfileName)
			}
			if sh := s.SpaceSharingSettingsSummary; sh != nil {
				sp.SharingType = string(sh.SharingType)
			}
			if st := s.SpaceSettingsSummary; st != nil {
				sp.AppType = string(st.AppType)
				sp.RemoteAccess = string(st.RemoteAccess)
			}
			out = append(out, sp)
		}
	}
	slices.SortFunc(out, func(a, b inventory.StudioSpace) int { return strings.Compare(a.Name, b.Name) })
	d.Spaces = out
	return nil
}

// spaceARN builds a space's ARN from its domain's
// (arn:P:sagemaker:R:A:domain/d-x -> arn:P:sagemaker:R:A:space/d-x/name).
func spaceARN(domainARN, name string) string {
	prefix, id, ok := strings.Cut(domainARN, ":domain/")
	if !ok {
		return ""
	}
	return prefix + ":space/" + id + "/" + name
}

// listApps lists the domain's apps (what a remediation must stop).
func listApps(ctx context.Context, sm StudioAPI, d *inventory.StudioDomain) error {
	var out []inventory.StudioApp
	pages := sagemaker.NewListAppsPaginator(sm, &sagemaker.ListAppsInput{DomainIdEquals: aws.String(d.ID), MaxResults: aws.Int32(studioPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, a := range page.Apps {
			app := inventory.StudioApp{
				DomainID: cmp.Or(aws.ToString(a.DomainId), d.ID), UserProfileName: aws.ToString(a.UserProfileName),
				SpaceName: aws.ToString(a.SpaceName), AppType: string(a.AppType), AppName: aws.ToString(a.AppName),
				Status: string(a.Status), CreationTime: a.CreationTime,
			}
			if rs := a.ResourceSpec; rs != nil {
				app.InstanceType = string(rs.InstanceType)
			}
			out = append(out, app)
		}
	}
	slices.SortFunc(out, func(a, b inventory.StudioApp) int {
		return strings.Compare(a.UserProfileName+"/"+a.SpaceName+"/"+a.AppType+"/"+a.AppName, b.UserProfileName+"/"+b.SpaceName+"/"+b.AppType+"/"+b.AppName)
	})
	d.Apps = out
	return nil
}

// domainNetwork is what a domain's path analysis (VpcOnly) or its
// studio-vpc-only plan (PublicInternetOnly) reads: its VPC, subnets and
// every security group its apps may carry.
type domainNetwork struct {
	VPCID     string
	SubnetIDs []string
	groups    []string
}

// studioNetwork lists the network objects of every domain that names
// them. A VpcOnly domain's traffic goes through its VPC; a
// PublicInternetOnly domain's does not (the control needs only the flag),
// but the plan that would make it VpcOnly judges what its apps would then
// use: the subnets' routes (a NAT, private subnets) and the VPC's
// endpoints. They come in the region's one EC2 batch.
func studioNetwork(domains []inventory.StudioDomain) []domainNetwork {
	var out []domainNetwork
	for _, d := range domains {
		if d.Error != nil || (d.VPCID == "" && len(d.SubnetIDs) == 0) {
			continue
		}
		n := domainNetwork{VPCID: d.VPCID, SubnetIDs: d.SubnetIDs}
		n.groups = append(n.groups, d.DefaultUserSecurityGroupIDs...)
		n.groups = append(n.groups, d.DefaultSpaceSecurityGroupIDs...)
		n.groups = append(n.groups, d.DomainSecurityGroupIDs...)
		for _, p := range d.UserProfiles {
			n.groups = append(n.groups, p.SecurityGroupIDs...)
		}
		out = append(out, n)
	}
	return out
}

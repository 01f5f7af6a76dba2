package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/testenv"
)

// moto 5.2.1 emulates Studio domains only partly: CreateDomain,
// DescribeDomain, ListDomains and DeleteDomain (moto/sagemaker/models.py
// create_domain at line 5134, describe_domain 5168, list_domains 5174;
// responses.py 1296-1340), and getmoto/moto main (0af643a, 5.2.4.dev) is
// no further. It has no UpdateDomain, ListApps, CreateApp or DeleteApp
// (TestMotoLacksUpdateDomainAndListApps pins that). The test proxy
// therefore answers two operations itself, narrowly:
//
//   - ListApps, from studioApps: the apps a test says are running;
//   - UpdateDomain, by re-creating the domain in moto with the new
//     AppNetworkAccessType (moto names a domain d-<name>, so the ID and ARN
//     stay; every other setting and the tags are kept). Like SageMaker, it
//     refuses while an app of the domain is InService, Pending or Deleting.
//     Only AppNetworkAccessType is emulated: it is all remediation updates.

// studioApps are the apps of each domain, as ListApps answers them.
type studioApps struct {
	mu   sync.Mutex
	apps map[string][]StudioAppRef // domain ID -> apps
}

func (s *studioApps) set(domainID string, apps ...StudioAppRef) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apps == nil {
		s.apps = map[string][]StudioAppRef{}
	}
	s.apps[domainID] = apps
}

func (s *studioApps) of(domainID string) []StudioAppRef {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.apps[domainID])
}

func (s *studioApps) busy(domainID string) bool {
	return slices.ContainsFunc(s.of(domainID), func(a StudioAppRef) bool { return appBlocksUpdate(a.Status) })
}

func (s *studioApps) answer(c testenv.Call) (int, []byte) {
	items := []map[string]string{}
	for _, a := range s.of(c.Params["DomainIdEquals"]) {
		item := map[string]string{"DomainId": c.Params["DomainIdEquals"], "AppType": a.AppType, "AppName": a.AppName, "Status": a.Status}
		if a.UserProfileName != "" {
			item["UserProfileName"] = a.UserProfileName
		}
		if a.SpaceName != "" {
			item["SpaceName"] = a.SpaceName
		}
		items = append(items, item)
	}
	b, _ := json.Marshal(map[string]any{"Apps": items})
	return http.StatusOK, b
}

// studioRules are the proxy's answers for ListApps and UpdateDomain.
func (e *env) studioRules() []testenv.Rule {
	ctx := context.Background()
	update := func(c testenv.Call) (int, []byte) {
		arn, err := e.emulateUpdateDomain(ctx, c.Params)
		if err != nil {
			e.t.Errorf("emulating UpdateDomain: %v", err)
			return http.StatusInternalServerError, nil
		}
		b, _ := json.Marshal(map[string]string{"DomainArn": arn})
		return http.StatusOK, b
	}
	return []testenv.Rule{
		{Op: "sagemaker:ListApps", Fault: testenv.Fault{Answer: e.apps.answer}},
		{Op: "sagemaker:UpdateDomain", When: func(c testenv.Call) bool { return e.apps.busy(c.Params["DomainId"]) },
			Fault: testenv.APIError(400, "ResourceInUse", "AppNetworkAccessType can only be modified if there are no apps in the InService, Pending, or Deleting state")},
		{Op: "sagemaker:UpdateDomain", Fault: testenv.Fault{Answer: update}},
	}
}

// withFaults puts rules ahead of the emulations, so that they decide the
// calls they select (the proxy's first matching rule wins).
func (e *env) withFaults(rules ...testenv.Rule) {
	e.proxy.ClearRules()
	e.proxy.Add(rules...)
	e.proxy.Add(e.updateNotebookRules()...)
	e.proxy.Add(e.studioRules()...)
}

func (e *env) emulateUpdateDomain(ctx context.Context, params map[string]string) (string, error) {
	for k := range params {
		if k != "DomainId" && k != "AppNetworkAccessType" {
			return "", fmt.Errorf("the emulation supports only AppNetworkAccessType, not %s", k)
		}
	}
	id := params["DomainId"]
	d, err := e.direct.sm.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: aws.String(id)})
	if err != nil {
		return "", err
	}
	tags, err := e.direct.sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: d.DomainArn})
	if err != nil {
		return "", err
	}
	if _, err := e.direct.sm.DeleteDomain(ctx, &sagemaker.DeleteDomainInput{DomainId: aws.String(id)}); err != nil {
		return "", err
	}
	out, err := e.direct.sm.CreateDomain(ctx, &sagemaker.CreateDomainInput{
		DomainName: d.DomainName, AuthMode: d.AuthMode, DefaultUserSettings: d.DefaultUserSettings,
		DomainSettings: d.DomainSettings, SubnetIds: d.SubnetIds, VpcId: d.VpcId, Tags: tags.Tags,
		AppNetworkAccessType: smtypes.AppNetworkAccessType(params["AppNetworkAccessType"]), KmsKeyId: d.KmsKeyId,
		AppSecurityGroupManagement: d.AppSecurityGroupManagement, DefaultSpaceSettings: d.DefaultSpaceSettings,
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.DomainArn), nil
}

// motoDomains reads domains from moto directly and their apps from the
// test's list: what the tests use to look at the account without going
// through (or being counted by) the proxy.
type motoDomains struct {
	*sagemaker.Client
	apps *studioApps
}

func (m motoDomains) ListApps(_ context.Context, in *sagemaker.ListAppsInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListAppsOutput, error) {
	out := &sagemaker.ListAppsOutput{}
	for _, a := range m.apps.of(aws.ToString(in.DomainIdEquals)) {
		out.Apps = append(out.Apps, smtypes.AppDetails{DomainId: in.DomainIdEquals, AppType: smtypes.AppType(a.AppType),
			AppName: aws.String(a.AppName), Status: smtypes.AppStatus(a.Status), UserProfileName: optional(a.UserProfileName),
			SpaceName: optional(a.SpaceName)})
	}
	return out, nil
}

// domain is the live state of a domain, read without the proxy.
func (e *env) domain(t *testing.T, id string) DomainState {
	t.Helper()
	st, err := observeDomain(context.Background(), motoDomains{e.direct.sm, e.apps}, id)
	if err != nil || st.Domain == nil {
		t.Fatalf("domain %s: %+v, %v", id, st, err)
	}
	return *st.Domain
}

// studioEstate is buildEstate plus a PublicInternetOnly Studio domain in
// its VPC's isolated subnet, with one security group, and, when
// endpoints, interface endpoints (private DNS on) for the SageMaker API
// and runtime and an S3 gateway endpoint.
type studioEstate struct {
	estate
	domainID string
	sg       string
}

func buildStudioEstate(t *testing.T, e *env, subnet func(testenv.Network) string, endpoints bool) studioEstate {
	t.Helper()
	ctx := context.Background()
	s := studioEstate{estate: buildEstate(t, e)}
	var err error
	if s.sg, err = testenv.CreateSecurityGroup(ctx, e.direct.ec2, s.net.VPCID, testenv.SecurityGroup{Name: "studio"}); err != nil {
		t.Fatal(err)
	}
	s.domainID = createStudioDomain(t, e, s.net.VPCID, subnet(s.net), s.sg)
	if endpoints {
		for _, svc := range []string{"sagemaker.api", "sagemaker.runtime"} {
			e.createInterfaceEndpoint(t, s.net.VPCID, s.net.IsolatedSubnetID, s.sg, svc, true)
		}
		if _, _, err := testenv.CreateS3GatewayEndpoint(ctx, e.direct.ec2, testenv.Region, s.net.VPCID, s.net.IsolatedRouteTableID); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// createStudioDomain creates the PublicInternetOnly domain "lab" and
// returns its ID (moto names it d-lab).
func createStudioDomain(t *testing.T, e *env, vpc, subnet, sg string) string {
	t.Helper()
	if _, err := e.direct.sm.CreateDomain(context.Background(), &sagemaker.CreateDomainInput{
		DomainName: aws.String("lab"), AuthMode: smtypes.AuthModeIam, VpcId: aws.String(vpc), SubnetIds: []string{subnet},
		AppNetworkAccessType: smtypes.AppNetworkAccessTypePublicInternetOnly,
		DefaultUserSettings: &smtypes.UserSettings{ExecutionRole: aws.String("arn:aws:iam::123456789012:role/studio"),
			SecurityGroups: []string{sg}},
		// moto's ListTags fails on a domain without tags.
		Tags: []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	}); err != nil {
		t.Fatal(err)
	}
	return "d-lab"
}

func isolated(n testenv.Network) string { return n.IsolatedSubnetID }

func (e *env) createInterfaceEndpoint(t *testing.T, vpc, subnet, sg, service string, privateDNS bool) string {
	t.Helper()
	out, err := e.direct.ec2.CreateVpcEndpoint(context.Background(), &ec2.CreateVpcEndpointInput{
		VpcId: aws.String(vpc), ServiceName: aws.String("com.amazonaws." + testenv.Region + "." + service),
		VpcEndpointType: ec2types.VpcEndpointTypeInterface, SubnetIds: []string{subnet}, SecurityGroupIds: []string{sg},
		PrivateDnsEnabled: aws.Bool(privateDNS),
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.VpcEndpoint.VpcEndpointId)
}

// studioScan is scan plus the Studio domains, as the Studio collection
// records them (the notebook collection of this branch does not read
// them): DescribeDomain of each domain moto lists, and its apps.
func (e *env) studioScan(t *testing.T) (*inventory.Inventory, *finding.Report) {
	t.Helper()
	inv, rep := e.scan(t)
	ctx := context.Background()
	out, err := e.direct.sm.ListDomains(ctx, &sagemaker.ListDomainsInput{})
	if err != nil {
		t.Fatal(err)
	}
	reg := &inv.Regions[0]
	for _, sum := range out.Domains {
		d, err := e.direct.sm.DescribeDomain(ctx, &sagemaker.DescribeDomainInput{DomainId: sum.DomainId})
		if err != nil {
			t.Fatal(err)
		}
		sd := inventory.StudioDomain{ID: aws.ToString(d.DomainId), Name: aws.ToString(d.DomainName), ARN: aws.ToString(d.DomainArn),
			Status: string(d.Status), AppNetworkAccessType: string(d.AppNetworkAccessType), VPCID: aws.ToString(d.VpcId),
			SubnetIDs: d.SubnetIds}
		if d.DefaultUserSettings != nil {
			sd.DefaultUserSecurityGroupIDs = d.DefaultUserSettings.SecurityGroups
		}
		for _, a := range e.apps.of(sd.ID) {
			sd.Apps = append(sd.Apps, inventory.StudioApp{DomainID: sd.ID, UserProfileName: a.UserProfileName,
				SpaceName: a.SpaceName, AppType: a.AppType, AppName: a.AppName, Status: a.Status})
		}
		reg.StudioDomains = append(reg.StudioDomains, sd)
	}
	inv.Resources = []string{inventory.ResourceNotebookInstances, inventory.ResourceStudioDomains}
	return inv, rep
}

// studioPlan plans studio-vpc-only (unless opts says otherwise) with the
// live reads going through the proxy.
func (e *env) studioPlan(t *testing.T, opts PlanOptions) *Plan {
	t.Helper()
	inv, rep := e.studioScan(t)
	if opts.Fixes == nil {
		opts.Fixes = []Fix{FixStudioVPCOnly}
	}
	if opts.Studio == nil {
		opts.Studio = func(context.Context, string, string) (StudioClients, error) {
			return StudioClients{SageMaker: e.sm, EC2: e.ec2}, nil
		}
	}
	p, err := BuildPlan(context.Background(), inv, rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// domainAction is the plan's one set-domain-vpc-only action.
func domainAction(t *testing.T, p *Plan) *Action {
	t.Helper()
	var found *Action
	for i := range p.Actions {
		if p.Actions[i].Kind == ActionStudioVPCOnly {
			if found != nil {
				t.Fatalf("two %s actions: %+v", ActionStudioVPCOnly, p.Actions)
			}
			found = &p.Actions[i]
		}
	}
	if found == nil {
		t.Fatalf("no %s action in %+v (notes %v)", ActionStudioVPCOnly, p.Actions, p.Notes)
	}
	return found
}

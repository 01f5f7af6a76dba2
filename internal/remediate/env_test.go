package remediate

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/collect"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

var moto testenv.SharedMoto

func TestMain(m *testing.M) { testenv.Main(m, &moto) }

// env is one test's view of moto: clients that go through a FaultProxy
// (what the code under test uses, counted and intercepted) and clients that
// talk to moto directly (what the test uses to build and inspect).
type env struct {
	t     *testing.T
	url   string // moto
	proxy *testenv.FaultProxy
	// rec records, as IAM actions, every call the code under test makes.
	rec *permissions.Recorder
	// apps are the Studio apps the proxy's ListApps answers with
	// (studio_env_test.go).
	apps   *studioApps
	sm     *sagemaker.Client
	ec2    *ec2.Client
	s3     *s3.Client
	direct struct {
		sm  *sagemaker.Client
		ec2 *ec2.Client
		s3  *s3.Client
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := moto.ForTest(t)
	return envFor(t, m.URL())
}

func envFor(t *testing.T, url string) *env {
	e := &env{t: t, url: url, apps: &studioApps{}}
	e.proxy = testenv.NewFaultProxy(t, url)
	viaProxy := testenv.Config(e.proxy.URL())
	e.rec = permissions.NewRecorder()
	viaProxy.APIOptions = append(viaProxy.APIOptions, e.rec.APIOption)
	e.sm, e.ec2 = sagemaker.NewFromConfig(viaProxy), ec2.NewFromConfig(viaProxy)
	e.s3 = s3.NewFromConfig(viaProxy, func(o *s3.Options) { o.UsePathStyle = true })
	direct := testenv.Config(url)
	e.direct.sm, e.direct.ec2 = sagemaker.NewFromConfig(direct), ec2.NewFromConfig(direct)
	e.direct.s3 = s3.NewFromConfig(direct, func(o *s3.Options) { o.UsePathStyle = true })
	e.proxy.Add(e.updateNotebookRules()...)
	e.proxy.Add(e.studioRules()...)
	return e
}

func (e *env) clients() ClientsFunc {
	return StaticClients(Clients{SageMaker: e.sm, EC2: e.ec2, S3: e.s3})
}

// fast are the options every emulator test uses: moto changes status at
// once, so polling can be quick.
func fast() Options {
	return Options{PollInterval: 10 * time.Millisecond, NotebookTimeout: 20 * time.Second, DataTimeout: 60 * time.Second}
}

// updateNotebookRules intercept UpdateNotebookInstance in the proxy: moto
// 5.2 does not implement it (nor NetworkInterfaceId). The proxy answers the
// call itself and makes the update visible by re-creating the notebook in
// moto with the new lifecycle configuration (same name, so the same ARN;
// settings, tags and Stopped status kept). Only the lifecycle configuration
// is emulated: it is the only setting remediation updates. Like SageMaker,
// the emulation refuses a notebook that is not Stopped.
func (e *env) updateNotebookRules() []testenv.Rule {
	const op = "sagemaker:UpdateNotebookInstance"
	ctx := context.Background()
	notStopped := func(c testenv.Call) bool {
		out, err := e.direct.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{
			NotebookInstanceName: aws.String(c.Params["NotebookInstanceName"])})
		return err != nil || out.NotebookInstanceStatus != smtypes.NotebookInstanceStatusStopped
	}
	apply := func(c testenv.Call) bool {
		if err := e.emulateUpdate(ctx, c.Params); err != nil {
			e.t.Errorf("emulating UpdateNotebookInstance: %v", err)
		}
		return true
	}
	return []testenv.Rule{
		{Op: op, When: notStopped, Fault: testenv.APIError(400, "ValidationException",
			"Status not in ([Stopped]). Unable to transition to (Updating) for Notebook Instance")},
		{Op: op, When: apply, Fault: testenv.Fault{Status: 200, Code: ""}},
	}
}

func (e *env) emulateUpdate(ctx context.Context, params map[string]string) error {
	name := params["NotebookInstanceName"]
	old, err := e.direct.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
	if err != nil {
		return err
	}
	tags, err := e.direct.sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: old.NotebookInstanceArn})
	if err != nil {
		return err
	}
	lcc := old.NotebookInstanceLifecycleConfigName
	if v, ok := params["LifecycleConfigName"]; ok {
		lcc = aws.String(v)
	}
	if params["DisassociateLifecycleConfig"] == "true" {
		lcc = nil
	}
	for k := range params {
		switch k {
		case "NotebookInstanceName", "LifecycleConfigName", "DisassociateLifecycleConfig":
		default:
			return fmt.Errorf("the emulation supports only the lifecycle configuration, not %s", k)
		}
	}
	if _, err := e.direct.sm.DeleteNotebookInstance(ctx, &sagemaker.DeleteNotebookInstanceInput{NotebookInstanceName: aws.String(name)}); err != nil {
		return err
	}
	in := &sagemaker.CreateNotebookInstanceInput{
		NotebookInstanceName: aws.String(name), InstanceType: old.InstanceType, RoleArn: old.RoleArn,
		SubnetId: old.SubnetId, SecurityGroupIds: old.SecurityGroups, KmsKeyId: old.KmsKeyId, Tags: tags.Tags,
		LifecycleConfigName: lcc, DirectInternetAccess: old.DirectInternetAccess, VolumeSizeInGB: old.VolumeSizeInGB,
		AcceleratorTypes: old.AcceleratorTypes, DefaultCodeRepository: old.DefaultCodeRepository,
		AdditionalCodeRepositories: old.AdditionalCodeRepositories, RootAccess: old.RootAccess,
	}
	if _, err := e.direct.sm.CreateNotebookInstance(ctx, in); err != nil {
		return err
	}
	_, err = e.direct.sm.StopNotebookInstance(ctx, &sagemaker.StopNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
	return err
}

// estate is what buildEstate creates.
type estate struct {
	net      testenv.Network
	sgDirect string // nb-direct's group
	sgNB     string // nb-egress's group: egress to 0.0.0.0/0
	sgPublic string // nb-public's group: VPC egress only
	eniOther string // another user of sgShared
	sgShared string
}

// buildEstate creates three failing notebooks, one per fix:
//
//   - nb-direct: DirectInternetAccess Enabled (recreate-notebook), InService,
//     with a lifecycle configuration, tags and every setting moto keeps;
//   - nb-egress: Disabled in the NAT subnet, its group allowing all egress
//     and HTTPS to 0.0.0.0/0 (restrict-sg-egress);
//   - nb-public: Disabled in the public subnet, which routes to the internet
//     gateway with MapPublicIpOnLaunch (disable-public-ip-on-launch);
//
// and a passing one, nb-ok, in the isolated subnet.
func buildEstate(t *testing.T, e *env) estate {
	t.Helper()
	ctx := context.Background()
	var s estate
	var err error
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	s.net, err = testenv.CreateNetwork(ctx, e.direct.ec2, "10.0.0.0/16")
	check(err)
	s.sgDirect, err = testenv.CreateSecurityGroup(ctx, e.direct.ec2, s.net.VPCID, testenv.SecurityGroup{Name: "direct"})
	check(err)
	https := testenv.TCP(443, "0.0.0.0/0")
	https.Description = "https out"
	partner := testenv.TCP(5432, "10.9.0.0/16")
	partner.Description = "partner db"
	s.sgNB, err = testenv.CreateSecurityGroup(ctx, e.direct.ec2, s.net.VPCID, testenv.SecurityGroup{
		Name: "notebooks", Egress: []testenv.Perm{https, partner}})
	check(err)
	s.sgPublic, err = testenv.CreateSecurityGroup(ctx, e.direct.ec2, s.net.VPCID, testenv.SecurityGroup{
		Name: "public", RevokeDefaultEgress: true, Egress: []testenv.Perm{testenv.AllTraffic("10.0.0.0/16")}})
	check(err)
	_, err = e.direct.sm.CreateNotebookInstanceLifecycleConfig(ctx, &sagemaker.CreateNotebookInstanceLifecycleConfigInput{
		NotebookInstanceLifecycleConfigName: aws.String("setup"),
		OnCreate:                            hooks("IyEvYmluL2Jhc2gKZWNobyBjcmVhdGU="), // #!/bin/bash echo create
		OnStart:                             hooks("IyEvYmluL2Jhc2gKZWNobyBzdGFydA=="), // #!/bin/bash echo start
	})
	check(err)
	_, err = e.direct.sm.CreateNotebookInstance(ctx, &sagemaker.CreateNotebookInstanceInput{
		NotebookInstanceName: aws.String("nb-direct"), InstanceType: smtypes.InstanceTypeMlT3Medium,
		RoleArn: aws.String("arn:aws:iam::123456789012:role/nb"), SubnetId: aws.String(s.net.PublicSubnetID),
		SecurityGroupIds: []string{s.sgDirect}, DirectInternetAccess: smtypes.DirectInternetAccessEnabled,
		KmsKeyId: aws.String("key-1"), VolumeSizeInGB: aws.Int32(20), LifecycleConfigName: aws.String("setup"),
		RootAccess: smtypes.RootAccessDisabled, DefaultCodeRepository: aws.String("https://example.com/repo.git"),
		AdditionalCodeRepositories: []string{"https://example.com/extra.git"},
		AcceleratorTypes:           []smtypes.NotebookInstanceAcceleratorType{smtypes.NotebookInstanceAcceleratorTypeMlEia2Medium},
		Tags:                       []smtypes.Tag{{Key: aws.String("team"), Value: aws.String("ml")}},
	})
	check(err)
	for _, nb := range []testenv.Notebook{
		{Name: "nb-egress", SubnetID: s.net.PrivateSubnetID, SecurityGroupIDs: []string{s.sgNB}, DirectInternetAccess: "Disabled"},
		{Name: "nb-public", SubnetID: s.net.PublicSubnetID, SecurityGroupIDs: []string{s.sgPublic}, DirectInternetAccess: "Disabled"},
		{Name: "nb-ok", SubnetID: s.net.IsolatedSubnetID, SecurityGroupIDs: []string{s.sgPublic}, DirectInternetAccess: "Disabled"},
	} {
		_, err := testenv.CreateNotebook(ctx, e.direct.sm, nb)
		check(err)
	}
	return s
}

// scan collects the account through moto and evaluates it with the control.
func (e *env) scan(t *testing.T) (*inventory.Inventory, *finding.Report) {
	t.Helper()
	ctx := context.Background()
	reg := collect.Region(ctx, e.direct.sm, e.direct.ec2, testenv.AccountID, testenv.Region, collect.Options{})
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws",
		CollectedAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Regions: []inventory.Region{reg}}
	if len(reg.Errors) > 0 {
		t.Fatalf("collecting from moto: %+v", reg.Errors)
	}
	ev, err := control.New(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	results, errs := ev.Evaluate(inv)
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Profile: ev.Profile(), Results: results, Errors: errs}
	rep.Summarize()
	return inv, rep
}

func (e *env) plan(t *testing.T, opts PlanOptions) *Plan {
	t.Helper()
	inv, rep := e.scan(t)
	if opts.Interfaces == nil {
		opts.Interfaces = func(context.Context, string, string) (NetworkInterfacesAPI, error) { return e.ec2, nil }
	}
	p, err := BuildPlan(context.Background(), inv, rep, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// accountState is the normalised describe of everything remediation can
// touch: notebooks (settings, status, tags), security groups with every
// rule and description, subnets, and the lifecycle configurations named.
type accountState struct {
	Notebooks        map[string]NotebookState
	SecurityGroups   map[string][2][]Rule // ingress, egress
	Subnets          map[string]SubnetState
	LifecycleConfigs map[string]State
}

func (e *env) snapshot(t *testing.T, lccs ...string) accountState {
	t.Helper()
	ctx := context.Background()
	s := accountState{Notebooks: map[string]NotebookState{}, SecurityGroups: map[string][2][]Rule{},
		Subnets: map[string]SubnetState{}, LifecycleConfigs: map[string]State{}}
	nbs, err := e.direct.sm.ListNotebookInstances(ctx, &sagemaker.ListNotebookInstancesInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nbs.NotebookInstances {
		st, err := observeNotebook(ctx, e.direct.sm, aws.ToString(n.NotebookInstanceName))
		if err != nil {
			t.Fatal(err)
		}
		s.Notebooks[st.Notebook.Name] = *st.Notebook
	}
	sgs, err := e.direct.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range sgs.SecurityGroups {
		s.SecurityGroups[aws.ToString(g.GroupId)] = [2][]Rule{rulesFromPermissions(g.IpPermissions), rulesFromPermissions(g.IpPermissionsEgress)}
	}
	subnets, err := e.direct.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range subnets.Subnets {
		s.Subnets[aws.ToString(sn.SubnetId)] = SubnetState{SubnetID: aws.ToString(sn.SubnetId), VPCID: aws.ToString(sn.VpcId),
			MapPublicIPOnLaunch: aws.ToBool(sn.MapPublicIpOnLaunch)}
	}
	// moto cannot list lifecycle configurations: look up the ones named,
	// recording only those that exist.
	for _, name := range append([]string{"setup"}, lccs...) {
		st, err := observeLifecycleConfig(ctx, e.direct.sm, name)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Absent {
			s.LifecycleConfigs[name] = st
		}
	}
	return s
}

func diffAccount(want, got accountState) string { return cmp.Diff(want, got) }

// runLCCs are the temporary lifecycle configuration names a run would use
// for the notebooks named, so snapshots can prove they are gone.
func runLCCs(runID string, notebooks ...string) []string {
	var out []string
	for _, n := range notebooks {
		out = append(out, lifecycleName("bk", runID, n), lifecycleName("rs", runID, n))
	}
	return out
}

func openJournal(t *testing.T) *journal.Journal {
	t.Helper()
	j, err := journal.Open(context.Background(), filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// statuses maps each notebook in a report to its status.
func statuses(rep *finding.Report) map[string]finding.Status {
	out := map[string]finding.Status{}
	for _, r := range rep.Results {
		out[r.Resource.Name] = r.Status
	}
	return out
}

// mutating counts the calls that change something.
func mutating(p *testenv.FaultProxy) int {
	n := 0
	for op, c := range p.Counts() {
		_, name, _ := strings.Cut(op, ":")
		if !strings.HasPrefix(name, "Describe") && !strings.HasPrefix(name, "List") && !strings.HasPrefix(name, "Get") &&
			!strings.HasPrefix(name, "Head") && !strings.HasPrefix(op, "s3:GET") && !strings.HasPrefix(op, "s3:HEAD") {
			n += c
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

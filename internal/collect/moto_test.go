package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/testenv"
)

// These tests run the collector against moto, directly or through a fault
// proxy, on estates built with testenv.

var moto testenv.SharedMoto

func TestMain(m *testing.M) { testenv.Main(m, &moto) }

// setupClients talk to moto directly, to build estates.
type setupClients struct {
	m   *testenv.Moto
	ec2 *ec2.Client
	sm  *sagemaker.Client
}

func newSetup(t *testing.T) setupClients {
	t.Helper()
	m := moto.ForTest(t)
	cfg := testenv.Config(m.URL())
	return setupClients{m: m, ec2: ec2.NewFromConfig(cfg), sm: sagemaker.NewFromConfig(cfg)}
}

// liveConfig is the configuration the CLI would load, pointed at endpoint,
// with quick backoff so that retries do not slow the suite.
func liveConfig(t *testing.T, endpoint string, o awsclient.Options) (aws.Config, *awsclient.Stats) {
	t.Helper()
	testenv.SetAWSEnv(t, "")
	st := awsclient.NewStats()
	o.EndpointURL = endpoint
	o.Stats = st
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Millisecond
	}
	cfg, err := awsclient.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, st
}

// estate is a VPC with public, private (NAT) and isolated subnets, an S3
// gateway endpoint on the private table, a network ACL denying egress on
// the private subnet, two security groups and four notebooks, plus an
// unrelated VPC whose objects must not be collected.
type estate struct {
	net              testenv.Network
	sgOpen, sgLocked string
	acl              string
	vpce, pl         string
	other            testenv.Network
}

func buildEstate(t *testing.T, s setupClients) estate {
	t.Helper()
	ctx := context.Background()
	var e estate
	var err error
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e.net, err = testenv.CreateNetwork(ctx, s.ec2, "10.30.0.0/16")
	must(err)
	e.other, err = testenv.CreateNetwork(ctx, s.ec2, "10.40.0.0/16")
	must(err)
	e.sgOpen, err = testenv.CreateSecurityGroup(ctx, s.ec2, e.net.VPCID, testenv.SecurityGroup{
		Name: "open", Ingress: []testenv.Perm{testenv.TCP(8888, "0.0.0.0/0")},
	})
	must(err)
	e.sgLocked, err = testenv.CreateSecurityGroup(ctx, s.ec2, e.net.VPCID, testenv.SecurityGroup{
		Name: "locked", RevokeDefaultEgress: true,
		Ingress: []testenv.Perm{testenv.TCP(22, "10.0.0.0/8")},
		Egress:  []testenv.Perm{testenv.TCP(443, "0.0.0.0/0")},
	})
	must(err)
	e.acl, err = testenv.CreateNetworkACL(ctx, s.ec2, e.net.VPCID, []testenv.ACLRule{
		{Number: 100, Egress: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
		{Number: 100, Egress: false, Protocol: "-1", CIDR: "10.0.0.0/8", Allow: true},
	}, e.net.PrivateSubnetID)
	must(err)
	e.vpce, e.pl, err = testenv.CreateS3GatewayEndpoint(ctx, s.ec2, testenv.Region, e.net.VPCID, e.net.PrivateRouteTableID)
	must(err)
	for _, nb := range []testenv.Notebook{
		{Name: "private-nat", SubnetID: e.net.PrivateSubnetID, SecurityGroupIDs: []string{e.sgLocked}, DirectInternetAccess: "Disabled", RootAccess: "Disabled",
			Tags: map[string]string{"team": "ml", "env": "prod"}},
		{Name: "public-direct", SubnetID: e.net.PublicSubnetID, SecurityGroupIDs: []string{e.sgOpen}, DirectInternetAccess: "Enabled"},
		{Name: "isolated", SubnetID: e.net.IsolatedSubnetID, SecurityGroupIDs: []string{e.sgLocked}, DirectInternetAccess: "Disabled"},
		{Name: "no-vpc"},
	} {
		_, err := testenv.CreateNotebook(ctx, s.sm, nb)
		must(err)
	}
	return e
}

func ids[T any](items []T, id func(T) string) []string {
	var out []string
	for _, x := range items {
		out = append(out, id(x))
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestCollectReadsTheNetworkAroundNotebooks(t *testing.T) {
	s := newSetup(t)
	e := buildEstate(t, s)
	cfg, _ := liveConfig(t, s.m.URL(), awsclient.Options{})
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

	inv, err := Collect(context.Background(), cfg, CollectOptions{Regions: []string{"us-east-1"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if inv.SchemaVersion != inventory.SchemaVersion || !inv.CollectedAt.Equal(now) || inv.Partition != "aws" || len(inv.Errors) != 0 {
		t.Errorf("inventory header: %q %v %q %+v", inv.SchemaVersion, inv.CollectedAt, inv.Partition, inv.Errors)
	}
	if len(inv.Regions) != 1 {
		t.Fatalf("%d regions, want 1", len(inv.Regions))
	}
	r := inv.Regions[0]
	if r.Region != "us-east-1" || r.AccountID != testenv.AccountID || len(r.Errors) != 0 {
		t.Errorf("region %q account %q errors %+v", r.Region, r.AccountID, r.Errors)
	}

	type nbView struct {
		Name, DIA, Subnet, Root string
		SGs                     []string
		Tags                    map[string]string
	}
	var got []nbView
	for _, nb := range r.Notebooks {
		if nb.Error != nil || nb.ARN == "" || nb.Status != "InService" || nb.InstanceType != "ml.t3.medium" {
			t.Errorf("%s: error %v ARN %q status %q type %q", nb.Name, nb.Error, nb.ARN, nb.Status, nb.InstanceType)
		}
		got = append(got, nbView{nb.Name, nb.DirectInternetAccess, nb.SubnetID, nb.RootAccess, nb.SecurityGroupIDs, nb.Tags})
	}
	want := []nbView{
		{"isolated", "Disabled", e.net.IsolatedSubnetID, "", []string{e.sgLocked}, nil},
		{"no-vpc", "Enabled", "", "", nil, nil},
		{"private-nat", "Disabled", e.net.PrivateSubnetID, "Disabled", []string{e.sgLocked}, map[string]string{"team": "ml", "env": "prod"}},
		{"public-direct", "Enabled", e.net.PublicSubnetID, "", []string{e.sgOpen}, nil},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notebooks (-want +got):\n%s", diff)
	}

	// Exactly the notebooks' subnets and groups; everything of their VPC
	// and nothing of the other one.
	if diff := cmp.Diff(sorted(e.net.PublicSubnetID, e.net.PrivateSubnetID, e.net.IsolatedSubnetID),
		ids(r.Subnets, func(s inventory.Subnet) string { return s.ID })); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	for _, sn := range r.Subnets {
		if sn.VPCID != e.net.VPCID || sn.MapPublicIPOnLaunch != (sn.ID == e.net.PublicSubnetID) || sn.CIDRBlock == "" {
			t.Errorf("subnet %+v", sn)
		}
	}
	if diff := cmp.Diff([]inventory.VPC{{ID: e.net.VPCID, CIDRBlocks: []string{"10.30.0.0/16"}, OwnerID: r.AccountID}}, r.VPCs); diff != "" {
		t.Errorf("VPCs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sorted(e.net.MainRouteTableID, e.net.PublicRouteTableID, e.net.PrivateRouteTableID, e.net.IsolatedRouteTableID),
		ids(r.RouteTables, func(rt inventory.RouteTable) string { return rt.ID })); diff != "" {
		t.Errorf("route tables (-want +got):\n%s", diff)
	}
	tables := map[string]inventory.RouteTable{}
	for _, rt := range r.RouteTables {
		tables[rt.ID] = rt
	}
	if main := tables[e.net.MainRouteTableID]; !main.Main || len(main.SubnetIDs) != 0 {
		t.Errorf("main table %+v: want Main and no explicit subnets", main)
	}
	wantPrivate := inventory.RouteTable{
		ID: e.net.PrivateRouteTableID, VPCID: e.net.VPCID, SubnetIDs: []string{e.net.PrivateSubnetID},
		Routes: []inventory.Route{
			{DestinationCIDR: "10.30.0.0/16", GatewayID: "local", State: "active"},
			{DestinationCIDR: "0.0.0.0/0", NATGatewayID: e.net.NATGatewayID, State: "active"},
			{DestinationPrefixListID: e.pl, GatewayID: e.vpce, State: "active"},
		},
	}
	if diff := cmp.Diff(wantPrivate, tables[e.net.PrivateRouteTableID]); diff != "" {
		t.Errorf("private route table (-want +got):\n%s", diff)
	}
	if pub := tables[e.net.PublicRouteTableID]; pub.Main || !slices.ContainsFunc(pub.Routes, func(rt inventory.Route) bool {
		return rt.DestinationCIDR == "0.0.0.0/0" && rt.GatewayID == e.net.InternetGatewayID
	}) {
		t.Errorf("public route table %+v", pub)
	}
	if diff := cmp.Diff([]inventory.NATGateway{{ID: e.net.NATGatewayID, VPCID: e.net.VPCID, SubnetID: e.net.PublicSubnetID, State: "available", ConnectivityType: "public"}},
		r.NATGateways); diff != "" {
		t.Errorf("NAT gateways (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]inventory.InternetGateway{{ID: e.net.InternetGatewayID, VPCIDs: []string{e.net.VPCID},
		Attachments: []inventory.GatewayAttachment{{VPCID: e.net.VPCID, State: "available"}}}}, r.InternetGateways); diff != "" {
		t.Errorf("internet gateways (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(&inventory.Coverage{VPCs: []string{e.net.VPCID}}, r.Coverage); diff != "" {
		t.Errorf("coverage (-want +got):\n%s", diff)
	}
	// The S3 gateway endpoint's route names the AWS-managed S3 list: read,
	// without its entries.
	if diff := cmp.Diff([]inventory.PrefixList{{ID: e.pl, Name: "com.amazonaws.us-east-1.s3", OwnerID: "AWS", AddressFamily: "IPv4", State: "create-complete"}},
		r.PrefixLists); diff != "" {
		t.Errorf("prefix lists (-want +got):\n%s", diff)
	}
	wantLocked := inventory.SecurityGroup{
		ID: e.sgLocked, Name: "locked", VPCID: e.net.VPCID,
		Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"10.0.0.0/8"}}},
		Egress:  []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"0.0.0.0/0"}}},
	}
	wantOpen := inventory.SecurityGroup{
		ID: e.sgOpen, Name: "open", VPCID: e.net.VPCID,
		Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 8888, ToPort: 8888, CIDRs: []string{"0.0.0.0/0"}}},
		Egress:  []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}},
	}
	wantGroups := []inventory.SecurityGroup{wantLocked, wantOpen}
	if e.sgOpen < e.sgLocked {
		wantGroups = []inventory.SecurityGroup{wantOpen, wantLocked}
	}
	if diff := cmp.Diff(wantGroups, r.SecurityGroups); diff != "" {
		t.Errorf("security groups (-want +got):\n%s", diff)
	}
	var custom, deflt *inventory.NetworkACL
	for i, a := range r.NetworkACLs {
		if a.VPCID != e.net.VPCID {
			t.Errorf("ACL %s of VPC %s collected", a.ID, a.VPCID)
		}
		switch {
		case a.ID == e.acl:
			custom = &r.NetworkACLs[i]
		case a.Default:
			deflt = &r.NetworkACLs[i]
		}
	}
	if custom == nil || deflt == nil {
		t.Fatalf("ACLs %+v: want the custom and the default one", r.NetworkACLs)
	}
	if !slices.Equal(custom.SubnetIDs, []string{e.net.PrivateSubnetID}) ||
		!slices.Contains(custom.Entries, inventory.ACLEntry{RuleNumber: 100, Egress: true, Protocol: "-1", Action: "deny", CIDR: "0.0.0.0/0"}) ||
		!slices.Contains(custom.Entries, inventory.ACLEntry{RuleNumber: 100, Egress: false, Protocol: "-1", Action: "allow", CIDR: "10.0.0.0/8"}) {
		t.Errorf("custom ACL %+v", *custom)
	}
	if diff := cmp.Diff(sorted(e.net.PublicSubnetID, e.net.IsolatedSubnetID), deflt.SubnetIDs); diff != "" {
		t.Errorf("default ACL subnets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]inventory.VPCEndpoint{{ID: e.vpce, VPCID: e.net.VPCID, Type: "Gateway", ServiceName: "com.amazonaws.us-east-1.s3"}}, r.VPCEndpoints); diff != "" {
		t.Errorf("VPC endpoints (-want +got):\n%s", diff)
	}
}

func TestCollectPaginatesAndBatches(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	n, err := testenv.CreateNetwork(ctx, s.ec2, "10.50.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	subnets := []string{n.PublicSubnetID, n.PrivateSubnetID, n.IsolatedSubnetID}
	p := testenv.NewFaultProxy(t, s.m.URL())
	cfg, _ := liveConfig(t, p.URL(), awsclient.Options{})
	created := 0
	ec2Calls := map[int]int{}
	for _, total := range []int{5, 150} {
		for ; created < total; created++ {
			if _, err := testenv.CreateNotebook(ctx, s.sm, testenv.Notebook{
				Name: fmt.Sprintf("nb-%03d", created), SubnetID: subnets[created%3], DirectInternetAccess: "Disabled",
			}); err != nil {
				t.Fatal(err)
			}
		}
		p.ResetCounts()
		inv, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"us-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		r := inv.Regions[0]
		if len(r.Notebooks) != total || len(r.Errors) != 0 {
			t.Fatalf("%d notebooks collected of %d; errors %+v", len(r.Notebooks), total, r.Errors)
		}
		for i, nb := range r.Notebooks {
			if want := fmt.Sprintf("nb-%03d", i); nb.Name != want || nb.SubnetID != subnets[i%3] || nb.Error != nil {
				t.Fatalf("notebook %d = %s in %s (error %v), want %s in %s", i, nb.Name, nb.SubnetID, nb.Error, want, subnets[i%3])
			}
		}
		if len(r.Subnets) != 3 || len(r.RouteTables) != 4 {
			t.Errorf("%d subnets, %d route tables; want 3 and 4", len(r.Subnets), len(r.RouteTables))
		}
		if got, want := p.Calls("sagemaker:ListNotebookInstances"), (total+99)/100; got != want {
			t.Errorf("%d notebooks: %d ListNotebookInstances pages, want %d", total, got, want)
		}
		if got := p.Calls("sagemaker:DescribeNotebookInstance"); got != total {
			t.Errorf("%d notebooks: %d describes", total, got)
		}
		if got := p.Calls("sagemaker:ListTags"); got != total {
			t.Errorf("%d notebooks: %d ListTags", total, got)
		}
		// DescribeRegions is the region discovery, not the region's context.
		ec2Calls[total] = p.Calls("ec2:*") - p.Calls("ec2:DescribeRegions")
		if ec2Calls[total] > 12 {
			t.Errorf("%d notebooks: %d EC2 calls for the region (%v)", total, ec2Calls[total], p.Counts())
		}
	}
	if ec2Calls[5] != ec2Calls[150] {
		t.Errorf("EC2 calls grow with notebooks: %v", ec2Calls)
	}
}

func TestCollectThroughFaults(t *testing.T) {
	s := newSetup(t)
	buildEstate(t, s)
	ctx := context.Background()
	p := testenv.NewFaultProxy(t, s.m.URL())
	collect := func(t *testing.T, o awsclient.Options) (*inventory.Inventory, *awsclient.Stats, time.Duration) {
		t.Helper()
		cfg, st := liveConfig(t, p.URL(), o)
		start := time.Now()
		inv, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"us-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		return inv, st, time.Since(start)
	}
	baseline, _, _ := collect(t, awsclient.Options{})
	if errs := baseline.Regions[0].Errors; len(errs) != 0 {
		t.Fatalf("baseline has errors: %+v", errs)
	}
	same := cmpopts.IgnoreFields(inventory.Inventory{}, "CollectedAt")

	t.Run("access denied on one notebook marks only that notebook", func(t *testing.T) {
		p.ClearRules()
		p.Add(testenv.Rule{Op: "sagemaker:DescribeNotebookInstance", When: testenv.ParamEquals("NotebookInstanceName", "private-nat"), Fault: testenv.AccessDenied()})
		inv, _, _ := collect(t, awsclient.Options{})
		r := inv.Regions[0]
		for i, nb := range r.Notebooks {
			if nb.Name == "private-nat" {
				if nb.Error == nil || nb.Error.Code != "AccessDeniedException" || nb.Error.Operation != "sagemaker:DescribeNotebookInstance" {
					t.Errorf("private-nat error = %+v", nb.Error)
				}
				if nb.DirectInternetAccess != "" {
					t.Errorf("undescribed notebook has DirectInternetAccess %q", nb.DirectInternetAccess)
				}
				continue
			}
			if diff := cmp.Diff(baseline.Regions[0].Notebooks[i], nb); diff != "" {
				t.Errorf("%s changed (-baseline +got):\n%s", nb.Name, diff)
			}
		}
		if len(r.Errors) != 0 {
			t.Errorf("region errors %+v", r.Errors)
		}
	})

	t.Run("denied DescribeRouteTables is a region error", func(t *testing.T) {
		p.ClearRules()
		p.Add(testenv.Rule{Op: "ec2:DescribeRouteTables", Fault: testenv.AccessDenied()})
		inv, _, _ := collect(t, awsclient.Options{})
		r := inv.Regions[0]
		want := []inventory.CollectError{{AccountID: testenv.AccountID, Region: "us-east-1", Operation: "ec2:DescribeRouteTables",
			Code: "UnauthorizedOperation", Message: "You are not authorized to perform this operation."}}
		if diff := cmp.Diff(want, r.Errors); diff != "" {
			t.Errorf("region errors (-want +got):\n%s", diff)
		}
		if len(r.RouteTables) != 0 || len(r.Subnets) != 3 || len(r.SecurityGroups) != 2 {
			t.Errorf("route tables %d, subnets %d, groups %d", len(r.RouteTables), len(r.Subnets), len(r.SecurityGroups))
		}
	})

	t.Run("throttling a third of the calls is retried", func(t *testing.T) {
		p.ClearRules()
		p.ResetCounts()
		p.Add(testenv.Rule{Op: "*", Fraction: 1.0 / 3, Seed: 42, Fault: testenv.Throttle()})
		inv, st, _ := collect(t, awsclient.Options{})
		if diff := cmp.Diff(baseline, inv, same); diff != "" {
			t.Errorf("inventory differs from the baseline (-baseline +got):\n%s", diff)
		}
		total := st.Total()
		injected := p.Injected("*")
		if injected == 0 || total.Throttles != injected || total.Retries < injected || total.Errors != 0 {
			t.Errorf("proxy throttled %d attempts; stats %+v", injected, total)
		}
		if got := st.Op("ec2:DescribeSubnets").Attempts; got != p.Calls("ec2:DescribeSubnets") {
			t.Errorf("stats count %d DescribeSubnets attempts, proxy saw %d", got, p.Calls("ec2:DescribeSubnets"))
		}
	})

	t.Run("HTTP 500 is retried", func(t *testing.T) {
		p.ClearRules()
		p.ResetCounts()
		p.Add(testenv.Rule{Op: "sagemaker:DescribeNotebookInstance", Every: 2, Fault: testenv.ServerError()},
			testenv.Rule{Op: "ec2:DescribeSecurityGroups", Limit: 1, Fault: testenv.APIError(500, "", "")})
		inv, st, _ := collect(t, awsclient.Options{})
		if diff := cmp.Diff(baseline, inv, same); diff != "" {
			t.Errorf("inventory differs from the baseline (-baseline +got):\n%s", diff)
		}
		if st.Total().Retries != p.Injected("*") || p.Injected("*") < 3 {
			t.Errorf("%d faults injected, %d retries", p.Injected("*"), st.Total().Retries)
		}
	})

	t.Run("a dropped connection is retried", func(t *testing.T) {
		p.ClearRules()
		p.Add(testenv.Rule{Op: "ec2:DescribeVpcs", Limit: 1, Fault: testenv.Drop()})
		inv, st, _ := collect(t, awsclient.Options{})
		if diff := cmp.Diff(baseline, inv, same); diff != "" {
			t.Errorf("inventory differs from the baseline (-baseline +got):\n%s", diff)
		}
		if got := st.Op("ec2:DescribeVpcs"); got.Retries != 1 || got.Errors != 0 {
			t.Errorf("DescribeVpcs stats %+v", got)
		}
	})

	t.Run("a slow endpoint with a short call timeout records errors", func(t *testing.T) {
		p.ClearRules()
		p.Add(testenv.Rule{Op: "ec2:DescribeSubnets", Fault: testenv.Slow(20 * time.Second)})
		// 1s, not less: the calls that are not held must still answer in
		// time on a loaded machine.
		inv, _, took := collect(t, awsclient.Options{CallTimeout: time.Second, MaxAttempts: 2})
		if took > 10*time.Second {
			t.Errorf("collection took %v with a 1s call timeout", took)
		}
		r := inv.Regions[0]
		if len(r.Errors) != 1 || r.Errors[0].Operation != "ec2:DescribeSubnets" || r.Errors[0].Code != CodeTimeout {
			t.Errorf("region errors %+v", r.Errors)
		}
		if len(r.Subnets) != 0 || len(r.Notebooks) != 4 || len(r.RouteTables) != 4 {
			t.Errorf("subnets %d, notebooks %d, route tables %d", len(r.Subnets), len(r.Notebooks), len(r.RouteTables))
		}
	})

	t.Run("cancelling ends the collection promptly", func(t *testing.T) {
		p.ClearRules()
		cctx, cancel := context.WithCancel(ctx)
		// Cancel once the notebooks are listed and their describes held,
		// whatever the machine's speed.
		var cancelled time.Time
		var once sync.Once
		held := func(testenv.Call) bool {
			once.Do(func() { time.AfterFunc(200*time.Millisecond, func() { cancelled = time.Now(); cancel() }) })
			return true
		}
		p.Add(testenv.Rule{Op: "sagemaker:DescribeNotebookInstance", When: held, Fault: testenv.Slow(20 * time.Second)})
		cfg, _ := liveConfig(t, p.URL(), awsclient.Options{})
		inv, err := Collect(cctx, cfg, CollectOptions{Regions: []string{"us-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if cancelled.IsZero() {
			t.Fatal("no DescribeNotebookInstance was held, so nothing was cancelled")
		}
		if d := time.Since(cancelled); d > 5*time.Second {
			t.Errorf("Collect returned %v after it was cancelled", d)
		}
		r := inv.Regions[0]
		if len(r.Notebooks) != 4 {
			t.Fatalf("%d notebooks", len(r.Notebooks))
		}
		for _, nb := range r.Notebooks {
			if nb.Error == nil || nb.Error.Code != CodeCanceled {
				t.Errorf("%s: error %+v, want %s", nb.Name, nb.Error, CodeCanceled)
			}
		}
	})
}

func TestCollectRegions(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	cfgWest := testenv.Config(s.m.URL())
	cfgWest.Region = "eu-west-1"
	if _, err := testenv.CreateNotebook(ctx, sagemaker.NewFromConfig(cfgWest), testenv.Notebook{Name: "west"}); err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.CreateNotebook(ctx, s.sm, testenv.Notebook{Name: "east"}); err != nil {
		t.Fatal(err)
	}
	cfg, _ := liveConfig(t, s.m.URL(), awsclient.Options{})

	t.Run("requested regions, one not enabled", func(t *testing.T) {
		inv, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"eu-west-1", "us-east-1", "ap-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		type view struct {
			Region, Account string
			Notebooks       []string
			Errors          []string
		}
		var got []view
		for _, r := range inv.Regions {
			v := view{Region: r.Region, Account: r.AccountID, Notebooks: ids(r.Notebooks, func(n inventory.Notebook) string { return n.Name })}
			for _, e := range r.Errors {
				v.Errors = append(v.Errors, e.Operation+"="+e.Code)
			}
			got = append(got, v)
		}
		want := []view{
			{"ap-east-1", testenv.AccountID, nil, []string{"ec2:DescribeRegions=RegionNotEnabled"}},
			{"eu-west-1", testenv.AccountID, []string{"west"}, nil},
			{"us-east-1", testenv.AccountID, []string{"east"}, nil},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("regions (-want +got):\n%s", diff)
		}
	})

	t.Run("default is every enabled region of the partition", func(t *testing.T) {
		list, err := Regions(ctx, ec2.NewFromConfig(cfg), "aws", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"us-east-1", "eu-west-1", "ap-northeast-1"} {
			if !slices.Contains(list.Enabled, want) {
				t.Errorf("%s missing from %v", want, list.Enabled)
			}
		}
		for _, r := range list.Enabled {
			if awsclient.PartitionOf(r) != "aws" || r == "ap-east-1" {
				t.Errorf("%s listed: other partition or not enabled", r)
			}
		}
		if !slices.IsSorted(list.Enabled) {
			t.Errorf("not sorted: %v", list.Enabled)
		}
	})

	t.Run("unknown region is a usage error", func(t *testing.T) {
		_, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"us-east-1", "xx-nowhere-1"}})
		if !errors.Is(err, ErrUnknownRegion) {
			t.Errorf("err = %v, want ErrUnknownRegion", err)
		}
	})

	t.Run("failed identity is recorded, not returned", func(t *testing.T) {
		p := testenv.NewFaultProxy(t, s.m.URL())
		p.Add(testenv.Rule{Op: "sts:GetCallerIdentity", Fault: testenv.AccessDenied()})
		pcfg, _ := liveConfig(t, p.URL(), awsclient.Options{})
		inv, err := Collect(ctx, pcfg, CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Errors) != 1 || inv.Errors[0].Operation != "sts:GetCallerIdentity" || inv.Errors[0].Code != "AccessDenied" || len(inv.Regions) != 0 {
			t.Errorf("inventory errors %+v, regions %d", inv.Errors, len(inv.Regions))
		}
	})

	t.Run("denied region list reads the configured region and says so", func(t *testing.T) {
		p := testenv.NewFaultProxy(t, s.m.URL())
		p.Add(testenv.Rule{Op: "ec2:DescribeRegions", Fault: testenv.AccessDenied()})
		pcfg, _ := liveConfig(t, p.URL(), awsclient.Options{Region: "eu-west-1"})
		inv, err := Collect(ctx, pcfg, CollectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Errors) != 1 || inv.Errors[0].Operation != "ec2:DescribeRegions" || inv.Errors[0].Code != "UnauthorizedOperation" {
			t.Errorf("inventory errors %+v", inv.Errors)
		}
		if len(inv.Regions) != 1 || inv.Regions[0].Region != "eu-west-1" || len(inv.Regions[0].Notebooks) != 1 {
			t.Errorf("regions %+v", inv.Regions)
		}
	})
}

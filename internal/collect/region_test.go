package collect

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/inventory"
)

const (
	acct   = "111122223333"
	region = "eu-west-1"
)

func arnOf(name string) string {
	return "arn:aws:sagemaker:" + region + ":" + acct + ":notebook-instance/" + name
}

// vpcNotebook is a described notebook in subnet with sg.
func vpcNotebook(name, subnet, sg string) *sagemaker.DescribeNotebookInstanceOutput {
	return &sagemaker.DescribeNotebookInstanceOutput{
		NotebookInstanceName:   aws.String(name),
		NotebookInstanceArn:    aws.String(arnOf(name)),
		NotebookInstanceStatus: smtypes.NotebookInstanceStatusInService,
		DirectInternetAccess:   smtypes.DirectInternetAccessDisabled,
		SubnetId:               aws.String(subnet),
		SecurityGroups:         []string{sg},
		InstanceType:           smtypes.InstanceTypeMlT3Medium,
	}
}

func TestMapNotebookCopiesEveryDescribedField(t *testing.T) {
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	sm := &fakeSageMaker{
		notebooks: []*sagemaker.DescribeNotebookInstanceOutput{{
			NotebookInstanceName:                 aws.String("nb"),
			NotebookInstanceArn:                  aws.String(arnOf("nb")),
			NotebookInstanceStatus:               smtypes.NotebookInstanceStatusStopped,
			DirectInternetAccess:                 smtypes.DirectInternetAccessDisabled,
			SubnetId:                             aws.String("subnet-1"),
			SecurityGroups:                       []string{"sg-1", "sg-2"},
			NetworkInterfaceId:                   aws.String("eni-1"),
			IpAddressType:                        smtypes.IPAddressTypeDualstack,
			RootAccess:                           smtypes.RootAccessDisabled,
			InstanceType:                         smtypes.InstanceTypeMlM5Xlarge,
			RoleArn:                              aws.String("arn:aws:iam::" + acct + ":role/nb"),
			KmsKeyId:                             aws.String("key-1"),
			VolumeSizeInGB:                       aws.Int32(50),
			NotebookInstanceLifecycleConfigName:  aws.String("lcc"),
			DefaultCodeRepository:                aws.String("https://example.com/r.git"),
			AdditionalCodeRepositories:           []string{"repo-a", "repo-b"},
			PlatformIdentifier:                   aws.String("notebook-al2-v3"),
			InstanceMetadataServiceConfiguration: &smtypes.InstanceMetadataServiceConfiguration{MinimumInstanceMetadataServiceVersion: aws.String("2")},
			AcceleratorTypes:                     []smtypes.NotebookInstanceAcceleratorType{smtypes.NotebookInstanceAcceleratorTypeMlEia1Medium},
			CreationTime:                         &created,
		}},
		tags:    map[string][]smtypes.Tag{arnOf("nb"): {{Key: aws.String("a"), Value: aws.String("1")}, {Key: aws.String("b"), Value: aws.String("2")}, {Key: aws.String("c"), Value: aws.String("")}}},
		tagPage: 2,
	}
	r := Region(context.Background(), sm, &fakeEC2{}, acct, region, Options{})
	want := []inventory.Notebook{{
		Name:                       "nb",
		ARN:                        arnOf("nb"),
		Status:                     "Stopped",
		DirectInternetAccess:       "Disabled",
		SubnetID:                   "subnet-1",
		SecurityGroupIDs:           []string{"sg-1", "sg-2"},
		NetworkInterfaceID:         "eni-1",
		IPAddressType:              "dualstack",
		RootAccess:                 "Disabled",
		InstanceType:               "ml.m5.xlarge",
		RoleARN:                    "arn:aws:iam::" + acct + ":role/nb",
		KMSKeyID:                   "key-1",
		VolumeSizeInGB:             50,
		LifecycleConfigName:        "lcc",
		DefaultCodeRepository:      "https://example.com/r.git",
		AdditionalCodeRepositories: []string{"repo-a", "repo-b"},
		PlatformIdentifier:         "notebook-al2-v3",
		MinimumIMDSVersion:         "2",
		AcceleratorTypes:           []string{"ml.eia1.medium"},
		CreationTime:               &created,
		Tags:                       map[string]string{"a": "1", "b": "2", "c": ""},
	}}
	if diff := cmp.Diff(want, r.Notebooks); diff != "" {
		t.Errorf("notebooks (-want +got):\n%s", diff)
	}
	if sm.called("ListTags") != 2 {
		t.Errorf("ListTags called %d times for 3 tags in pages of 2; NextToken not followed", sm.called("ListTags"))
	}
}

func TestMissingDirectInternetAccessStaysEmpty(t *testing.T) {
	nb := vpcNotebook("nb", "subnet-1", "sg-1")
	nb.DirectInternetAccess = ""
	sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{nb}}
	r := Region(context.Background(), sm, &fakeEC2{}, acct, region, Options{})
	if got := r.Notebooks[0].DirectInternetAccess; got != "" {
		t.Errorf("DirectInternetAccess = %q; an absent value must not be defaulted", got)
	}
}

func TestOneNotebookFailingDoesNotHideTheOthers(t *testing.T) {
	tests := []struct {
		name     string
		errs     map[string]error
		wantOp   string
		wantCode string
	}{
		{
			name:   "describe denied",
			errs:   map[string]error{"DescribeNotebookInstance/b": denied("AccessDeniedException")},
			wantOp: "sagemaker:DescribeNotebookInstance", wantCode: "AccessDeniedException",
		},
		{
			name:   "tags denied",
			errs:   map[string]error{"ListTags/b": denied("AccessDeniedException")},
			wantOp: "sagemaker:ListTags", wantCode: "AccessDeniedException",
		},
		{
			name:   "deleted between list and describe",
			errs:   map[string]error{"DescribeNotebookInstance/b": denied("ValidationException")},
			wantOp: "sagemaker:DescribeNotebookInstance", wantCode: "ValidationException",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := &fakeSageMaker{
				notebooks: []*sagemaker.DescribeNotebookInstanceOutput{
					vpcNotebook("a", "subnet-1", "sg-1"), vpcNotebook("b", "subnet-1", "sg-1"), vpcNotebook("c", "subnet-1", "sg-1"),
				},
				errs: tt.errs,
			}
			_, ec := bigEstate(0)
			ec.subnets = []ec2types.Subnet{{SubnetId: aws.String("subnet-1"), VpcId: aws.String("vpc-1")}}
			r := Region(context.Background(), sm, ec, acct, region, Options{Concurrency: 2})
			if len(r.Notebooks) != 3 {
				t.Fatalf("%d notebooks, want 3", len(r.Notebooks))
			}
			for _, nb := range r.Notebooks {
				if nb.Name != "b" {
					if nb.Error != nil || nb.DirectInternetAccess != "Disabled" {
						t.Errorf("%s: error %v, DirectInternetAccess %q", nb.Name, nb.Error, nb.DirectInternetAccess)
					}
					continue
				}
				if nb.Error == nil {
					t.Fatalf("b has no error")
				}
				want := inventory.CollectError{AccountID: acct, Region: region, Operation: tt.wantOp, Resource: "b", Code: tt.wantCode,
					Message: "User is not authorized to perform this operation"}
				if diff := cmp.Diff(want, *nb.Error); diff != "" {
					t.Errorf("b's error (-want +got):\n%s", diff)
				}
				if nb.ARN != arnOf("b") {
					t.Errorf("b lost what the listing said: ARN %q", nb.ARN)
				}
			}
			if len(r.Errors) != 0 {
				t.Errorf("region errors %+v; a notebook's failure belongs to the notebook", r.Errors)
			}
		})
	}
}

func TestListingFailureKeepsEarlierPagesAndRecordsTheRegionError(t *testing.T) {
	sm := &fakeSageMaker{errs: map[string]error{"ListNotebookInstances/2": denied("ThrottlingException")}}
	for i := range 130 {
		sm.notebooks = append(sm.notebooks, &sagemaker.DescribeNotebookInstanceOutput{
			NotebookInstanceName: aws.String(fmt.Sprintf("nb-%03d", i)),
			NotebookInstanceArn:  aws.String(arnOf(fmt.Sprintf("nb-%03d", i))),
			DirectInternetAccess: smtypes.DirectInternetAccessEnabled,
		})
	}
	r := Region(context.Background(), sm, &fakeEC2{}, acct, region, Options{})
	if len(r.Notebooks) != 100 {
		t.Errorf("%d notebooks, want the 100 of page 1", len(r.Notebooks))
	}
	if len(r.Errors) != 1 || r.Errors[0].Operation != "sagemaker:ListNotebookInstances" || r.Errors[0].Code != "ThrottlingException" || r.Errors[0].Resource != "" {
		t.Errorf("region errors = %+v", r.Errors)
	}
}

func TestNotebooksOutsideAVPCNeedNoEC2Calls(t *testing.T) {
	sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{{
		NotebookInstanceName: aws.String("direct"),
		NotebookInstanceArn:  aws.String(arnOf("direct")),
		DirectInternetAccess: smtypes.DirectInternetAccessEnabled,
	}}}
	ec := &fakeEC2{}
	r := Region(context.Background(), sm, ec, acct, region, Options{})
	if calls := ec.callsTo(""); len(calls) != 0 {
		t.Errorf("EC2 calls for a region without VPC notebooks: %+v", calls)
	}
	if len(r.Notebooks) != 1 || len(r.Errors) != 0 {
		t.Errorf("region = %+v", r)
	}
}

func TestEmptyRegion(t *testing.T) {
	r := Region(context.Background(), &fakeSageMaker{}, &fakeEC2{}, acct, region, Options{})
	if r.Notebooks == nil || len(r.Notebooks) != 0 || len(r.Errors) != 0 {
		t.Errorf("region = %+v; want an empty, non-nil notebook list and no errors", r)
	}
}

// bigEstate has n notebooks in n subnets of one VPC, all in one group.
func bigEstate(n int) (*fakeSageMaker, *fakeEC2) {
	sm := &fakeSageMaker{}
	ec := &fakeEC2{
		vpcs:   []ec2types.Vpc{{VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/8")}},
		groups: []ec2types.SecurityGroup{{GroupId: aws.String("sg-1"), VpcId: aws.String("vpc-1")}},
		tables: []ec2types.RouteTable{{RouteTableId: aws.String("rtb-main"), VpcId: aws.String("vpc-1"),
			Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}}}},
	}
	for i := range n {
		subnet := fmt.Sprintf("subnet-%04d", i)
		sm.notebooks = append(sm.notebooks, vpcNotebook(fmt.Sprintf("nb-%04d", i), subnet, "sg-1"))
		ec.subnets = append(ec.subnets, ec2types.Subnet{SubnetId: aws.String(subnet), VpcId: aws.String("vpc-1")})
	}
	return sm, ec
}

func TestEC2CallsAreBatchedAndChunked(t *testing.T) {
	for _, n := range []int{1, 50, 450} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			sm, ec := bigEstate(n)
			r := Region(context.Background(), sm, ec, acct, region, Options{})
			if len(r.Errors) != 0 {
				t.Fatalf("errors: %+v", r.Errors)
			}
			if len(r.Subnets) != n {
				t.Errorf("%d subnets collected, want %d", len(r.Subnets), n)
			}
			// The notebooks' subnets by ID, in chunks of 200; their VPC's
			// in one more call.
			var subnetCalls []fakeCall
			for _, c := range ec.callsTo("DescribeSubnets") {
				if c.filter == "subnet-id" {
					subnetCalls = append(subnetCalls, c)
				}
			}
			if want := (n + 199) / 200; len(subnetCalls) != want {
				t.Errorf("%d DescribeSubnets calls for %d subnets, want %d", len(subnetCalls), n, want)
			}
			for _, c := range ec.callsTo("") {
				if len(c.values) > 200 {
					t.Errorf("%s filter %s with %d values", c.op, c.filter, len(c.values))
				}
			}
			// One call per kind of object (no ENIs, no prefix lists here),
			// plus the extra subnet chunks.
			if got, want := len(ec.callsTo("")), 11+len(subnetCalls); got != want {
				t.Errorf("%d EC2 calls for %d notebooks, want %d", got, n, want)
			}
			if got := sm.called("DescribeNotebookInstance"); got != n {
				t.Errorf("%d describes for %d notebooks", got, n)
			}
		})
	}
}

// TestEC2FiltersAreTheOnesAWSAndMotoSupport lists the filters of every
// call a scan makes, the follow-up's included: each is documented by AWS
// and in moto's list for that call (moto answers HTTP 500 to one it
// lacks), checked against moto 5.2.1's sources.
func TestEC2FiltersAreTheOnesAWSAndMotoSupport(t *testing.T) {
	s := accountIDs(1)[0]
	estate := hubAndSpokes(network, []string{s}, 2)
	src := &fakeSource{regionNames: []string{"eu-west-1"}, estate: func(account, region string) (*fakeSageMaker, *fakeEC2) {
		sm, ec := estate(account, region)
		if account == s {
			sm.notebooks[0].NetworkInterfaceId = aws.String("eni-1")
		}
		return sm, ec
	}}
	if _, err := collectFrom(context.Background(), src, "eu-west-1", CollectOptions{Accounts: []string{s}, NetworkAccounts: []string{network}, Role: audit}); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"DescribeSubnets":                      {"subnet-id", "vpc-id"},
		"DescribeSecurityGroups":               {"group-id"},
		"DescribeNetworkInterfaces":            {"network-interface-id"},
		"DescribeVpcs":                         {"vpc-id"},
		"DescribeRouteTables":                  {"vpc-id"},
		"DescribeNatGateways":                  {"vpc-id"},
		"DescribeInternetGateways":             {"attachment.vpc-id"},
		"DescribeEgressOnlyInternetGateways":   {""},
		"DescribeNetworkAcls":                  {"vpc-id"},
		"DescribeVpcEndpoints":                 {"vpc-id"},
		"DescribeTransitGatewayAttachments":    {"resource-id", "transit-gateway-id"},
		"DescribeTransitGatewayVpcAttachments": {"transit-gateway-id", "vpc-id"},
		"DescribeTransitGatewayRouteTables":    {"transit-gateway-id"},
		"SearchTransitGatewayRoutes":           {"state"},
		"DescribeManagedPrefixLists":           {"prefix-list-id"},
		"GetManagedPrefixListEntries":          {""},
	}
	got := map[string][]string{}
	for _, account := range []string{s, network} {
		for _, c := range src.ec2Of(account, "eu-west-1").callsTo("") {
			if len(c.filters) > 1 {
				t.Errorf("%s with filters %v: one filter per call", c.op, c.filters)
			}
			if !slices.Contains(got[c.op], c.filter) {
				got[c.op] = append(got[c.op], c.filter)
				slices.Sort(got[c.op])
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("filters per call (-want +got):\n%s", diff)
	}
}

func TestMissingAndFailedNetworkObjects(t *testing.T) {
	t.Run("a subnet that no longer exists is recorded", func(t *testing.T) {
		sm, ec := bigEstate(2)
		sm.notebooks[1].SubnetId = aws.String("subnet-gone")
		r := Region(context.Background(), sm, ec, acct, region, Options{})
		want := []inventory.CollectError{{AccountID: acct, Region: region, Operation: "ec2:DescribeSubnets", Resource: "subnet-gone",
			Code: CodeNotFound, Message: "subnet subnet-gone was not returned: it may have been deleted"}}
		if diff := cmp.Diff(want, r.Errors); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("a failed DescribeSubnets still reads the groups' VPC", func(t *testing.T) {
		sm, ec := bigEstate(2)
		ec.errs = map[string]error{"DescribeSubnets": denied("UnauthorizedOperation")}
		r := Region(context.Background(), sm, ec, acct, region, Options{})
		if len(r.Errors) != 1 || r.Errors[0].Operation != "ec2:DescribeSubnets" || r.Errors[0].Code != "UnauthorizedOperation" || r.Errors[0].Resource != "" {
			t.Errorf("errors = %+v", r.Errors)
		}
		if len(r.Subnets) != 0 || len(r.RouteTables) != 1 || len(r.VPCs) != 1 {
			t.Errorf("subnets %d, route tables %d, VPCs %d; want 0, 1, 1", len(r.Subnets), len(r.RouteTables), len(r.VPCs))
		}
	})
	t.Run("each failed VPC-wide call is its own region error", func(t *testing.T) {
		sm, ec := bigEstate(2)
		ec.errs = map[string]error{
			"DescribeRouteTables": denied("UnauthorizedOperation"),
			"DescribeNetworkAcls": denied("RequestLimitExceeded"),
		}
		r := Region(context.Background(), sm, ec, acct, region, Options{})
		var got []string
		for _, e := range r.Errors {
			got = append(got, e.Operation+"="+e.Code)
		}
		want := []string{"ec2:DescribeNetworkAcls=RequestLimitExceeded", "ec2:DescribeRouteTables=UnauthorizedOperation"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		if len(r.RouteTables) != 0 || len(r.Subnets) != 2 || len(r.VPCs) != 1 {
			t.Errorf("route tables %d, subnets %d, VPCs %d", len(r.RouteTables), len(r.Subnets), len(r.VPCs))
		}
	})
}

func TestCancelledCollectionEndsPromptlyAndSaysWhatIsMissing(t *testing.T) {
	sm, ec := bigEstate(40)
	sm.block = true
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	r := Region(ctx, sm, ec, acct, region, Options{Concurrency: 4})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Region took %v after cancellation", d)
	}
	if len(r.Notebooks) != 40 {
		t.Fatalf("%d notebooks, want all 40 listed ones", len(r.Notebooks))
	}
	for _, nb := range r.Notebooks {
		if nb.Error == nil || nb.Error.Code != CodeCanceled {
			t.Fatalf("%s: error %+v, want %s", nb.Name, nb.Error, CodeCanceled)
		}
	}
	// Blocked describes leave no subnet to read: the EC2 round is skipped.
	if n := sm.called("DescribeNotebookInstance"); n > 4+4 {
		t.Errorf("%d describes started after cancellation with concurrency 4", n)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestCollectErrorCodes(t *testing.T) {
	tests := []struct {
		err      error
		wantCode string
		wantMsg  string
	}{
		{denied("AccessDeniedException"), "AccessDeniedException", "User is not authorized to perform this operation"},
		{fmt.Errorf("op: %w", context.Canceled), CodeCanceled, "op: context canceled"},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), CodeTimeout, "op: context deadline exceeded"},
		{&net.OpError{Op: "read", Err: timeoutErr{}}, CodeTimeout, "read: i/o timeout"},
		{errors.New("connection reset by peer"), "", "connection reset by peer"},
	}
	for _, tt := range tests {
		got := collectError("1", "r", "ec2:X", "", tt.err)
		if got.Code != tt.wantCode || got.Message != tt.wantMsg || got.Operation != "ec2:X" {
			t.Errorf("collectError(%v) = %+v, want code %q message %q", tt.err, got, tt.wantCode, tt.wantMsg)
		}
	}
}

func TestChunk(t *testing.T) {
	vals := make([]string, 401)
	var sizes []int
	for _, c := range chunk(vals, 200) {
		sizes = append(sizes, len(c))
	}
	if diff := cmp.Diff([]int{200, 200, 1}, sizes); diff != "" {
		t.Errorf("chunk sizes (-want +got):\n%s", diff)
	}
	if chunk(nil, 200) != nil {
		t.Errorf("chunk(nil) is not empty")
	}
}

func TestNetworkMapping(t *testing.T) {
	sm := &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{vpcNotebook("nb", "subnet-a", "sg-1")}}
	sm.notebooks[0].NetworkInterfaceId = aws.String("eni-1")
	associated := &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeAssociated}
	ec := &fakeEC2{
		subnets: []ec2types.Subnet{{
			SubnetId: aws.String("subnet-a"), VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.1.0/24"),
			AvailabilityZone: aws.String("eu-west-1a"), MapPublicIpOnLaunch: aws.Bool(true), AssignIpv6AddressOnCreation: aws.Bool(true),
			Ipv6CidrBlockAssociationSet: []ec2types.SubnetIpv6CidrBlockAssociation{
				{Ipv6CidrBlock: aws.String("2600:1f18::/64"), Ipv6CidrBlockState: &ec2types.SubnetCidrBlockState{State: ec2types.SubnetCidrBlockStateCodeAssociated}},
				{Ipv6CidrBlock: aws.String("2600:dead::/64"), Ipv6CidrBlockState: &ec2types.SubnetCidrBlockState{State: ec2types.SubnetCidrBlockStateCodeDisassociated}},
			},
		}},
		vpcs: []ec2types.Vpc{{
			VpcId: aws.String("vpc-1"), CidrBlock: aws.String("10.0.0.0/16"),
			CidrBlockAssociationSet: []ec2types.VpcCidrBlockAssociation{
				{CidrBlock: aws.String("10.0.0.0/16"), CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeAssociated}},
				{CidrBlock: aws.String("100.64.0.0/16"), CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeDisassociated}},
			},
			Ipv6CidrBlockAssociationSet: []ec2types.VpcIpv6CidrBlockAssociation{{Ipv6CidrBlock: aws.String("2600:1f18::/56")}},
		}, {VpcId: aws.String("vpc-other")}},
		tables: []ec2types.RouteTable{
			{
				RouteTableId: aws.String("rtb-main"), VpcId: aws.String("vpc-1"),
				Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true), AssociationState: associated}},
				Routes: []ec2types.Route{
					{DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String("local"), State: ec2types.RouteStateActive},
					{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-1"), State: ec2types.RouteStateActive},
					{DestinationIpv6CidrBlock: aws.String("::/0"), EgressOnlyInternetGatewayId: aws.String("eigw-1"), State: ec2types.RouteStateActive},
					{DestinationPrefixListId: aws.String("pl-s3"), GatewayId: aws.String("vpce-s3"), State: ec2types.RouteStateActive},
					{DestinationCidrBlock: aws.String("172.16.0.0/12"), TransitGatewayId: aws.String("tgw-1"), State: ec2types.RouteStateBlackhole},
					{DestinationCidrBlock: aws.String("192.168.0.0/16"), VpcPeeringConnectionId: aws.String("pcx-1")},
					{DestinationCidrBlock: aws.String("1.0.0.0/8"), NetworkInterfaceId: aws.String("eni-fw"), InstanceId: aws.String("i-fw")},
					{DestinationCidrBlock: aws.String("2.0.0.0/8"), LocalGatewayId: aws.String("lgw-1")},
					{DestinationCidrBlock: aws.String("3.0.0.0/8"), CarrierGatewayId: aws.String("cagw-1")},
					{DestinationCidrBlock: aws.String("4.0.0.0/8"), CoreNetworkArn: aws.String("arn:aws:networkmanager::1:core-network/c")},
					{DestinationCidrBlock: aws.String("5.0.0.0/8"), OdbNetworkArn: aws.String("arn:aws:odb:eu-west-1:1:odb-network/o")},
					{DestinationCidrBlock: aws.String("6.0.0.0/8"), IpAddress: aws.String("10.0.9.9"), Origin: ec2types.RouteOriginAdvertisement},
				},
			},
			{
				RouteTableId: aws.String("rtb-a"), VpcId: aws.String("vpc-1"),
				Associations: []ec2types.RouteTableAssociation{
					{SubnetId: aws.String("subnet-a"), Main: aws.Bool(false), AssociationState: associated},
					{SubnetId: aws.String("subnet-old"), AssociationState: &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeDisassociated}},
					{GatewayId: aws.String("igw-1"), AssociationState: associated},
				},
				Routes: []ec2types.Route{{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-1"), State: ec2types.RouteStateActive}},
			},
			{RouteTableId: aws.String("rtb-other"), VpcId: aws.String("vpc-other")},
		},
		nats: []ec2types.NatGateway{{NatGatewayId: aws.String("nat-1"), VpcId: aws.String("vpc-1"), SubnetId: aws.String("subnet-pub"),
			State: ec2types.NatGatewayStateAvailable, ConnectivityType: ec2types.ConnectivityTypePublic}},
		igws: []ec2types.InternetGateway{
			{InternetGatewayId: aws.String("igw-1"), Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String("vpc-1"), State: ec2types.AttachmentStatusAttached}}},
			{InternetGatewayId: aws.String("igw-other"), Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String("vpc-other")}}},
		},
		eigws: []ec2types.EgressOnlyInternetGateway{
			{EgressOnlyInternetGatewayId: aws.String("eigw-1"), Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String("vpc-1")}}},
			{EgressOnlyInternetGatewayId: aws.String("eigw-other"), Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String("vpc-other")}}},
		},
		groups: []ec2types.SecurityGroup{{
			GroupId: aws.String("sg-1"), GroupName: aws.String("nb"), VpcId: aws.String("vpc-1"),
			IpPermissions: []ec2types.IpPermission{{
				IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
				IpRanges:      []ec2types.IpRange{{CidrIp: aws.String("0.0.0.0/0"), Description: aws.String("ssh")}},
				PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String("pl-office")}},
			}},
			IpPermissionsEgress: []ec2types.IpPermission{
				{
					IpProtocol: aws.String("-1"),
					IpRanges:   []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}},
					Ipv6Ranges: []ec2types.Ipv6Range{{CidrIpv6: aws.String("::/0"), Description: aws.String("v6")}},
				},
				{
					IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
					PrefixListIds:    []ec2types.PrefixListId{{PrefixListId: aws.String("pl-s3"), Description: aws.String("s3")}},
					UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String("sg-proxy"), Description: aws.String("proxy")}},
				},
			},
		}},
		acls: []ec2types.NetworkAcl{{
			NetworkAclId: aws.String("acl-1"), VpcId: aws.String("vpc-1"), IsDefault: aws.Bool(true),
			Associations: []ec2types.NetworkAclAssociation{{SubnetId: aws.String("subnet-b")}, {SubnetId: aws.String("subnet-a")}},
			Entries: []ec2types.NetworkAclEntry{
				{RuleNumber: aws.Int32(100), Egress: aws.Bool(true), Protocol: aws.String("6"), RuleAction: ec2types.RuleActionDeny,
					CidrBlock: aws.String("0.0.0.0/0"), PortRange: &ec2types.PortRange{From: aws.Int32(443), To: aws.Int32(443)}},
				{RuleNumber: aws.Int32(32767), Egress: aws.Bool(true), Protocol: aws.String("-1"), RuleAction: ec2types.RuleActionDeny,
					Ipv6CidrBlock: aws.String("::/0")},
			},
		}},
		enis: []ec2types.NetworkInterface{{
			NetworkInterfaceId: aws.String("eni-1"), SubnetId: aws.String("subnet-a"), VpcId: aws.String("vpc-1"),
			PrivateIpAddress: aws.String("10.0.1.5"), Description: aws.String("[DO NOT DELETE] ENI managed by SageMaker"),
			Association:   &ec2types.NetworkInterfaceAssociation{PublicIp: aws.String("54.1.2.3")},
			Ipv6Addresses: []ec2types.NetworkInterfaceIpv6Address{{Ipv6Address: aws.String("2600:1f18::5")}},
			Groups:        []ec2types.GroupIdentifier{{GroupId: aws.String("sg-1")}},
		}},
		vpces: []ec2types.VpcEndpoint{
			{VpcEndpointId: aws.String("vpce-s3"), VpcId: aws.String("vpc-1"), VpcEndpointType: ec2types.VpcEndpointTypeGateway, ServiceName: aws.String("com.amazonaws.eu-west-1.s3")},
			{VpcEndpointId: aws.String("vpce-other"), VpcId: aws.String("vpc-other"), VpcEndpointType: ec2types.VpcEndpointTypeInterface},
		},
		tgwAtts: []ec2types.TransitGatewayAttachment{
			{TransitGatewayAttachmentId: aws.String("tgw-attach-1"), TransitGatewayId: aws.String("tgw-1"), TransitGatewayOwnerId: aws.String("999988887777"),
				ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String("vpc-1"), ResourceOwnerId: aws.String(acct),
				State: ec2types.TransitGatewayAttachmentStateAvailable,
				Association: &ec2types.TransitGatewayAttachmentAssociation{TransitGatewayRouteTableId: aws.String("tgw-rtb-1"),
					State: ec2types.TransitGatewayAssociationStateAssociated}},
			{TransitGatewayAttachmentId: aws.String("tgw-attach-other"), TransitGatewayId: aws.String("tgw-1"),
				ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String("vpc-other")},
		},
		tgwVPCAtts: []ec2types.TransitGatewayVpcAttachment{
			{TransitGatewayAttachmentId: aws.String("tgw-attach-1"), TransitGatewayId: aws.String("tgw-1"), VpcId: aws.String("vpc-1"),
				SubnetIds: []string{"subnet-tgw-b", "subnet-tgw-a"}},
		},
		prefixLists: []ec2types.ManagedPrefixList{
			{PrefixListId: aws.String("pl-s3"), PrefixListName: aws.String("com.amazonaws.eu-west-1.s3"), OwnerId: aws.String("AWS"),
				AddressFamily: aws.String("IPv4"), State: ec2types.PrefixListStateCreateComplete},
			{PrefixListId: aws.String("pl-office"), PrefixListName: aws.String("office"), OwnerId: aws.String(acct),
				AddressFamily: aws.String("IPv4"), State: ec2types.PrefixListStateModifyComplete},
			{PrefixListId: aws.String("pl-unused"), OwnerId: aws.String(acct)},
		},
		plEntries: map[string][]ec2types.PrefixListEntry{
			"pl-office": {{Cidr: aws.String("198.51.100.0/24"), Description: aws.String("hq")}, {Cidr: aws.String("192.0.2.0/24")}},
		},
	}
	r := Region(context.Background(), sm, ec, acct, region, Options{})
	r.Notebooks = nil
	want := inventory.Region{
		AccountID: acct, Region: region,
		VPCs: []inventory.VPC{{ID: "vpc-1", CIDRBlocks: []string{"10.0.0.0/16"}, IPv6CIDRBlocks: []string{"2600:1f18::/56"}}},
		Subnets: []inventory.Subnet{{ID: "subnet-a", VPCID: "vpc-1", CIDRBlock: "10.0.1.0/24", IPv6CIDRBlocks: []string{"2600:1f18::/64"},
			AvailabilityZone: "eu-west-1a", MapPublicIPOnLaunch: true, AssignIPv6AddressOnCreation: true}},
		RouteTables: []inventory.RouteTable{
			{ID: "rtb-a", VPCID: "vpc-1", SubnetIDs: []string{"subnet-a"}, Routes: []inventory.Route{
				{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-1", State: "active"},
			}},
			{ID: "rtb-main", VPCID: "vpc-1", Main: true, Routes: []inventory.Route{
				{DestinationCIDR: "10.0.0.0/16", GatewayID: "local", State: "active"},
				{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-1", State: "active"},
				{DestinationIPv6CIDR: "::/0", EgressOnlyInternetGatewayID: "eigw-1", State: "active"},
				{DestinationPrefixListID: "pl-s3", GatewayID: "vpce-s3", State: "active"},
				{DestinationCIDR: "172.16.0.0/12", TransitGatewayID: "tgw-1", State: "blackhole"},
				{DestinationCIDR: "192.168.0.0/16", VPCPeeringConnectionID: "pcx-1"},
				{DestinationCIDR: "1.0.0.0/8", NetworkInterfaceID: "eni-fw", InstanceID: "i-fw"},
				{DestinationCIDR: "2.0.0.0/8", LocalGatewayID: "lgw-1"},
				{DestinationCIDR: "3.0.0.0/8", CarrierGatewayID: "cagw-1"},
				{DestinationCIDR: "4.0.0.0/8", CoreNetworkARN: "arn:aws:networkmanager::1:core-network/c"},
				{DestinationCIDR: "5.0.0.0/8", OdbNetworkARN: "arn:aws:odb:eu-west-1:1:odb-network/o"},
				{DestinationCIDR: "6.0.0.0/8", NextHopIP: "10.0.9.9"},
			}},
		},
		NATGateways: []inventory.NATGateway{{ID: "nat-1", VPCID: "vpc-1", SubnetID: "subnet-pub", State: "available", ConnectivityType: "public"}},
		InternetGateways: []inventory.InternetGateway{{ID: "igw-1", VPCIDs: []string{"vpc-1"},
			Attachments: []inventory.GatewayAttachment{{VPCID: "vpc-1", State: "attached"}}}},
		EgressOnlyInternetGateways: []inventory.EgressOnlyInternetGateway{{ID: "eigw-1", VPCIDs: []string{"vpc-1"}}},
		SecurityGroups: []inventory.SecurityGroup{{
			ID: "sg-1", Name: "nb", VPCID: "vpc-1",
			Ingress: []inventory.SGRule{{Protocol: "tcp", FromPort: 22, ToPort: 22, CIDRs: []string{"0.0.0.0/0"}, PrefixListIDs: []string{"pl-office"},
				Descriptions: map[string]string{"0.0.0.0/0": "ssh"}}},
			Egress: []inventory.SGRule{
				{Protocol: "-1", CIDRs: []string{"10.0.0.0/8"}, IPv6CIDRs: []string{"::/0"}, Descriptions: map[string]string{"::/0": "v6"}},
				{Protocol: "tcp", FromPort: 443, ToPort: 443, PrefixListIDs: []string{"pl-s3"}, SourceGroupIDs: []string{"sg-proxy"},
					Descriptions: map[string]string{"pl-s3": "s3", "sg-proxy": "proxy"}},
			},
		}},
		NetworkACLs: []inventory.NetworkACL{{
			ID: "acl-1", VPCID: "vpc-1", Default: true, SubnetIDs: []string{"subnet-a", "subnet-b"},
			Entries: []inventory.ACLEntry{
				{RuleNumber: 100, Egress: true, Protocol: "6", Action: "deny", CIDR: "0.0.0.0/0", FromPort: 443, ToPort: 443, HasPorts: true},
				{RuleNumber: 32767, Egress: true, Protocol: "-1", Action: "deny", IPv6CIDR: "::/0"},
			},
		}},
		NetworkInterfaces: []inventory.NetworkInterface{{
			ID: "eni-1", SubnetID: "subnet-a", VPCID: "vpc-1", PrivateIPAddress: "10.0.1.5", PublicIP: "54.1.2.3",
			IPv6Addresses: []string{"2600:1f18::5"}, SecurityGroupIDs: []string{"sg-1"}, Description: "[DO NOT DELETE] ENI managed by SageMaker",
		}},
		VPCEndpoints: []inventory.VPCEndpoint{{ID: "vpce-s3", VPCID: "vpc-1", Type: "Gateway", ServiceName: "com.amazonaws.eu-west-1.s3"}},
		TransitGatewayAttachments: []inventory.TransitGatewayAttachment{{
			ID: "tgw-attach-1", TransitGatewayID: "tgw-1", TransitGatewayOwnerID: "999988887777", ResourceType: "vpc", ResourceID: "vpc-1",
			ResourceOwnerID: acct, State: "available", RouteTableID: "tgw-rtb-1", AssociationState: "associated",
			SubnetIDs: []string{"subnet-tgw-a", "subnet-tgw-b"},
		}},
		PrefixLists: []inventory.PrefixList{
			{ID: "pl-office", Name: "office", OwnerID: acct, AddressFamily: "IPv4", State: "modify-complete", Entries: []string{"192.0.2.0/24", "198.51.100.0/24"}},
			{ID: "pl-s3", Name: "com.amazonaws.eu-west-1.s3", OwnerID: "AWS", AddressFamily: "IPv4", State: "create-complete"},
		},
		Coverage: &inventory.Coverage{VPCs: []string{"vpc-1"}},
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("region (-want +got):\n%s", diff)
	}
}

func TestRegions(t *testing.T) {
	regions := []ec2types.Region{
		{RegionName: aws.String("us-west-2"), OptInStatus: aws.String("opt-in-not-required")},
		{RegionName: aws.String("us-east-1"), OptInStatus: aws.String("opt-in-not-required")},
		{RegionName: aws.String("af-south-1"), OptInStatus: aws.String("opted-in")},
		{RegionName: aws.String("ap-east-1"), OptInStatus: aws.String("not-opted-in")},
		// moto lists other partitions' regions too; AWS does not.
		{RegionName: aws.String("cn-north-1"), OptInStatus: aws.String("opt-in-not-required")},
		{RegionName: aws.String("us-gov-west-1"), OptInStatus: aws.String("opt-in-not-required")},
	}
	tests := []struct {
		name       string
		partition  string
		requested  []string
		listErr    error
		want       RegionList
		wantErr    error
		errMention string
	}{
		{name: "default is the enabled regions of the partition, sorted", partition: "aws",
			want: RegionList{Enabled: []string{"af-south-1", "us-east-1", "us-west-2"}}},
		{name: "china partition", partition: "aws-cn", want: RegionList{Enabled: []string{"cn-north-1"}}},
		{name: "requested, deduplicated and sorted", partition: "aws", requested: []string{"us-west-2", "us-east-1", "us-west-2"},
			want: RegionList{Enabled: []string{"us-east-1", "us-west-2"}}},
		{name: "requested but not enabled is returned separately", partition: "aws", requested: []string{"ap-east-1", "us-east-1"},
			want: RegionList{Enabled: []string{"us-east-1"}, NotEnabled: []string{"ap-east-1"}}},
		{name: "unknown region", partition: "aws", requested: []string{"us-east-1", "xx-north-9", "cn-north-1"},
			wantErr: ErrUnknownRegion, errMention: "cn-north-1, xx-north-9"},
		{name: "malformed region", partition: "aws", requested: []string{"US-EAST-1"}, wantErr: ErrUnknownRegion, errMention: "US-EAST-1"},
		{name: "denied list with requested regions proceeds", partition: "aws", requested: []string{"eu-west-1"},
			listErr: denied("UnauthorizedOperation"), want: RegionList{Enabled: []string{"eu-west-1"}, ListError: denied("UnauthorizedOperation")}},
		{name: "denied list still checks the partition", partition: "aws", requested: []string{"cn-north-1"},
			listErr: denied("UnauthorizedOperation"), wantErr: ErrUnknownRegion, errMention: "cn-north-1"},
		{name: "denied list without requested regions fails", partition: "aws",
			listErr: denied("UnauthorizedOperation"), errMention: "UnauthorizedOperation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ec := &fakeEC2{regions: regions}
			if tt.listErr != nil {
				ec.errs = map[string]error{"DescribeRegions": tt.listErr}
			}
			got, err := Regions(context.Background(), ec, tt.partition, tt.requested)
			if tt.errMention != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errMention) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.errMention)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b error) bool { return (a == nil) == (b == nil) })); diff != "" {
				t.Errorf("Regions (-want +got):\n%s", diff)
			}
		})
	}
}

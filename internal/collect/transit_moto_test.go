package collect

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/testenv"
)

// transit is what addTransit adds to an estate.
type transit struct {
	tgw, table          string            // the gateway and its default route table
	spokeAtt, egressAtt string            // the estate's VPC's and the other VPC's attachments
	officePL            string            // a customer prefix list the locked group's egress names
	routeTargets        map[string]string // transit gateway route destination -> attachment
}

// addTransit attaches the estate's VPC (through its isolated subnet) and
// the other VPC to a new transit gateway; the isolated route table sends
// 0.0.0.0/0 to it; the gateway's default route table sends 0.0.0.0/0 to
// the other VPC, 172.16.0.0/12 back to the estate's and 10.0.0.0/8 to a
// blackhole; the locked security group's egress names a customer prefix
// list holding 0.0.0.0/0. moto associates every attachment with the
// default route table (it ignores any other association), which is the
// table used here. It is a local helper, not a testenv builder: the
// scenario estates are built elsewhere.
func addTransit(t *testing.T, s setupClients, e estate) transit {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	var tr transit
	var err error
	tr.tgw, err = testenv.CreateTransitGateway(ctx, s.ec2)
	must(err)
	gw, err := s.ec2.DescribeTransitGateways(ctx, &ec2.DescribeTransitGatewaysInput{TransitGatewayIds: []string{tr.tgw}})
	must(err)
	tr.table = aws.ToString(gw.TransitGateways[0].Options.AssociationDefaultRouteTableId)
	attach := func(vpc, subnet string) string {
		out, err := s.ec2.CreateTransitGatewayVpcAttachment(ctx, &ec2.CreateTransitGatewayVpcAttachmentInput{
			TransitGatewayId: aws.String(tr.tgw), VpcId: aws.String(vpc), SubnetIds: []string{subnet},
		})
		must(err)
		return aws.ToString(out.TransitGatewayVpcAttachment.TransitGatewayAttachmentId)
	}
	tr.spokeAtt = attach(e.net.VPCID, e.net.IsolatedSubnetID)
	tr.egressAtt = attach(e.other.VPCID, e.other.IsolatedSubnetID)
	must(testenv.AddRoute(ctx, s.ec2, e.net.IsolatedRouteTableID, "0.0.0.0/0", tr.tgw))
	tr.routeTargets = map[string]string{"0.0.0.0/0": tr.egressAtt, "172.16.0.0/12": tr.spokeAtt}
	for dest, att := range tr.routeTargets {
		_, err := s.ec2.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{
			TransitGatewayRouteTableId: aws.String(tr.table), DestinationCidrBlock: aws.String(dest), TransitGatewayAttachmentId: aws.String(att),
		})
		must(err)
	}
	_, err = s.ec2.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{
		TransitGatewayRouteTableId: aws.String(tr.table), DestinationCidrBlock: aws.String("10.0.0.0/8"), Blackhole: aws.Bool(true),
	})
	must(err)
	pl, err := s.ec2.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String("office"), AddressFamily: aws.String("IPv4"), MaxEntries: aws.Int32(5),
		Entries: []ec2types.AddPrefixListEntry{{Cidr: aws.String("198.51.100.0/24")}, {Cidr: aws.String("0.0.0.0/0")}},
	})
	must(err)
	tr.officePL = aws.ToString(pl.PrefixList.PrefixListId)
	_, err = s.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(e.sgLocked),
		IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(8443), ToPort: aws.Int32(8443),
			PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String(tr.officePL)}}}},
	})
	must(err)
	return tr
}

// searchWithAttachments answers SearchTransitGatewayRoutes with moto's own
// answer, each static route given the attachment it targets: moto 5.2
// stores a static route's attachment as a dict and serializes it as an
// empty list (<transitGatewayAttachments/>). Only that element is filled
// in, from targets (destination -> attachment) and vpcOf (attachment ->
// VPC); everything else is moto's.
func searchWithAttachments(t *testing.T, motoURL string, targets, vpcOf map[string]string) testenv.Rule {
	route := regexp.MustCompile(`<destinationCidrBlock>([^<]+)</destinationCidrBlock><transitGatewayAttachments/>`)
	return testenv.Rule{Op: "ec2:SearchTransitGatewayRoutes", Fault: testenv.Fault{Answer: func(c testenv.Call) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, motoURL, bytes.NewReader(c.Body))
		if err != nil {
			t.Error(err)
			return http.StatusInternalServerError, nil
		}
		req.Header = c.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return http.StatusInternalServerError, nil
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Error(err)
			return http.StatusInternalServerError, nil
		}
		filled := 0
		out := route.ReplaceAllStringFunc(string(body), func(m string) string {
			dest := route.FindStringSubmatch(m)[1]
			att, ok := targets[dest]
			if !ok {
				return m
			}
			filled++
			return fmt.Sprintf("<destinationCidrBlock>%s</destinationCidrBlock><transitGatewayAttachments><item>"+
				"<transitGatewayAttachmentId>%s</transitGatewayAttachmentId><resourceType>vpc</resourceType>"+
				"<resourceId>%s</resourceId></item></transitGatewayAttachments>", dest, att, vpcOf[att])
		})
		if filled == 0 && resp.StatusCode == http.StatusOK {
			t.Errorf("no route of moto's answer was filled in (has moto changed?):\n%s", body)
		}
		return resp.StatusCode, []byte(out)
	}}}
}

// sortedRoutes orders transit gateway routes by destination: moto answers
// in the order the routes were made.
func sortedRoutes(tables []inventory.TransitGatewayRouteTable) []inventory.TransitGatewayRouteTable {
	out := slices.Clone(tables)
	for i := range out {
		out[i].Routes = slices.Clone(out[i].Routes)
		slices.SortFunc(out[i].Routes, func(a, b inventory.TransitGatewayRoute) int {
			return strings.Compare(a.DestinationCIDR+a.PrefixListID, b.DestinationCIDR+b.PrefixListID)
		})
	}
	return out
}

// TestCollectFollowsTransitGatewaysInMoto: a VPC attached to a transit
// gateway with static routes, a customer prefix list a security group
// names, and an egress VPC whose internet gateway was detached, all in
// one account. The scan reads the VPC's attachment, the gateway's route
// table with its routes, the egress VPC the route table sends 0.0.0.0/0
// to, and the prefix lists.
func TestCollectFollowsTransitGatewaysInMoto(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	e := buildEstate(t, s)
	tr := addTransit(t, s, e)
	if _, err := s.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{
		InternetGatewayId: aws.String(e.other.InternetGatewayID), VpcId: aws.String(e.other.VPCID),
	}); err != nil {
		t.Fatal(err)
	}
	p := testenv.NewFaultProxy(t, s.m.URL())
	p.Add(searchWithAttachments(t, s.m.URL(), tr.routeTargets, map[string]string{tr.spokeAtt: e.net.VPCID, tr.egressAtt: e.other.VPCID}))
	cfg, _ := liveConfig(t, p.URL(), awsclient.Options{})
	inv, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 || len(inv.Regions) != 1 || len(inv.Regions[0].Errors) != 0 {
		t.Fatalf("errors %+v; %d regions", inv.Errors, len(inv.Regions))
	}
	r := inv.Regions[0]
	if diff := cmp.Diff(&inventory.Coverage{VPCs: sorted(e.net.VPCID, e.other.VPCID), TransitGateways: []string{tr.tgw}}, r.Coverage); diff != "" {
		t.Errorf("coverage (-want +got):\n%s", diff)
	}
	att := func(id, vpc, subnet string) inventory.TransitGatewayAttachment {
		return inventory.TransitGatewayAttachment{ID: id, TransitGatewayID: tr.tgw, TransitGatewayOwnerID: testenv.AccountID,
			ResourceType: "vpc", ResourceID: vpc, ResourceOwnerID: testenv.AccountID, State: "available",
			RouteTableID: tr.table, AssociationState: "associated", SubnetIDs: []string{subnet}}
	}
	wantAtts := []inventory.TransitGatewayAttachment{att(tr.spokeAtt, e.net.VPCID, e.net.IsolatedSubnetID), att(tr.egressAtt, e.other.VPCID, e.other.IsolatedSubnetID)}
	slices.SortFunc(wantAtts, func(a, b inventory.TransitGatewayAttachment) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(wantAtts, r.TransitGatewayAttachments); diff != "" {
		t.Errorf("transit gateway attachments (-want +got):\n%s", diff)
	}
	to := func(att, vpc string) []inventory.TransitGatewayRouteAttachment {
		return []inventory.TransitGatewayRouteAttachment{{ID: att, ResourceType: "vpc", ResourceID: vpc}}
	}
	wantTables := []inventory.TransitGatewayRouteTable{{ID: tr.table, TransitGatewayID: tr.tgw, Routes: []inventory.TransitGatewayRoute{
		{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active", Attachments: to(tr.egressAtt, e.other.VPCID)},
		{DestinationCIDR: "10.0.0.0/8", Type: "static", State: "blackhole"},
		{DestinationCIDR: "172.16.0.0/12", Type: "static", State: "active", Attachments: to(tr.spokeAtt, e.net.VPCID)},
	}}}
	if diff := cmp.Diff(wantTables, sortedRoutes(r.TransitGatewayRouteTables)); diff != "" {
		t.Errorf("transit gateway route tables (-want +got):\n%s", diff)
	}
	var s3 string
	for _, pl := range r.PrefixLists {
		if pl.AWSManaged() {
			s3 = pl.ID
		}
	}
	wantPLs := []inventory.PrefixList{
		{ID: tr.officePL, Name: "office", OwnerID: testenv.AccountID, AddressFamily: "IPv4", State: "create-complete", Entries: []string{"0.0.0.0/0", "198.51.100.0/24"}},
		{ID: e.pl, Name: "com.amazonaws.us-east-1.s3", OwnerID: "AWS", AddressFamily: "IPv4", State: "create-complete"},
	}
	slices.SortFunc(wantPLs, func(a, b inventory.PrefixList) int { return strings.Compare(a.ID, b.ID) })
	if diff := cmp.Diff(wantPLs, r.PrefixLists); diff != "" || s3 != e.pl {
		t.Errorf("prefix lists (-want +got):\n%s", diff)
	}
	// The egress VPC, read whole; its internet gateway, detached, is not
	// among the attached ones, while its public route table still names it.
	wantSubnets := sorted(e.net.PublicSubnetID, e.net.PrivateSubnetID, e.net.IsolatedSubnetID, e.other.PublicSubnetID, e.other.PrivateSubnetID, e.other.IsolatedSubnetID)
	if diff := cmp.Diff(wantSubnets, ids(r.Subnets, func(s inventory.Subnet) string { return s.ID })); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]inventory.InternetGateway{{ID: e.net.InternetGatewayID, VPCIDs: []string{e.net.VPCID},
		Attachments: []inventory.GatewayAttachment{{VPCID: e.net.VPCID, State: "available"}}}}, r.InternetGateways); diff != "" {
		t.Errorf("internet gateways (-want +got):\n%s", diff)
	}
	otherPublic := slices.IndexFunc(r.RouteTables, func(rt inventory.RouteTable) bool { return rt.ID == e.other.PublicRouteTableID })
	if otherPublic < 0 || !slices.ContainsFunc(r.RouteTables[otherPublic].Routes, func(rt inventory.Route) bool {
		return rt.DestinationCIDR == "0.0.0.0/0" && rt.GatewayID == e.other.InternetGatewayID
	}) {
		t.Errorf("the egress VPC's public route table to the detached gateway is missing: %+v", r.RouteTables)
	}
	if !slices.ContainsFunc(r.NATGateways, func(n inventory.NATGateway) bool { return n.ID == e.other.NATGatewayID }) {
		t.Errorf("the egress VPC's NAT gateway is missing: %+v", r.NATGateways)
	}
	if got := p.Calls("ec2:SearchTransitGatewayRoutes"); got != 1 {
		t.Errorf("%d route searches for one route table", got)
	}
}

// TestTransitFaultsInMoto: through the fault proxy, a denied or throttled
// route search and denied prefix list entries are recorded against the
// route table and the list, and nothing partial is kept.
func TestTransitFaultsInMoto(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	e := buildEstate(t, s)
	tr := addTransit(t, s, e)
	p := testenv.NewFaultProxy(t, s.m.URL())
	collect := func(t *testing.T, rule testenv.Rule) inventory.Region {
		t.Helper()
		p.ClearRules()
		p.Add(rule)
		cfg, _ := liveConfig(t, p.URL(), awsclient.Options{MaxAttempts: 2})
		inv, err := Collect(ctx, cfg, CollectOptions{Regions: []string{"us-east-1"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(inv.Errors) != 0 || len(inv.Regions) != 1 {
			t.Fatalf("errors %+v; %d regions", inv.Errors, len(inv.Regions))
		}
		return inv.Regions[0]
	}
	for _, tc := range []struct {
		name  string
		fault testenv.Fault
		code  string
	}{
		{"denied", testenv.AccessDenied(), "UnauthorizedOperation"},
		{"throttled past the retries", testenv.Throttle(), "RequestLimitExceeded"},
	} {
		t.Run("route search "+tc.name, func(t *testing.T) {
			r := collect(t, testenv.Rule{Op: "ec2:SearchTransitGatewayRoutes", Fault: tc.fault})
			if got := opResources(r.Errors); !slices.Equal(got, []string{awsop.SearchTransitGatewayRoutes + " " + tr.table}) || r.Errors[0].Code != tc.code {
				t.Errorf("errors %+v", r.Errors)
			}
			if len(r.TransitGatewayRouteTables) != 0 {
				t.Errorf("route tables kept without their routes: %+v", r.TransitGatewayRouteTables)
			}
			// The gateway was described: its one table is known to exist,
			// and could not be read.
			if diff := cmp.Diff(&inventory.Coverage{VPCs: []string{e.net.VPCID}, TransitGateways: []string{tr.tgw}}, r.Coverage); diff != "" {
				t.Errorf("coverage (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("prefix list entries denied", func(t *testing.T) {
		r := collect(t, testenv.Rule{Op: "ec2:GetManagedPrefixListEntries", Fault: testenv.AccessDenied()})
		if got := opResources(r.Errors); !slices.Equal(got, []string{awsop.GetManagedPrefixListEntries + " " + tr.officePL}) || r.Errors[0].Code != "UnauthorizedOperation" {
			t.Errorf("errors %+v", r.Errors)
		}
		if got := ids(r.PrefixLists, func(p inventory.PrefixList) string { return p.ID }); !slices.Equal(got, []string{e.pl}) {
			t.Errorf("prefix lists %v, want the AWS-managed one alone", got)
		}
	})
}

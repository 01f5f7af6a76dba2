package control

import (
	"fmt"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

// generateEstate builds a deterministic inventory of n notebooks spread over
// regions of 20 VPCs each, hub-and-spoke as organisations build them. VPCs
// 0-9 stand alone: a NAT subnet (0.0.0.0/0 to a NAT gateway in the public
// subnet), an isolated subnet (an S3 gateway endpoint only), a public subnet
// (0.0.0.0/0 to the internet gateway) and a subnet whose default goes to a
// virtual private gateway. VPCs 10-19 are spokes of 4 transit gateways a
// network account owns (each region has its network-only region entry):
// every spoke subnet routes 0.0.0.0/0 to its transit gateway, whose spoke
// route table sends it to one of 2 egress VPCs (attachment subnet to a NAT
// gateway, NAT subnet to an internet gateway); every fifth spoke is
// associated with an isolated route table instead (private routes only).
// Each VPC has ten security groups (open, VPC-only, one public /22 on 443)
// and one network ACL; every notebook has an interface; one in ten has
// direct internet access.
func generateEstate(n, perRegion int) *inventory.Inventory {
	const account, network = "111122223333", "222233334444"
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws", NetworkAccounts: []string{network}}
	local := func(cidr string) inventory.Route {
		return inventory.Route{DestinationCIDR: cidr, GatewayID: "local", State: "active"}
	}
	for r := 0; n > 0; r++ {
		count := min(perRegion, n)
		n -= count
		region := fmt.Sprintf("test-region-%d", r)
		reg := inventory.Region{AccountID: account, Region: region, Coverage: &inventory.Coverage{},
			PrefixLists: []inventory.PrefixList{{ID: "pl-63a5400a", Name: "com.amazonaws.us-east-1.s3", OwnerID: "AWS"}}}
		net := inventory.Region{AccountID: network, Region: region, NetworkOnly: true, Notebooks: []inventory.Notebook{}, Coverage: &inventory.Coverage{}}
		const vpcs, tgws, egress = 20, 4, 2
		for t := 0; t < tgws; t++ {
			tgw := fmt.Sprintf("tgw-%d", t)
			net.Coverage.TransitGateways = append(net.Coverage.TransitGateways, tgw)
			eatt := fmt.Sprintf("tgw-attach-e%d-%d", t%egress, t)
			net.TransitGatewayRouteTables = append(net.TransitGatewayRouteTables,
				inventory.TransitGatewayRouteTable{ID: "tgw-rtb-spokes-" + tgw, TransitGatewayID: tgw, Routes: []inventory.TransitGatewayRoute{
					{DestinationCIDR: "0.0.0.0/0", Type: "static", State: "active", Attachments: []inventory.TransitGatewayRouteAttachment{{ID: eatt, ResourceType: "vpc", ResourceID: fmt.Sprintf("vpc-egress-%d", t%egress)}}}}},
				inventory.TransitGatewayRouteTable{ID: "tgw-rtb-isolated-" + tgw, TransitGatewayID: tgw, Routes: []inventory.TransitGatewayRoute{
					{DestinationCIDR: "10.0.0.0/8", Type: "propagated", State: "active", Attachments: []inventory.TransitGatewayRouteAttachment{{ID: eatt, ResourceType: "vpc", ResourceID: fmt.Sprintf("vpc-egress-%d", t%egress)}}}}})
			net.TransitGatewayAttachments = append(net.TransitGatewayAttachments, inventory.TransitGatewayAttachment{ID: eatt, TransitGatewayID: tgw, TransitGatewayOwnerID: network,
				ResourceType: "vpc", ResourceID: fmt.Sprintf("vpc-egress-%d", t%egress), ResourceOwnerID: network, State: "available", SubnetIDs: []string{fmt.Sprintf("subnet-egress-%d-tgw", t%egress)}})
		}
		for e := 0; e < egress; e++ {
			vpc, cidr := fmt.Sprintf("vpc-egress-%d", e), fmt.Sprintf("100.64.%d.0/24", e)
			tsub, psub := fmt.Sprintf("subnet-egress-%d-tgw", e), fmt.Sprintf("subnet-egress-%d-pub", e)
			nat, igw := fmt.Sprintf("nat-egress-%d", e), fmt.Sprintf("igw-egress-%d", e)
			net.Coverage.VPCs = append(net.Coverage.VPCs, vpc)
			net.VPCs = append(net.VPCs, inventory.VPC{ID: vpc, CIDRBlocks: []string{cidr}})
			net.Subnets = append(net.Subnets, inventory.Subnet{ID: tsub, VPCID: vpc, CIDRBlock: fmt.Sprintf("100.64.%d.0/28", e)},
				inventory.Subnet{ID: psub, VPCID: vpc, CIDRBlock: fmt.Sprintf("100.64.%d.128/25", e)})
			net.RouteTables = append(net.RouteTables,
				inventory.RouteTable{ID: "rtb-" + tsub, VPCID: vpc, SubnetIDs: []string{tsub}, Routes: []inventory.Route{local(cidr), {DestinationCIDR: "0.0.0.0/0", NATGatewayID: nat, State: "active"}}},
				inventory.RouteTable{ID: "rtb-" + psub, VPCID: vpc, SubnetIDs: []string{psub}, Routes: []inventory.Route{local(cidr), {DestinationCIDR: "0.0.0.0/0", GatewayID: igw, State: "active"}}},
				inventory.RouteTable{ID: "rtb-main-" + vpc, VPCID: vpc, Main: true, Routes: []inventory.Route{local(cidr)}})
			net.NATGateways = append(net.NATGateways, inventory.NATGateway{ID: nat, VPCID: vpc, SubnetID: psub, State: "available", ConnectivityType: "public"})
			net.InternetGateways = append(net.InternetGateways, inventory.InternetGateway{ID: igw, VPCIDs: []string{vpc}, Attachments: []inventory.GatewayAttachment{{VPCID: vpc, State: "available"}}})
			net.NetworkACLs = append(net.NetworkACLs, inventory.NetworkACL{ID: "acl-" + vpc, VPCID: vpc, Default: true, SubnetIDs: []string{tsub, psub}, Entries: allowAll()})
		}
		for v := 0; v < vpcs; v++ {
			vpc := fmt.Sprintf("vpc-%d", v)
			cidr := fmt.Sprintf("10.%d.0.0/16", v)
			reg.Coverage.VPCs = append(reg.Coverage.VPCs, vpc)
			reg.VPCs = append(reg.VPCs, inventory.VPC{ID: vpc, CIDRBlocks: []string{cidr}})
			nat, igw := fmt.Sprintf("nat-%d", v), "igw-"+vpc
			spoke := v >= vpcs/2
			tgw := fmt.Sprintf("tgw-%d", v%tgws)
			var kinds []inventory.Route
			if spoke {
				toTGW := inventory.Route{DestinationCIDR: "0.0.0.0/0", TransitGatewayID: tgw, State: "active"}
				kinds = []inventory.Route{toTGW, toTGW, toTGW, toTGW}
				rt := "tgw-rtb-spokes-" + tgw
				if v%5 == 0 {
					rt = "tgw-rtb-isolated-" + tgw
				}
				att := inventory.TransitGatewayAttachment{ID: "tgw-attach-" + vpc, TransitGatewayID: tgw, TransitGatewayOwnerID: network, ResourceType: "vpc",
					ResourceID: vpc, ResourceOwnerID: account, State: "available", RouteTableID: rt, SubnetIDs: []string{fmt.Sprintf("subnet-%d-0", v)}}
				reg.TransitGatewayAttachments = append(reg.TransitGatewayAttachments, att)
				net.TransitGatewayAttachments = append(net.TransitGatewayAttachments, att)
			} else {
				reg.NATGateways = append(reg.NATGateways, inventory.NATGateway{ID: nat, VPCID: vpc, SubnetID: fmt.Sprintf("subnet-%d-2", v), State: "available", ConnectivityType: "public"})
				reg.InternetGateways = append(reg.InternetGateways, inventory.InternetGateway{ID: igw, VPCIDs: []string{vpc}, Attachments: []inventory.GatewayAttachment{{VPCID: vpc, State: "available"}}})
				kinds = []inventory.Route{
					{DestinationCIDR: "0.0.0.0/0", NATGatewayID: nat, State: "active"},
					{DestinationPrefixListID: "pl-63a5400a", GatewayID: "vpce-s3", State: "active"},
					{DestinationCIDR: "0.0.0.0/0", GatewayID: igw, State: "active"},
					{DestinationCIDR: "0.0.0.0/0", GatewayID: "vgw-" + vpc, State: "active"},
				}
			}
			var subnets []string
			for k, rt := range kinds {
				sub := fmt.Sprintf("subnet-%d-%d", v, k)
				subnets = append(subnets, sub)
				reg.Subnets = append(reg.Subnets, inventory.Subnet{ID: sub, VPCID: vpc, CIDRBlock: fmt.Sprintf("10.%d.%d.0/24", v, k), MapPublicIPOnLaunch: k == 2 && !spoke})
				reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-" + sub, VPCID: vpc, SubnetIDs: []string{sub}, Routes: []inventory.Route{local(cidr), rt}})
			}
			reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-main-" + vpc, VPCID: vpc, Main: true, Routes: []inventory.Route{local(cidr)}})
			reg.NetworkACLs = append(reg.NetworkACLs, inventory.NetworkACL{ID: "acl-" + vpc, VPCID: vpc, Default: true, SubnetIDs: subnets, Entries: allowAll()})
			for g := 0; g < 10; g++ {
				sg := inventory.SecurityGroup{ID: fmt.Sprintf("sg-%d-%d", v, g), VPCID: vpc}
				switch g % 3 {
				case 0:
					sg.Egress = []inventory.SGRule{{Protocol: "-1", CIDRs: []string{"0.0.0.0/0"}}}
				case 1:
					sg.Egress = []inventory.SGRule{{Protocol: "-1", CIDRs: []string{cidr}}}
				default:
					sg.Egress = []inventory.SGRule{{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"52.94.0.0/22"}}}
				}
				reg.SecurityGroups = append(reg.SecurityGroups, sg)
			}
		}
		reg.VPCEndpoints = []inventory.VPCEndpoint{{ID: "vpce-s3", Type: "Gateway"}}
		for i := 0; i < count; i++ {
			v, k, g := i%vpcs, (i/vpcs)%4, (i/80)%10
			nb := inventory.Notebook{
				Name: fmt.Sprintf("nb-%d-%d", r, i), ARN: fmt.Sprintf("arn:aws:sagemaker:%s:%s:notebook-instance/nb-%d-%d", region, account, r, i), DirectInternetAccess: "Disabled", Status: "InService",
				SubnetID: fmt.Sprintf("subnet-%d-%d", v, k), SecurityGroupIDs: []string{fmt.Sprintf("sg-%d-%d", v, g)},
				NetworkInterfaceID: fmt.Sprintf("eni-%d-%d", r, i), RootAccess: "Enabled",
			}
			if i%10 == 0 {
				nb.DirectInternetAccess = "Enabled"
			}
			reg.NetworkInterfaces = append(reg.NetworkInterfaces, inventory.NetworkInterface{ID: nb.NetworkInterfaceID, SubnetID: nb.SubnetID, VPCID: fmt.Sprintf("vpc-%d", v)})
			reg.Notebooks = append(reg.Notebooks, nb)
		}
		inv.Regions = append(inv.Regions, reg, net)
	}
	return inv
}

// BenchmarkEvaluate100k evaluates a 100,000-notebook inventory; the reported
// ns/notebook is the figure of merit (target: under 2µs on one core).
func BenchmarkEvaluate100k(b *testing.B) {
	const n = 100_000
	inv := generateEstate(n, 10_000)
	ev, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, _ := ev.Evaluate(inv)
		if len(res) != n {
			b.Fatalf("got %d results", len(res))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/notebook")
}

// TestGeneratedEstateVerdicts keeps the benchmark honest: its estate must
// exercise every verdict the benchmark claims to measure.
func TestGeneratedEstateVerdicts(t *testing.T) {
	ev, _ := New(Options{})
	res, _ := ev.Evaluate(generateEstate(2000, 1000))
	seen := map[string]int{}
	for _, r := range res {
		seen[string(r.Status)+"/"+string(r.InternetPath)]++
		for _, h := range r.Hops {
			if h.Kind == "transit-gateway-route-table" {
				seen["via-tgw/"+string(r.Status)+"/"+string(r.InternetPath)]++
				break
			}
		}
	}
	for _, k := range []string{"FAIL/direct", "FAIL/nat", "PASS/nat", "PASS/none", "REVIEW/transit", "FAIL/none",
		"via-tgw/FAIL/nat", "via-tgw/PASS/nat", "via-tgw/PASS/none"} {
		if seen[k] == 0 {
			t.Errorf("generated estate has no %s result: %v", k, seen)
		}
	}
	if seen["ERROR/unknown"] > 0 {
		t.Errorf("generated estate has dangling references: %v", seen)
	}
}

package control

import (
	"fmt"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

// GenerateEstate builds a deterministic inventory of n notebooks spread over
// regions of 20 VPCs each, every VPC with a NAT subnet, an isolated subnet, a
// public subnet and a transit subnet, ten security groups and one network ACL.
func generateEstate(n, perRegion int) *inventory.Inventory {
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Partition: "aws"}
	for r := 0; n > 0; r++ {
		count := min(perRegion, n)
		n -= count
		reg := inventory.Region{AccountID: "111122223333", Region: fmt.Sprintf("test-region-%d", r)}
		const vpcs = 20
		for v := 0; v < vpcs; v++ {
			vpc := fmt.Sprintf("vpc-%d", v)
			cidr := fmt.Sprintf("10.%d.0.0/16", v)
			reg.VPCs = append(reg.VPCs, inventory.VPC{ID: vpc, CIDRBlocks: []string{cidr}})
			loc := inventory.Route{DestinationCIDR: cidr, GatewayID: "local", State: "active"}
			nat := fmt.Sprintf("nat-%d", v)
			reg.NATGateways = append(reg.NATGateways, inventory.NATGateway{ID: nat, VPCID: vpc, State: "available", ConnectivityType: "public"})
			kinds := []inventory.Route{
				{DestinationCIDR: "0.0.0.0/0", NATGatewayID: nat, State: "active"},
				{DestinationPrefixListID: "pl-63a5400a", GatewayID: "vpce-s3", State: "active"},
				{DestinationCIDR: "0.0.0.0/0", GatewayID: "igw-" + vpc, State: "active"},
				{DestinationCIDR: "0.0.0.0/0", TransitGatewayID: "tgw-1", State: "active"},
			}
			var subnets []string
			for k, rt := range kinds {
				sub := fmt.Sprintf("subnet-%d-%d", v, k)
				subnets = append(subnets, sub)
				reg.Subnets = append(reg.Subnets, inventory.Subnet{ID: sub, VPCID: vpc, MapPublicIPOnLaunch: k == 2})
				reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-" + sub, VPCID: vpc, SubnetIDs: []string{sub}, Routes: []inventory.Route{loc, rt}})
			}
			reg.RouteTables = append(reg.RouteTables, inventory.RouteTable{ID: "rtb-main-" + vpc, VPCID: vpc, Main: true, Routes: []inventory.Route{loc}})
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
				Name: fmt.Sprintf("nb-%d-%d", r, i), ARN: fmt.Sprintf("arn:aws:sagemaker:test-region-%d:111122223333:notebook-instance/nb-%d-%d", r, r, i), DirectInternetAccess: "Disabled", Status: "InService",
				SubnetID: fmt.Sprintf("subnet-%d-%d", v, k), SecurityGroupIDs: []string{fmt.Sprintf("sg-%d-%d", v, g)},
				NetworkInterfaceID: fmt.Sprintf("eni-%d-%d", r, i), RootAccess: "Enabled",
			}
			if i%10 == 0 {
				nb.DirectInternetAccess = "Enabled"
			}
			reg.NetworkInterfaces = append(reg.NetworkInterfaces, inventory.NetworkInterface{ID: nb.NetworkInterfaceID, SubnetID: nb.SubnetID, VPCID: fmt.Sprintf("vpc-%d", v)})
			reg.Notebooks = append(reg.Notebooks, nb)
		}
		inv.Regions = append(inv.Regions, reg)
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
	}
	for _, k := range []string{"FAIL/direct", "FAIL/nat", "PASS/nat", "PASS/none", "REVIEW/transit"} {
		if seen[k] == 0 {
			t.Errorf("generated estate has no %s result: %v", k, seen)
		}
	}
}

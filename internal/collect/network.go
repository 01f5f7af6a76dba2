package collect

import (
	"context"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// maxFilterValues is the most values EC2 accepts in one filter.
const maxFilterValues = 200

// The EC2 filters used below are all documented by AWS and implemented by
// moto (which answers HTTP 500 to filters it lacks): subnet-id,
// group-id and network-interface-id select the objects notebooks name;
// vpc-id (attachment.vpc-id for internet gateways) selects everything of
// their VPCs. Filters, unlike ID lists, do not fail the whole call when one
// ID no longer exists. DescribeEgressOnlyInternetGateways has no VPC
// filter: it is listed whole and filtered here.

// pager is what every EC2 paginator has in common.
type pager[Out any] interface {
	HasMorePages() bool
	NextPage(ctx context.Context, optFns ...func(*ec2.Options)) (*Out, error)
}

// readAll reads every page of p. On error it returns nothing: a partial
// list (a route table missing from an unread page, say) would be evaluated
// as if complete.
func readAll[Out, T any](ctx context.Context, p pager[Out], items func(*Out) []T) ([]T, error) {
	var all []T
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, items(out)...)
	}
	return all, nil
}

// readChunked runs one paginated read per chunk of at most maxFilterValues
// values and joins the results, or fails as a whole.
func readChunked[T any](ctx context.Context, values []string, read func(context.Context, []string) ([]T, error)) ([]T, error) {
	var all []T
	for _, c := range chunk(values, maxFilterValues) {
		items, err := read(ctx, c)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
	}
	return all, nil
}

func filter(name string, values []string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String(name), Values: values}}
}

// collectNetwork reads the network objects the region's notebooks
// reference into r, in two rounds of concurrent calls: first the subnets,
// security groups and network interfaces the notebooks name, then
// everything in the VPCs those belong to. That is at most ten calls per
// region (more only past 200 subnets, groups or VPCs, or on extra pages),
// however many notebooks there are, and none when no notebook is in a VPC.
func collectNetwork(ctx context.Context, ec EC2API, rec *recorder, r *inventory.Region, opts Options) {
	var subnetIDs, groupIDs, eniIDs []string
	for _, nb := range r.Notebooks {
		subnetIDs = append(subnetIDs, nb.SubnetID)
		groupIDs = append(groupIDs, nb.SecurityGroupIDs...)
		eniIDs = append(eniIDs, nb.NetworkInterfaceID)
	}
	subnetIDs, groupIDs, eniIDs = sortedSet(subnetIDs), sortedSet(groupIDs), sortedSet(eniIDs)
	if len(subnetIDs)+len(groupIDs)+len(eniIDs) == 0 {
		return
	}

	var g errgroup.Group
	g.SetLimit(opts.concurrency())
	if len(subnetIDs) > 0 {
		g.Go(func() error {
			const op = awsop.DescribeSubnets
			subnets, err := readChunked(ctx, subnetIDs, func(ctx context.Context, ids []string) ([]ec2types.Subnet, error) {
				p := ec2.NewDescribeSubnetsPaginator(ec, &ec2.DescribeSubnetsInput{Filters: filter("subnet-id", ids)})
				return readAll(ctx, p, func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
			})
			if err != nil {
				rec.fail(op, "", err)
				return nil
			}
			for _, s := range subnets {
				r.Subnets = append(r.Subnets, mapSubnet(s))
			}
			reportMissing(rec, op, "subnet", subnetIDs, r.Subnets, func(s inventory.Subnet) string { return s.ID })
			return nil
		})
	}
	if len(groupIDs) > 0 {
		g.Go(func() error {
			const op = awsop.DescribeSecurityGroups
			groups, err := readChunked(ctx, groupIDs, func(ctx context.Context, ids []string) ([]ec2types.SecurityGroup, error) {
				p := ec2.NewDescribeSecurityGroupsPaginator(ec, &ec2.DescribeSecurityGroupsInput{Filters: filter("group-id", ids)})
				return readAll(ctx, p, func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
			})
			if err != nil {
				rec.fail(op, "", err)
				return nil
			}
			for _, sg := range groups {
				r.SecurityGroups = append(r.SecurityGroups, mapSecurityGroup(sg))
			}
			reportMissing(rec, op, "security group", groupIDs, r.SecurityGroups, func(s inventory.SecurityGroup) string { return s.ID })
			return nil
		})
	}
	if len(eniIDs) > 0 {
		g.Go(func() error {
			const op = awsop.DescribeNetworkInterfaces
			enis, err := readChunked(ctx, eniIDs, func(ctx context.Context, ids []string) ([]ec2types.NetworkInterface, error) {
				p := ec2.NewDescribeNetworkInterfacesPaginator(ec, &ec2.DescribeNetworkInterfacesInput{Filters: filter("network-interface-id", ids)})
				return readAll(ctx, p, func(o *ec2.DescribeNetworkInterfacesOutput) []ec2types.NetworkInterface { return o.NetworkInterfaces })
			})
			if err != nil {
				rec.fail(op, "", err)
				return nil
			}
			for _, e := range enis {
				r.NetworkInterfaces = append(r.NetworkInterfaces, mapNetworkInterface(e))
			}
			reportMissing(rec, op, "network interface", eniIDs, r.NetworkInterfaces, func(n inventory.NetworkInterface) string { return n.ID })
			return nil
		})
	}
	_ = g.Wait()

	// The VPCs come from every object that names one, so that a failed
	// DescribeSubnets still leaves the security groups' VPCs readable.
	var vpcIDs []string
	for _, s := range r.Subnets {
		vpcIDs = append(vpcIDs, s.VPCID)
	}
	for _, sg := range r.SecurityGroups {
		vpcIDs = append(vpcIDs, sg.VPCID)
	}
	for _, e := range r.NetworkInterfaces {
		vpcIDs = append(vpcIDs, e.VPCID)
	}
	vpcIDs = sortedSet(vpcIDs)
	if len(vpcIDs) > 0 {
		collectVPCs(ctx, ec, rec, r, vpcIDs, opts)
	}
	sortRegion(r)
}

// collectVPCs reads everything in vpcIDs: the VPCs, all their route tables
// (so the main tables are there), NAT, internet and egress-only internet
// gateways, network ACLs and VPC endpoints.
func collectVPCs(ctx context.Context, ec EC2API, rec *recorder, r *inventory.Region, vpcIDs []string, opts Options) {
	var g errgroup.Group
	g.SetLimit(opts.concurrency())
	g.Go(func() error {
		const op = awsop.DescribeVpcs
		vpcs, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.Vpc, error) {
			p := ec2.NewDescribeVpcsPaginator(ec, &ec2.DescribeVpcsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
		})
		if err != nil {
			rec.fail(op, "", err)
			return nil
		}
		for _, v := range vpcs {
			r.VPCs = append(r.VPCs, mapVPC(v))
		}
		reportMissing(rec, op, "VPC", vpcIDs, r.VPCs, func(v inventory.VPC) string { return v.ID })
		return nil
	})
	g.Go(func() error {
		tables, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.RouteTable, error) {
			p := ec2.NewDescribeRouteTablesPaginator(ec, &ec2.DescribeRouteTablesInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
		})
		if err != nil {
			rec.fail(awsop.DescribeRouteTables, "", err)
			return nil
		}
		for _, t := range tables {
			r.RouteTables = append(r.RouteTables, mapRouteTable(t))
		}
		return nil
	})
	g.Go(func() error {
		nats, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.NatGateway, error) {
			p := ec2.NewDescribeNatGatewaysPaginator(ec, &ec2.DescribeNatGatewaysInput{Filter: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeNatGatewaysOutput) []ec2types.NatGateway { return o.NatGateways })
		})
		if err != nil {
			rec.fail(awsop.DescribeNatGateways, "", err)
			return nil
		}
		for _, n := range nats {
			r.NATGateways = append(r.NATGateways, inventory.NATGateway{
				ID:               aws.ToString(n.NatGatewayId),
				VPCID:            aws.ToString(n.VpcId),
				SubnetID:         aws.ToString(n.SubnetId),
				State:            string(n.State),
				ConnectivityType: string(n.ConnectivityType),
			})
		}
		return nil
	})
	g.Go(func() error {
		igws, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.InternetGateway, error) {
			p := ec2.NewDescribeInternetGatewaysPaginator(ec, &ec2.DescribeInternetGatewaysInput{Filters: filter("attachment.vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		})
		if err != nil {
			rec.fail(awsop.DescribeInternetGateways, "", err)
			return nil
		}
		for _, gw := range igws {
			ig := inventory.InternetGateway{ID: aws.ToString(gw.InternetGatewayId)}
			for _, a := range gw.Attachments {
				ig.VPCIDs = append(ig.VPCIDs, aws.ToString(a.VpcId))
			}
			ig.VPCIDs = sortedSet(ig.VPCIDs)
			r.InternetGateways = append(r.InternetGateways, ig)
		}
		return nil
	})
	g.Go(func() error {
		p := ec2.NewDescribeEgressOnlyInternetGatewaysPaginator(ec, &ec2.DescribeEgressOnlyInternetGatewaysInput{})
		eigws, err := readAll(ctx, p, func(o *ec2.DescribeEgressOnlyInternetGatewaysOutput) []ec2types.EgressOnlyInternetGateway {
			return o.EgressOnlyInternetGateways
		})
		if err != nil {
			rec.fail(awsop.DescribeEgressOnlyInternetGateways, "", err)
			return nil
		}
		for _, gw := range eigws {
			eg := inventory.EgressOnlyInternetGateway{ID: aws.ToString(gw.EgressOnlyInternetGatewayId)}
			ours := false
			for _, a := range gw.Attachments {
				v := aws.ToString(a.VpcId)
				eg.VPCIDs = append(eg.VPCIDs, v)
				_, found := slices.BinarySearch(vpcIDs, v)
				ours = ours || found
			}
			if ours {
				eg.VPCIDs = sortedSet(eg.VPCIDs)
				r.EgressOnlyInternetGateways = append(r.EgressOnlyInternetGateways, eg)
			}
		}
		return nil
	})
	g.Go(func() error {
		acls, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.NetworkAcl, error) {
			p := ec2.NewDescribeNetworkAclsPaginator(ec, &ec2.DescribeNetworkAclsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeNetworkAclsOutput) []ec2types.NetworkAcl { return o.NetworkAcls })
		})
		if err != nil {
			rec.fail(awsop.DescribeNetworkAcls, "", err)
			return nil
		}
		for _, a := range acls {
			r.NetworkACLs = append(r.NetworkACLs, mapNetworkACL(a))
		}
		return nil
	})
	g.Go(func() error {
		eps, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.VpcEndpoint, error) {
			p := ec2.NewDescribeVpcEndpointsPaginator(ec, &ec2.DescribeVpcEndpointsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeVpcEndpointsOutput) []ec2types.VpcEndpoint { return o.VpcEndpoints })
		})
		if err != nil {
			rec.fail(awsop.DescribeVpcEndpoints, "", err)
			return nil
		}
		for _, e := range eps {
			r.VPCEndpoints = append(r.VPCEndpoints, inventory.VPCEndpoint{
				ID:          aws.ToString(e.VpcEndpointId),
				VPCID:       aws.ToString(e.VpcId),
				Type:        string(e.VpcEndpointType),
				ServiceName: aws.ToString(e.ServiceName),
			})
		}
		return nil
	})
	_ = g.Wait()
}

// reportMissing records each wanted ID that a successful read did not
// return.
func reportMissing[T any](rec *recorder, op, what string, wanted []string, got []T, id func(T) string) {
	have := map[string]bool{}
	for _, x := range got {
		have[id(x)] = true
	}
	for _, w := range wanted {
		if !have[w] {
			rec.missing(op, w, what)
		}
	}
}

func mapSubnet(s ec2types.Subnet) inventory.Subnet {
	out := inventory.Subnet{
		ID:                          aws.ToString(s.SubnetId),
		VPCID:                       aws.ToString(s.VpcId),
		CIDRBlock:                   aws.ToString(s.CidrBlock),
		AvailabilityZone:            aws.ToString(s.AvailabilityZone),
		MapPublicIPOnLaunch:         aws.ToBool(s.MapPublicIpOnLaunch),
		AssignIPv6AddressOnCreation: aws.ToBool(s.AssignIpv6AddressOnCreation),
	}
	for _, a := range s.Ipv6CidrBlockAssociationSet {
		if associated(a.Ipv6CidrBlockState) {
			out.IPv6CIDRBlocks = append(out.IPv6CIDRBlocks, aws.ToString(a.Ipv6CidrBlock))
		}
	}
	return out
}

// associated reports whether a CIDR association is in use (an absent state
// is taken as in use: dropping a CIDR could hide a route).
func associated(st *ec2types.SubnetCidrBlockState) bool {
	if st == nil {
		return true
	}
	switch st.State {
	case ec2types.SubnetCidrBlockStateCodeDisassociated, ec2types.SubnetCidrBlockStateCodeFailed:
		return false
	}
	return true
}

func vpcCIDRAssociated(st *ec2types.VpcCidrBlockState) bool {
	if st == nil {
		return true
	}
	switch st.State {
	case ec2types.VpcCidrBlockStateCodeDisassociated, ec2types.VpcCidrBlockStateCodeFailed:
		return false
	}
	return true
}

func mapVPC(v ec2types.Vpc) inventory.VPC {
	out := inventory.VPC{ID: aws.ToString(v.VpcId)}
	for _, a := range v.CidrBlockAssociationSet {
		if vpcCIDRAssociated(a.CidrBlockState) {
			out.CIDRBlocks = append(out.CIDRBlocks, aws.ToString(a.CidrBlock))
		}
	}
	if len(out.CIDRBlocks) == 0 && aws.ToString(v.CidrBlock) != "" {
		out.CIDRBlocks = []string{aws.ToString(v.CidrBlock)}
	}
	for _, a := range v.Ipv6CidrBlockAssociationSet {
		if vpcCIDRAssociated(a.Ipv6CidrBlockState) {
			out.IPv6CIDRBlocks = append(out.IPv6CIDRBlocks, aws.ToString(a.Ipv6CidrBlock))
		}
	}
	return out
}

func mapRouteTable(t ec2types.RouteTable) inventory.RouteTable {
	out := inventory.RouteTable{
		ID:     aws.ToString(t.RouteTableId),
		VPCID:  aws.ToString(t.VpcId),
		Routes: []inventory.Route{},
	}
	for _, a := range t.Associations {
		if st := a.AssociationState; st != nil && st.State != ec2types.RouteTableAssociationStateCodeAssociated &&
			st.State != ec2types.RouteTableAssociationStateCodeAssociating {
			continue // disassociated or failed: no longer routes the subnet
		}
		if aws.ToBool(a.Main) {
			out.Main = true
		}
		if s := aws.ToString(a.SubnetId); s != "" {
			out.SubnetIDs = append(out.SubnetIDs, s)
		}
	}
	out.SubnetIDs = sortedSet(out.SubnetIDs)
	for _, rt := range t.Routes {
		out.Routes = append(out.Routes, inventory.Route{
			DestinationCIDR:             aws.ToString(rt.DestinationCidrBlock),
			DestinationIPv6CIDR:         aws.ToString(rt.DestinationIpv6CidrBlock),
			DestinationPrefixListID:     aws.ToString(rt.DestinationPrefixListId),
			GatewayID:                   aws.ToString(rt.GatewayId),
			NATGatewayID:                aws.ToString(rt.NatGatewayId),
			EgressOnlyInternetGatewayID: aws.ToString(rt.EgressOnlyInternetGatewayId),
			InstanceID:                  aws.ToString(rt.InstanceId),
			NetworkInterfaceID:          aws.ToString(rt.NetworkInterfaceId),
			TransitGatewayID:            aws.ToString(rt.TransitGatewayId),
			VPCPeeringConnectionID:      aws.ToString(rt.VpcPeeringConnectionId),
			LocalGatewayID:              aws.ToString(rt.LocalGatewayId),
			CarrierGatewayID:            aws.ToString(rt.CarrierGatewayId),
			CoreNetworkARN:              aws.ToString(rt.CoreNetworkArn),
			State:                       string(rt.State),
		})
	}
	return out
}

func mapSecurityGroup(sg ec2types.SecurityGroup) inventory.SecurityGroup {
	out := inventory.SecurityGroup{
		ID:      aws.ToString(sg.GroupId),
		Name:    aws.ToString(sg.GroupName),
		VPCID:   aws.ToString(sg.VpcId),
		Ingress: []inventory.SGRule{},
		Egress:  []inventory.SGRule{},
	}
	for _, p := range sg.IpPermissions {
		out.Ingress = append(out.Ingress, mapPermission(p))
	}
	for _, p := range sg.IpPermissionsEgress {
		out.Egress = append(out.Egress, mapPermission(p))
	}
	return out
}

func mapPermission(p ec2types.IpPermission) inventory.SGRule {
	r := inventory.SGRule{
		Protocol: aws.ToString(p.IpProtocol),
		FromPort: aws.ToInt32(p.FromPort),
		ToPort:   aws.ToInt32(p.ToPort),
	}
	describe := func(key string, d *string) {
		if aws.ToString(d) == "" {
			return
		}
		if r.Descriptions == nil {
			r.Descriptions = map[string]string{}
		}
		r.Descriptions[key] = aws.ToString(d)
	}
	for _, x := range p.IpRanges {
		r.CIDRs = append(r.CIDRs, aws.ToString(x.CidrIp))
		describe(aws.ToString(x.CidrIp), x.Description)
	}
	for _, x := range p.Ipv6Ranges {
		r.IPv6CIDRs = append(r.IPv6CIDRs, aws.ToString(x.CidrIpv6))
		describe(aws.ToString(x.CidrIpv6), x.Description)
	}
	for _, x := range p.PrefixListIds {
		r.PrefixListIDs = append(r.PrefixListIDs, aws.ToString(x.PrefixListId))
		describe(aws.ToString(x.PrefixListId), x.Description)
	}
	for _, x := range p.UserIdGroupPairs {
		r.SourceGroupIDs = append(r.SourceGroupIDs, aws.ToString(x.GroupId))
		describe(aws.ToString(x.GroupId), x.Description)
	}
	return r
}

func mapNetworkACL(a ec2types.NetworkAcl) inventory.NetworkACL {
	out := inventory.NetworkACL{
		ID:      aws.ToString(a.NetworkAclId),
		VPCID:   aws.ToString(a.VpcId),
		Default: aws.ToBool(a.IsDefault),
		Entries: []inventory.ACLEntry{},
	}
	for _, as := range a.Associations {
		out.SubnetIDs = append(out.SubnetIDs, aws.ToString(as.SubnetId))
	}
	out.SubnetIDs = sortedSet(out.SubnetIDs)
	for _, e := range a.Entries {
		entry := inventory.ACLEntry{
			RuleNumber: aws.ToInt32(e.RuleNumber),
			Egress:     aws.ToBool(e.Egress),
			Protocol:   aws.ToString(e.Protocol),
			Action:     string(e.RuleAction),
			CIDR:       aws.ToString(e.CidrBlock),
			IPv6CIDR:   aws.ToString(e.Ipv6CidrBlock),
		}
		if pr := e.PortRange; pr != nil {
			entry.HasPorts = true
			entry.FromPort = aws.ToInt32(pr.From)
			entry.ToPort = aws.ToInt32(pr.To)
		}
		out.Entries = append(out.Entries, entry)
	}
	return out
}

func mapNetworkInterface(e ec2types.NetworkInterface) inventory.NetworkInterface {
	out := inventory.NetworkInterface{
		ID:               aws.ToString(e.NetworkInterfaceId),
		SubnetID:         aws.ToString(e.SubnetId),
		VPCID:            aws.ToString(e.VpcId),
		PrivateIPAddress: aws.ToString(e.PrivateIpAddress),
		Description:      aws.ToString(e.Description),
	}
	if e.Association != nil {
		out.PublicIP = aws.ToString(e.Association.PublicIp)
	}
	for _, a := range e.Ipv6Addresses {
		out.IPv6Addresses = append(out.IPv6Addresses, aws.ToString(a.Ipv6Address))
	}
	for _, g := range e.Groups {
		out.SecurityGroupIDs = append(out.SecurityGroupIDs, aws.ToString(g.GroupId))
	}
	return out
}

// sortRegion orders every object list by ID, so that a snapshot does not
// depend on the order concurrent calls finished in.
func sortRegion(r *inventory.Region) {
	slices.SortFunc(r.VPCs, func(a, b inventory.VPC) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.Subnets, func(a, b inventory.Subnet) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.RouteTables, func(a, b inventory.RouteTable) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.NATGateways, func(a, b inventory.NATGateway) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.InternetGateways, func(a, b inventory.InternetGateway) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.EgressOnlyInternetGateways, func(a, b inventory.EgressOnlyInternetGateway) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.SecurityGroups, func(a, b inventory.SecurityGroup) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.NetworkACLs, func(a, b inventory.NetworkACL) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.NetworkInterfaces, func(a, b inventory.NetworkInterface) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.VPCEndpoints, func(a, b inventory.VPCEndpoint) int { return strings.Compare(a.ID, b.ID) })
}

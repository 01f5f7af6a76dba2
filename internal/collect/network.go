package collect

import (
	"cmp"
	"context"
	"fmt"
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

// readSecurityGroups describes the groups ids (one call per 200), whole or
// not at all.
func readSecurityGroups(ctx context.Context, ec EC2API, ids []string) ([]inventory.SecurityGroup, error) {
	groups, err := readChunked(ctx, ids, func(ctx context.Context, ids []string) ([]ec2types.SecurityGroup, error) {
		p := ec2.NewDescribeSecurityGroupsPaginator(ec, &ec2.DescribeSecurityGroupsInput{Filters: filter("group-id", ids)})
		return readAll(ctx, p, func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
	})
	if err != nil {
		return nil, err
	}
	out := make([]inventory.SecurityGroup, len(groups))
	for i, sg := range groups {
		out[i] = mapSecurityGroup(sg)
	}
	return out, nil
}

func filter(name string, values []string) []ec2types.Filter {
	return []ec2types.Filter{{Name: aws.String(name), Values: values}}
}

// collectNetwork reads the network objects the region's notebooks
// reference into r, in three rounds of concurrent calls: first the
// subnets, security groups and network interfaces the notebooks name, then
// everything in the VPCs those belong to (readVPCs), then the managed
// prefix lists their rules and routes reference. That is at most fourteen
// calls per region plus one per customer-managed prefix list (more only
// past 200 subnets, groups, VPCs or lists, or on extra pages, and one more
// when an interface has groups its notebook does not record), however many
// notebooks there are, and none when no notebook is in a VPC.
func collectNetwork(ctx context.Context, ec EC2API, rec *recorder, r *inventory.Region, opts Options) {
	var subnetIDs, groupIDs, eniIDs, vpcIDs []string
	for _, nb := range r.Notebooks {
		subnetIDs = append(subnetIDs, nb.SubnetID)
		groupIDs = append(groupIDs, nb.SecurityGroupIDs...)
		eniIDs = append(eniIDs, nb.NetworkInterfaceID)
	}
	for _, d := range studioNetwork(r.StudioDomains) {
		subnetIDs = append(subnetIDs, d.SubnetIDs...)
		groupIDs = append(groupIDs, d.groups...)
		vpcIDs = append(vpcIDs, d.VPCID)
	}
	subnetIDs, groupIDs, eniIDs = sortedSet(subnetIDs), sortedSet(groupIDs), sortedSet(eniIDs)
	if len(subnetIDs)+len(groupIDs)+len(eniIDs)+len(vpcIDs) == 0 {
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
			groups, err := readSecurityGroups(ctx, ec, groupIDs)
			if err != nil {
				rec.fail(awsop.DescribeSecurityGroups, "", err)
				return nil
			}
			r.SecurityGroups = append(r.SecurityGroups, groups...)
			reportMissing(rec, awsop.DescribeSecurityGroups, "security group", groupIDs, r.SecurityGroups, func(s inventory.SecurityGroup) string { return s.ID })
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
	// An interface's own groups decide when they differ from what the
	// notebook records (netpath): read those the first round did not.
	var more []string
	for _, e := range r.NetworkInterfaces {
		for _, id := range e.SecurityGroupIDs {
			if !slices.Contains(groupIDs, id) {
				more = append(more, id)
			}
		}
	}
	if more = sortedSet(more); len(more) > 0 {
		if groups, err := readSecurityGroups(ctx, ec, more); err != nil {
			failer{rec: rec, each: true}.fail(awsop.DescribeSecurityGroups, more, err) // those interfaces' notebooks only
		} else {
			r.SecurityGroups = append(r.SecurityGroups, groups...)
			reportMissing(rec, awsop.DescribeSecurityGroups, "security group", more, r.SecurityGroups, func(s inventory.SecurityGroup) string { return s.ID })
		}
	}

	// The VPCs come from every object that names one (and from the
	// domains, which name theirs), so that a failed DescribeSubnets still
	// leaves the security groups' VPCs readable.
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
	if ids := prefixListRefs(r); len(ids) > 0 {
		r.PrefixLists = append(r.PrefixLists, readPrefixLists(ctx, ec, failer{rec: rec}, ids, opts)...)
	}
	sortRegion(r)
}

// collectVPCs is the second round of a region's read: everything in
// vpcIDs (readVPCs), merged with what the first round read, and the
// coverage that says so. A failed call is recorded against the whole
// region. A VPC another account owns and shares (AWS RAM) is not covered:
// its owner's NAT gateways, gateways and attachments are not visible here,
// so their absence proves nothing; it is recorded against the VPC.
func collectVPCs(ctx context.Context, ec EC2API, rec *recorder, r *inventory.Region, vpcIDs []string, opts Options) {
	part := readVPCs(ctx, ec, failer{rec: rec}, vpcIDs, opts)
	covered := slices.Clone(vpcIDs)
	for _, v := range part.VPCs {
		if v.OwnerID == "" || v.OwnerID == r.AccountID {
			continue
		}
		covered = slices.DeleteFunc(covered, func(id string) bool { return id == v.ID })
		rec.add(inventory.CollectError{AccountID: r.AccountID, Region: r.Region, Operation: awsop.DescribeVpcs, Resource: v.ID, Code: CodeSharedVPC,
			Message: fmt.Sprintf("VPC %s is owned by account %s and shared with %s: its NAT gateways, gateways and transit gateway attachments are visible only in %s (scan it, or add --network-accounts %s)", v.ID, v.OwnerID, r.AccountID, v.OwnerID, v.OwnerID)})
	}
	mergeFacts(r, &part, false)
	r.Coverage.VPCs = sortedSet(r.Coverage.VPCs, covered)
}

// failer records a read that failed as a whole. Without each, the failure
// is region-wide: every object of the operation's kind is missing (the
// scan's own rounds). With each, it names each object the read was about
// (the follow-up rounds, which read more of a region whose own reads
// succeeded and must not be taken for their failure).
type failer struct {
	rec  *recorder
	each bool
}

func (f failer) fail(op string, about []string, err error) {
	if !f.each {
		f.rec.fail(op, "", err)
		return
	}
	for _, id := range about {
		f.rec.fail(op, id, err)
	}
}

// readVPCs reads everything in vpcIDs: the VPCs, all their subnets (the
// NAT gateways' and transit gateway attachments' too) and route tables
// (so the main tables are there), NAT, internet and egress-only internet
// gateways, network ACLs, VPC endpoints and transit gateway attachments.
// That is ten calls (more only past 200 VPCs or on extra pages). Each kind
// is returned whole or not at all.
func readVPCs(ctx context.Context, ec EC2API, f failer, vpcIDs []string, opts Options) inventory.Region {
	var out inventory.Region
	var g errgroup.Group
	g.SetLimit(opts.concurrency())
	g.Go(func() error {
		const op = awsop.DescribeVpcs
		vpcs, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.Vpc, error) {
			p := ec2.NewDescribeVpcsPaginator(ec, &ec2.DescribeVpcsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
		})
		if err != nil {
			f.fail(op, vpcIDs, err)
			return nil
		}
		for _, v := range vpcs {
			out.VPCs = append(out.VPCs, mapVPC(v))
		}
		reportMissing(f.rec, op, "VPC", vpcIDs, out.VPCs, func(v inventory.VPC) string { return v.ID })
		return nil
	})
	g.Go(func() error {
		subnets, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.Subnet, error) {
			p := ec2.NewDescribeSubnetsPaginator(ec, &ec2.DescribeSubnetsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
		})
		if err != nil {
			f.fail(awsop.DescribeSubnets, vpcIDs, err)
			return nil
		}
		for _, s := range subnets {
			out.Subnets = append(out.Subnets, mapSubnet(s))
		}
		return nil
	})
	g.Go(func() error {
		tables, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.RouteTable, error) {
			p := ec2.NewDescribeRouteTablesPaginator(ec, &ec2.DescribeRouteTablesInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
		})
		if err != nil {
			f.fail(awsop.DescribeRouteTables, vpcIDs, err)
			return nil
		}
		for _, t := range tables {
			out.RouteTables = append(out.RouteTables, mapRouteTable(t))
		}
		return nil
	})
	g.Go(func() error {
		nats, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.NatGateway, error) {
			p := ec2.NewDescribeNatGatewaysPaginator(ec, &ec2.DescribeNatGatewaysInput{Filter: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeNatGatewaysOutput) []ec2types.NatGateway { return o.NatGateways })
		})
		if err != nil {
			f.fail(awsop.DescribeNatGateways, vpcIDs, err)
			return nil
		}
		for _, n := range nats {
			out.NATGateways = append(out.NATGateways, inventory.NATGateway{
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
		// Only gateways attached to a VPC are returned: a detached one is
		// absent, and a route to it is a blackhole.
		igws, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.InternetGateway, error) {
			p := ec2.NewDescribeInternetGatewaysPaginator(ec, &ec2.DescribeInternetGatewaysInput{Filters: filter("attachment.vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
		})
		if err != nil {
			f.fail(awsop.DescribeInternetGateways, vpcIDs, err)
			return nil
		}
		for _, gw := range igws {
			out.InternetGateways = append(out.InternetGateways, mapInternetGateway(gw))
		}
		return nil
	})
	g.Go(func() error {
		p := ec2.NewDescribeEgressOnlyInternetGatewaysPaginator(ec, &ec2.DescribeEgressOnlyInternetGatewaysInput{})
		eigws, err := readAll(ctx, p, func(o *ec2.DescribeEgressOnlyInternetGatewaysOutput) []ec2types.EgressOnlyInternetGateway {
			return o.EgressOnlyInternetGateways
		})
		if err != nil {
			f.fail(awsop.DescribeEgressOnlyInternetGateways, vpcIDs, err)
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
				out.EgressOnlyInternetGateways = append(out.EgressOnlyInternetGateways, eg)
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
			f.fail(awsop.DescribeNetworkAcls, vpcIDs, err)
			return nil
		}
		for _, a := range acls {
			out.NetworkACLs = append(out.NetworkACLs, mapNetworkACL(a))
		}
		return nil
	})
	g.Go(func() error {
		eps, err := readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.VpcEndpoint, error) {
			p := ec2.NewDescribeVpcEndpointsPaginator(ec, &ec2.DescribeVpcEndpointsInput{Filters: filter("vpc-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeVpcEndpointsOutput) []ec2types.VpcEndpoint { return o.VpcEndpoints })
		})
		if err != nil {
			f.fail(awsop.DescribeVpcEndpoints, vpcIDs, err)
			return nil
		}
		for _, e := range eps {
			out.VPCEndpoints = append(out.VPCEndpoints, inventory.VPCEndpoint{
				ID:          aws.ToString(e.VpcEndpointId),
				VPCID:       aws.ToString(e.VpcId),
				Type:        string(e.VpcEndpointType),
				ServiceName: aws.ToString(e.ServiceName),
			})
		}
		return nil
	})
	// The VPCs' transit gateway attachments, as their own account sees
	// them, with the subnets of each from the VPC attachment's read.
	var (
		atts            []ec2types.TransitGatewayAttachment
		vpcAtts         []ec2types.TransitGatewayVpcAttachment
		attsErr, vpcErr error
	)
	g.Go(func() error {
		atts, attsErr = readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.TransitGatewayAttachment, error) {
			return readTGWAttachments(ctx, ec, filter("resource-id", ids))
		})
		if attsErr != nil {
			f.fail(awsop.DescribeTransitGatewayAttachments, vpcIDs, attsErr)
		}
		return nil
	})
	g.Go(func() error {
		vpcAtts, vpcErr = readChunked(ctx, vpcIDs, func(ctx context.Context, ids []string) ([]ec2types.TransitGatewayVpcAttachment, error) {
			return readTGWVPCAttachments(ctx, ec, filter("vpc-id", ids))
		})
		if vpcErr != nil {
			f.fail(awsop.DescribeTransitGatewayVpcAttachments, vpcIDs, vpcErr)
		}
		return nil
	})
	_ = g.Wait()
	if attsErr == nil && vpcErr == nil {
		out.TransitGatewayAttachments = mapTGWAttachments(atts, vpcAtts)
	}
	return out
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
	out := inventory.VPC{ID: aws.ToString(v.VpcId), OwnerID: aws.ToString(v.OwnerId)}
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
			OdbNetworkARN:               aws.ToString(rt.OdbNetworkArn),
			NextHopIP:                   aws.ToString(rt.IpAddress),
			State:                       string(rt.State),
		})
	}
	return out
}

// mapInternetGateway keeps each attachment's VPC and state (a gateway
// routes only while attached), and the VPCs alone as schema 1 did.
func mapInternetGateway(gw ec2types.InternetGateway) inventory.InternetGateway {
	ig := inventory.InternetGateway{ID: aws.ToString(gw.InternetGatewayId)}
	for _, a := range gw.Attachments {
		ig.VPCIDs = append(ig.VPCIDs, aws.ToString(a.VpcId))
		ig.Attachments = append(ig.Attachments, inventory.GatewayAttachment{VPCID: aws.ToString(a.VpcId), State: string(a.State)})
	}
	ig.VPCIDs = sortedSet(ig.VPCIDs)
	slices.SortFunc(ig.Attachments, func(a, b inventory.GatewayAttachment) int {
		return cmp.Or(strings.Compare(a.VPCID, b.VPCID), strings.Compare(a.State, b.State))
	})
	return ig
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
	slices.SortFunc(r.TransitGatewayAttachments, func(a, b inventory.TransitGatewayAttachment) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.TransitGatewayRouteTables, func(a, b inventory.TransitGatewayRouteTable) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(r.PrefixLists, func(a, b inventory.PrefixList) int { return strings.Compare(a.ID, b.ID) })
}

// mergeFacts adds to dst the objects of src it does not hold yet (by ID).
// Transit gateway attachments and route tables of src replace dst's when
// ownerRecords is set: a transit gateway owner's record of an attachment
// (with its association) wins over the attached VPC's account's.
func mergeFacts(dst, src *inventory.Region, ownerRecords bool) {
	dst.VPCs = addMissing(dst.VPCs, src.VPCs, func(x inventory.VPC) string { return x.ID })
	dst.Subnets = addMissing(dst.Subnets, src.Subnets, func(x inventory.Subnet) string { return x.ID })
	dst.RouteTables = addMissing(dst.RouteTables, src.RouteTables, func(x inventory.RouteTable) string { return x.ID })
	dst.NATGateways = addMissing(dst.NATGateways, src.NATGateways, func(x inventory.NATGateway) string { return x.ID })
	dst.InternetGateways = addMissing(dst.InternetGateways, src.InternetGateways, func(x inventory.InternetGateway) string { return x.ID })
	dst.EgressOnlyInternetGateways = addMissing(dst.EgressOnlyInternetGateways, src.EgressOnlyInternetGateways,
		func(x inventory.EgressOnlyInternetGateway) string { return x.ID })
	dst.SecurityGroups = addMissing(dst.SecurityGroups, src.SecurityGroups, func(x inventory.SecurityGroup) string { return x.ID })
	dst.NetworkACLs = addMissing(dst.NetworkACLs, src.NetworkACLs, func(x inventory.NetworkACL) string { return x.ID })
	dst.NetworkInterfaces = addMissing(dst.NetworkInterfaces, src.NetworkInterfaces, func(x inventory.NetworkInterface) string { return x.ID })
	dst.VPCEndpoints = addMissing(dst.VPCEndpoints, src.VPCEndpoints, func(x inventory.VPCEndpoint) string { return x.ID })
	dst.PrefixLists = addMissing(dst.PrefixLists, src.PrefixLists, func(x inventory.PrefixList) string { return x.ID })
	attID := func(x inventory.TransitGatewayAttachment) string { return x.ID }
	tableID := func(x inventory.TransitGatewayRouteTable) string { return x.ID }
	if ownerRecords {
		dst.TransitGatewayAttachments = putByID(dst.TransitGatewayAttachments, src.TransitGatewayAttachments, attID)
		dst.TransitGatewayRouteTables = putByID(dst.TransitGatewayRouteTables, src.TransitGatewayRouteTables, tableID)
	} else {
		dst.TransitGatewayAttachments = addMissing(dst.TransitGatewayAttachments, src.TransitGatewayAttachments, attID)
		dst.TransitGatewayRouteTables = addMissing(dst.TransitGatewayRouteTables, src.TransitGatewayRouteTables, tableID)
	}
	sortRegion(dst)
}

// addMissing appends the items of src whose ID dst does not hold.
func addMissing[T any](dst, src []T, id func(T) string) []T {
	have := make(map[string]bool, len(dst))
	for _, x := range dst {
		have[id(x)] = true
	}
	for _, x := range src {
		if !have[id(x)] {
			have[id(x)] = true
			dst = append(dst, x)
		}
	}
	return dst
}

// putByID appends the items of src, each replacing dst's item of the same
// ID.
func putByID[T any](dst, src []T, id func(T) string) []T {
	at := make(map[string]int, len(dst))
	for i, x := range dst {
		at[id(x)] = i
	}
	for _, x := range src {
		if i, ok := at[id(x)]; ok {
			dst[i] = x
			continue
		}
		at[id(x)] = len(dst)
		dst = append(dst, x)
	}
	return dst
}

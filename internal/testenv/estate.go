package testenv

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
)

// The builders below create network objects and notebook instances in moto
// through the SDK, as a customer's account would have them. Each takes the
// clients it needs and returns the IDs it created; they compose into the
// estates a test needs. What moto 5.2 does not model (and so no test can
// rely on): a notebook's NetworkInterfaceId and PlatformIdentifier,
// UpdateNotebookInstance, route State other than "active", and filters it
// does not implement (answered with HTTP 500).
//
// A call whose answer is lost is retried by the SDK and runs twice in moto.
// The builders make that harmless for what a test estate is made of: a
// retry that fails on the first run's work ("already associated", "already
// exists", "duplicate") counts as done, and the creates moto would silently
// run twice (VPCs, route tables, network ACLs, network interfaces) tag what
// they make with a token and, when the SDK made more than one attempt,
// delete the other copy. Internet and egress-only gateways, peerings,
// endpoints, customer gateways and Elastic IPs are not covered: a copy of
// one is left unused.

// CreateVPC creates a VPC with cidr (e.g. "10.0.0.0/16"). moto gives it a
// main route table (local route only), a default network ACL (allow all)
// and a default security group.
func CreateVPC(ctx context.Context, c *ec2.Client, cidr string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeVpc)
	out, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr), TagSpecifications: tags})
	if err != nil {
		return "", fmt.Errorf("create vpc %s: %w", cidr, err)
	}
	id := aws.ToString(out.Vpc.VpcId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeVpc, token, id)
}

// CreateSubnet creates a subnet; mapPublicIP sets MapPublicIpOnLaunch.
func CreateSubnet(ctx context.Context, c *ec2.Client, vpcID, cidr string, mapPublicIP bool) (string, error) {
	var id string
	out, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr)})
	switch {
	case alreadyDone(err, "InvalidSubnet.Conflict"):
		if id, err = findOne(ctx, c, ec2types.ResourceTypeSubnet, filters("vpc-id", vpcID, "cidr-block", cidr)); err != nil {
			return "", err
		}
	case err != nil:
		return "", fmt.Errorf("create subnet %s in %s: %w", cidr, vpcID, err)
	default:
		id = aws.ToString(out.Subnet.SubnetId)
	}
	if mapPublicIP {
		_, err := c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
			SubnetId:            aws.String(id),
			MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)},
		})
		if err != nil {
			return "", fmt.Errorf("set MapPublicIpOnLaunch on %s: %w", id, err)
		}
	}
	return id, nil
}

// CreateInternetGateway creates an internet gateway and attaches it to vpcID.
func CreateInternetGateway(ctx context.Context, c *ec2.Client, vpcID string) (string, error) {
	out, err := c.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		return "", fmt.Errorf("create internet gateway: %w", err)
	}
	id := aws.ToString(out.InternetGateway.InternetGatewayId)
	if _, err := c.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{
		InternetGatewayId: aws.String(id), VpcId: aws.String(vpcID),
	}); err != nil && !alreadyDone(err, "Resource.AlreadyAssociated") {
		return "", fmt.Errorf("attach %s to %s: %w", id, vpcID, err)
	}
	return id, nil
}

// CreateEgressOnlyInternetGateway creates an IPv6 egress-only gateway for vpcID.
func CreateEgressOnlyInternetGateway(ctx context.Context, c *ec2.Client, vpcID string) (string, error) {
	out, err := c.CreateEgressOnlyInternetGateway(ctx, &ec2.CreateEgressOnlyInternetGatewayInput{VpcId: aws.String(vpcID)})
	if err != nil {
		return "", fmt.Errorf("create egress-only internet gateway in %s: %w", vpcID, err)
	}
	return aws.ToString(out.EgressOnlyInternetGateway.EgressOnlyInternetGatewayId), nil
}

// CreateNATGateway creates a public NAT gateway with a new Elastic IP in
// subnetID (which should be a public subnet).
func CreateNATGateway(ctx context.Context, c *ec2.Client, subnetID string) (string, error) {
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		return "", fmt.Errorf("allocate address for NAT gateway: %w", err)
	}
	out, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId: aws.String(subnetID), AllocationId: eip.AllocationId,
		// AWS always reports the connectivity type; moto only echoes it
		// when it was given.
		ConnectivityType: ec2types.ConnectivityTypePublic,
	})
	if err != nil {
		// A retried create whose first attempt worked but lost its answer
		// fails on the address the first attempt associated: that first
		// gateway is the one made here.
		if id, ok := natHolding(ctx, c, subnetID, aws.ToString(eip.AllocationId), err); ok {
			return id, nil
		}
		return "", fmt.Errorf("create NAT gateway in %s: %w", subnetID, err)
	}
	return aws.ToString(out.NatGateway.NatGatewayId), nil
}

// tokenKey tags what one builder call creates. A create the SDK retried
// after its answer was lost has run twice; when the service makes no error
// of the second run, dropExtras finds the other copy by the token.
const tokenKey = "sagefence-test-token"

func newToken(rt ec2types.ResourceType) (string, []ec2types.TagSpecification) {
	token := strconv.FormatUint(rand.Uint64(), 36)
	return token, []ec2types.TagSpecification{{ResourceType: rt,
		Tags: []ec2types.Tag{{Key: aws.String(tokenKey), Value: aws.String(token)}}}}
}

// dropExtras deletes every resource of type rt tagged with token but keep,
// when md, the create's result metadata, shows that it was retried.
func dropExtras(ctx context.Context, c *ec2.Client, md middleware.Metadata, rt ec2types.ResourceType, token, keep string) error {
	if a, ok := retry.GetAttemptResults(md); ok && len(a.Results) < 2 {
		return nil // one attempt: no copy
	}
	found, err := ids(ctx, c, rt, filters("tag:"+tokenKey, token))
	if err != nil {
		return fmt.Errorf("find copies of %s: %w", keep, err)
	}
	for _, id := range found {
		if id == keep {
			continue
		}
		var derr error
		switch rt {
		case ec2types.ResourceTypeVpc:
			_, derr = c.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(id)})
		case ec2types.ResourceTypeRouteTable:
			_, derr = c.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(id)})
		case ec2types.ResourceTypeNetworkAcl:
			_, derr = c.DeleteNetworkAcl(ctx, &ec2.DeleteNetworkAclInput{NetworkAclId: aws.String(id)})
		case ec2types.ResourceTypeNetworkInterface:
			_, derr = c.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: aws.String(id)})
		case ec2types.ResourceTypeTransitGateway:
			_, derr = c.DeleteTransitGateway(ctx, &ec2.DeleteTransitGatewayInput{TransitGatewayId: aws.String(id)})
		case ec2types.ResourceTypeTransitGatewayRouteTable:
			_, derr = c.DeleteTransitGatewayRouteTable(ctx, &ec2.DeleteTransitGatewayRouteTableInput{TransitGatewayRouteTableId: aws.String(id)})
		case ec2types.ResourceTypeNatgateway:
			_, derr = c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(id)})
		case ec2types.ResourceTypePrefixList:
			_, derr = c.DeleteManagedPrefixList(ctx, &ec2.DeleteManagedPrefixListInput{PrefixListId: aws.String(id)})
		case ec2types.ResourceTypeVpnConnection:
			_, derr = c.DeleteVpnConnection(ctx, &ec2.DeleteVpnConnectionInput{VpnConnectionId: aws.String(id)})
		default:
			return fmt.Errorf("delete %s: unsupported type %s", id, rt)
		}
		// A lost answer again: the retry finds it gone (moto answers some
		// such retries with HTTP 500: look).
		if derr != nil && !alreadyDone(derr, "InvalidVpcID.NotFound", "InvalidRouteTableID.NotFound",
			"InvalidNetworkAclID.NotFound", "InvalidNetworkInterfaceID.NotFound", "InvalidTransitGatewayID.NotFound",
			"NatGatewayNotFound", "InvalidPrefixListID.NotFound", "InvalidVpnConnectionID.NotFound") {
			if left, lerr := ids(ctx, c, rt, filters("tag:"+tokenKey, token)); lerr != nil || slices.Contains(left, id) {
				return fmt.Errorf("delete %s, a copy of %s a retried create made: %w", id, keep, derr)
			}
		}
	}
	return nil
}

// findOne returns the one resource of type rt that f matches: the one a
// retried create had made before its answer was lost.
func findOne(ctx context.Context, c *ec2.Client, rt ec2types.ResourceType, f []ec2types.Filter) (string, error) {
	found, err := ids(ctx, c, rt, f)
	if err != nil {
		return "", fmt.Errorf("find the %s a retried create made: %w", rt, err)
	}
	if len(found) != 1 {
		return "", fmt.Errorf("find the %s a retried create made: %d found", rt, len(found))
	}
	return found[0], nil
}

// ids lists the IDs of the resources of type rt that f matches.
func ids(ctx context.Context, c *ec2.Client, rt ec2types.ResourceType, f []ec2types.Filter) ([]string, error) {
	var out []string
	switch rt {
	case ec2types.ResourceTypeVpc:
		d, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.Vpcs {
			out = append(out, aws.ToString(v.VpcId))
		}
	case ec2types.ResourceTypeSubnet:
		d, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.Subnets {
			out = append(out, aws.ToString(v.SubnetId))
		}
	case ec2types.ResourceTypeSecurityGroup:
		d, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.SecurityGroups {
			out = append(out, aws.ToString(v.GroupId))
		}
	case ec2types.ResourceTypeRouteTable:
		d, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.RouteTables {
			out = append(out, aws.ToString(v.RouteTableId))
		}
	case ec2types.ResourceTypeNetworkAcl:
		d, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.NetworkAcls {
			out = append(out, aws.ToString(v.NetworkAclId))
		}
	case ec2types.ResourceTypeNetworkInterface:
		d, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: f})
		if err != nil {
			return nil, err
		}
		for _, v := range d.NetworkInterfaces {
			out = append(out, aws.ToString(v.NetworkInterfaceId))
		}
	default:
		return taggedIDs(ctx, c, rt, f)
	}
	return out, nil
}

// taggedIDs lists transit gateways, their route tables, NAT gateways,
// prefix lists and VPN connections, leaving out deleted ones. moto 5.2
// ignores tag filters on some of these, so filters other than tag:KEY go
// to the service and tag:KEY filters are matched here.
func taggedIDs(ctx context.Context, c *ec2.Client, rt ec2types.ResourceType, f []ec2types.Filter) ([]string, error) {
	var server, byTag []ec2types.Filter
	for _, x := range f {
		if strings.HasPrefix(aws.ToString(x.Name), "tag:") {
			byTag = append(byTag, x)
		} else {
			server = append(server, x)
		}
	}
	var out []string
	keep := func(id *string, tags []ec2types.Tag) {
		if tagsMatch(tags, byTag) {
			out = append(out, aws.ToString(id))
		}
	}
	switch rt {
	case ec2types.ResourceTypeTransitGateway:
		d, err := c.DescribeTransitGateways(ctx, &ec2.DescribeTransitGatewaysInput{Filters: server})
		if err != nil {
			return nil, err
		}
		for _, v := range d.TransitGateways {
			keep(v.TransitGatewayId, v.Tags)
		}
	case ec2types.ResourceTypeTransitGatewayRouteTable:
		d, err := c.DescribeTransitGatewayRouteTables(ctx, &ec2.DescribeTransitGatewayRouteTablesInput{Filters: server})
		if err != nil {
			return nil, err
		}
		for _, v := range d.TransitGatewayRouteTables {
			if v.State != ec2types.TransitGatewayRouteTableStateDeleted {
				keep(v.TransitGatewayRouteTableId, v.Tags)
			}
		}
	case ec2types.ResourceTypeNatgateway:
		d, err := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: server})
		if err != nil {
			return nil, err
		}
		for _, v := range d.NatGateways {
			if v.State != ec2types.NatGatewayStateDeleted {
				keep(v.NatGatewayId, v.Tags)
			}
		}
	case ec2types.ResourceTypePrefixList:
		d, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{Filters: server})
		if err != nil {
			return nil, err
		}
		for _, v := range d.PrefixLists {
			if v.State != ec2types.PrefixListStateDeleteComplete {
				keep(v.PrefixListId, v.Tags)
			}
		}
	case ec2types.ResourceTypeVpnConnection:
		d, err := c.DescribeVpnConnections(ctx, &ec2.DescribeVpnConnectionsInput{Filters: server})
		if err != nil {
			return nil, err
		}
		for _, v := range d.VpnConnections {
			if v.State != ec2types.VpnStateDeleted {
				keep(v.VpnConnectionId, v.Tags)
			}
		}
	default:
		return nil, fmt.Errorf("list %s: unsupported type", rt)
	}
	return out, nil
}

// tagsMatch reports whether tags satisfy every tag:KEY filter of f.
func tagsMatch(tags []ec2types.Tag, f []ec2types.Filter) bool {
	for _, x := range f {
		key := strings.TrimPrefix(aws.ToString(x.Name), "tag:")
		if !slices.ContainsFunc(tags, func(t ec2types.Tag) bool {
			return aws.ToString(t.Key) == key && slices.Contains(x.Values, aws.ToString(t.Value))
		}) {
			return false
		}
	}
	return true
}

// alreadyDone reports whether err is what a retried call answers when its
// first attempt worked but lost its answer: the service's error code for
// "already so" (a rule already there, a route already made). The estate
// then has what was asked for.
func alreadyDone(err error, codes ...string) bool {
	var api smithy.APIError
	return errors.As(err, &api) && slices.Contains(codes, api.ErrorCode())
}

func filters(kv ...string) []ec2types.Filter {
	var out []ec2types.Filter
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, ec2types.Filter{Name: aws.String(kv[i]), Values: []string{kv[i+1]}})
	}
	return out
}

// natHolding returns the NAT gateway in subnetID that holds allocationID
// when err says the address is already associated.
func natHolding(ctx context.Context, c *ec2.Client, subnetID, allocationID string, err error) (string, bool) {
	if !alreadyDone(err, "Resource.AlreadyAssociated") {
		return "", false
	}
	out, derr := c.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{})
	if derr != nil {
		return "", false
	}
	for _, g := range out.NatGateways {
		if aws.ToString(g.SubnetId) != subnetID || g.State == ec2types.NatGatewayStateDeleted {
			continue
		}
		for _, a := range g.NatGatewayAddresses {
			if aws.ToString(a.AllocationId) == allocationID {
				return aws.ToString(g.NatGatewayId), true
			}
		}
	}
	return "", false
}

// DeleteNATGateway deletes a NAT gateway; moto keeps it in state "deleted",
// so routes to it become dead ends the way they do in AWS.
func DeleteNATGateway(ctx context.Context, c *ec2.Client, natID string) error {
	if _, err := c.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(natID)}); err != nil {
		return fmt.Errorf("delete NAT gateway %s: %w", natID, err)
	}
	return nil
}

// CreateRouteTable creates a route table in vpcID (with its local route)
// and associates it with subnetIDs.
func CreateRouteTable(ctx context.Context, c *ec2.Client, vpcID string, subnetIDs ...string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeRouteTable)
	out, err := c.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID), TagSpecifications: tags})
	if err != nil {
		return "", fmt.Errorf("create route table in %s: %w", vpcID, err)
	}
	id := aws.ToString(out.RouteTable.RouteTableId)
	if err := dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeRouteTable, token, id); err != nil {
		return "", err
	}
	for _, s := range subnetIDs {
		if _, err := c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{
			RouteTableId: aws.String(id), SubnetId: aws.String(s),
		}); err != nil {
			return "", fmt.Errorf("associate %s with %s: %w", id, s, err)
		}
	}
	return id, nil
}

// MainRouteTable returns the ID of vpcID's main route table.
func MainRouteTable(ctx context.Context, c *ec2.Client, vpcID string) (string, error) {
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpcID}},
		{Name: aws.String("association.main"), Values: []string{"true"}},
	}})
	if err != nil {
		return "", fmt.Errorf("find main route table of %s: %w", vpcID, err)
	}
	if len(out.RouteTables) != 1 {
		return "", fmt.Errorf("find main route table of %s: %d tables", vpcID, len(out.RouteTables))
	}
	return aws.ToString(out.RouteTables[0].RouteTableId), nil
}

// AddRoute adds a route to rtbID. dest is an IPv4 CIDR, an IPv6 CIDR or a
// prefix list ID (pl-); the target kind is taken from target's ID prefix:
// igw-, vgw-, vpce- (gateway), nat-, eigw-, tgw-, pcx-, eni-, i-.
func AddRoute(ctx context.Context, c *ec2.Client, rtbID, dest, target string) error {
	in := &ec2.CreateRouteInput{RouteTableId: aws.String(rtbID)}
	switch {
	case strings.HasPrefix(dest, "pl-"):
		in.DestinationPrefixListId = aws.String(dest)
	case strings.Contains(dest, ":"):
		in.DestinationIpv6CidrBlock = aws.String(dest)
	default:
		in.DestinationCidrBlock = aws.String(dest)
	}
	t := aws.String(target)
	switch prefix, _, _ := strings.Cut(target, "-"); prefix {
	case "igw", "vgw", "vpce":
		in.GatewayId = t
	case "nat":
		in.NatGatewayId = t
	case "eigw":
		in.EgressOnlyInternetGatewayId = t
	case "tgw":
		in.TransitGatewayId = t
	case "pcx":
		in.VpcPeeringConnectionId = t
	case "eni":
		in.NetworkInterfaceId = t
	case "i":
		in.InstanceId = t
	default:
		return fmt.Errorf("add route %s -> %s to %s: unknown target kind", dest, target, rtbID)
	}
	if _, err := c.CreateRoute(ctx, in); err != nil && !alreadyDone(err, "RouteAlreadyExists") {
		return fmt.Errorf("add route %s -> %s to %s: %w", dest, target, rtbID, err)
	}
	return nil
}

// Network is a VPC laid out the usual way: a public subnet (route to an
// internet gateway, MapPublicIpOnLaunch) holding a NAT gateway, a private
// subnet routing to that NAT gateway, and an isolated subnet with a local
// route only. The main route table is left as moto creates it (local only)
// and no subnet uses it.
type Network struct {
	VPCID             string
	InternetGatewayID string
	NATGatewayID      string

	PublicSubnetID   string
	PrivateSubnetID  string
	IsolatedSubnetID string

	PublicRouteTableID   string
	PrivateRouteTableID  string
	IsolatedRouteTableID string
	MainRouteTableID     string
	// DefaultSecurityGroupID is the VPC's default group, the one AWS gives
	// a notebook created without groups (moto gives it none).
	DefaultSecurityGroupID string
}

// CreateNetwork builds a Network in a /16 (e.g. "10.0.0.0/16"): the
// public, private and isolated subnets are its first three /24s.
func CreateNetwork(ctx context.Context, c *ec2.Client, cidr string) (Network, error) {
	var n Network
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() || p.Bits() != 16 {
		return n, fmt.Errorf("create network: %q is not an IPv4 /16", cidr)
	}
	sub := func(i byte) string {
		a := p.Masked().Addr().As4()
		a[2] = i
		return netip.PrefixFrom(netip.AddrFrom4(a), 24).String()
	}
	if n.VPCID, err = CreateVPC(ctx, c, cidr); err != nil {
		return n, err
	}
	if n.MainRouteTableID, err = MainRouteTable(ctx, c, n.VPCID); err != nil {
		return n, err
	}
	if n.InternetGatewayID, err = CreateInternetGateway(ctx, c, n.VPCID); err != nil {
		return n, err
	}
	if n.PublicSubnetID, err = CreateSubnet(ctx, c, n.VPCID, sub(0), true); err != nil {
		return n, err
	}
	if n.PrivateSubnetID, err = CreateSubnet(ctx, c, n.VPCID, sub(1), false); err != nil {
		return n, err
	}
	if n.IsolatedSubnetID, err = CreateSubnet(ctx, c, n.VPCID, sub(2), false); err != nil {
		return n, err
	}
	if n.PublicRouteTableID, err = CreateRouteTable(ctx, c, n.VPCID, n.PublicSubnetID); err != nil {
		return n, err
	}
	if err = AddRoute(ctx, c, n.PublicRouteTableID, "0.0.0.0/0", n.InternetGatewayID); err != nil {
		return n, err
	}
	if n.NATGatewayID, err = CreateNATGateway(ctx, c, n.PublicSubnetID); err != nil {
		return n, err
	}
	if n.PrivateRouteTableID, err = CreateRouteTable(ctx, c, n.VPCID, n.PrivateSubnetID); err != nil {
		return n, err
	}
	if err = AddRoute(ctx, c, n.PrivateRouteTableID, "0.0.0.0/0", n.NATGatewayID); err != nil {
		return n, err
	}
	if n.IsolatedRouteTableID, err = CreateRouteTable(ctx, c, n.VPCID, n.IsolatedSubnetID); err != nil {
		return n, err
	}
	groups, err := ids(ctx, c, ec2types.ResourceTypeSecurityGroup, filters("vpc-id", n.VPCID, "group-name", "default"))
	if err != nil || len(groups) != 1 {
		return n, fmt.Errorf("default security group of %s: %d found, %v", n.VPCID, len(groups), err)
	}
	n.DefaultSecurityGroupID = groups[0]
	return n, nil
}

// Perm is one security group permission. Protocol is "-1" (all), "tcp",
// "udp", "icmp" or a number; From and To are ports for tcp and udp.
type Perm struct {
	Protocol    string
	From, To    int32
	CIDRs       []string
	IPv6CIDRs   []string
	PrefixLists []string
	Groups      []string
	Description string
}

// AllTraffic permits every protocol and port to or from cidrs (IPv4 or IPv6).
func AllTraffic(cidrs ...string) Perm {
	p := Perm{Protocol: "-1"}
	p.addCIDRs(cidrs)
	return p
}

// TCP permits one TCP port to or from cidrs (IPv4 or IPv6).
func TCP(port int32, cidrs ...string) Perm {
	p := Perm{Protocol: "tcp", From: port, To: port}
	p.addCIDRs(cidrs)
	return p
}

func (p *Perm) addCIDRs(cidrs []string) {
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.IPv6CIDRs = append(p.IPv6CIDRs, c)
		} else {
			p.CIDRs = append(p.CIDRs, c)
		}
	}
}

func (p Perm) sdk() ec2types.IpPermission {
	ip := ec2types.IpPermission{IpProtocol: aws.String(p.Protocol)}
	if p.Protocol != "-1" {
		ip.FromPort, ip.ToPort = aws.Int32(p.From), aws.Int32(p.To)
	}
	d := aws.String(p.Description)
	if p.Description == "" {
		d = nil
	}
	for _, c := range p.CIDRs {
		ip.IpRanges = append(ip.IpRanges, ec2types.IpRange{CidrIp: aws.String(c), Description: d})
	}
	for _, c := range p.IPv6CIDRs {
		ip.Ipv6Ranges = append(ip.Ipv6Ranges, ec2types.Ipv6Range{CidrIpv6: aws.String(c), Description: d})
	}
	for _, pl := range p.PrefixLists {
		ip.PrefixListIds = append(ip.PrefixListIds, ec2types.PrefixListId{PrefixListId: aws.String(pl), Description: d})
	}
	for _, g := range p.Groups {
		ip.UserIdGroupPairs = append(ip.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: aws.String(g), Description: d})
	}
	return ip
}

// SecurityGroup describes a group to create. A new group allows all egress
// (to 0.0.0.0/0, and ::/0 in a dualstack VPC) unless RevokeDefaultEgress.
type SecurityGroup struct {
	Name                string
	Ingress             []Perm
	Egress              []Perm
	RevokeDefaultEgress bool
}

// CreateSecurityGroup creates sg in vpcID and returns its ID.
func CreateSecurityGroup(ctx context.Context, c *ec2.Client, vpcID string, sg SecurityGroup) (string, error) {
	var id string
	out, err := c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(sg.Name), Description: aws.String("sagefence test " + sg.Name), VpcId: aws.String(vpcID),
	})
	switch {
	case alreadyDone(err, "InvalidGroup.Duplicate"):
		if id, err = findOne(ctx, c, ec2types.ResourceTypeSecurityGroup, filters("vpc-id", vpcID, "group-name", sg.Name)); err != nil {
			return "", err
		}
	case err != nil:
		return "", fmt.Errorf("create security group %s in %s: %w", sg.Name, vpcID, err)
	default:
		id = aws.ToString(out.GroupId)
	}
	if sg.RevokeDefaultEgress {
		d, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
		if err != nil {
			return "", fmt.Errorf("describe new security group %s: %w", id, err)
		}
		if len(d.SecurityGroups) == 1 && len(d.SecurityGroups[0].IpPermissionsEgress) > 0 {
			if _, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{
				GroupId: aws.String(id), IpPermissions: d.SecurityGroups[0].IpPermissionsEgress,
			}); err != nil && !alreadyDone(err, "InvalidPermission.NotFound") {
				return "", fmt.Errorf("revoke default egress of %s: %w", id, err)
			}
		}
	}
	if len(sg.Ingress) > 0 {
		in := &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(id)}
		for _, p := range sg.Ingress {
			in.IpPermissions = append(in.IpPermissions, p.sdk())
		}
		if _, err := c.AuthorizeSecurityGroupIngress(ctx, in); err != nil && !alreadyDone(err, "InvalidPermission.Duplicate") {
			return "", fmt.Errorf("authorize ingress on %s: %w", id, err)
		}
	}
	if len(sg.Egress) > 0 {
		if err := AuthorizeEgress(ctx, c, id, sg.Egress...); err != nil {
			return "", err
		}
	}
	return id, nil
}

// ACLRule is one network ACL entry. Protocol is "-1" or an IANA number
// ("6" for TCP); From and To are the port range for TCP and UDP.
type ACLRule struct {
	Number   int32
	Egress   bool
	Allow    bool
	Protocol string
	CIDR     string
	IPv6CIDR string
	From, To int32
}

// CreateNetworkACL creates a network ACL with rules in vpcID and makes it
// the ACL of subnetIDs (replacing their current association).
func CreateNetworkACL(ctx context.Context, c *ec2.Client, vpcID string, rules []ACLRule, subnetIDs ...string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeNetworkAcl)
	out, err := c.CreateNetworkAcl(ctx, &ec2.CreateNetworkAclInput{VpcId: aws.String(vpcID), TagSpecifications: tags})
	if err != nil {
		return "", fmt.Errorf("create network ACL in %s: %w", vpcID, err)
	}
	id := aws.ToString(out.NetworkAcl.NetworkAclId)
	if err := dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeNetworkAcl, token, id); err != nil {
		return "", err
	}
	if err := AddNetworkACLEntries(ctx, c, id, rules...); err != nil {
		return "", err
	}
	for _, s := range subnetIDs {
		_, assoc, err := subnetACL(ctx, c, s)
		if err != nil {
			return "", err
		}
		if _, err := c.ReplaceNetworkAclAssociation(ctx, &ec2.ReplaceNetworkAclAssociationInput{
			AssociationId: aws.String(assoc), NetworkAclId: aws.String(id),
		}); err != nil {
			// A retry whose first attempt worked names an association
			// that is gone (moto answers 500): the subnet may have the
			// ACL already.
			if acl, _, aerr := subnetACL(ctx, c, s); aerr != nil || acl != id {
				return "", fmt.Errorf("associate %s with %s: %w", id, s, err)
			}
		}
	}
	return id, nil
}

// subnetACL returns the network ACL of subnetID and its association ID.
func subnetACL(ctx context.Context, c *ec2.Client, subnetID string) (acl, assoc string, err error) {
	cur, err := c.DescribeNetworkAcls(ctx, &ec2.DescribeNetworkAclsInput{Filters: filters("association.subnet-id", subnetID)})
	if err != nil {
		return "", "", fmt.Errorf("find network ACL association of %s: %w", subnetID, err)
	}
	for _, a := range cur.NetworkAcls {
		for _, as := range a.Associations {
			if aws.ToString(as.SubnetId) == subnetID {
				return aws.ToString(a.NetworkAclId), aws.ToString(as.NetworkAclAssociationId), nil
			}
		}
	}
	return "", "", fmt.Errorf("subnet %s has no network ACL association", subnetID)
}

// CreateTransitGateway creates a transit gateway with its default route
// table, which new attachments are associated with and propagate to
// (transit.go builds its attachments and routes).
func CreateTransitGateway(ctx context.Context, c *ec2.Client) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeTransitGateway)
	out, err := c.CreateTransitGateway(ctx, &ec2.CreateTransitGatewayInput{Description: aws.String("sagefence test"), TagSpecifications: tags})
	if err != nil {
		return "", fmt.Errorf("create transit gateway: %w", err)
	}
	id := aws.ToString(out.TransitGateway.TransitGatewayId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeTransitGateway, token, id)
}

// CreatePeering creates a VPC peering connection from vpcID to peerVPCID.
func CreatePeering(ctx context.Context, c *ec2.Client, vpcID, peerVPCID string) (string, error) {
	out, err := c.CreateVpcPeeringConnection(ctx, &ec2.CreateVpcPeeringConnectionInput{
		VpcId: aws.String(vpcID), PeerVpcId: aws.String(peerVPCID),
	})
	if err != nil {
		return "", fmt.Errorf("peer %s with %s: %w", vpcID, peerVPCID, err)
	}
	return aws.ToString(out.VpcPeeringConnection.VpcPeeringConnectionId), nil
}

// CreateNetworkInterface creates an ENI in subnetID with securityGroupIDs
// (an appliance's interface, or a stand-in for a notebook's, which moto
// does not create).
func CreateNetworkInterface(ctx context.Context, c *ec2.Client, subnetID string, securityGroupIDs ...string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeNetworkInterface)
	out, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: aws.String(subnetID), Groups: securityGroupIDs, Description: aws.String("sagefence test"),
		TagSpecifications: tags,
	})
	if err != nil {
		return "", fmt.Errorf("create network interface in %s: %w", subnetID, err)
	}
	id := aws.ToString(out.NetworkInterface.NetworkInterfaceId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeNetworkInterface, token, id)
}

// AssociatePublicIP allocates an Elastic IP, associates it with eniID and
// returns the public address.
func AssociatePublicIP(ctx context.Context, c *ec2.Client, eniID string) (string, error) {
	eip, err := c.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		return "", fmt.Errorf("allocate address for %s: %w", eniID, err)
	}
	if _, err := c.AssociateAddress(ctx, &ec2.AssociateAddressInput{
		AllocationId: eip.AllocationId, NetworkInterfaceId: aws.String(eniID),
	}); err != nil {
		return "", fmt.Errorf("associate %s with %s: %w", aws.ToString(eip.PublicIp), eniID, err)
	}
	return aws.ToString(eip.PublicIp), nil
}

// CreateS3GatewayEndpoint creates a gateway endpoint for S3 in vpcID and
// routes its prefix list through it in rtbIDs. It returns the endpoint ID
// and the S3 prefix list ID the routes use.
func CreateS3GatewayEndpoint(ctx context.Context, c *ec2.Client, region, vpcID string, rtbIDs ...string) (endpointID, prefixListID string, err error) {
	service := "com.amazonaws." + region + ".s3"
	out, err := c.CreateVpcEndpoint(ctx, &ec2.CreateVpcEndpointInput{
		VpcId:           aws.String(vpcID),
		ServiceName:     aws.String(service),
		VpcEndpointType: ec2types.VpcEndpointTypeGateway,
		RouteTableIds:   rtbIDs,
	})
	if err != nil {
		return "", "", fmt.Errorf("create S3 gateway endpoint in %s: %w", vpcID, err)
	}
	pl, err := c.DescribePrefixLists(ctx, &ec2.DescribePrefixListsInput{Filters: []ec2types.Filter{
		{Name: aws.String("prefix-list-name"), Values: []string{service}},
	}})
	if err != nil {
		return "", "", fmt.Errorf("find prefix list %s: %w", service, err)
	}
	if len(pl.PrefixLists) > 0 {
		prefixListID = aws.ToString(pl.PrefixLists[0].PrefixListId)
	}
	return aws.ToString(out.VpcEndpoint.VpcEndpointId), prefixListID, nil
}

// Notebook describes a notebook instance to create. Empty fields take the
// API's defaults (DirectInternetAccess Enabled, RootAccess Enabled).
type Notebook struct {
	Name                 string
	SubnetID             string
	SecurityGroupIDs     []string
	DirectInternetAccess string // "Enabled" or "Disabled"
	RootAccess           string
	InstanceType         string // default ml.t3.medium
	RoleARN              string // default a role in AccountID
	KMSKeyID             string
	VolumeSizeInGB       int32
	Tags                 map[string]string
}

// CreateNotebook creates a notebook instance and returns its ARN. moto
// puts it InService at once.
func CreateNotebook(ctx context.Context, sm *sagemaker.Client, nb Notebook) (string, error) {
	in := &sagemaker.CreateNotebookInstanceInput{
		NotebookInstanceName: aws.String(nb.Name),
		InstanceType:         smtypes.InstanceTypeMlT3Medium,
		RoleArn:              aws.String("arn:aws:iam::" + AccountID + ":role/sagefence-test-notebook"),
		SecurityGroupIds:     nb.SecurityGroupIDs,
		DirectInternetAccess: smtypes.DirectInternetAccess(nb.DirectInternetAccess),
		RootAccess:           smtypes.RootAccess(nb.RootAccess),
	}
	if nb.InstanceType != "" {
		in.InstanceType = smtypes.InstanceType(nb.InstanceType)
	}
	if nb.RoleARN != "" {
		in.RoleArn = aws.String(nb.RoleARN)
	}
	if nb.SubnetID != "" {
		in.SubnetId = aws.String(nb.SubnetID)
	}
	if nb.KMSKeyID != "" {
		in.KmsKeyId = aws.String(nb.KMSKeyID)
	}
	if nb.VolumeSizeInGB != 0 {
		in.VolumeSizeInGB = aws.Int32(nb.VolumeSizeInGB)
	}
	for k, v := range nb.Tags {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := sm.CreateNotebookInstance(ctx, in)
	if err != nil {
		var api smithy.APIError
		if errors.As(err, &api) && strings.Contains(api.ErrorMessage(), "duplicate Notebook Instance") {
			d, derr := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(nb.Name)})
			if derr == nil {
				return aws.ToString(d.NotebookInstanceArn), nil
			}
		}
		return "", fmt.Errorf("create notebook instance %s: %w", nb.Name, err)
	}
	return aws.ToString(out.NotebookInstanceArn), nil
}

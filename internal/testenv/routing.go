package testenv

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Builders for what lies past a notebook's subnet: managed prefix lists,
// private NAT gateways, a detached internet gateway, replaced route table
// associations, network ACL entries, security group egress to prefix
// lists and groups, and accepted peerings. Like estate.go's, each survives
// a lost answer.

// CreateSubnetInZone creates a subnet in the Availability Zone az (moto
// puts a subnet created without one in us-east-1a). The transit gateway
// hop prefers the attachment subnet in the traffic's own zone.
func CreateSubnetInZone(ctx context.Context, c *ec2.Client, vpcID, cidr, az string) (string, error) {
	out, err := c.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcID), CidrBlock: aws.String(cidr), AvailabilityZone: aws.String(az)})
	switch {
	case alreadyDone(err, "InvalidSubnet.Conflict"):
		return findOne(ctx, c, ec2types.ResourceTypeSubnet, filters("vpc-id", vpcID, "cidr-block", cidr))
	case err != nil:
		return "", fmt.Errorf("create subnet %s in %s (%s): %w", cidr, vpcID, az, err)
	}
	return aws.ToString(out.Subnet.SubnetId), nil
}

// CreateManagedPrefixList creates a customer-managed prefix list named
// name holding cidrs (all IPv4 or all IPv6) and returns its ID.
func CreateManagedPrefixList(ctx context.Context, c *ec2.Client, name string, cidrs ...string) (string, error) {
	family := "IPv4"
	if len(cidrs) > 0 && strings.Contains(cidrs[0], ":") {
		family = "IPv6"
	}
	var entries []ec2types.AddPrefixListEntry
	for _, cidr := range cidrs {
		entries = append(entries, ec2types.AddPrefixListEntry{Cidr: aws.String(cidr), Description: aws.String("sagefence test")})
	}
	token, tags := newToken(ec2types.ResourceTypePrefixList)
	out, err := c.CreateManagedPrefixList(ctx, &ec2.CreateManagedPrefixListInput{
		PrefixListName: aws.String(name), AddressFamily: aws.String(family),
		MaxEntries: aws.Int32(int32(max(len(cidrs), 1))), Entries: entries, TagSpecifications: tags,
	})
	if err != nil {
		return "", fmt.Errorf("create prefix list %s: %w", name, err)
	}
	id := aws.ToString(out.PrefixList.PrefixListId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypePrefixList, token, id)
}

// AWSManagedPrefixList returns the ID of the AWS-managed prefix list of
// service in region (com.amazonaws.<region>.<service>, e.g. "s3"), which
// moto, like AWS, provides in every region.
func AWSManagedPrefixList(ctx context.Context, c *ec2.Client, region, service string) (string, error) {
	name := "com.amazonaws." + region + "." + service
	out, err := c.DescribeManagedPrefixLists(ctx, &ec2.DescribeManagedPrefixListsInput{
		Filters: filters("prefix-list-name", name, "owner-id", "AWS"),
	})
	if err != nil {
		return "", fmt.Errorf("find prefix list %s: %w", name, err)
	}
	if len(out.PrefixLists) != 1 {
		return "", fmt.Errorf("find prefix list %s: %d found", name, len(out.PrefixLists))
	}
	return aws.ToString(out.PrefixLists[0].PrefixListId), nil
}

// CreatePrivateNATGateway creates a NAT gateway with private connectivity
// (no Elastic IP) in subnetID. It translates to its own private address:
// an internet gateway drops what it forwards.
func CreatePrivateNATGateway(ctx context.Context, c *ec2.Client, subnetID string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeNatgateway)
	out, err := c.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId: aws.String(subnetID), ConnectivityType: ec2types.ConnectivityTypePrivate, TagSpecifications: tags,
	})
	if err != nil {
		return "", fmt.Errorf("create private NAT gateway in %s: %w", subnetID, err)
	}
	id := aws.ToString(out.NatGateway.NatGatewayId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeNatgateway, token, id)
}

// DetachInternetGateway detaches igwID from vpcID; routes to it stay and
// go nowhere.
func DetachInternetGateway(ctx context.Context, c *ec2.Client, igwID, vpcID string) error {
	if _, err := c.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{
		InternetGatewayId: aws.String(igwID), VpcId: aws.String(vpcID),
	}); err != nil && !alreadyDone(err, "Gateway.NotAttached") {
		return fmt.Errorf("detach %s from %s: %w", igwID, vpcID, err)
	}
	return nil
}

// ReplaceSubnetRouteTable makes rtbID the route table of subnetID,
// replacing its explicit association or, when it has none (it uses the
// main table), adding one.
func ReplaceSubnetRouteTable(ctx context.Context, c *ec2.Client, subnetID, rtbID string) error {
	cur, assoc, err := subnetRouteTable(ctx, c, subnetID)
	if err != nil {
		return err
	}
	switch {
	case cur == rtbID:
		return nil
	case assoc == "":
		_, err = c.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rtbID), SubnetId: aws.String(subnetID)})
	default:
		_, err = c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
			AssociationId: aws.String(assoc), RouteTableId: aws.String(rtbID),
		})
	}
	if err != nil {
		// A retry whose first attempt worked names an association that
		// is gone, or finds the subnet associated.
		if now, _, cerr := subnetRouteTable(ctx, c, subnetID); cerr == nil && now == rtbID {
			return nil
		}
		return fmt.Errorf("make %s the route table of %s: %w", rtbID, subnetID, err)
	}
	return nil
}

// subnetRouteTable returns the route table explicitly associated with
// subnetID and the association's ID, or empty strings when the subnet
// uses its VPC's main table.
func subnetRouteTable(ctx context.Context, c *ec2.Client, subnetID string) (rtb, assoc string, err error) {
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters("association.subnet-id", subnetID)})
	if err != nil {
		return "", "", fmt.Errorf("find the route table of %s: %w", subnetID, err)
	}
	for _, t := range out.RouteTables {
		for _, a := range t.Associations {
			if aws.ToString(a.SubnetId) == subnetID {
				return aws.ToString(t.RouteTableId), aws.ToString(a.RouteTableAssociationId), nil
			}
		}
	}
	return "", "", nil
}

// ReplaceMainRouteTable makes rtbID the main route table of vpcID: every
// subnet without an explicit association uses it from then on.
func ReplaceMainRouteTable(ctx context.Context, c *ec2.Client, vpcID, rtbID string) error {
	main, assoc, err := mainAssociation(ctx, c, vpcID)
	if err != nil {
		return err
	}
	if main == rtbID {
		return nil
	}
	if _, err := c.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
		AssociationId: aws.String(assoc), RouteTableId: aws.String(rtbID),
	}); err != nil {
		// A retry whose first attempt worked names the old association.
		if now, _, cerr := mainAssociation(ctx, c, vpcID); cerr == nil && now == rtbID {
			return nil
		}
		return fmt.Errorf("make %s the main route table of %s: %w", rtbID, vpcID, err)
	}
	return nil
}

// mainAssociation returns vpcID's main route table and the ID of its main
// association.
func mainAssociation(ctx context.Context, c *ec2.Client, vpcID string) (rtb, assoc string, err error) {
	out, err := c.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: filters("vpc-id", vpcID, "association.main", "true")})
	if err != nil {
		return "", "", fmt.Errorf("find the main route table of %s: %w", vpcID, err)
	}
	for _, t := range out.RouteTables {
		for _, a := range t.Associations {
			if aws.ToBool(a.Main) {
				return aws.ToString(t.RouteTableId), aws.ToString(a.RouteTableAssociationId), nil
			}
		}
	}
	return "", "", fmt.Errorf("%s has no main route table", vpcID)
}

// SubnetNetworkACL returns the network ACL subnetID is associated with.
func SubnetNetworkACL(ctx context.Context, c *ec2.Client, subnetID string) (string, error) {
	acl, _, err := subnetACL(ctx, c, subnetID)
	return acl, err
}

// AddNetworkACLEntries adds rules to an existing network ACL (a VPC's
// default ACL allows everything at rule 100 both ways: a deny must come
// before it).
func AddNetworkACLEntries(ctx context.Context, c *ec2.Client, aclID string, rules ...ACLRule) error {
	for _, r := range rules {
		in := &ec2.CreateNetworkAclEntryInput{
			NetworkAclId: aws.String(aclID),
			RuleNumber:   aws.Int32(r.Number),
			Egress:       aws.Bool(r.Egress),
			Protocol:     aws.String(r.Protocol),
			RuleAction:   ec2types.RuleActionDeny,
		}
		if r.Allow {
			in.RuleAction = ec2types.RuleActionAllow
		}
		if r.CIDR != "" {
			in.CidrBlock = aws.String(r.CIDR)
		}
		if r.IPv6CIDR != "" {
			in.Ipv6CidrBlock = aws.String(r.IPv6CIDR)
		}
		if r.Protocol == "6" || r.Protocol == "17" {
			in.PortRange = &ec2types.PortRange{From: aws.Int32(r.From), To: aws.Int32(r.To)}
		}
		if _, err := c.CreateNetworkAclEntry(ctx, in); err != nil && !alreadyDone(err, "NetworkAclEntryAlreadyExists") {
			return fmt.Errorf("add entry %d to %s: %w", r.Number, aclID, err)
		}
	}
	return nil
}

// PrefixListTraffic permits every protocol and port to or from the
// prefix lists ids.
func PrefixListTraffic(ids ...string) Perm { return Perm{Protocol: "-1", PrefixLists: ids} }

// GroupTraffic permits every protocol and port to or from the members of
// the security groups ids.
func GroupTraffic(ids ...string) Perm { return Perm{Protocol: "-1", Groups: ids} }

// AuthorizeEgress adds egress permissions to the security group sgID (for
// a rule that names a group created after it).
func AuthorizeEgress(ctx context.Context, c *ec2.Client, sgID string, perms ...Perm) error {
	in := &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(sgID)}
	for _, p := range perms {
		in.IpPermissions = append(in.IpPermissions, p.sdk())
	}
	if _, err := c.AuthorizeSecurityGroupEgress(ctx, in); err != nil && !alreadyDone(err, "InvalidPermission.Duplicate") {
		return fmt.Errorf("authorize egress on %s: %w", sgID, err)
	}
	return nil
}

// AcceptPeering accepts the peering connection pcxID (moto leaves a new
// one pending-acceptance, like AWS).
func AcceptPeering(ctx context.Context, c *ec2.Client, pcxID string) error {
	if _, err := c.AcceptVpcPeeringConnection(ctx, &ec2.AcceptVpcPeeringConnectionInput{
		VpcPeeringConnectionId: aws.String(pcxID),
	}); err != nil {
		// A retry of an accept that worked finds the connection active.
		d, derr := c.DescribeVpcPeeringConnections(ctx, &ec2.DescribeVpcPeeringConnectionsInput{VpcPeeringConnectionIds: []string{pcxID}})
		if derr == nil && len(d.VpcPeeringConnections) == 1 && d.VpcPeeringConnections[0].Status != nil &&
			d.VpcPeeringConnections[0].Status.Code == ec2types.VpcPeeringConnectionStateReasonCodeActive {
			return nil
		}
		return fmt.Errorf("accept peering %s: %w", pcxID, err)
	}
	return nil
}

package collect

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// A hub-and-spoke estate in the fakes: spoke accounts whose notebooks' VPC
// sends 0.0.0.0/0 to the transit gateway tgw-hub, owned by a network
// account that routes public space to its egress VPC (a NAT gateway and an
// attached internet gateway). moto cannot attach one account's VPC to
// another's transit gateway, so the cross-account follow-up is tested
// here.

const (
	hubTGW      = "tgw-hub"
	egressVPC   = "vpc-egress"
	spokesTable = "tgw-rtb-spokes"
	egressTable = "tgw-rtb-egress"
	egressAtt   = "tgw-attach-egress"
	partnersPL  = "pl-partners" // customer list a transit gateway route names
	spokePL     = "pl-cust"     // customer list the spokes' security group names
	s3PL        = "pl-s3"       // AWS-managed
)

func spokeVPC(account string) string { return "vpc-" + account }
func spokeAtt(account string) string { return "tgw-attach-" + account }

// spoke is one spoke account-region: n notebooks in one subnet of
// vpc-<account>, whose main route table sends 0.0.0.0/0 to tgw-hub through
// an attachment owned (transit gateway side) by owner; the notebooks'
// group allows egress to a customer prefix list, and an S3 gateway
// endpoint's route names the AWS-managed S3 list.
func spoke(account, owner string, n int) (*fakeSageMaker, *fakeEC2) {
	vpc := spokeVPC(account)
	nbSubnet, tgwSubnet := "subnet-"+account+"-nb", "subnet-"+account+"-tgw"
	sm := &fakeSageMaker{}
	for i := range n {
		nb := vpcNotebook(fmt.Sprintf("nb-%04d", i), nbSubnet, "sg-"+account)
		nb.NotebookInstanceArn = aws.String(fmt.Sprintf("arn:aws:sagemaker:r:%s:notebook-instance/nb-%04d", account, i))
		sm.notebooks = append(sm.notebooks, nb)
	}
	ec := &fakeEC2{
		vpcs: []ec2types.Vpc{{VpcId: aws.String(vpc), CidrBlock: aws.String("10.1.0.0/16")}},
		subnets: []ec2types.Subnet{
			{SubnetId: aws.String(nbSubnet), VpcId: aws.String(vpc), CidrBlock: aws.String("10.1.1.0/24"), AvailabilityZone: aws.String("eu-west-1a")},
			{SubnetId: aws.String(tgwSubnet), VpcId: aws.String(vpc), CidrBlock: aws.String("10.1.2.0/28"), AvailabilityZone: aws.String("eu-west-1a")},
		},
		tables: []ec2types.RouteTable{{
			RouteTableId: aws.String("rtb-" + account), VpcId: aws.String(vpc),
			Associations: []ec2types.RouteTableAssociation{{Main: aws.Bool(true)}},
			Routes: []ec2types.Route{
				{DestinationCidrBlock: aws.String("10.1.0.0/16"), GatewayId: aws.String("local"), State: ec2types.RouteStateActive},
				{DestinationCidrBlock: aws.String("0.0.0.0/0"), TransitGatewayId: aws.String(hubTGW), State: ec2types.RouteStateActive},
				{DestinationPrefixListId: aws.String(s3PL), GatewayId: aws.String("vpce-" + account), State: ec2types.RouteStateActive},
			},
		}},
		groups: []ec2types.SecurityGroup{{
			GroupId: aws.String("sg-" + account), VpcId: aws.String(vpc),
			IpPermissionsEgress: []ec2types.IpPermission{{IpProtocol: aws.String("-1"),
				PrefixListIds: []ec2types.PrefixListId{{PrefixListId: aws.String(spokePL)}}}},
		}},
		acls: []ec2types.NetworkAcl{{NetworkAclId: aws.String("acl-" + account), VpcId: aws.String(vpc), IsDefault: aws.Bool(true)}},
		vpces: []ec2types.VpcEndpoint{{VpcEndpointId: aws.String("vpce-" + account), VpcId: aws.String(vpc),
			VpcEndpointType: ec2types.VpcEndpointTypeGateway, ServiceName: aws.String("com.amazonaws.eu-west-1.s3")}},
		// The VPC's account sees its attachment, the gateway's owner, and
		// not the association (the owner's read has it).
		tgwAtts: []ec2types.TransitGatewayAttachment{{
			TransitGatewayAttachmentId: aws.String(spokeAtt(account)), TransitGatewayId: aws.String(hubTGW),
			TransitGatewayOwnerId: aws.String(owner), ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc,
			ResourceId: aws.String(vpc), ResourceOwnerId: aws.String(account), State: ec2types.TransitGatewayAttachmentStateAvailable,
		}},
		tgwVPCAtts: []ec2types.TransitGatewayVpcAttachment{{
			TransitGatewayAttachmentId: aws.String(spokeAtt(account)), TransitGatewayId: aws.String(hubTGW),
			VpcId: aws.String(vpc), VpcOwnerId: aws.String(account), SubnetIds: []string{tgwSubnet},
			State: ec2types.TransitGatewayAttachmentStateAvailable,
		}},
		prefixLists: []ec2types.ManagedPrefixList{
			{PrefixListId: aws.String(spokePL), PrefixListName: aws.String("anywhere"), OwnerId: aws.String(account),
				AddressFamily: aws.String("IPv4"), State: ec2types.PrefixListStateCreateComplete},
			{PrefixListId: aws.String(s3PL), PrefixListName: aws.String("com.amazonaws.eu-west-1.s3"), OwnerId: aws.String(awsOwner),
				AddressFamily: aws.String("IPv4"), State: ec2types.PrefixListStateCreateComplete},
		},
		plEntries: map[string][]ec2types.PrefixListEntry{spokePL: {{Cidr: aws.String("0.0.0.0/0")}}},
	}
	return sm, ec
}

// hub is the network account-region owning tgw-hub: its two route tables
// (the spokes' sends 0.0.0.0/0 and a partner prefix list to the egress
// VPC, 10/8 to a blackhole; the egress VPC's sends the spokes' range back,
// private only), every attachment with its association, and the egress
// VPC: a transit gateway subnet routing to a public NAT gateway, whose
// subnet routes to an attached internet gateway. It has no notebooks.
func hub(account string, spokes ...string) (*fakeSageMaker, *fakeEC2) {
	tgwSubnet, natSubnet := "subnet-egress-tgw", "subnet-egress-nat"
	vpcRoute := func(att, vpc string) []ec2types.TransitGatewayRouteAttachment {
		return []ec2types.TransitGatewayRouteAttachment{{TransitGatewayAttachmentId: aws.String(att),
			ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(vpc)}}
	}
	ec := &fakeEC2{
		vpcs: []ec2types.Vpc{{VpcId: aws.String(egressVPC), CidrBlock: aws.String("10.200.0.0/16")}},
		subnets: []ec2types.Subnet{
			{SubnetId: aws.String(tgwSubnet), VpcId: aws.String(egressVPC), CidrBlock: aws.String("10.200.0.0/28"), AvailabilityZone: aws.String("eu-west-1a")},
			{SubnetId: aws.String(natSubnet), VpcId: aws.String(egressVPC), CidrBlock: aws.String("10.200.1.0/24"), AvailabilityZone: aws.String("eu-west-1a")},
		},
		tables: []ec2types.RouteTable{
			{RouteTableId: aws.String("rtb-egress-tgw"), VpcId: aws.String(egressVPC),
				Associations: []ec2types.RouteTableAssociation{{SubnetId: aws.String(tgwSubnet)}},
				Routes: []ec2types.Route{
					{DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-egress"), State: ec2types.RouteStateActive},
					// Back to the spokes: private space, nothing to follow.
					{DestinationCidrBlock: aws.String("10.0.0.0/8"), TransitGatewayId: aws.String(hubTGW), State: ec2types.RouteStateActive},
				}},
			{RouteTableId: aws.String("rtb-egress-nat"), VpcId: aws.String(egressVPC),
				Associations: []ec2types.RouteTableAssociation{{SubnetId: aws.String(natSubnet)}},
				Routes: []ec2types.Route{
					{DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-egress"), State: ec2types.RouteStateActive},
				}},
		},
		nats: []ec2types.NatGateway{{NatGatewayId: aws.String("nat-egress"), VpcId: aws.String(egressVPC), SubnetId: aws.String(natSubnet),
			State: ec2types.NatGatewayStateAvailable, ConnectivityType: ec2types.ConnectivityTypePublic}},
		igws: []ec2types.InternetGateway{{InternetGatewayId: aws.String("igw-egress"),
			Attachments: []ec2types.InternetGatewayAttachment{{VpcId: aws.String(egressVPC), State: ec2types.AttachmentStatus("available")}}}},
		acls: []ec2types.NetworkAcl{{NetworkAclId: aws.String("acl-egress"), VpcId: aws.String(egressVPC), IsDefault: aws.Bool(true)}},
		tgwAtts: []ec2types.TransitGatewayAttachment{{
			TransitGatewayAttachmentId: aws.String(egressAtt), TransitGatewayId: aws.String(hubTGW), TransitGatewayOwnerId: aws.String(account),
			ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(egressVPC), ResourceOwnerId: aws.String(account),
			State:       ec2types.TransitGatewayAttachmentStateAvailable,
			Association: &ec2types.TransitGatewayAttachmentAssociation{TransitGatewayRouteTableId: aws.String(egressTable), State: ec2types.TransitGatewayAssociationStateAssociated},
		}},
		tgwVPCAtts: []ec2types.TransitGatewayVpcAttachment{{
			TransitGatewayAttachmentId: aws.String(egressAtt), TransitGatewayId: aws.String(hubTGW), VpcId: aws.String(egressVPC),
			VpcOwnerId: aws.String(account), SubnetIds: []string{tgwSubnet}, State: ec2types.TransitGatewayAttachmentStateAvailable,
		}},
		tgwTables: []ec2types.TransitGatewayRouteTable{
			{TransitGatewayRouteTableId: aws.String(spokesTable), TransitGatewayId: aws.String(hubTGW), State: ec2types.TransitGatewayRouteTableStateAvailable},
			{TransitGatewayRouteTableId: aws.String(egressTable), TransitGatewayId: aws.String(hubTGW), State: ec2types.TransitGatewayRouteTableStateAvailable},
			{TransitGatewayRouteTableId: aws.String("tgw-rtb-old"), TransitGatewayId: aws.String(hubTGW), State: ec2types.TransitGatewayRouteTableStateDeleted},
		},
		tgwRoutes: map[string][]ec2types.TransitGatewayRoute{
			spokesTable: {
				{DestinationCidrBlock: aws.String("0.0.0.0/0"), Type: ec2types.TransitGatewayRouteTypeStatic, State: ec2types.TransitGatewayRouteStateActive,
					TransitGatewayAttachments: vpcRoute(egressAtt, egressVPC)},
				{DestinationCidrBlock: aws.String("10.0.0.0/8"), Type: ec2types.TransitGatewayRouteTypeStatic, State: ec2types.TransitGatewayRouteStateBlackhole},
				{PrefixListId: aws.String(partnersPL), Type: ec2types.TransitGatewayRouteTypeStatic, State: ec2types.TransitGatewayRouteStateActive,
					TransitGatewayAttachments: vpcRoute(egressAtt, egressVPC)},
			},
			egressTable: {},
		},
		prefixLists: []ec2types.ManagedPrefixList{{PrefixListId: aws.String(partnersPL), PrefixListName: aws.String("partners"),
			OwnerId: aws.String(account), AddressFamily: aws.String("IPv4"), State: ec2types.PrefixListStateModifyComplete}},
		plEntries: map[string][]ec2types.PrefixListEntry{partnersPL: {{Cidr: aws.String("203.0.113.0/24")}, {Cidr: aws.String("198.51.100.0/24")}}},
	}
	for i, s := range spokes {
		ec.tgwAtts = append(ec.tgwAtts, ec2types.TransitGatewayAttachment{
			TransitGatewayAttachmentId: aws.String(spokeAtt(s)), TransitGatewayId: aws.String(hubTGW), TransitGatewayOwnerId: aws.String(account),
			ResourceType: ec2types.TransitGatewayAttachmentResourceTypeVpc, ResourceId: aws.String(spokeVPC(s)), ResourceOwnerId: aws.String(s),
			State:       ec2types.TransitGatewayAttachmentStateAvailable,
			Association: &ec2types.TransitGatewayAttachmentAssociation{TransitGatewayRouteTableId: aws.String(spokesTable), State: ec2types.TransitGatewayAssociationStateAssociated},
		})
		ec.tgwVPCAtts = append(ec.tgwVPCAtts, ec2types.TransitGatewayVpcAttachment{
			TransitGatewayAttachmentId: aws.String(spokeAtt(s)), TransitGatewayId: aws.String(hubTGW), VpcId: aws.String(spokeVPC(s)),
			VpcOwnerId: aws.String(s), SubnetIds: []string{"subnet-" + s + "-tgw"}, State: ec2types.TransitGatewayAttachmentStateAvailable,
		})
		ec.tgwRoutes[egressTable] = append(ec.tgwRoutes[egressTable], ec2types.TransitGatewayRoute{
			DestinationCidrBlock: aws.String(fmt.Sprintf("10.1.%d.0/24", i)), Type: ec2types.TransitGatewayRouteTypePropagated,
			State: ec2types.TransitGatewayRouteStateActive, TransitGatewayAttachments: vpcRoute(spokeAtt(s), spokeVPC(s)),
		})
	}
	return &fakeSageMaker{notebooks: []*sagemaker.DescribeNotebookInstanceOutput{}}, ec
}

// hubAndSpokes makes the estate function of a fakeSource: network is the
// hub's account, every other account a spoke attached to it.
func hubAndSpokes(network string, spokes []string, perSpoke int) func(account, region string) (*fakeSageMaker, *fakeEC2) {
	return func(account, _ string) (*fakeSageMaker, *fakeEC2) {
		if account == network {
			return hub(network, spokes...)
		}
		return spoke(account, network, perSpoke)
	}
}

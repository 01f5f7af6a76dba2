package control

import (
	"strings"

	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/netpath"
)

// reproduceVPC returns the EC2 commands an auditor runs to confirm a
// verdict's network facts by hand; with describeCmd and eniCmd they are the
// SOP's Test Plan, corrected (its first query returns only the ARN; the
// verdict needs DirectInternetAccess, the subnet and the path).
func reproduceVPC(nb *inventory.Notebook, region string, a *netpath.Analysis) []string {
	if nb.SubnetID == "" {
		return nil
	}
	var cmds []string
	r := " --region " + shellQuote(region)
	sub := shellQuote(nb.SubnetID)
	cmds = append(cmds, "aws ec2 describe-subnets --subnet-ids "+sub+r+
		" --query 'Subnets[].{SubnetId:SubnetId,VpcId:VpcId,MapPublicIpOnLaunch:MapPublicIpOnLaunch}'")
	if a != nil && a.RouteTableSource == "main" {
		cmds = append(cmds, "aws ec2 describe-route-tables"+r+" --filters Name=vpc-id,Values="+shellQuote(a.VPCID)+
			" Name=association.main,Values=true --query 'RouteTables[].{RouteTableId:RouteTableId,Routes:Routes}'")
	} else {
		cmds = append(cmds, "aws ec2 describe-route-tables"+r+" --filters Name=association.subnet-id,Values="+sub+
			" --query 'RouteTables[].{RouteTableId:RouteTableId,Routes:Routes}'")
	}
	if a != nil {
		var nats []string
		for _, pr := range a.PublicRoutes {
			if pr.Kind == netpath.KindNAT {
				nats = append(nats, shellQuote(pr.Target))
			}
		}
		if len(nats) > 0 {
			cmds = append(cmds, "aws ec2 describe-nat-gateways --nat-gateway-ids "+strings.Join(nats, " ")+r+
				" --query 'NatGateways[].{NatGatewayId:NatGatewayId,State:State,ConnectivityType:ConnectivityType}'")
		}
	}
	if len(nb.SecurityGroupIDs) > 0 {
		ids := make([]string, len(nb.SecurityGroupIDs))
		for i, id := range nb.SecurityGroupIDs {
			ids[i] = shellQuote(id)
		}
		cmds = append(cmds, "aws ec2 describe-security-groups --group-ids "+strings.Join(ids, " ")+r+
			" --query 'SecurityGroups[].{GroupId:GroupId,Egress:IpPermissionsEgress,Ingress:IpPermissions}'")
	}
	cmds = append(cmds, "aws ec2 describe-network-acls"+r+" --filters Name=association.subnet-id,Values="+sub+
		" --query 'NetworkAcls[].{NetworkAclId:NetworkAclId,Entries:Entries}'")
	return cmds
}

func eniCmd(a *arena, id, region string) string {
	return a.concat("aws ec2 describe-network-interfaces --network-interface-ids ", shellQuote(id), " --region ", shellQuote(region),
		" --query 'NetworkInterfaces[].{PublicIp:Association.PublicIp,Ipv6Addresses:Ipv6Addresses}'")
}

func describeCmd(a *arena, name, region string) string {
	return a.concat("aws sagemaker describe-notebook-instance --notebook-instance-name ", shellQuote(name),
		" --region ", shellQuote(region),
		" --query '{DirectInternetAccess:DirectInternetAccess,SubnetId:SubnetId,SecurityGroups:SecurityGroups,NetworkInterfaceId:NetworkInterfaceId,RootAccess:RootAccess}'")
}

// shellQuote quotes a value for a POSIX shell when it holds anything but
// characters that are safe unquoted. Values come from AWS (or a saved
// inventory) and must never turn a copied command into something else.
func shellQuote(s string) string {
	safe := s != ""
	for i := 0; i < len(s) && safe; i++ {
		c := s[i]
		safe = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '/' || c == ':' || c == '='
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

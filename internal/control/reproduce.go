package control

import (
	"slices"
	"strings"
	"sync"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/netpath"
)

// placementCommands are what the commands of the notebooks of one placement
// are rendered from when they are read: each notebook's describe command,
// then the EC2 commands that an auditor runs to confirm the placement's
// network facts by hand and, where the interface's addresses decide
// something, the notebook's interface. Together they are the SOP's Test
// Plan, corrected (its first query returns only the ARN; the verdict needs
// DirectInternetAccess, the subnet and the path).
type placementCommands struct {
	// vpc renders the placement's EC2 commands once, on first use; they
	// are the same for every notebook of the placement. Writers may read
	// results from several goroutines.
	vpc             func() []string
	addressesMatter bool
}

// placementFacts are what the EC2 commands are rendered from.
type placementFacts struct {
	region string
	// subnet is empty for a notebook outside a VPC: it has no EC2 commands.
	subnet string
	// mainVPC is the VPC whose main route table the subnet uses, if it has
	// no table of its own.
	mainVPC string
	// nats are the NAT gateways that carry public traffic.
	nats []string
	// groups are the security groups that decide: the interface's when
	// it records some, else the notebook's (shared; read-only).
	groups []string
	// account is the notebook's; hops in other accounts say so.
	account string
	// hops are the deciding path past the notebook's route table.
	hops []netpath.Hop
}

func newPlacementCommands(nb *inventory.Notebook, account, region string, a *netpath.Analysis) placementCommands {
	f := placementFacts{region: region, subnet: nb.SubnetID, groups: nb.SecurityGroupIDs, account: account}
	var p placementCommands
	if a != nil {
		f.groups = a.SecurityGroupIDs
		p.addressesMatter = a.AddressesMatter()
		if a.RouteTableSource == "main" {
			f.mainVPC = a.VPCID
		}
		for _, pr := range a.PublicRoutes {
			if pr.Kind == netpath.KindNAT && !slices.Contains(f.nats, pr.Target) {
				f.nats = append(f.nats, pr.Target)
			}
		}
		switch {
		case a.Best() != nil:
			f.hops = a.Best().Hops
		case len(a.DeadEnds) > 0:
			f.hops = a.DeadEnds[0].Hops
		}
	}
	p.vpc = sync.OnceValue(f.commands)
	return p
}

func (p *placementCommands) AppendCommands(dst []string, args finding.CommandArgs) []string {
	vpc := p.vpc()
	withENI := p.addressesMatter && args.NetworkInterfaceID != ""
	n := 1 + len(vpc)
	if withENI {
		n++
	}
	dst = slices.Grow(dst, n)
	dst = append(dst, describeCmd(args.Name, args.Region))
	dst = append(dst, vpc...)
	if withENI {
		dst = append(dst, eniCmd(args.NetworkInterfaceID, args.Region))
	}
	return dst
}

// commands are the EC2 commands that confirm the placement's facts.
func (f placementFacts) commands() []string {
	if f.subnet == "" {
		return nil
	}
	var cmds []string
	r := " --region " + shellQuote(f.region)
	sub := shellQuote(f.subnet)
	cmds = append(cmds, "aws ec2 describe-subnets --subnet-ids "+sub+r+
		" --query 'Subnets[].{SubnetId:SubnetId,VpcId:VpcId,MapPublicIpOnLaunch:MapPublicIpOnLaunch}'")
	if f.mainVPC != "" {
		cmds = append(cmds, "aws ec2 describe-route-tables"+r+" --filters Name=vpc-id,Values="+shellQuote(f.mainVPC)+
			" Name=association.main,Values=true --query 'RouteTables[].{RouteTableId:RouteTableId,Routes:Routes}'")
	} else {
		cmds = append(cmds, "aws ec2 describe-route-tables"+r+" --filters Name=association.subnet-id,Values="+sub+
			" --query 'RouteTables[].{RouteTableId:RouteTableId,Routes:Routes}'")
	}
	if len(f.nats) > 0 {
		cmds = append(cmds, "aws ec2 describe-nat-gateways --nat-gateway-ids "+quoteAll(f.nats)+r+
			" --query 'NatGateways[].{NatGatewayId:NatGatewayId,State:State,ConnectivityType:ConnectivityType}'")
	}
	if len(f.groups) > 0 {
		cmds = append(cmds, "aws ec2 describe-security-groups --group-ids "+quoteAll(f.groups)+r+
			" --query 'SecurityGroups[].{GroupId:GroupId,Egress:IpPermissionsEgress,Ingress:IpPermissions}'")
	}
	cmds = append(cmds, "aws ec2 describe-network-acls"+r+" --filters Name=association.subnet-id,Values="+sub+
		" --query 'NetworkAcls[].{NetworkAclId:NetworkAclId,Entries:Entries}'")
	return slices.Clip(append(cmds, f.hopCommands()...))
}

// hopCommands confirm each hop past the notebook's own route table: one
// command per object, in path order, each marked with its account when it
// is not the notebook's.
func (f placementFacts) hopCommands() []string {
	var cmds []string
	seen := map[string]bool{}
	first := true
	for _, h := range f.hops {
		if h.Kind == "route-table" && first {
			first = false // the notebook's own table, confirmed above
			continue
		}
		first = false
		key := h.Kind + "/" + h.ResourceID
		if h.ResourceID == "" || seen[key] {
			continue
		}
		seen[key] = true
		r := " --region " + shellQuote(firstOf(h.Region, f.region))
		id := shellQuote(h.ResourceID)
		var c string
		switch h.Kind {
		case "route-table":
			c = "aws ec2 describe-route-tables --route-table-ids " + id + r + " --query 'RouteTables[].{RouteTableId:RouteTableId,VpcId:VpcId,Routes:Routes}'"
		case "nat-gateway":
			if slices.Contains(f.nats, h.ResourceID) {
				continue
			}
			c = "aws ec2 describe-nat-gateways --nat-gateway-ids " + id + r + " --query 'NatGateways[].{NatGatewayId:NatGatewayId,State:State,ConnectivityType:ConnectivityType,SubnetId:SubnetId}'"
		case "subnet":
			c = "aws ec2 describe-network-acls" + r + " --filters Name=association.subnet-id,Values=" + id + " --query 'NetworkAcls[].{NetworkAclId:NetworkAclId,Entries:Entries}'"
		case "internet-gateway":
			c = "aws ec2 describe-internet-gateways --internet-gateway-ids " + id + r + " --query 'InternetGateways[].Attachments'"
		case "egress-only-internet-gateway":
			c = "aws ec2 describe-egress-only-internet-gateways --egress-only-internet-gateway-ids " + id + r + " --query 'EgressOnlyInternetGateways[].Attachments'"
		case "transit-gateway-attachment":
			c = "aws ec2 describe-transit-gateway-attachments --transit-gateway-attachment-ids " + id + r +
				" --query 'TransitGatewayAttachments[].{Id:TransitGatewayAttachmentId,Type:ResourceType,Resource:ResourceId,ResourceOwner:ResourceOwnerId,TransitGatewayOwner:TransitGatewayOwnerId,Association:Association}'"
		case "transit-gateway-route-table":
			c = "aws ec2 search-transit-gateway-routes --transit-gateway-route-table-id " + id + " --filters Name=state,Values=active,blackhole" + r
		case "transit-gateway":
			c = "aws ec2 describe-transit-gateway-attachments" + r + " --filters Name=transit-gateway-id,Values=" + id
		case "vpc-peering-connection":
			c = "aws ec2 describe-vpc-peering-connections --vpc-peering-connection-ids " + id + r
		default:
			continue
		}
		if h.AccountID != "" && h.AccountID != f.account {
			c += "  # in account " + h.AccountID
		}
		cmds = append(cmds, c)
	}
	return cmds
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func quoteAll(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = shellQuote(id)
	}
	return strings.Join(q, " ")
}

// describeOnly are the commands of a notebook that could not be described:
// the describe call that failed.
type describeOnly struct{}

func (describeOnly) AppendCommands(dst []string, args finding.CommandArgs) []string {
	return append(dst, describeCmd(args.Name, args.Region))
}

func eniCmd(id, region string) string {
	return "aws ec2 describe-network-interfaces --network-interface-ids " + shellQuote(id) + " --region " + shellQuote(region) +
		" --query 'NetworkInterfaces[].{PublicIp:Association.PublicIp,Ipv6Addresses:Ipv6Addresses}'"
}

func describeCmd(name, region string) string {
	return "aws sagemaker describe-notebook-instance --notebook-instance-name " + shellQuote(name) +
		" --region " + shellQuote(region) +
		" --query '{DirectInternetAccess:DirectInternetAccess,SubnetId:SubnetId,SecurityGroups:SecurityGroups,NetworkInterfaceId:NetworkInterfaceId,RootAccess:RootAccess}'"
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

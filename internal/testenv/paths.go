package testenv

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// The estates of issue 11: a notebook with DirectInternetAccess Disabled
// whose traffic must be followed past its subnet (through NAT gateways,
// transit gateways, egress VPCs, peerings, prefix lists) to know whether
// it reaches the internet. Each scenario is built in one account and
// region: moto cannot attach one account's VPC to another account's
// transit gateway. Expected verdicts follow docs/path-model.md.

// PathClients are the clients the scenario builders use.
type PathClients struct {
	EC2       *ec2.Client
	SageMaker *sagemaker.Client
}

// Verdict is what a scan must conclude about a scenario's notebook.
type Verdict struct {
	// Status is the result's status and the internet-egress-path check's.
	Status string
	// InternetPath is the result's internet_path.
	InternetPath string
	// ExitCode is the exit code of a scan of the scenario alone.
	ExitCode int
}

// HopRef is a resource the notebook's hops must name, with the hop kind
// it must have (a finding.Hop kind).
type HopRef struct {
	Kind       string
	ResourceID string
}

// PathEstate is what a scenario builder made: the notebook, the resources
// its path runs through (empty when the scenario has none), the verdict a
// scan must reach and the resources that decide it.
type PathEstate struct {
	// Name is the scenario's and the notebook's name.
	Name        string
	NotebookARN string
	// The notebook's VPC, subnet, effective route table and security group.
	VPCID           string
	SubnetID        string
	RouteTableID    string
	SecurityGroupID string

	// NATGatewayID is the NAT gateway the notebook's public traffic
	// reaches first; NATSubnetID and NATRouteTableID are its subnet and
	// that subnet's route table; InternetGatewayID is the internet
	// gateway of the NAT's VPC (attached unless the scenario detached it).
	NATGatewayID      string
	NATSubnetID       string
	NATRouteTableID   string
	InternetGatewayID string

	// Hub and spoke: the transit gateway, the attachments of the spoke
	// (the notebook's VPC) and of the egress VPC, the transit gateway
	// route tables associated with each, and the egress VPC's attachment
	// subnet with its route table.
	TransitGatewayID             string
	EgressVPCID                  string
	SpokeAttachmentID            string
	SpokeAttachmentSubnetID      string
	EgressAttachmentID           string
	SpokeTGWRouteTableID         string
	EgressTGWRouteTableID        string
	EgressAttachmentSubnetID     string
	EgressAttachmentRouteTableID string

	// Scenario-specific resources.
	NetworkACLID        string // an ACL that denies the path
	PrefixListID        string // the customer-managed list the notebook's group references
	PeerSecurityGroupID string // the only group the notebook's group may reach
	DeletedNATGatewayID string // a NAT gateway deleted after routes to it were made
	PeeringConnectionID string
	PeerVPCID           string

	Want Verdict
	// Deciding are resources the notebook's hops must name.
	Deciding []HopRef
}

// PathScenario is one scenario of the list: Build makes it in the
// 10.<octet>.0.0/16 and 10.<octet+1>.0.0/16 address spaces (so that
// scenarios can share a region), records its transit gateway routes and
// associations in l, and names its notebook Name.
type PathScenario struct {
	Name  string
	Build func(ctx context.Context, c PathClients, l *TransitGatewayLedger, octet int) (PathEstate, error)
}

// Verdicts and hop kinds, as the report spells them.
const (
	pass    = "PASS"
	fail    = "FAIL"
	pathNAT = "nat"
	noPath  = "none"

	hopNAT           = "nat-gateway"
	hopIGW           = "internet-gateway"
	hopRouteTable    = "route-table"
	hopTGWRouteTable = "transit-gateway-route-table"
	hopACL           = "network-acl"
	hopPeering       = "vpc-peering-connection"
)

// PathScenarios returns the scenarios of issue 11, each with its expected
// verdict.
func PathScenarios() []PathScenario {
	return []PathScenario{
		{"hub-and-spoke-egress-nat", func(ctx context.Context, c PathClients, l *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := hubScenario(ctx, c, l, "hub-and-spoke-egress-nat", octet, HubAndSpokeOptions{})
			e.Want = Verdict{fail, pathNAT, 1}
			e.Deciding = []HopRef{{hopTGWRouteTable, e.SpokeTGWRouteTableID}, {hopNAT, e.NATGatewayID}, {hopIGW, e.InternetGatewayID}}
			return e, err
		}},
		{"tgw-blackhole-default", func(ctx context.Context, c PathClients, l *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := hubScenario(ctx, c, l, "tgw-blackhole-default", octet, HubAndSpokeOptions{SpokeDefault: SpokeDefaultBlackhole})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopTGWRouteTable, e.SpokeTGWRouteTableID}}
			return e, err
		}},
		{"tgw-private-routes-only", func(ctx context.Context, c PathClients, l *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := hubScenario(ctx, c, l, "tgw-private-routes-only", octet, HubAndSpokeOptions{SpokeDefault: SpokeDefaultPrivateOnly})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopTGWRouteTable, e.SpokeTGWRouteTableID}}
			return e, err
		}},
		{"egress-attachment-subnet-no-default", func(ctx context.Context, c PathClients, l *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := hubScenario(ctx, c, l, "egress-attachment-subnet-no-default", octet, HubAndSpokeOptions{NoDefaultInAttachmentSubnet: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopTGWRouteTable, e.SpokeTGWRouteTableID}, {hopRouteTable, e.EgressAttachmentRouteTableID}}
			return e, err
		}},
		{"nat-subnet-without-igw-route", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "nat-subnet-without-igw-route", octet, localOptions{noIGWRoute: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopNAT, e.NATGatewayID}, {hopRouteTable, e.NATRouteTableID}}
			return e, err
		}},
		{"nat-igw-detached", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "nat-igw-detached", octet, localOptions{detachIGW: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopNAT, e.NATGatewayID}, {hopIGW, e.InternetGatewayID}}
			return e, err
		}},
		{"nat-subnet-nacl-denies-egress", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "nat-subnet-nacl-denies-egress", octet, localOptions{natSubnetDeny: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopNAT, e.NATGatewayID}, {hopACL, e.NetworkACLID}}
			return e, err
		}},
		{"default-halves-to-deleted-nat", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "default-halves-to-deleted-nat", octet, localOptions{halvesToDeletedNAT: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopNAT, e.DeletedNATGatewayID}}
			return e, err
		}},
		{"sg-prefix-list-open", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "sg-prefix-list-open", octet, localOptions{prefixList: []string{"0.0.0.0/0"}})
			e.Want = Verdict{fail, pathNAT, 1}
			e.Deciding = []HopRef{{hopNAT, e.NATGatewayID}, {hopIGW, e.InternetGatewayID}}
			return e, err
		}},
		{"sg-prefix-list-private", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "sg-prefix-list-private", octet, localOptions{prefixList: []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}})
			e.Want = Verdict{pass, noPath, 0}
			return e, err
		}},
		{"sg-egress-to-group-only", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "sg-egress-to-group-only", octet, localOptions{egressToGroup: true})
			e.Want = Verdict{pass, noPath, 0}
			return e, err
		}},
		{"private-nat", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "private-nat", octet, localOptions{privateNAT: true})
			e.Want = Verdict{pass, noPath, 0}
			e.Deciding = []HopRef{{hopNAT, e.NATGatewayID}}
			return e, err
		}},
		{"replaced-main-route-table", func(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
			e, err := localScenario(ctx, c, "replaced-main-route-table", octet, localOptions{viaReplacedMain: true})
			e.Want = Verdict{fail, pathNAT, 1}
			e.Deciding = []HopRef{{hopRouteTable, e.RouteTableID}, {hopNAT, e.NATGatewayID}, {hopIGW, e.InternetGatewayID}}
			return e, err
		}},
		{"peering-to-vpc-with-igw", peeringScenario},
	}
}

// SpokeDefault is where a hub-and-spoke estate's spoke route table sends
// public traffic.
type SpokeDefault int

const (
	// SpokeDefaultEgress routes 0.0.0.0/0 to the egress VPC's attachment.
	SpokeDefaultEgress SpokeDefault = iota
	// SpokeDefaultBlackhole drops 0.0.0.0/0.
	SpokeDefaultBlackhole
	// SpokeDefaultPrivateOnly routes only 10.0.0.0/8, to the egress VPC.
	SpokeDefaultPrivateOnly
)

// HubAndSpokeOptions shape BuildHubAndSpoke's estate.
type HubAndSpokeOptions struct {
	// Octet places the estate: spoke i in 10.<Octet+i>.0.0/16, the egress
	// VPC in 10.<Octet+Spokes>.0.0/16. Default 20.
	Octet int
	// Spokes is the number of spoke VPCs (default 1); NotebooksPerSpoke
	// the notebooks in each (default 1), named NamePrefix, or
	// "<NamePrefix>-s<spoke>-<n>" when there are several.
	Spokes            int
	NotebooksPerSpoke int
	NamePrefix        string
	SpokeDefault      SpokeDefault
	// NoDefaultInAttachmentSubnet leaves the egress VPC's attachment
	// subnet without a route for public destinations.
	NoDefaultInAttachmentSubnet bool
	// PrefixList, when set, adds egress to a customer-managed prefix list
	// holding these CIDRs to every spoke's notebook security group.
	PrefixList []string
}

// HubAndSpoke is a transit gateway with spoke VPCs holding notebooks and
// one egress VPC with a NAT gateway and an internet gateway.
type HubAndSpoke struct {
	TransitGatewayID string
	// SpokeTableID routes traffic from every spoke; EgressTableID routes
	// traffic from the egress VPC back to the spokes.
	SpokeTableID  string
	EgressTableID string

	EgressVPCID                  string
	EgressAttachmentID           string
	EgressAttachmentSubnetID     string
	EgressAttachmentRouteTableID string
	NATGatewayID                 string
	NATSubnetID                  string
	NATRouteTableID              string
	InternetGatewayID            string
	PrefixListID                 string

	Spokes []Spoke
}

// Spoke is one spoke VPC of a HubAndSpoke.
type Spoke struct {
	VPCID string
	// The notebooks' subnet, its route table (0.0.0.0/0 to the transit
	// gateway) and the notebooks' security group (egress to 0.0.0.0/0).
	SubnetID        string
	RouteTableID    string
	SecurityGroupID string
	// The attachment and its own subnet (same Availability Zone).
	AttachmentID       string
	AttachmentSubnetID string
	Notebooks          []string
	NotebookARNs       []string
}

// pathZone is the Availability Zone of every scenario subnet: the transit
// gateway hop prefers an attachment subnet in the traffic's zone.
const pathZone = Region + "a"

// BuildHubAndSpoke builds a hub-and-spoke estate: each spoke's notebook
// subnet routes 0.0.0.0/0 to the transit gateway; the spokes' attachments
// are associated with a spoke route table that sends 0.0.0.0/0 to the
// egress VPC's attachment (opts.SpokeDefault); the egress VPC's
// attachment subnet routes 0.0.0.0/0 to a public NAT gateway whose subnet
// routes it to an attached internet gateway; traffic back to 10.0.0.0/8
// goes to the transit gateway, whose egress route table holds a route to
// each spoke.
func BuildHubAndSpoke(ctx context.Context, c PathClients, l *TransitGatewayLedger, opts HubAndSpokeOptions) (HubAndSpoke, error) {
	var h HubAndSpoke
	if opts.Octet == 0 {
		opts.Octet = 20
	}
	opts.Spokes = max(opts.Spokes, 1)
	opts.NotebooksPerSpoke = max(opts.NotebooksPerSpoke, 1)
	if opts.NamePrefix == "" {
		opts.NamePrefix = "hub"
	}
	if opts.Octet+opts.Spokes > 255 {
		return h, fmt.Errorf("hub and spoke: octet %d with %d spokes leaves 10.0.0.0/8", opts.Octet, opts.Spokes)
	}
	ec := c.EC2
	var err error
	if h.TransitGatewayID, err = CreateTransitGateway(ctx, ec); err != nil {
		return h, err
	}
	if h.SpokeTableID, err = CreateTransitGatewayRouteTable(ctx, ec, h.TransitGatewayID); err != nil {
		return h, err
	}
	if h.EgressTableID, err = CreateTransitGatewayRouteTable(ctx, ec, h.TransitGatewayID); err != nil {
		return h, err
	}
	if err := buildEgressVPC(ctx, ec, l, &h, opts); err != nil {
		return h, err
	}
	switch opts.SpokeDefault {
	case SpokeDefaultEgress:
		err = CreateTransitGatewayRoute(ctx, ec, l, h.SpokeTableID, "0.0.0.0/0", h.EgressAttachmentID)
	case SpokeDefaultBlackhole:
		err = CreateTransitGatewayBlackholeRoute(ctx, ec, l, h.SpokeTableID, "0.0.0.0/0")
	case SpokeDefaultPrivateOnly:
		err = CreateTransitGatewayRoute(ctx, ec, l, h.SpokeTableID, "10.0.0.0/8", h.EgressAttachmentID)
	}
	if err != nil {
		return h, err
	}
	if len(opts.PrefixList) > 0 {
		if h.PrefixListID, err = CreateManagedPrefixList(ctx, ec, opts.NamePrefix+"-egress", opts.PrefixList...); err != nil {
			return h, err
		}
	}
	for i := range opts.Spokes {
		s, err := buildSpoke(ctx, c, l, &h, opts, i)
		if err != nil {
			return h, err
		}
		h.Spokes = append(h.Spokes, s)
	}
	return h, nil
}

// buildEgressVPC builds h's egress VPC: an attachment subnet, a public
// subnet with the NAT gateway, the internet gateway, their route tables,
// and its attachment, associated with h's egress table.
func buildEgressVPC(ctx context.Context, ec *ec2.Client, l *TransitGatewayLedger, h *HubAndSpoke, opts HubAndSpokeOptions) error {
	base := fmt.Sprintf("10.%d.", opts.Octet+opts.Spokes)
	var err error
	if h.EgressVPCID, err = CreateVPC(ctx, ec, base+"0.0/16"); err != nil {
		return err
	}
	if h.InternetGatewayID, err = CreateInternetGateway(ctx, ec, h.EgressVPCID); err != nil {
		return err
	}
	if h.EgressAttachmentSubnetID, err = CreateSubnetInZone(ctx, ec, h.EgressVPCID, base+"0.0/24", pathZone); err != nil {
		return err
	}
	if h.NATSubnetID, err = CreateSubnetInZone(ctx, ec, h.EgressVPCID, base+"1.0/24", pathZone); err != nil {
		return err
	}
	if h.NATRouteTableID, err = CreateRouteTable(ctx, ec, h.EgressVPCID, h.NATSubnetID); err != nil {
		return err
	}
	if err := AddRoute(ctx, ec, h.NATRouteTableID, "0.0.0.0/0", h.InternetGatewayID); err != nil {
		return err
	}
	if h.NATGatewayID, err = CreateNATGateway(ctx, ec, h.NATSubnetID); err != nil {
		return err
	}
	if h.EgressAttachmentRouteTableID, err = CreateRouteTable(ctx, ec, h.EgressVPCID, h.EgressAttachmentSubnetID); err != nil {
		return err
	}
	if !opts.NoDefaultInAttachmentSubnet {
		if err := AddRoute(ctx, ec, h.EgressAttachmentRouteTableID, "0.0.0.0/0", h.NATGatewayID); err != nil {
			return err
		}
	}
	// Replies to the spokes go back through the transit gateway.
	for _, rtb := range []string{h.NATRouteTableID, h.EgressAttachmentRouteTableID} {
		if err := AddRoute(ctx, ec, rtb, "10.0.0.0/8", h.TransitGatewayID); err != nil {
			return err
		}
	}
	if h.EgressAttachmentID, err = CreateTransitGatewayVPCAttachment(ctx, ec, h.TransitGatewayID, h.EgressVPCID, h.EgressAttachmentSubnetID); err != nil {
		return err
	}
	return AssociateTransitGatewayRouteTable(ctx, ec, l, h.EgressAttachmentID, h.EgressTableID)
}

// buildSpoke builds spoke i of h and its notebooks.
func buildSpoke(ctx context.Context, c PathClients, l *TransitGatewayLedger, h *HubAndSpoke, opts HubAndSpokeOptions, i int) (Spoke, error) {
	ec := c.EC2
	var s Spoke
	base := fmt.Sprintf("10.%d.", opts.Octet+i)
	var err error
	if s.VPCID, err = CreateVPC(ctx, ec, base+"0.0/16"); err != nil {
		return s, err
	}
	if s.AttachmentSubnetID, err = CreateSubnetInZone(ctx, ec, s.VPCID, base+"0.0/24", pathZone); err != nil {
		return s, err
	}
	if s.SubnetID, err = CreateSubnetInZone(ctx, ec, s.VPCID, base+"1.0/24", pathZone); err != nil {
		return s, err
	}
	if s.AttachmentID, err = CreateTransitGatewayVPCAttachment(ctx, ec, h.TransitGatewayID, s.VPCID, s.AttachmentSubnetID); err != nil {
		return s, err
	}
	if err := AssociateTransitGatewayRouteTable(ctx, ec, l, s.AttachmentID, h.SpokeTableID); err != nil {
		return s, err
	}
	if err := CreateTransitGatewayRoute(ctx, ec, l, h.EgressTableID, base+"0.0/16", s.AttachmentID); err != nil {
		return s, err
	}
	if s.RouteTableID, err = CreateRouteTable(ctx, ec, s.VPCID, s.SubnetID); err != nil {
		return s, err
	}
	if err := AddRoute(ctx, ec, s.RouteTableID, "0.0.0.0/0", h.TransitGatewayID); err != nil {
		return s, err
	}
	egress := []Perm{AllTraffic("0.0.0.0/0")}
	if h.PrefixListID != "" {
		egress = append(egress, PrefixListTraffic(h.PrefixListID))
	}
	if s.SecurityGroupID, err = CreateSecurityGroup(ctx, ec, s.VPCID, SecurityGroup{
		Name: "notebooks", RevokeDefaultEgress: true, Egress: egress,
	}); err != nil {
		return s, err
	}
	for n := range opts.NotebooksPerSpoke {
		name := opts.NamePrefix
		if opts.Spokes > 1 || opts.NotebooksPerSpoke > 1 {
			name = fmt.Sprintf("%s-s%d-%03d", opts.NamePrefix, i, n)
		}
		arn, err := CreateNotebook(ctx, c.SageMaker, Notebook{
			Name: name, SubnetID: s.SubnetID, SecurityGroupIDs: []string{s.SecurityGroupID}, DirectInternetAccess: "Disabled",
		})
		if err != nil {
			return s, err
		}
		s.Notebooks = append(s.Notebooks, name)
		s.NotebookARNs = append(s.NotebookARNs, arn)
	}
	return s, nil
}

// hubScenario builds a one-spoke, one-notebook hub-and-spoke estate.
func hubScenario(ctx context.Context, c PathClients, l *TransitGatewayLedger, name string, octet int, opts HubAndSpokeOptions) (PathEstate, error) {
	opts.Octet, opts.Spokes, opts.NotebooksPerSpoke, opts.NamePrefix = octet, 1, 1, name
	h, err := BuildHubAndSpoke(ctx, c, l, opts)
	e := PathEstate{
		Name:                         name,
		TransitGatewayID:             h.TransitGatewayID,
		EgressVPCID:                  h.EgressVPCID,
		EgressAttachmentID:           h.EgressAttachmentID,
		SpokeTGWRouteTableID:         h.SpokeTableID,
		EgressTGWRouteTableID:        h.EgressTableID,
		EgressAttachmentSubnetID:     h.EgressAttachmentSubnetID,
		EgressAttachmentRouteTableID: h.EgressAttachmentRouteTableID,
		NATGatewayID:                 h.NATGatewayID,
		NATSubnetID:                  h.NATSubnetID,
		NATRouteTableID:              h.NATRouteTableID,
		InternetGatewayID:            h.InternetGatewayID,
		PrefixListID:                 h.PrefixListID,
	}
	if err != nil {
		return e, fmt.Errorf("scenario %s: %w", name, err)
	}
	s := h.Spokes[0]
	e.NotebookARN = s.NotebookARNs[0]
	e.VPCID, e.SubnetID, e.RouteTableID, e.SecurityGroupID = s.VPCID, s.SubnetID, s.RouteTableID, s.SecurityGroupID
	e.SpokeAttachmentID, e.SpokeAttachmentSubnetID = s.AttachmentID, s.AttachmentSubnetID
	return e, nil
}

// localOptions pick the variation of a one-VPC estate whose notebook
// subnet routes 0.0.0.0/0 to a NAT gateway in the VPC's public subnet.
type localOptions struct {
	noIGWRoute         bool     // the NAT's subnet has no route to the internet gateway
	detachIGW          bool     // the internet gateway is detached after the routes are made
	natSubnetDeny      bool     // the NAT subnet's ACL denies outbound public traffic
	halvesToDeletedNAT bool     // 0.0.0.0/1 and 128.0.0.0/1 go to a NAT gateway deleted since
	prefixList         []string // the notebook's group allows egress only to a list of these
	egressToGroup      bool     // the notebook's group allows egress only to another group
	privateNAT         bool     // the only NAT is private (its subnet routes to the IGW)
	viaReplacedMain    bool     // the notebook subnet uses the main table, replaced by one to the NAT
}

// localScenario builds a VPC with an internet gateway, a public subnet
// holding a NAT gateway, and a notebook subnet routing 0.0.0.0/0 to it,
// varied by o.
func localScenario(ctx context.Context, c PathClients, name string, octet int, o localOptions) (PathEstate, error) {
	e := PathEstate{Name: name}
	err := buildLocal(ctx, c, &e, octet, o)
	if err != nil {
		return e, fmt.Errorf("scenario %s: %w", name, err)
	}
	return e, nil
}

func buildLocal(ctx context.Context, c PathClients, e *PathEstate, octet int, o localOptions) error {
	ec := c.EC2
	base := fmt.Sprintf("10.%d.", octet)
	var err error
	if e.VPCID, err = CreateVPC(ctx, ec, base+"0.0/16"); err != nil {
		return err
	}
	if e.InternetGatewayID, err = CreateInternetGateway(ctx, ec, e.VPCID); err != nil {
		return err
	}
	if e.NATSubnetID, err = CreateSubnetInZone(ctx, ec, e.VPCID, base+"0.0/24", pathZone); err != nil {
		return err
	}
	if e.SubnetID, err = CreateSubnetInZone(ctx, ec, e.VPCID, base+"1.0/24", pathZone); err != nil {
		return err
	}
	if e.NATRouteTableID, err = CreateRouteTable(ctx, ec, e.VPCID, e.NATSubnetID); err != nil {
		return err
	}
	if !o.noIGWRoute {
		if err := AddRoute(ctx, ec, e.NATRouteTableID, "0.0.0.0/0", e.InternetGatewayID); err != nil {
			return err
		}
	}
	if o.privateNAT {
		e.NATGatewayID, err = CreatePrivateNATGateway(ctx, ec, e.NATSubnetID)
	} else {
		e.NATGatewayID, err = CreateNATGateway(ctx, ec, e.NATSubnetID)
	}
	if err != nil {
		return err
	}

	if o.viaReplacedMain {
		// No explicit association: the subnet follows the main table.
		if e.RouteTableID, err = CreateRouteTable(ctx, ec, e.VPCID); err != nil {
			return err
		}
		if err := AddRoute(ctx, ec, e.RouteTableID, "0.0.0.0/0", e.NATGatewayID); err != nil {
			return err
		}
		if err := ReplaceMainRouteTable(ctx, ec, e.VPCID, e.RouteTableID); err != nil {
			return err
		}
	} else {
		if e.RouteTableID, err = CreateRouteTable(ctx, ec, e.VPCID, e.SubnetID); err != nil {
			return err
		}
		if err := AddRoute(ctx, ec, e.RouteTableID, "0.0.0.0/0", e.NATGatewayID); err != nil {
			return err
		}
	}
	if o.halvesToDeletedNAT {
		if e.DeletedNATGatewayID, err = CreateNATGateway(ctx, ec, e.NATSubnetID); err != nil {
			return err
		}
		for _, half := range []string{"0.0.0.0/1", "128.0.0.0/1"} {
			if err := AddRoute(ctx, ec, e.RouteTableID, half, e.DeletedNATGatewayID); err != nil {
				return err
			}
		}
		if err := DeleteNATGateway(ctx, ec, e.DeletedNATGatewayID); err != nil {
			return err
		}
	}
	if o.natSubnetDeny {
		// Traffic within 10.0.0.0/8 stays allowed: only the way out is shut.
		if e.NetworkACLID, err = CreateNetworkACL(ctx, ec, e.VPCID, []ACLRule{
			{Number: 90, Egress: true, Allow: true, Protocol: "-1", CIDR: "10.0.0.0/8"},
			{Number: 100, Egress: true, Allow: false, Protocol: "-1", CIDR: "0.0.0.0/0"},
			{Number: 100, Egress: false, Allow: true, Protocol: "-1", CIDR: "0.0.0.0/0"},
		}, e.NATSubnetID); err != nil {
			return err
		}
	}
	if o.detachIGW {
		if err := DetachInternetGateway(ctx, ec, e.InternetGatewayID, e.VPCID); err != nil {
			return err
		}
	}

	egress := []Perm{AllTraffic("0.0.0.0/0")}
	switch {
	case len(o.prefixList) > 0:
		if e.PrefixListID, err = CreateManagedPrefixList(ctx, ec, e.Name+"-egress", o.prefixList...); err != nil {
			return err
		}
		egress = []Perm{PrefixListTraffic(e.PrefixListID)}
	case o.egressToGroup:
		if e.PeerSecurityGroupID, err = CreateSecurityGroup(ctx, ec, e.VPCID, SecurityGroup{Name: "egress-proxy"}); err != nil {
			return err
		}
		egress = []Perm{GroupTraffic(e.PeerSecurityGroupID)}
	}
	return createScenarioNotebook(ctx, c, e, egress)
}

// createScenarioNotebook creates e's notebook security group (egress as
// given, nothing else) and its notebook in e.SubnetID.
func createScenarioNotebook(ctx context.Context, c PathClients, e *PathEstate, egress []Perm) error {
	var err error
	if e.SecurityGroupID, err = CreateSecurityGroup(ctx, c.EC2, e.VPCID, SecurityGroup{
		Name: "notebook", RevokeDefaultEgress: true, Egress: egress,
	}); err != nil {
		return err
	}
	e.NotebookARN, err = CreateNotebook(ctx, c.SageMaker, Notebook{
		Name: e.Name, SubnetID: e.SubnetID, SecurityGroupIDs: []string{e.SecurityGroupID}, DirectInternetAccess: "Disabled",
	})
	return err
}

// peeringScenario: the notebook subnet routes 0.0.0.0/0 to an accepted
// peering with a VPC that has an internet gateway and a NAT gateway.
// Peering is not transitive: no internet path.
func peeringScenario(ctx context.Context, c PathClients, _ *TransitGatewayLedger, octet int) (PathEstate, error) {
	e := PathEstate{Name: "peering-to-vpc-with-igw", Want: Verdict{pass, noPath, 0}}
	err := func() error {
		ec := c.EC2
		base := fmt.Sprintf("10.%d.", octet)
		var err error
		if e.VPCID, err = CreateVPC(ctx, ec, base+"0.0/16"); err != nil {
			return err
		}
		if e.SubnetID, err = CreateSubnetInZone(ctx, ec, e.VPCID, base+"1.0/24", pathZone); err != nil {
			return err
		}
		peer, err := CreateNetwork(ctx, ec, fmt.Sprintf("10.%d.0.0/16", octet+1))
		if err != nil {
			return err
		}
		e.PeerVPCID, e.InternetGatewayID, e.NATGatewayID = peer.VPCID, peer.InternetGatewayID, peer.NATGatewayID
		e.NATSubnetID, e.NATRouteTableID = peer.PublicSubnetID, peer.PublicRouteTableID
		if e.PeeringConnectionID, err = CreatePeering(ctx, ec, e.VPCID, peer.VPCID); err != nil {
			return err
		}
		if err := AcceptPeering(ctx, ec, e.PeeringConnectionID); err != nil {
			return err
		}
		if e.RouteTableID, err = CreateRouteTable(ctx, ec, e.VPCID, e.SubnetID); err != nil {
			return err
		}
		if err := AddRoute(ctx, ec, e.RouteTableID, "0.0.0.0/0", e.PeeringConnectionID); err != nil {
			return err
		}
		// The peer routes replies back, as a working peering would.
		for _, rtb := range []string{peer.PublicRouteTableID, peer.PrivateRouteTableID} {
			if err := AddRoute(ctx, ec, rtb, base+"0.0/16", e.PeeringConnectionID); err != nil {
				return err
			}
		}
		return createScenarioNotebook(ctx, c, &e, []Perm{AllTraffic("0.0.0.0/0")})
	}()
	if err != nil {
		return e, fmt.Errorf("scenario %s: %w", e.Name, err)
	}
	e.Deciding = []HopRef{{hopPeering, e.PeeringConnectionID}}
	return e, nil
}

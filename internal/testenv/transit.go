package testenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Transit gateway builders: route tables, VPC and VPN attachments,
// associations, propagations and static routes. moto 5.2 keeps what they
// create but reports some of it wrongly (MOTO-NOTES.md): the builders write
// what they asked for into a TransitGatewayLedger, from which
// MotoTransitGatewayFixes corrects moto's answers in the fault proxy. moto
// also turns no propagation into routes: a table only holds the static
// routes a test creates.

// TransitGatewayLedger records what the transit gateway builders asked of
// moto that moto then reports wrongly: the target attachment of each
// static route and the route table each attachment was associated with.
// A nil ledger records nothing. It is safe for concurrent use.
type TransitGatewayLedger struct {
	mu           sync.Mutex
	routes       map[tgwRouteKey]TransitGatewayRouteTarget
	associations map[string]string // attachment ID -> route table ID
}

type tgwRouteKey struct{ routeTable, destination string }

// TransitGatewayRouteTarget is the attachment a static transit gateway
// route sends traffic to.
type TransitGatewayRouteTarget struct {
	AttachmentID string
	// ResourceType is the attachment's: vpc, vpn, peering, ...
	ResourceType string
	ResourceID   string
}

// NewTransitGatewayLedger returns an empty ledger.
func NewTransitGatewayLedger() *TransitGatewayLedger {
	return &TransitGatewayLedger{routes: map[tgwRouteKey]TransitGatewayRouteTarget{}, associations: map[string]string{}}
}

// RecordRoute records that routeTableID sends destination (a CIDR) to t.
// A test that creates routes without CreateTransitGatewayRoute records
// them here.
func (l *TransitGatewayLedger) RecordRoute(routeTableID, destination string, t TransitGatewayRouteTarget) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routes[tgwRouteKey{routeTableID, destination}] = t
}

// forgetRoute drops a route's target: a blackhole route replaced it.
func (l *TransitGatewayLedger) forgetRoute(routeTableID, destination string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.routes, tgwRouteKey{routeTableID, destination})
}

// RouteTarget returns the recorded target of routeTableID's route to
// destination.
func (l *TransitGatewayLedger) RouteTarget(routeTableID, destination string) (TransitGatewayRouteTarget, bool) {
	if l == nil {
		return TransitGatewayRouteTarget{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.routes[tgwRouteKey{routeTableID, destination}]
	return t, ok
}

// RecordAssociation records that attachmentID is associated with
// routeTableID (and so with no other table).
func (l *TransitGatewayLedger) RecordAssociation(attachmentID, routeTableID string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.associations[attachmentID] = routeTableID
}

// Association returns the route table recorded for attachmentID.
func (l *TransitGatewayLedger) Association(attachmentID string) (string, bool) {
	if l == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	rt, ok := l.associations[attachmentID]
	return rt, ok
}

// DefaultTransitGatewayRouteTable returns the route table tgwID associates
// new attachments with.
func DefaultTransitGatewayRouteTable(ctx context.Context, c *ec2.Client, tgwID string) (string, error) {
	out, err := c.DescribeTransitGateways(ctx, &ec2.DescribeTransitGatewaysInput{TransitGatewayIds: []string{tgwID}})
	if err != nil {
		return "", fmt.Errorf("describe transit gateway %s: %w", tgwID, err)
	}
	if len(out.TransitGateways) != 1 || out.TransitGateways[0].Options == nil {
		return "", fmt.Errorf("describe transit gateway %s: %d found", tgwID, len(out.TransitGateways))
	}
	id := aws.ToString(out.TransitGateways[0].Options.AssociationDefaultRouteTableId)
	if id == "" {
		return "", fmt.Errorf("transit gateway %s has no default route table", tgwID)
	}
	return id, nil
}

// CreateTransitGatewayRouteTable creates a route table, with no routes, in
// tgwID.
func CreateTransitGatewayRouteTable(ctx context.Context, c *ec2.Client, tgwID string) (string, error) {
	token, tags := newToken(ec2types.ResourceTypeTransitGatewayRouteTable)
	out, err := c.CreateTransitGatewayRouteTable(ctx, &ec2.CreateTransitGatewayRouteTableInput{
		TransitGatewayId: aws.String(tgwID), TagSpecifications: tags,
	})
	if err != nil {
		return "", fmt.Errorf("create route table in transit gateway %s: %w", tgwID, err)
	}
	id := aws.ToString(out.TransitGatewayRouteTable.TransitGatewayRouteTableId)
	return id, dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeTransitGatewayRouteTable, token, id)
}

// CreateTransitGatewayVPCAttachment attaches vpcID to tgwID through
// subnetIDs (one per Availability Zone the VPC uses the transit gateway
// from). The attachment is associated with the transit gateway's default
// route table, and propagates to it, until told otherwise.
func CreateTransitGatewayVPCAttachment(ctx context.Context, c *ec2.Client, tgwID, vpcID string, subnetIDs ...string) (string, error) {
	out, err := c.CreateTransitGatewayVpcAttachment(ctx, &ec2.CreateTransitGatewayVpcAttachmentInput{
		TransitGatewayId: aws.String(tgwID), VpcId: aws.String(vpcID), SubnetIds: subnetIDs,
	})
	switch {
	case alreadyDone(err, "DuplicateTransitGatewayAttachment"):
		// A retry after a lost answer: the first attempt's attachment.
		d, derr := c.DescribeTransitGatewayVpcAttachments(ctx, &ec2.DescribeTransitGatewayVpcAttachmentsInput{
			Filters: filters("transit-gateway-id", tgwID, "vpc-id", vpcID),
		})
		if derr != nil {
			return "", fmt.Errorf("find the attachment of %s to %s a retried create made: %w", vpcID, tgwID, derr)
		}
		for _, a := range d.TransitGatewayVpcAttachments {
			if a.State != ec2types.TransitGatewayAttachmentStateDeleted {
				return aws.ToString(a.TransitGatewayAttachmentId), nil
			}
		}
		return "", fmt.Errorf("attach %s to %s: %w, and no attachment found", vpcID, tgwID, err)
	case err != nil:
		return "", fmt.Errorf("attach %s to %s: %w", vpcID, tgwID, err)
	}
	return aws.ToString(out.TransitGatewayVpcAttachment.TransitGatewayAttachmentId), nil
}

// CreateTransitGatewayVPNAttachment creates a customer gateway and a
// site-to-site VPN connection on tgwID, which attaches the VPN to the
// transit gateway (resource type vpn). It returns the VPN connection's ID
// and its attachment's. A retried create's extra customer gateway is left
// unused; its extra VPN connection is deleted.
func CreateTransitGatewayVPNAttachment(ctx context.Context, c *ec2.Client, tgwID string) (vpnID, attachmentID string, err error) {
	cgw, err := c.CreateCustomerGateway(ctx, &ec2.CreateCustomerGatewayInput{
		Type: ec2types.GatewayTypeIpsec1, BgpAsn: aws.Int32(65010), IpAddress: aws.String("198.51.100.10"),
	})
	if err != nil {
		return "", "", fmt.Errorf("create customer gateway for a VPN to %s: %w", tgwID, err)
	}
	token, tags := newToken(ec2types.ResourceTypeVpnConnection)
	out, err := c.CreateVpnConnection(ctx, &ec2.CreateVpnConnectionInput{
		Type: aws.String("ipsec.1"), CustomerGatewayId: cgw.CustomerGateway.CustomerGatewayId,
		TransitGatewayId: aws.String(tgwID), TagSpecifications: tags,
	})
	if err != nil {
		return "", "", fmt.Errorf("create VPN connection to %s: %w", tgwID, err)
	}
	vpnID = aws.ToString(out.VpnConnection.VpnConnectionId)
	if err := dropExtras(ctx, c, out.ResultMetadata, ec2types.ResourceTypeVpnConnection, token, vpnID); err != nil {
		return "", "", err
	}
	d, err := c.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{
		Filters: filters("transit-gateway-id", tgwID, "resource-id", vpnID),
	})
	if err != nil {
		return "", "", fmt.Errorf("find the attachment of VPN %s: %w", vpnID, err)
	}
	for _, a := range d.TransitGatewayAttachments {
		if a.State != ec2types.TransitGatewayAttachmentStateDeleted {
			return vpnID, aws.ToString(a.TransitGatewayAttachmentId), nil
		}
	}
	return "", "", fmt.Errorf("VPN %s has no attachment to %s", vpnID, tgwID)
}

// AssociateTransitGatewayRouteTable makes routeTableID the table that
// routes traffic arriving from attachmentID, and records it in l. AWS
// refuses to associate an attachment that already is associated (with
// the default table, by default): that one is disassociated first. moto
// accepts the association as is.
func AssociateTransitGatewayRouteTable(ctx context.Context, c *ec2.Client, l *TransitGatewayLedger, attachmentID, routeTableID string) error {
	associate := func() error {
		_, err := c.AssociateTransitGatewayRouteTable(ctx, &ec2.AssociateTransitGatewayRouteTableInput{
			TransitGatewayAttachmentId: aws.String(attachmentID), TransitGatewayRouteTableId: aws.String(routeTableID),
		})
		return err
	}
	err := associate()
	if alreadyDone(err, "Resource.AlreadyAssociated") {
		cur, cerr := tgwAssociation(ctx, c, attachmentID)
		switch {
		case cerr != nil:
			return cerr
		case cur == routeTableID: // a retry of a call that worked
			err = nil
		default:
			if _, derr := c.DisassociateTransitGatewayRouteTable(ctx, &ec2.DisassociateTransitGatewayRouteTableInput{
				TransitGatewayAttachmentId: aws.String(attachmentID), TransitGatewayRouteTableId: aws.String(cur),
			}); derr != nil {
				return fmt.Errorf("disassociate %s from %s: %w", attachmentID, cur, derr)
			}
			err = associate()
		}
	}
	if err != nil {
		return fmt.Errorf("associate %s with %s: %w", attachmentID, routeTableID, err)
	}
	l.RecordAssociation(attachmentID, routeTableID)
	return nil
}

// tgwAssociation returns the route table attachmentID is associated with,
// as the service reports it.
func tgwAssociation(ctx context.Context, c *ec2.Client, attachmentID string) (string, error) {
	a, err := tgwAttachment(ctx, c, attachmentID)
	if err != nil {
		return "", err
	}
	if a.Association == nil {
		return "", nil
	}
	return aws.ToString(a.Association.TransitGatewayRouteTableId), nil
}

func tgwAttachment(ctx context.Context, c *ec2.Client, attachmentID string) (ec2types.TransitGatewayAttachment, error) {
	d, err := c.DescribeTransitGatewayAttachments(ctx, &ec2.DescribeTransitGatewayAttachmentsInput{TransitGatewayAttachmentIds: []string{attachmentID}})
	if err != nil {
		return ec2types.TransitGatewayAttachment{}, fmt.Errorf("describe transit gateway attachment %s: %w", attachmentID, err)
	}
	if len(d.TransitGatewayAttachments) != 1 {
		return ec2types.TransitGatewayAttachment{}, fmt.Errorf("describe transit gateway attachment %s: %d found", attachmentID, len(d.TransitGatewayAttachments))
	}
	return d.TransitGatewayAttachments[0], nil
}

// EnableTransitGatewayPropagation makes attachmentID propagate its routes
// into routeTableID. moto records the propagation but creates no routes
// from it.
func EnableTransitGatewayPropagation(ctx context.Context, c *ec2.Client, attachmentID, routeTableID string) error {
	enable := func() (bool, error) {
		out, err := c.EnableTransitGatewayRouteTablePropagation(ctx, &ec2.EnableTransitGatewayRouteTablePropagationInput{
			TransitGatewayAttachmentId: aws.String(attachmentID), TransitGatewayRouteTableId: aws.String(routeTableID),
		})
		if alreadyDone(err, "TransitGatewayRouteTablePropagation.Duplicate") {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("propagate %s to %s: %w", attachmentID, routeTableID, err)
		}
		a, ok := retry.GetAttemptResults(out.ResultMetadata)
		return ok && len(a.Results) > 1, nil
	}
	// moto records a retried enable twice; disabling drops every copy.
	for range 3 {
		retried, err := enable()
		if err != nil || !retried {
			return err
		}
		n, err := tgwPropagations(ctx, c, attachmentID, routeTableID)
		if err != nil || n <= 1 {
			return err
		}
		if _, err := c.DisableTransitGatewayRouteTablePropagation(ctx, &ec2.DisableTransitGatewayRouteTablePropagationInput{
			TransitGatewayAttachmentId: aws.String(attachmentID), TransitGatewayRouteTableId: aws.String(routeTableID),
		}); err != nil {
			// A retried disable that worked: moto answers HTTP 500.
			if left, lerr := tgwPropagations(ctx, c, attachmentID, routeTableID); lerr != nil || left != 0 {
				return fmt.Errorf("drop the copies of the propagation of %s to %s: %w", attachmentID, routeTableID, err)
			}
		}
	}
	return fmt.Errorf("propagate %s to %s: every attempt was retried", attachmentID, routeTableID)
}

// tgwPropagations counts routeTableID's propagations from attachmentID.
func tgwPropagations(ctx context.Context, c *ec2.Client, attachmentID, routeTableID string) (int, error) {
	out, err := c.GetTransitGatewayRouteTablePropagations(ctx, &ec2.GetTransitGatewayRouteTablePropagationsInput{
		TransitGatewayRouteTableId: aws.String(routeTableID),
	})
	if err != nil {
		return 0, fmt.Errorf("read the propagations of %s: %w", routeTableID, err)
	}
	n := 0
	for _, p := range out.TransitGatewayRouteTablePropagations {
		if aws.ToString(p.TransitGatewayAttachmentId) == attachmentID {
			n++
		}
	}
	return n, nil
}

// CreateTransitGatewayRoute adds a static route for destination (an IPv4
// or IPv6 CIDR) to routeTableID towards attachmentID, and records its
// target in l (moto's SearchTransitGatewayRoutes leaves it out).
func CreateTransitGatewayRoute(ctx context.Context, c *ec2.Client, l *TransitGatewayLedger, routeTableID, destination, attachmentID string) error {
	a, err := tgwAttachment(ctx, c, attachmentID)
	if err != nil {
		return fmt.Errorf("route %s in %s: %w", destination, routeTableID, err)
	}
	if _, err := c.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{
		TransitGatewayRouteTableId: aws.String(routeTableID), DestinationCidrBlock: aws.String(destination),
		TransitGatewayAttachmentId: aws.String(attachmentID),
	}); err != nil && !alreadyDone(err, "RouteAlreadyExists") {
		return fmt.Errorf("route %s -> %s in %s: %w", destination, attachmentID, routeTableID, err)
	}
	l.RecordRoute(routeTableID, destination, TransitGatewayRouteTarget{
		AttachmentID: attachmentID, ResourceType: string(a.ResourceType), ResourceID: aws.ToString(a.ResourceId),
	})
	return nil
}

// CreateTransitGatewayBlackholeRoute adds a static route that drops
// traffic for destination in routeTableID.
func CreateTransitGatewayBlackholeRoute(ctx context.Context, c *ec2.Client, l *TransitGatewayLedger, routeTableID, destination string) error {
	if _, err := c.CreateTransitGatewayRoute(ctx, &ec2.CreateTransitGatewayRouteInput{
		TransitGatewayRouteTableId: aws.String(routeTableID), DestinationCidrBlock: aws.String(destination),
		Blackhole: aws.Bool(true),
	}); err != nil && !alreadyDone(err, "RouteAlreadyExists") {
		return fmt.Errorf("blackhole route %s in %s: %w", destination, routeTableID, err)
	}
	l.forgetRoute(routeTableID, destination)
	return nil
}

// TransitGatewayRoutes returns routeTableID's routes (active and
// blackhole) as SearchTransitGatewayRoutes reports them.
func TransitGatewayRoutes(ctx context.Context, c *ec2.Client, routeTableID string) ([]ec2types.TransitGatewayRoute, error) {
	out, err := c.SearchTransitGatewayRoutes(ctx, &ec2.SearchTransitGatewayRoutesInput{
		TransitGatewayRouteTableId: aws.String(routeTableID),
		Filters:                    []ec2types.Filter{{Name: aws.String("state"), Values: []string{"active", "blackhole"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("search the routes of %s: %w", routeTableID, err)
	}
	routes := out.Routes
	slices.SortFunc(routes, func(a, b ec2types.TransitGatewayRoute) int {
		return strings.Compare(aws.ToString(a.DestinationCidrBlock), aws.ToString(b.DestinationCidrBlock))
	})
	return routes, nil
}

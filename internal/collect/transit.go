package collect

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Transit gateways. A VPC's own account sees its attachments (round 2 of a
// region, readVPCs); the route tables, and every attachment with its
// association, live in the transit gateway's owner account, which the
// follow-up phase reads (readTransitGateways). The filters used are
// documented by AWS and implemented by moto: resource-id and
// transit-gateway-id for DescribeTransitGatewayAttachments, vpc-id and
// transit-gateway-id for DescribeTransitGatewayVpcAttachments,
// transit-gateway-id for DescribeTransitGatewayRouteTables and state for
// SearchTransitGatewayRoutes.

// readTGWAttachments reads every page of DescribeTransitGatewayAttachments.
func readTGWAttachments(ctx context.Context, ec EC2API, f []ec2types.Filter) ([]ec2types.TransitGatewayAttachment, error) {
	p := ec2.NewDescribeTransitGatewayAttachmentsPaginator(ec, &ec2.DescribeTransitGatewayAttachmentsInput{Filters: f})
	return readAll(ctx, p, func(o *ec2.DescribeTransitGatewayAttachmentsOutput) []ec2types.TransitGatewayAttachment {
		return o.TransitGatewayAttachments
	})
}

// readTGWVPCAttachments reads every page of
// DescribeTransitGatewayVpcAttachments.
func readTGWVPCAttachments(ctx context.Context, ec EC2API, f []ec2types.Filter) ([]ec2types.TransitGatewayVpcAttachment, error) {
	p := ec2.NewDescribeTransitGatewayVpcAttachmentsPaginator(ec, &ec2.DescribeTransitGatewayVpcAttachmentsInput{Filters: f})
	return readAll(ctx, p, func(o *ec2.DescribeTransitGatewayVpcAttachmentsOutput) []ec2types.TransitGatewayVpcAttachment {
		return o.TransitGatewayVpcAttachments
	})
}

// mapTGWAttachments joins the two reads: the attachments as
// DescribeTransitGatewayAttachments lists them (owners, state,
// association), each VPC attachment with its subnets. An attachment only
// the VPC attachments' read returned (created between the two calls) is
// left out: without its association it would read as associated with no
// route table.
func mapTGWAttachments(atts []ec2types.TransitGatewayAttachment, vpcAtts []ec2types.TransitGatewayVpcAttachment) []inventory.TransitGatewayAttachment {
	subnets := map[string][]string{}
	for _, v := range vpcAtts {
		id := aws.ToString(v.TransitGatewayAttachmentId)
		subnets[id] = sortedSet(subnets[id], v.SubnetIds)
	}
	out := make([]inventory.TransitGatewayAttachment, 0, len(atts))
	for _, a := range atts {
		id := aws.ToString(a.TransitGatewayAttachmentId)
		att := inventory.TransitGatewayAttachment{
			ID:                    id,
			TransitGatewayID:      aws.ToString(a.TransitGatewayId),
			TransitGatewayOwnerID: aws.ToString(a.TransitGatewayOwnerId),
			ResourceType:          string(a.ResourceType),
			ResourceID:            aws.ToString(a.ResourceId),
			ResourceOwnerID:       aws.ToString(a.ResourceOwnerId),
			State:                 string(a.State),
			SubnetIDs:             subnets[id],
		}
		if as := a.Association; as != nil {
			att.RouteTableID = aws.ToString(as.TransitGatewayRouteTableId)
			att.AssociationState = string(as.State)
		}
		out = append(out, att)
	}
	slices.SortFunc(out, func(a, b inventory.TransitGatewayAttachment) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(out, func(a, b inventory.TransitGatewayAttachment) bool { return a.ID == b.ID })
}

// tgwRead is what readTransitGateways learnt in the owner account.
type tgwRead struct {
	facts inventory.Region
	// covered is set when the attachments and the route tables were
	// described: the gateways' tables that are absent do not exist.
	covered bool
}

// readTransitGateways reads, in the account that owns them, the transit
// gateways tgwIDs: all their attachments (with the associations), their
// route tables, and each table's active and blackhole routes. That is
// three describes for the gateways together and one search per route
// table. A failed describe is recorded against each gateway, a failed
// search against its route table, which is then left out: a table
// without its routes would read as routing nothing.
func readTransitGateways(ctx context.Context, ec EC2API, rec *recorder, tgwIDs []string, opts Options) tgwRead {
	var (
		atts                       []ec2types.TransitGatewayAttachment
		vpcAtts                    []ec2types.TransitGatewayVpcAttachment
		tables                     []ec2types.TransitGatewayRouteTable
		attsErr, vpcErr, tablesErr error
	)
	each := failer{rec: rec, each: true}
	var g errgroup.Group
	g.SetLimit(opts.concurrency())
	g.Go(func() error {
		atts, attsErr = readChunked(ctx, tgwIDs, func(ctx context.Context, ids []string) ([]ec2types.TransitGatewayAttachment, error) {
			return readTGWAttachments(ctx, ec, filter("transit-gateway-id", ids))
		})
		if attsErr != nil {
			each.fail(awsop.DescribeTransitGatewayAttachments, tgwIDs, attsErr)
		}
		return nil
	})
	g.Go(func() error {
		vpcAtts, vpcErr = readChunked(ctx, tgwIDs, func(ctx context.Context, ids []string) ([]ec2types.TransitGatewayVpcAttachment, error) {
			return readTGWVPCAttachments(ctx, ec, filter("transit-gateway-id", ids))
		})
		if vpcErr != nil {
			each.fail(awsop.DescribeTransitGatewayVpcAttachments, tgwIDs, vpcErr)
		}
		return nil
	})
	g.Go(func() error {
		tables, tablesErr = readChunked(ctx, tgwIDs, func(ctx context.Context, ids []string) ([]ec2types.TransitGatewayRouteTable, error) {
			p := ec2.NewDescribeTransitGatewayRouteTablesPaginator(ec, &ec2.DescribeTransitGatewayRouteTablesInput{Filters: filter("transit-gateway-id", ids)})
			return readAll(ctx, p, func(o *ec2.DescribeTransitGatewayRouteTablesOutput) []ec2types.TransitGatewayRouteTable {
				return o.TransitGatewayRouteTables
			})
		})
		if tablesErr != nil {
			each.fail(awsop.DescribeTransitGatewayRouteTables, tgwIDs, tablesErr)
		}
		return nil
	})
	_ = g.Wait()

	var out tgwRead
	if attsErr == nil && vpcErr == nil {
		out.facts.TransitGatewayAttachments = mapTGWAttachments(atts, vpcAtts)
	}
	if tablesErr != nil {
		return out
	}
	out.covered = attsErr == nil && vpcErr == nil

	var mu sync.Mutex
	g = errgroup.Group{}
	g.SetLimit(opts.concurrency())
	for _, t := range tables {
		if t.State == ec2types.TransitGatewayRouteTableStateDeleted {
			continue // routes nothing; a search would fail
		}
		g.Go(func() error {
			id := aws.ToString(t.TransitGatewayRouteTableId)
			routes, truncated, err := searchTGWRoutes(ctx, ec, id)
			if err != nil {
				rec.fail(awsop.SearchTransitGatewayRoutes, id, err)
				return nil
			}
			mu.Lock()
			defer mu.Unlock()
			out.facts.TransitGatewayRouteTables = append(out.facts.TransitGatewayRouteTables, inventory.TransitGatewayRouteTable{
				ID:               id,
				TransitGatewayID: aws.ToString(t.TransitGatewayId),
				Routes:           routes,
				Truncated:        truncated,
			})
			return nil
		})
	}
	_ = g.Wait()
	slices.SortFunc(out.facts.TransitGatewayRouteTables, func(a, b inventory.TransitGatewayRouteTable) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// searchTGWRoutes reads every active and blackhole route of a transit
// gateway route table. MaxResults is left to the service's default (1000):
// moto 5.2 fails a search that sets it. A table with more routes than the
// search returned is truncated.
func searchTGWRoutes(ctx context.Context, ec EC2API, tableID string) ([]inventory.TransitGatewayRoute, bool, error) {
	p := ec2.NewSearchTransitGatewayRoutesPaginator(ec, &ec2.SearchTransitGatewayRoutesInput{
		TransitGatewayRouteTableId: aws.String(tableID),
		Filters:                    filter("state", []string{string(ec2types.TransitGatewayRouteStateActive), string(ec2types.TransitGatewayRouteStateBlackhole)}),
	})
	truncated := false
	routes, err := readAll(ctx, p, func(o *ec2.SearchTransitGatewayRoutesOutput) []ec2types.TransitGatewayRoute {
		truncated = aws.ToBool(o.AdditionalRoutesAvailable)
		return o.Routes
	})
	if err != nil {
		return nil, false, err
	}
	out := make([]inventory.TransitGatewayRoute, 0, len(routes))
	for _, rt := range routes {
		r := inventory.TransitGatewayRoute{
			DestinationCIDR: aws.ToString(rt.DestinationCidrBlock),
			PrefixListID:    aws.ToString(rt.PrefixListId),
			Type:            string(rt.Type),
			State:           string(rt.State),
		}
		for _, a := range rt.TransitGatewayAttachments {
			r.Attachments = append(r.Attachments, inventory.TransitGatewayRouteAttachment{
				ID:           aws.ToString(a.TransitGatewayAttachmentId),
				ResourceType: string(a.ResourceType),
				ResourceID:   aws.ToString(a.ResourceId),
			})
		}
		out = append(out, r)
	}
	return out, truncated, nil
}

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

// Managed prefix lists: the third round of a region's read, and of each
// follow-up read. A list is described (filter prefix-list-id, documented
// by AWS and implemented by moto); a customer-managed list's entries are
// read too, since it can hold any CIDR (0.0.0.0/0 included). An
// AWS-managed list (owner "AWS") stands for an AWS service's ranges: its
// entries are not read.

// awsOwner is the OwnerId of the AWS-managed prefix lists.
const awsOwner = "AWS"

// prefixListRefs returns the managed prefix lists that r's security group
// rules (ingress and egress), route tables and transit gateway route tables
// reference and r does not hold, and that no recorded failure names,
// sorted.
func prefixListRefs(r *inventory.Region) []string {
	var refs []string
	for _, sg := range r.SecurityGroups {
		for _, rule := range slices.Concat(sg.Ingress, sg.Egress) {
			refs = append(refs, rule.PrefixListIDs...)
		}
	}
	for _, t := range r.RouteTables {
		for _, rt := range t.Routes {
			refs = append(refs, rt.DestinationPrefixListID)
		}
	}
	for _, t := range r.TransitGatewayRouteTables {
		for _, rt := range t.Routes {
			refs = append(refs, rt.PrefixListID)
		}
	}
	known := map[string]bool{}
	for _, pl := range r.PrefixLists {
		known[pl.ID] = true
	}
	for _, e := range r.Errors {
		if e.Operation == awsop.DescribeManagedPrefixLists || e.Operation == awsop.GetManagedPrefixListEntries {
			known[e.Resource] = true
		}
	}
	return slices.DeleteFunc(sortedSet(refs), func(id string) bool { return known[id] })
}

// readPrefixLists describes the lists ids (one call per 200) and reads the
// entries of each customer-managed one (one paginated call each, at most
// opts.Concurrency at once). A failed describe is recorded by f (region-wide
// or naming each list); a list the describe did not return is NotFound; a
// list whose entries could not be read is recorded against it and left out,
// never kept with part of its entries.
func readPrefixLists(ctx context.Context, ec EC2API, f failer, ids []string, opts Options) []inventory.PrefixList {
	const op = awsop.DescribeManagedPrefixLists
	lists, err := readChunked(ctx, ids, func(ctx context.Context, c []string) ([]ec2types.ManagedPrefixList, error) {
		p := ec2.NewDescribeManagedPrefixListsPaginator(ec, &ec2.DescribeManagedPrefixListsInput{Filters: filter("prefix-list-id", c)})
		return readAll(ctx, p, func(o *ec2.DescribeManagedPrefixListsOutput) []ec2types.ManagedPrefixList { return o.PrefixLists })
	})
	if err != nil {
		f.fail(op, ids, err)
		return nil
	}
	var (
		mu  sync.Mutex
		out []inventory.PrefixList
		g   errgroup.Group
	)
	g.SetLimit(opts.concurrency())
	seen := map[string]bool{}
	for _, l := range lists {
		pl := inventory.PrefixList{
			ID:            aws.ToString(l.PrefixListId),
			Name:          aws.ToString(l.PrefixListName),
			OwnerID:       aws.ToString(l.OwnerId),
			AddressFamily: aws.ToString(l.AddressFamily),
			State:         string(l.State),
		}
		if seen[pl.ID] {
			continue
		}
		seen[pl.ID] = true
		if pl.AWSManaged() {
			mu.Lock()
			out = append(out, pl)
			mu.Unlock()
			continue
		}
		g.Go(func() error {
			entries, err := prefixListEntries(ctx, ec, pl.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				f.rec.fail(awsop.GetManagedPrefixListEntries, pl.ID, err)
				return nil
			}
			pl.Entries = entries
			out = append(out, pl)
			return nil
		})
	}
	_ = g.Wait()
	for _, id := range ids {
		if !seen[id] {
			f.rec.missing(op, id, "prefix list")
		}
	}
	slices.SortFunc(out, func(a, b inventory.PrefixList) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// prefixListEntries reads every entry (CIDR) of a customer-managed list,
// sorted, or fails as a whole.
func prefixListEntries(ctx context.Context, ec EC2API, id string) ([]string, error) {
	p := ec2.NewGetManagedPrefixListEntriesPaginator(ec, &ec2.GetManagedPrefixListEntriesInput{PrefixListId: aws.String(id)})
	entries, err := readAll(ctx, p, func(o *ec2.GetManagedPrefixListEntriesOutput) []ec2types.PrefixListEntry { return o.Entries })
	if err != nil {
		return nil, err
	}
	var cidrs []string
	for _, e := range entries {
		cidrs = append(cidrs, aws.ToString(e.Cidr))
	}
	slices.Sort(cidrs)
	return cidrs, nil
}

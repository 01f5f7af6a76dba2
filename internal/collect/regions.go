package collect

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/awsop"
)

// ErrUnknownRegion is matched (errors.Is) by the error for a requested
// region that is malformed or does not exist in the caller's partition: a
// usage error, nothing is read. It is awsclient's, so that a name the CLI
// refused and one collection refused are the same error.
var ErrUnknownRegion = awsclient.ErrUnknownRegion

// RegionList is what Regions decided to read.
type RegionList struct {
	// Enabled are the regions to read, sorted.
	Enabled []string
	// NotEnabled are requested regions that exist but are not enabled in
	// the account (opt-in regions not opted in). They cannot be read and
	// must be reported as errors, not dropped.
	NotEnabled []string
	// ListError is set when DescribeRegions failed and Enabled holds the
	// requested regions, checked only by name and partition.
	ListError error
}

// checkRegionNames sorts and de-duplicates requested regions and rejects
// malformed names.
func checkRegionNames(requested []string) ([]string, error) {
	req := sortedSet(requested)
	var bad []string
	for _, r := range req {
		if !awsclient.ValidRegion(r) {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s is not a region name (like us-east-1)", ErrUnknownRegion, strings.Join(bad, ", "))
	}
	return req, nil
}

// Regions decides which regions to read. Without requested regions that is
// every region enabled in the account (opt-in not required, or opted in)
// in the caller's partition. Requested regions must exist in the partition
// (else ErrUnknownRegion, naming them); those that exist but are not
// enabled come back in NotEnabled. When DescribeRegions fails and regions
// were requested, they are used after a check of their names and partition;
// when none were requested, the DescribeRegions error is returned. An empty
// partition means the caller's partition is unknown: no region is excluded
// for its partition.
func Regions(ctx context.Context, api RegionsAPI, partition string, requested []string) (RegionList, error) {
	req, err := checkRegionNames(requested)
	if err != nil {
		return RegionList{}, err
	}
	inPartition := func(r string) bool { return partition == "" || awsclient.PartitionOf(r) == partition }
	out, err := api.DescribeRegions(ctx, &ec2.DescribeRegionsInput{AllRegions: aws.Bool(true)})
	if err != nil {
		if len(req) == 0 {
			return RegionList{}, fmt.Errorf("list regions (%s): %w", awsop.DescribeRegions, err)
		}
		var other []string
		for _, r := range req {
			if !inPartition(r) {
				other = append(other, r)
			}
		}
		if len(other) > 0 {
			return RegionList{}, fmt.Errorf("%w: %s not in partition %s", ErrUnknownRegion, strings.Join(other, ", "), partition)
		}
		return RegionList{Enabled: req, ListError: err}, nil
	}

	enabled := map[string]bool{} // every known region of the partition
	for _, r := range out.Regions {
		name := aws.ToString(r.RegionName)
		if name == "" || !inPartition(name) {
			continue
		}
		switch aws.ToString(r.OptInStatus) {
		case "opt-in-not-required", "opted-in":
			enabled[name] = true
		default:
			enabled[name] = false
		}
	}
	var list RegionList
	if len(req) == 0 {
		for name, ok := range enabled {
			if ok {
				list.Enabled = append(list.Enabled, name)
			}
		}
		slices.Sort(list.Enabled)
		return list, nil
	}
	var unknown []string
	for _, r := range req {
		ok, known := enabled[r]
		switch {
		case !known:
			unknown = append(unknown, r)
		case ok:
			list.Enabled = append(list.Enabled, r)
		default:
			list.NotEnabled = append(list.NotEnabled, r)
		}
	}
	if len(unknown) > 0 {
		where := "this account's region list"
		if partition != "" {
			where = "partition " + partition
		}
		return RegionList{}, fmt.Errorf("%w: %s not in %s", ErrUnknownRegion, strings.Join(unknown, ", "), where)
	}
	return list, nil
}

package collect

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// listPageSize is the largest page ListNotebookInstances returns.
const listPageSize = 100

// collectNotebooks lists the region's notebook instances and describes and
// tags each, opts.Concurrency at a time, while the listing continues. A
// notebook whose describe or tags call fails keeps what the listing said
// about it and carries the error.
func collectNotebooks(ctx context.Context, sm SageMakerAPI, rec *recorder, opts Options) []inventory.Notebook {
	var (
		mu   sync.Mutex
		nbs  []inventory.Notebook
		seen = map[string]bool{}
		g    errgroup.Group
	)
	g.SetLimit(opts.concurrency())
	pages := sagemaker.NewListNotebookInstancesPaginator(sm, &sagemaker.ListNotebookInstancesInput{
		MaxResults: aws.Int32(listPageSize),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			// The notebooks of the pages not read are unknown: the whole
			// region's evaluation is incomplete.
			rec.fail(awsop.ListNotebookInstances, "", err)
			break
		}
		for _, s := range page.NotebookInstances {
			name := aws.ToString(s.NotebookInstanceName)
			// A notebook created while listing can shift pages and show
			// up twice.
			if name == "" || seen[name] {
				continue
			}
			seen[name] = true
			g.Go(func() error {
				nb := describeNotebook(ctx, sm, rec, s)
				mu.Lock()
				nbs = append(nbs, nb)
				mu.Unlock()
				return nil
			})
		}
	}
	_ = g.Wait() // failures are recorded on the notebooks
	slices.SortFunc(nbs, func(a, b inventory.Notebook) int { return strings.Compare(a.Name, b.Name) })
	if nbs == nil {
		nbs = []inventory.Notebook{}
	}
	return nbs
}

// describeNotebook reads one notebook: DescribeNotebookInstance for its
// settings (ListNotebookInstances does not return the network ones), then
// its tags.
func describeNotebook(ctx context.Context, sm SageMakerAPI, rec *recorder, s smtypes.NotebookInstanceSummary) inventory.Notebook {
	nb := inventory.Notebook{
		Name:                       aws.ToString(s.NotebookInstanceName),
		ARN:                        aws.ToString(s.NotebookInstanceArn),
		Status:                     string(s.NotebookInstanceStatus),
		InstanceType:               string(s.InstanceType),
		LifecycleConfigName:        aws.ToString(s.NotebookInstanceLifecycleConfigName),
		DefaultCodeRepository:      aws.ToString(s.DefaultCodeRepository),
		AdditionalCodeRepositories: s.AdditionalCodeRepositories,
		CreationTime:               s.CreationTime,
	}
	const describeOp = awsop.DescribeNotebookInstance
	if err := ctx.Err(); err != nil {
		nb.Error = rec.notebookError(describeOp, nb.Name, err)
		return nb
	}
	out, err := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: s.NotebookInstanceName})
	if err != nil {
		nb.Error = rec.notebookError(describeOp, nb.Name, err)
		return nb
	}
	mapNotebook(&nb, out)
	if nb.ARN == "" {
		nb.Error = &inventory.CollectError{
			AccountID: rec.account, Region: rec.region, Operation: describeOp, Resource: nb.Name,
			Message: "the notebook has no ARN, so its tags cannot be read",
		}
		return nb
	}
	tags, err := listTags(ctx, sm, nb.ARN)
	if err != nil {
		nb.Error = rec.notebookError(awsop.ListTags, nb.Name, err)
		return nb
	}
	nb.Tags = tags
	return nb
}

// mapNotebook copies every field of DescribeNotebookInstance the inventory
// keeps. Enumerations are copied as the API spells them; in particular an
// absent DirectInternetAccess stays empty (evaluated as ERROR), never
// defaulted.
func mapNotebook(nb *inventory.Notebook, out *sagemaker.DescribeNotebookInstanceOutput) {
	if v := aws.ToString(out.NotebookInstanceName); v != "" {
		nb.Name = v
	}
	if v := aws.ToString(out.NotebookInstanceArn); v != "" {
		nb.ARN = v
	}
	nb.Status = string(out.NotebookInstanceStatus)
	nb.DirectInternetAccess = string(out.DirectInternetAccess)
	nb.SubnetID = aws.ToString(out.SubnetId)
	nb.SecurityGroupIDs = slices.Clone(out.SecurityGroups)
	nb.NetworkInterfaceID = aws.ToString(out.NetworkInterfaceId)
	nb.IPAddressType = string(out.IpAddressType)
	nb.RootAccess = string(out.RootAccess)
	nb.InstanceType = string(out.InstanceType)
	nb.RoleARN = aws.ToString(out.RoleArn)
	nb.KMSKeyID = aws.ToString(out.KmsKeyId)
	nb.VolumeSizeInGB = aws.ToInt32(out.VolumeSizeInGB)
	nb.LifecycleConfigName = aws.ToString(out.NotebookInstanceLifecycleConfigName)
	nb.DefaultCodeRepository = aws.ToString(out.DefaultCodeRepository)
	nb.AdditionalCodeRepositories = slices.Clone(out.AdditionalCodeRepositories)
	nb.PlatformIdentifier = aws.ToString(out.PlatformIdentifier)
	nb.MinimumIMDSVersion = ""
	if c := out.InstanceMetadataServiceConfiguration; c != nil {
		nb.MinimumIMDSVersion = aws.ToString(c.MinimumInstanceMetadataServiceVersion)
	}
	nb.AcceleratorTypes = nil
	for _, a := range out.AcceleratorTypes {
		nb.AcceleratorTypes = append(nb.AcceleratorTypes, string(a))
	}
	if out.CreationTime != nil {
		nb.CreationTime = out.CreationTime
	}
}

// tagsAPI reads a SageMaker resource's tags.
type tagsAPI interface {
	ListTags(ctx context.Context, in *sagemaker.ListTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error)
}

// listTags reads every tag of arn, following NextToken.
func listTags(ctx context.Context, sm tagsAPI, arn string) (map[string]string, error) {
	var tags map[string]string
	pages := sagemaker.NewListTagsPaginator(sm, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tags {
			if tags == nil {
				tags = map[string]string{}
			}
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

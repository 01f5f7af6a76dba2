package remediate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// SageMakerAPI is the part of the SageMaker client remediation uses; the
// SDK's *sagemaker.Client satisfies it.
type SageMakerAPI interface {
	DomainAPI
	UpdateDomain(ctx context.Context, in *sagemaker.UpdateDomainInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateDomainOutput, error)
	DescribeNotebookInstance(ctx context.Context, in *sagemaker.DescribeNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceOutput, error)
	CreateNotebookInstance(ctx context.Context, in *sagemaker.CreateNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateNotebookInstanceOutput, error)
	StopNotebookInstance(ctx context.Context, in *sagemaker.StopNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.StopNotebookInstanceOutput, error)
	StartNotebookInstance(ctx context.Context, in *sagemaker.StartNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.StartNotebookInstanceOutput, error)
	UpdateNotebookInstance(ctx context.Context, in *sagemaker.UpdateNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.UpdateNotebookInstanceOutput, error)
	DeleteNotebookInstance(ctx context.Context, in *sagemaker.DeleteNotebookInstanceInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DeleteNotebookInstanceOutput, error)
	ListTags(ctx context.Context, in *sagemaker.ListTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error)
	AddTags(ctx context.Context, in *sagemaker.AddTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.AddTagsOutput, error)
	DeleteTags(ctx context.Context, in *sagemaker.DeleteTagsInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DeleteTagsOutput, error)
	CreateNotebookInstanceLifecycleConfig(ctx context.Context, in *sagemaker.CreateNotebookInstanceLifecycleConfigInput, optFns ...func(*sagemaker.Options)) (*sagemaker.CreateNotebookInstanceLifecycleConfigOutput, error)
	DescribeNotebookInstanceLifecycleConfig(ctx context.Context, in *sagemaker.DescribeNotebookInstanceLifecycleConfigInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceLifecycleConfigOutput, error)
	DeleteNotebookInstanceLifecycleConfig(ctx context.Context, in *sagemaker.DeleteNotebookInstanceLifecycleConfigInput, optFns ...func(*sagemaker.Options)) (*sagemaker.DeleteNotebookInstanceLifecycleConfigOutput, error)
}

// NetworkInterfacesAPI is what the plan needs for blast radius: who else
// uses a security group or a subnet.
type NetworkInterfacesAPI interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// EC2API is the part of the EC2 client remediation uses; the SDK's
// *ec2.Client satisfies it.
type EC2API interface {
	NetworkInterfacesAPI
	VPCEndpointsAPI
	DescribeSecurityGroups(ctx context.Context, in *ec2.DescribeSecurityGroupsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error)
	AuthorizeSecurityGroupEgress(ctx context.Context, in *ec2.AuthorizeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupEgressOutput, error)
	RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	DescribeSubnets(ctx context.Context, in *ec2.DescribeSubnetsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error)
	ModifySubnetAttribute(ctx context.Context, in *ec2.ModifySubnetAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifySubnetAttributeOutput, error)
}

// S3API is what data preservation needs: checking the bucket and reading
// the markers the lifecycle scripts write.
type S3API interface {
	HeadBucket(ctx context.Context, in *s3.HeadBucketInput, optFns ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Clients are the service clients for one account and region. S3 may be nil
// when no action preserves data through S3.
type Clients struct {
	SageMaker SageMakerAPI
	EC2       EC2API
	S3        S3API
}

// ClientsFunc returns the clients for an account and region (the CLI builds
// them from the SDK config, assuming a role per account when asked to).
type ClientsFunc func(ctx context.Context, accountID, region string) (Clients, error)

// StaticClients serves the same clients for every account and region: the
// usual case of one account and one region.
func StaticClients(c Clients) ClientsFunc {
	return func(context.Context, string, string) (Clients, error) { return c, nil }
}

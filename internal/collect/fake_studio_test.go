package collect

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"
)

// fakeDomain is one Studio domain of fakeSageMaker with its children.
type fakeDomain struct {
	desc     *sagemaker.DescribeDomainOutput
	profiles []*sagemaker.DescribeUserProfileOutput
	spaces   []smtypes.SpaceDetails
	apps     []smtypes.AppDetails
}

// listWindow returns the [start, end) window a list call with in's token and
// MaxResults reads of n items, and the next token.
func listWindow(token *string, maxResults *int32, n int) (int, int, *string, error) {
	start := 0
	if token != nil {
		start, _ = strconv.Atoi(*token)
	}
	size := int(aws.ToInt32(maxResults))
	if size <= 0 || size > 100 {
		return 0, 0, nil, fmt.Errorf("fake: MaxResults %d out of range", size)
	}
	end := min(start+size, n)
	var next *string
	if end < n {
		next = aws.String(strconv.Itoa(end))
	}
	return start, end, next, nil
}

func (f *fakeSageMaker) domain(id string) (*fakeDomain, error) {
	for i := range f.domains {
		if aws.ToString(f.domains[i].desc.DomainId) == id {
			return &f.domains[i], nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "ResourceNotFound", Message: "Domain " + id + " not found"}
}

func (f *fakeSageMaker) ListDomains(_ context.Context, in *sagemaker.ListDomainsInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListDomainsOutput, error) {
	f.count("ListDomains")
	start, end, next, err := listWindow(in.NextToken, in.MaxResults, len(f.domains))
	if err != nil {
		return nil, err
	}
	if err := f.fail("ListDomains", ""); err != nil {
		return nil, err
	}
	out := &sagemaker.ListDomainsOutput{NextToken: next}
	for _, d := range f.domains[start:end] {
		out.Domains = append(out.Domains, smtypes.DomainDetails{DomainId: d.desc.DomainId, DomainName: d.desc.DomainName,
			DomainArn: d.desc.DomainArn, Status: d.desc.Status})
	}
	return out, nil
}

func (f *fakeSageMaker) DescribeDomain(_ context.Context, in *sagemaker.DescribeDomainInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeDomainOutput, error) {
	f.count("DescribeDomain")
	id := aws.ToString(in.DomainId)
	if err := f.fail("DescribeDomain", id); err != nil {
		return nil, err
	}
	d, err := f.domain(id)
	if err != nil {
		return nil, err
	}
	c := *d.desc
	return &c, nil
}

func (f *fakeSageMaker) ListUserProfiles(_ context.Context, in *sagemaker.ListUserProfilesInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListUserProfilesOutput, error) {
	f.count("ListUserProfiles")
	id := aws.ToString(in.DomainIdEquals)
	if err := f.fail("ListUserProfiles", id); err != nil {
		return nil, err
	}
	d, err := f.domain(id)
	if err != nil {
		return nil, err
	}
	start, end, next, err := listWindow(in.NextToken, in.MaxResults, len(d.profiles))
	if err != nil {
		return nil, err
	}
	out := &sagemaker.ListUserProfilesOutput{NextToken: next}
	for _, p := range d.profiles[start:end] {
		out.UserProfiles = append(out.UserProfiles, smtypes.UserProfileDetails{DomainId: in.DomainIdEquals, UserProfileName: p.UserProfileName, Status: p.Status})
	}
	return out, nil
}

func (f *fakeSageMaker) DescribeUserProfile(_ context.Context, in *sagemaker.DescribeUserProfileInput, _ ...func(*sagemaker.Options)) (*sagemaker.DescribeUserProfileOutput, error) {
	f.count("DescribeUserProfile")
	id, name := aws.ToString(in.DomainId), aws.ToString(in.UserProfileName)
	if err := f.fail("DescribeUserProfile", id+"/"+name); err != nil {
		return nil, err
	}
	d, err := f.domain(id)
	if err != nil {
		return nil, err
	}
	for _, p := range d.profiles {
		if aws.ToString(p.UserProfileName) == name {
			c := *p
			return &c, nil
		}
	}
	return nil, &smithy.GenericAPIError{Code: "ResourceNotFound", Message: "profile " + name + " not found"}
}

func (f *fakeSageMaker) ListSpaces(_ context.Context, in *sagemaker.ListSpacesInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListSpacesOutput, error) {
	f.count("ListSpaces")
	id := aws.ToString(in.DomainIdEquals)
	if err := f.fail("ListSpaces", id); err != nil {
		return nil, err
	}
	d, err := f.domain(id)
	if err != nil {
		return nil, err
	}
	start, end, next, err := listWindow(in.NextToken, in.MaxResults, len(d.spaces))
	if err != nil {
		return nil, err
	}
	return &sagemaker.ListSpacesOutput{Spaces: d.spaces[start:end], NextToken: next}, nil
}

func (f *fakeSageMaker) ListApps(_ context.Context, in *sagemaker.ListAppsInput, _ ...func(*sagemaker.Options)) (*sagemaker.ListAppsOutput, error) {
	f.count("ListApps")
	id := aws.ToString(in.DomainIdEquals)
	if err := f.fail("ListApps", id); err != nil {
		return nil, err
	}
	d, err := f.domain(id)
	if err != nil {
		return nil, err
	}
	start, end, next, err := listWindow(in.NextToken, in.MaxResults, len(d.apps))
	if err != nil {
		return nil, err
	}
	return &sagemaker.ListAppsOutput{Apps: d.apps[start:end], NextToken: next}, nil
}

package awsclient

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/sagefence/sagefence/internal/suggest"
)

// ErrUnknownRegion is matched (errors.Is) by the error for a region name
// that is not an AWS region (RegionError), and by collect's for a region
// the account's partition does not have: a usage error, nothing is read.
var ErrUnknownRegion = errors.New("unknown region")

// knownRegions are the regions of every partition, as the SDK's endpoint
// rules list them (aws-sdk-go-v2 internal/endpoints/awsrulesfn/
// partitions.json, which Go cannot import; TestKnownRegionsCoverTheSDKs
// compares the two). They give suggestions for a mistyped name; a region
// AWS opens after this list was written is still accepted by its shape
// (regionShape).
var knownRegions = []string{
	// aws
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1",
	"ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
	"me-west-1", "mx-central-1", "sa-east-1", "sa-west-1", "us-east-1", "us-east-2", "us-west-1",
	"us-west-2",
	// aws-cn
	"cn-north-1", "cn-northwest-1",
	// aws-eusc
	"eusc-de-east-1",
	// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isob-west-1", "eu-isoe-west-1",
	"us-isof-east-1", "us-isof-south-1",
	// aws-us-gov
	"us-gov-east-1", "us-gov-west-1",
}

// regionShape is what every AWS region name looks like: a geography (two
// letters, or a partition's prefix: us-gov, us-iso, us-isob, us-isof,
// eu-isoe, eusc-de), a compass direction and a number. The SDK's
// partition patterns allow any word in the middle; AWS has only ever used
// directions there, and holding to them is what catches "us-eest-1".
var regionShape = regexp.MustCompile(`^(?:[a-z]{2}|us-gov|us-iso[bf]?|eu-isoe|eusc-[a-z]{2})-` +
	`(?:east|west|north|south|central|northeast|northwest|southeast|southwest)-[1-9][0-9]?$`)

// ValidRegion reports whether name is an AWS region: a region of a known
// partition, or a name of the same shape (a region opened since). It
// calls nothing: whether the account has the region enabled is for
// ec2:DescribeRegions to say.
func ValidRegion(name string) bool {
	return slices.Contains(knownRegions, name) || regionShape.MatchString(name)
}

// RegionError is a region name that is not an AWS region, with where it
// came from.
type RegionError struct {
	// Source names where the region was given, as the user would look for
	// it: "--regions", "AWS_REGION", `profile "audit" region`.
	Source string
	Region string
	// Suggestions are the known regions closest to Region, if any is close.
	Suggestions []string
}

func (e *RegionError) Error() string {
	msg := fmt.Sprintf("%s %q is not an AWS region", e.Source, e.Region)
	if len(e.Suggestions) > 0 {
		return msg + " (did you mean " + suggest.Join(e.Suggestions, "or") + "?)"
	}
	return msg + " (a region looks like us-east-1)"
}

func (e *RegionError) Unwrap() error { return ErrUnknownRegion }

// CheckRegion returns a *RegionError when name is not an AWS region
// (ValidRegion), naming source.
func CheckRegion(source, name string) error {
	if ValidRegion(name) {
		return nil
	}
	return &RegionError{Source: source, Region: name, Suggestions: suggestRegions(name)}
}

// suggestRegions returns the known regions within two edits of name
// (after trimming and lowering it: " US-EAST-1" suggests us-east-1), the
// closest ones only.
func suggestRegions(name string) []string {
	return suggest.Closest(strings.ToLower(strings.TrimSpace(name)), knownRegions, 2)
}

// configuredRegion checks the region cfg was loaded with, naming where the
// SDK found it: the first of its configuration sources (Load's options, the
// environment, the shared config profile) that sets one, as the SDK
// itself resolves it.
func configuredRegion(cfg aws.Config) error {
	if cfg.Region == "" {
		return nil
	}
	for _, s := range cfg.ConfigSources {
		switch s := s.(type) {
		case config.LoadOptions:
			if s.Region != "" {
				return CheckRegion("region", cfg.Region)
			}
		case config.EnvConfig:
			if s.Region != "" {
				// The SDK reads AWS_REGION, then AWS_DEFAULT_REGION.
				name := "AWS_REGION"
				if s.Region != os.Getenv("AWS_REGION") {
					name = "AWS_DEFAULT_REGION"
				}
				return CheckRegion(name, cfg.Region)
			}
		case config.SharedConfig:
			if s.Region != "" {
				return CheckRegion(fmt.Sprintf("profile %q region", s.Profile), cfg.Region)
			}
		}
	}
	return CheckRegion("the configured region", cfg.Region)
}

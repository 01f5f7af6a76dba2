package awsclient

import "strings"

// Partitions, as they appear in ARNs.
const (
	PartitionAWS      = "aws"
	PartitionChina    = "aws-cn"
	PartitionGovCloud = "aws-us-gov"
	PartitionISO      = "aws-iso"
	PartitionISOB     = "aws-iso-b"
	PartitionISOE     = "aws-iso-e"
	PartitionISOF     = "aws-iso-f"
	PartitionEUSC     = "aws-eusc"
)

// PartitionOf returns the partition a region belongs to, by its name:
// cn- is aws-cn, us-gov- aws-us-gov, the isolated regions their aws-iso*
// partitions, eusc- the European Sovereign Cloud, and everything else aws.
func PartitionOf(region string) string {
	// Longest prefixes first: "us-isob-" must not be read as "us-iso".
	switch {
	case strings.HasPrefix(region, "cn-"):
		return PartitionChina
	case strings.HasPrefix(region, "us-gov-"):
		return PartitionGovCloud
	case strings.HasPrefix(region, "us-isob-"):
		return PartitionISOB
	case strings.HasPrefix(region, "us-isof-"):
		return PartitionISOF
	case strings.HasPrefix(region, "us-iso-"):
		return PartitionISO
	case strings.HasPrefix(region, "eu-isoe-"):
		return PartitionISOE
	case strings.HasPrefix(region, "eusc-"):
		return PartitionEUSC
	}
	return PartitionAWS
}

// PartitionFromARN returns the partition field of an ARN
// ("arn:PARTITION:service:region:account:resource"), or "" when arn is not
// an ARN.
func PartitionFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" || parts[1] == "" {
		return ""
	}
	return parts[1]
}

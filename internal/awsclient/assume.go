package awsclient

import (
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// DefaultRoleSessionName names the sessions sagefence opens in other
// accounts (CloudTrail shows it as the assumed-role session).
const DefaultRoleSessionName = "sagefence"

// assumedRoleDuration is how long assumed-role credentials last. One hour
// is the longest every role accepts (a role's MaxSessionDuration is at
// least an hour, and role chaining caps sessions at an hour), and long
// enough that one AssumeRole serves a whole account's scan.
const assumedRoleDuration = time.Hour

var (
	// roleName allows an IAM role name with an optional path
	// ("audit/sagefence-reader").
	roleName    = regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	sessionName = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalID  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
	accountID   = regexp.MustCompile(`^[0-9]{12}$`)
)

// RoleOptions name the role to assume in each account.
type RoleOptions struct {
	// Name is the role's name, with its path if it has one.
	Name string
	// ExternalID is passed to AssumeRole when not empty.
	ExternalID string
	// SessionName is the role session name; empty means
	// DefaultRoleSessionName.
	SessionName string
}

// Validate checks the options against IAM's and STS's syntax, so that a
// typo is a usage error before any call rather than one AssumeRole
// failure per account.
func (o RoleOptions) Validate() error {
	if !roleName.MatchString(o.Name) {
		return fmt.Errorf("role name %q is not a valid IAM role name (letters, digits and +=,.@_- up to 64, optionally after a path)", o.Name)
	}
	if o.SessionName != "" && !sessionName.MatchString(o.SessionName) {
		return fmt.Errorf("role session name %q: want 2 to 64 of letters, digits and +=,.@_-", o.SessionName)
	}
	if o.ExternalID != "" && (len(o.ExternalID) < 2 || len(o.ExternalID) > 1224 || !externalID.MatchString(o.ExternalID)) {
		return fmt.Errorf("external ID: want 2 to 1224 of letters, digits and +=,.@:/_-")
	}
	return nil
}

// ValidAccountID reports whether id is a 12-digit AWS account ID.
func ValidAccountID(id string) bool { return accountID.MatchString(id) }

// RoleARN is the ARN of role name in account, in partition.
func RoleARN(partition, account, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role/" + name
}

// AssumeRole returns a copy of cfg whose credentials are those of roleARN,
// obtained with sts:AssumeRole through an STS client built from cfg (so the
// call is counted by cfg's Stats and goes to cfg's endpoint) in region.
// The credentials are cached: every client built from the returned config
// shares one AssumeRole until the session nears its end. Nothing is called
// until the credentials are first retrieved.
func AssumeRole(cfg aws.Config, region, roleARN string, o RoleOptions) aws.Config {
	client := sts.NewFromConfig(cfg, func(so *sts.Options) { so.Region = region })
	session := o.SessionName
	if session == "" {
		session = DefaultRoleSessionName
	}
	provider := stscreds.NewAssumeRoleProvider(client, roleARN, func(ao *stscreds.AssumeRoleOptions) {
		ao.RoleSessionName = session
		ao.Duration = assumedRoleDuration
		if o.ExternalID != "" {
			ao.ExternalID = aws.String(o.ExternalID)
		}
	})
	out := cfg.Copy()
	out.Credentials = aws.NewCredentialsCache(provider)
	return out
}

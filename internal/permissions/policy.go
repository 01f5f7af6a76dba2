package permissions

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// PolicyVersion is the IAM policy language version every document uses.
const PolicyVersion = "2012-10-17"

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one IAM policy statement. Action and Resource are always
// lists, so readers need not handle the string form.
type Statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Action    []string                     `json:"Action"`
	Resource  []string                     `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

// policyOptions narrows the ARN patterns Policy writes.
type policyOptions struct {
	partition      string
	account        string
	features       []Feature
	allFeatures    bool
	backupBucket   string
	backupPrefix   string
	notebookRoles  []string
	memberRoleName string
	eventQueue     string
	alertTopic     string
}

// PolicyOption narrows or extends the generated policy.
type PolicyOption func(*policyOptions)

// WithPartition sets the ARN partition ("aws", "aws-us-gov", "aws-cn").
// The default is "aws".
func WithPartition(p string) PolicyOption { return func(o *policyOptions) { o.partition = p } }

// WithAccount pins every ARN to one account ID instead of "*".
func WithAccount(id string) PolicyOption { return func(o *policyOptions) { o.account = id } }

// WithFeatures adds the actions of these optional features. Without it
// (and without WithAllFeatures) the policy has only what the mode always
// needs.
func WithFeatures(f ...Feature) PolicyOption {
	return func(o *policyOptions) { o.features = append(o.features, f...) }
}

// WithAllFeatures adds the actions of every optional feature.
func WithAllFeatures() PolicyOption { return func(o *policyOptions) { o.allFeatures = true } }

// WithBackupBucket names where remediation saves notebook data: a bucket
// name, or "s3://BUCKET/PREFIX" to limit object access to that prefix (as
// plan's --backup-bucket takes it). The default is the bucket pattern
// DefaultBackupBucketPattern.
func WithBackupBucket(location string) PolicyOption {
	return func(o *policyOptions) {
		o.backupBucket, o.backupPrefix = SplitBackupLocation(location)
	}
}

// SplitBackupLocation splits "s3://BUCKET/PREFIX" (or a bare bucket name)
// into the bucket and the prefix without slashes at either end.
func SplitBackupLocation(location string) (bucket, prefix string) {
	rest := strings.TrimPrefix(location, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	return bucket, strings.Trim(prefix, "/")
}

// WithNotebookRoles lists the execution role ARNs (wildcards allowed) the
// remediator may pass to SageMaker. The default is every role in the
// account, still limited to being passed to SageMaker.
func WithNotebookRoles(arns ...string) PolicyOption {
	return func(o *policyOptions) { o.notebookRoles = append(o.notebookRoles, arns...) }
}

// WithMemberRoleName names the role assumed in each member account of an
// organization scan (the default allows any role name).
func WithMemberRoleName(name string) PolicyOption {
	return func(o *policyOptions) { o.memberRoleName = name }
}

// DefaultBackupBucketPattern is the bucket-name pattern the remediate
// policy allows when no bucket is given.
const DefaultBackupBucketPattern = "sagefence-*"

// DefaultEventQueuePattern and DefaultAlertTopicPattern are the SQS queue
// and SNS topic names the watch policy allows when none is given
// (events-setup names its queue sagefence-events).
const (
	DefaultEventQueuePattern = "sagefence-*"
	DefaultAlertTopicPattern = "sagefence-*"
)

// WithEventQueue names the SQS queue watch reads (a name; wildcards
// allowed).
func WithEventQueue(name string) PolicyOption { return func(o *policyOptions) { o.eventQueue = name } }

// WithAlertTopic names the SNS topic watch publishes to (a name;
// wildcards allowed).
func WithAlertTopic(name string) PolicyOption { return func(o *policyOptions) { o.alertTopic = name } }

// SageMakerServicePrincipal is what iam:PassRole is limited to.
const SageMakerServicePrincipal = "sagemaker.amazonaws.com"

// Build returns the least-privilege policy for mode as a Document: one Allow
// statement per (service, statement group), services in catalog order.
func Build(mode Mode, opts ...PolicyOption) (Document, error) {
	if _, err := ParseMode(string(mode)); err != nil {
		return Document{}, err
	}
	o := policyOptions{partition: "aws", account: "*", backupBucket: DefaultBackupBucketPattern, memberRoleName: "*",
		eventQueue: DefaultEventQueuePattern, alertTopic: DefaultAlertTopicPattern}
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return Document{}, err
	}
	actions := Needed(mode, o.features...)
	if o.allFeatures {
		actions = Actions(mode)
	}

	type key struct{ service, statement string }
	var order []key
	groups := map[key][]Action{}
	for _, a := range actions {
		k := key{a.Service, a.Statement}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], a)
	}
	// Group by service: stable sort on the service's first appearance.
	first := map[string]int{}
	for i, k := range order {
		if _, ok := first[k.service]; !ok {
			first[k.service] = i
		}
	}
	slices.SortStableFunc(order, func(a, b key) int { return first[a.service] - first[b.service] })

	doc := Document{Version: PolicyVersion}
	for _, k := range order {
		as := groups[k]
		scope := as[0].Scope
		st := Statement{
			Sid:      servicePascal(k.service) + k.statement,
			Effect:   "Allow",
			Resource: o.resources(scope),
		}
		for _, a := range as {
			if a.Scope != scope {
				return Document{}, fmt.Errorf("statement %s mixes scopes %s and %s", st.Sid, scope, a.Scope)
			}
			st.Action = append(st.Action, a.String())
		}
		switch scope {
		case ScopeNotebookRole:
			st.Condition = map[string]map[string]string{
				"StringEquals": {"iam:PassedToService": SageMakerServicePrincipal},
			}
		case ScopeKMSKeyGrant:
			st.Condition = map[string]map[string]string{
				"Bool": {"kms:GrantIsForAWSResource": "true"},
			}
		}
		if !isAlnum(st.Sid) {
			return Document{}, fmt.Errorf("invalid Sid %q", st.Sid)
		}
		doc.Statement = append(doc.Statement, st)
	}
	return doc, nil
}

// Policy returns the least-privilege IAM policy for mode as indented JSON.
func Policy(mode Mode, opts ...PolicyOption) ([]byte, error) {
	doc, err := Build(mode, opts...)
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s policy: %w", mode, err)
	}
	return append(b, '\n'), nil
}

func (o policyOptions) validate() error {
	// Compiled per call: no package state, and Policy is not a hot path.
	partitionRE := regexp.MustCompile(`^aws(-[a-z]+)*$`)
	accountRE := regexp.MustCompile(`^[0-9]{12}$`)
	bucketRE := regexp.MustCompile(`^[a-z0-9*][a-z0-9.*-]{1,61}[a-z0-9*]$`)
	roleNameRE := regexp.MustCompile(`^[A-Za-z0-9+=,.@_*-]{1,64}$`)
	roleARNRE := regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::([0-9]{12}|\*):role/[A-Za-z0-9+=,.@_/*-]+$`)
	if !partitionRE.MatchString(o.partition) {
		return fmt.Errorf("invalid partition %q", o.partition)
	}
	if o.account != "*" && !accountRE.MatchString(o.account) {
		return fmt.Errorf("invalid account ID %q: want 12 digits", o.account)
	}
	if !bucketRE.MatchString(o.backupBucket) {
		return fmt.Errorf("invalid backup bucket name %q", o.backupBucket)
	}
	if strings.ContainsAny(o.backupPrefix, "*?\"\\") {
		return fmt.Errorf("invalid backup prefix %q: no wildcards or quotes", o.backupPrefix)
	}
	if !roleNameRE.MatchString(o.memberRoleName) {
		return fmt.Errorf("invalid member role name %q", o.memberRoleName)
	}
	// SQS queue and SNS topic names: letters, digits, - and _ (and .fifo
	// for a queue), at most 80 (queue) or 256 (topic) characters.
	if !regexp.MustCompile(`^[A-Za-z0-9_*-]{1,80}(\.fifo)?$`).MatchString(o.eventQueue) {
		return fmt.Errorf("invalid event queue name %q", o.eventQueue)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_*-]{1,256}(\.fifo)?$`).MatchString(o.alertTopic) {
		return fmt.Errorf("invalid alert topic name %q", o.alertTopic)
	}
	for _, r := range o.notebookRoles {
		if !roleARNRE.MatchString(r) {
			return fmt.Errorf("invalid notebook role ARN %q", r)
		}
	}
	for _, f := range o.features {
		if _, err := ParseFeature(string(f)); err != nil {
			return err
		}
	}
	return nil
}

// resources renders a scope as ARN patterns. Region stays "*": the same
// policy serves every region the scan covers.
func (o policyOptions) resources(s Scope) []string {
	p, acct := o.partition, o.account
	switch s {
	case ScopeNotebook:
		return []string{fmt.Sprintf("arn:%s:sagemaker:*:%s:notebook-instance/*", p, acct)}
	case ScopeStudio:
		return []string{
			fmt.Sprintf("arn:%s:sagemaker:*:%s:domain/*", p, acct),
			fmt.Sprintf("arn:%s:sagemaker:*:%s:user-profile/*/*", p, acct),
		}
	case ScopeTagged:
		return []string{
			fmt.Sprintf("arn:%s:sagemaker:*:%s:notebook-instance/*", p, acct),
			fmt.Sprintf("arn:%s:sagemaker:*:%s:domain/*", p, acct),
		}
	case ScopeLifecycleConfig:
		return []string{fmt.Sprintf("arn:%s:sagemaker:*:%s:notebook-instance-lifecycle-config/*", p, acct)}
	case ScopeSecurityGroup:
		return []string{fmt.Sprintf("arn:%s:ec2:*:%s:security-group/*", p, acct)}
	case ScopeSubnet:
		return []string{fmt.Sprintf("arn:%s:ec2:*:%s:subnet/*", p, acct)}
	case ScopeNotebookRole:
		if len(o.notebookRoles) > 0 {
			return slices.Clone(o.notebookRoles)
		}
		return []string{fmt.Sprintf("arn:%s:iam::%s:role/*", p, acct)}
	case ScopeBackupBucket:
		return []string{fmt.Sprintf("arn:%s:s3:::%s", p, o.backupBucket)}
	case ScopeBackupObjects:
		if o.backupPrefix != "" {
			return []string{fmt.Sprintf("arn:%s:s3:::%s/%s/*", p, o.backupBucket, o.backupPrefix)}
		}
		return []string{fmt.Sprintf("arn:%s:s3:::%s/*", p, o.backupBucket)}
	case ScopeMemberRole:
		// Member accounts are other accounts: never pinned to this one.
		return []string{fmt.Sprintf("arn:%s:iam::*:role/%s", p, o.memberRoleName)}
	case ScopeSecurityHubProduct:
		return []string{fmt.Sprintf("arn:%s:securityhub:*:%s:product/%s/default", p, acct, acct)}
	case ScopeNotebookENI:
		return []string{
			fmt.Sprintf("arn:%s:ec2:*:%s:network-interface/*", p, acct),
			fmt.Sprintf("arn:%s:ec2:*:%s:subnet/*", p, acct),
			fmt.Sprintf("arn:%s:ec2:*:%s:security-group/*", p, acct),
		}
	case ScopeKMSKey, ScopeKMSKeyGrant:
		return []string{fmt.Sprintf("arn:%s:kms:*:%s:key/*", p, acct)}
	case ScopeEventQueue:
		return []string{fmt.Sprintf("arn:%s:sqs:*:%s:%s", p, acct, o.eventQueue)}
	case ScopeAlertTopic:
		return []string{fmt.Sprintf("arn:%s:sns:*:%s:%s", p, acct, o.alertTopic)}
	case ScopeDomain:
		return []string{fmt.Sprintf("arn:%s:sagemaker:*:%s:domain/*", p, acct)}
	case ScopeIAMPrincipal:
		return []string{
			fmt.Sprintf("arn:%s:iam::%s:role/*", p, acct),
			fmt.Sprintf("arn:%s:iam::%s:user/*", p, acct),
		}
	}
	return []string{"*"}
}

func servicePascal(service string) string {
	switch service {
	case "ec2", "sts", "iam", "s3":
		return strings.ToUpper(service)
	case "sagemaker":
		return "SageMaker"
	case "securityhub":
		return "SecurityHub"
	case "sqs", "sns":
		return strings.ToUpper(service)
	}
	if service == "" {
		return ""
	}
	return strings.ToUpper(service[:1]) + service[1:]
}

// isAlnum reports whether s is a valid Sid: ASCII letters and digits only.
func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

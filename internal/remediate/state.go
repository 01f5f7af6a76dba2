package remediate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
	"github.com/aws/smithy-go"

	"github.com/sagefence/sagefence/internal/inventory"
)

// Rule is one security-group rule with a single destination, the unit
// EC2 authorizes and revokes. Exactly one of CIDR, IPv6CIDR, PrefixListID and
// GroupID is set. Protocol is "-1" (all, ports 0), a name (tcp, udp, icmp,
// icmpv6) or an IANA number.
type Rule struct {
	Protocol     string `json:"protocol"`
	FromPort     int32  `json:"from_port"`
	ToPort       int32  `json:"to_port"`
	CIDR         string `json:"cidr,omitempty"`
	IPv6CIDR     string `json:"ipv6_cidr,omitempty"`
	PrefixListID string `json:"prefix_list_id,omitempty"`
	GroupID      string `json:"group_id,omitempty"`
	Description  string `json:"description,omitempty"`
}

// key identifies a rule regardless of its description, as EC2 does.
func (r Rule) key() string {
	return fmt.Sprintf("%s|%d|%d|%s|%s|%s|%s", r.Protocol, r.FromPort, r.ToPort, r.CIDR, r.IPv6CIDR, r.PrefixListID, r.GroupID)
}

// Destination is the rule's one destination.
func (r Rule) Destination() string {
	for _, d := range []string{r.CIDR, r.IPv6CIDR, r.PrefixListID, r.GroupID} {
		if d != "" {
			return d
		}
	}
	return ""
}

// String renders a rule as "tcp 443 -> 0.0.0.0/0 (desc)".
func (r Rule) String() string {
	ports := ""
	switch {
	case r.Protocol == "-1":
		ports = "all"
	case r.FromPort == r.ToPort:
		ports = fmt.Sprint(r.FromPort)
	default:
		ports = fmt.Sprintf("%d-%d", r.FromPort, r.ToPort)
	}
	s := fmt.Sprintf("%s %s -> %s", protocolName(r.Protocol), ports, r.Destination())
	if r.Description != "" {
		s += fmt.Sprintf(" (%q)", r.Description)
	}
	return s
}

func protocolName(p string) string {
	if p == "-1" {
		return "all"
	}
	return p
}

// normProtocol maps protocol numbers and spellings to what EC2 reports.
func normProtocol(p string) string {
	switch strings.ToLower(p) {
	case "", "-1", "all":
		return "-1"
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmpv6":
		return "icmpv6"
	}
	return strings.ToLower(p)
}

func normRule(r Rule) Rule {
	r.Protocol = normProtocol(r.Protocol)
	if r.Protocol == "-1" {
		r.FromPort, r.ToPort = 0, 0
	}
	return r
}

func sortRules(rs []Rule) []Rule {
	out := make([]Rule, len(rs))
	for i, r := range rs {
		out[i] = normRule(r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].key() != out[j].key() {
			return out[i].key() < out[j].key()
		}
		return out[i].Description < out[j].Description
	})
	return out
}

// rulesFromInventory flattens inventory rules into one Rule per destination.
func rulesFromInventory(in []inventory.SGRule) []Rule {
	var out []Rule
	for _, r := range in {
		base := Rule{Protocol: r.Protocol, FromPort: r.FromPort, ToPort: r.ToPort}
		add := func(set func(*Rule, string), dests []string) {
			for _, d := range dests {
				x := base
				set(&x, d)
				x.Description = r.Descriptions[d]
				out = append(out, x)
			}
		}
		add(func(x *Rule, d string) { x.CIDR = d }, r.CIDRs)
		add(func(x *Rule, d string) { x.IPv6CIDR = d }, r.IPv6CIDRs)
		add(func(x *Rule, d string) { x.PrefixListID = d }, r.PrefixListIDs)
		add(func(x *Rule, d string) { x.GroupID = d }, r.SourceGroupIDs)
	}
	return sortRules(out)
}

// rulesFromPermissions flattens EC2 IpPermissions into one Rule per destination.
func rulesFromPermissions(perms []ec2types.IpPermission) []Rule {
	var out []Rule
	for _, p := range perms {
		base := Rule{Protocol: aws.ToString(p.IpProtocol), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}
		for _, r := range p.IpRanges {
			x := base
			x.CIDR, x.Description = aws.ToString(r.CidrIp), aws.ToString(r.Description)
			out = append(out, x)
		}
		for _, r := range p.Ipv6Ranges {
			x := base
			x.IPv6CIDR, x.Description = aws.ToString(r.CidrIpv6), aws.ToString(r.Description)
			out = append(out, x)
		}
		for _, r := range p.PrefixListIds {
			x := base
			x.PrefixListID, x.Description = aws.ToString(r.PrefixListId), aws.ToString(r.Description)
			out = append(out, x)
		}
		for _, r := range p.UserIdGroupPairs {
			x := base
			x.GroupID, x.Description = aws.ToString(r.GroupId), aws.ToString(r.Description)
			out = append(out, x)
		}
	}
	return sortRules(out)
}

// permission is the EC2 form of one rule.
func permission(r Rule) ec2types.IpPermission {
	p := ec2types.IpPermission{IpProtocol: aws.String(r.Protocol)}
	if normProtocol(r.Protocol) != "-1" {
		p.FromPort, p.ToPort = aws.Int32(r.FromPort), aws.Int32(r.ToPort)
	}
	desc := func() *string {
		if r.Description == "" {
			return nil
		}
		return aws.String(r.Description)
	}
	switch {
	case r.CIDR != "":
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.CIDR), Description: desc()}}
	case r.IPv6CIDR != "":
		p.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: aws.String(r.IPv6CIDR), Description: desc()}}
	case r.PrefixListID != "":
		p.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: aws.String(r.PrefixListID), Description: desc()}}
	case r.GroupID != "":
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.GroupID), Description: desc()}}
	}
	return p
}

// SGState is a security group's egress as remediation sees it.
type SGState struct {
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name,omitempty"`
	VPCID     string `json:"vpc_id,omitempty"`
	Egress    []Rule `json:"egress"`
}

// SubnetState is the subnet attribute remediation changes.
type SubnetState struct {
	SubnetID            string `json:"subnet_id"`
	VPCID               string `json:"vpc_id,omitempty"`
	MapPublicIPOnLaunch bool   `json:"map_public_ip_on_launch"`
}

// NotebookState is a notebook instance's settings, status and tags.
type NotebookState struct {
	Name                       string            `json:"name"`
	ARN                        string            `json:"arn,omitempty"`
	Status                     string            `json:"status,omitempty"`
	DirectInternetAccess       string            `json:"direct_internet_access,omitempty"`
	SubnetID                   string            `json:"subnet_id,omitempty"`
	SecurityGroupIDs           []string          `json:"security_group_ids,omitempty"`
	InstanceType               string            `json:"instance_type,omitempty"`
	RoleARN                    string            `json:"role_arn,omitempty"`
	KMSKeyID                   string            `json:"kms_key_id,omitempty"`
	VolumeSizeInGB             int32             `json:"volume_size_in_gb,omitempty"`
	LifecycleConfigName        string            `json:"lifecycle_config_name,omitempty"`
	DefaultCodeRepository      string            `json:"default_code_repository,omitempty"`
	AdditionalCodeRepositories []string          `json:"additional_code_repositories,omitempty"`
	RootAccess                 string            `json:"root_access,omitempty"`
	PlatformIdentifier         string            `json:"platform_identifier,omitempty"`
	MinimumIMDSVersion         string            `json:"minimum_imds_version,omitempty"`
	IPAddressType              string            `json:"ip_address_type,omitempty"`
	AcceleratorTypes           []string          `json:"accelerator_types,omitempty"`
	Tags                       map[string]string `json:"tags,omitempty"`
}

func notebookFromInventory(nb *inventory.Notebook) *NotebookState {
	return normNotebook(&NotebookState{
		Name: nb.Name, ARN: nb.ARN, Status: nb.Status, DirectInternetAccess: nb.DirectInternetAccess,
		SubnetID: nb.SubnetID, SecurityGroupIDs: slices.Clone(nb.SecurityGroupIDs), InstanceType: nb.InstanceType,
		RoleARN: nb.RoleARN, KMSKeyID: nb.KMSKeyID, VolumeSizeInGB: nb.VolumeSizeInGB,
		LifecycleConfigName: nb.LifecycleConfigName, DefaultCodeRepository: nb.DefaultCodeRepository,
		AdditionalCodeRepositories: slices.Clone(nb.AdditionalCodeRepositories), RootAccess: nb.RootAccess,
		PlatformIdentifier: nb.PlatformIdentifier, MinimumIMDSVersion: nb.MinimumIMDSVersion,
		IPAddressType: nb.IPAddressType, AcceleratorTypes: slices.Clone(nb.AcceleratorTypes), Tags: maps.Clone(nb.Tags),
	})
}

func normNotebook(n *NotebookState) *NotebookState {
	if n == nil {
		return nil
	}
	slices.Sort(n.SecurityGroupIDs)
	slices.Sort(n.AcceleratorTypes)
	if len(n.SecurityGroupIDs) == 0 {
		n.SecurityGroupIDs = nil
	}
	if len(n.AcceleratorTypes) == 0 {
		n.AcceleratorTypes = nil
	}
	if len(n.AdditionalCodeRepositories) == 0 {
		n.AdditionalCodeRepositories = nil
	}
	if len(n.Tags) == 0 {
		n.Tags = nil
	}
	return n
}

// LifecycleConfigState is a notebook lifecycle configuration's scripts
// (base64, as the API carries them).
type LifecycleConfigState struct {
	Name     string `json:"name"`
	OnCreate string `json:"on_create,omitempty"`
	OnStart  string `json:"on_start,omitempty"`
}

// State is the live state of the one resource a step changes. Exactly one
// field is set, or Absent when the resource does not exist.
type State struct {
	SecurityGroup   *SGState              `json:"security_group,omitempty"`
	Subnet          *SubnetState          `json:"subnet,omitempty"`
	Notebook        *NotebookState        `json:"notebook,omitempty"`
	LifecycleConfig *LifecycleConfigState `json:"lifecycle_config,omitempty"`
	Domain          *DomainState          `json:"domain,omitempty"`
	Absent          bool                  `json:"absent,omitempty"`
}

// isNotFound reports whether err says the resource does not exist. SageMaker
// answers ValidationException "RecordNotFound" for notebooks and "does not
// exist" for lifecycle configurations.
func isNotFound(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	switch ae.ErrorCode() {
	case "ResourceNotFound", "InvalidGroup.NotFound", "InvalidSubnetID.NotFound", "NoSuchKey", "NotFound":
		return true
	case "ValidationException":
		m := ae.ErrorMessage()
		return strings.Contains(m, "RecordNotFound") || strings.Contains(m, "does not exist")
	}
	return false
}

func observeSG(ctx context.Context, c EC2API, id string) (State, error) {
	out, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if isNotFound(err) {
		return State{Absent: true}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("security group %s: describing: %w", id, err)
	}
	if len(out.SecurityGroups) != 1 {
		return State{Absent: true}, nil
	}
	g := out.SecurityGroups[0]
	return State{SecurityGroup: &SGState{
		GroupID: aws.ToString(g.GroupId), GroupName: aws.ToString(g.GroupName), VPCID: aws.ToString(g.VpcId),
		Egress: rulesFromPermissions(g.IpPermissionsEgress),
	}}, nil
}

func observeSubnet(ctx context.Context, c EC2API, id string) (State, error) {
	out, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{id}})
	if isNotFound(err) {
		return State{Absent: true}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("subnet %s: describing: %w", id, err)
	}
	if len(out.Subnets) != 1 {
		return State{Absent: true}, nil
	}
	s := out.Subnets[0]
	return State{Subnet: &SubnetState{
		SubnetID: aws.ToString(s.SubnetId), VPCID: aws.ToString(s.VpcId),
		MapPublicIPOnLaunch: aws.ToBool(s.MapPublicIpOnLaunch),
	}}, nil
}

func observeNotebook(ctx context.Context, c SageMakerAPI, name string) (State, error) {
	out, err := c.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
	if isNotFound(err) {
		return State{Absent: true}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("notebook instance %s: describing: %w", name, err)
	}
	n := &NotebookState{
		Name: aws.ToString(out.NotebookInstanceName), ARN: aws.ToString(out.NotebookInstanceArn),
		Status: string(out.NotebookInstanceStatus), DirectInternetAccess: string(out.DirectInternetAccess),
		SubnetID: aws.ToString(out.SubnetId), SecurityGroupIDs: slices.Clone(out.SecurityGroups),
		InstanceType: string(out.InstanceType), RoleARN: aws.ToString(out.RoleArn), KMSKeyID: aws.ToString(out.KmsKeyId),
		VolumeSizeInGB: aws.ToInt32(out.VolumeSizeInGB), LifecycleConfigName: aws.ToString(out.NotebookInstanceLifecycleConfigName),
		DefaultCodeRepository: aws.ToString(out.DefaultCodeRepository), AdditionalCodeRepositories: slices.Clone(out.AdditionalCodeRepositories),
		RootAccess: string(out.RootAccess), PlatformIdentifier: aws.ToString(out.PlatformIdentifier),
		IPAddressType: string(out.IpAddressType),
	}
	if out.InstanceMetadataServiceConfiguration != nil {
		n.MinimumIMDSVersion = aws.ToString(out.InstanceMetadataServiceConfiguration.MinimumInstanceMetadataServiceVersion)
	}
	for _, a := range out.AcceleratorTypes {
		n.AcceleratorTypes = append(n.AcceleratorTypes, string(a))
	}
	tags, err := listTags(ctx, c, n.ARN)
	if isNotFound(err) {
		return State{Absent: true}, nil // deleted between the two calls
	}
	if err != nil {
		return State{}, fmt.Errorf("notebook instance %s: %w", name, err)
	}
	n.Tags = tags
	return State{Notebook: normNotebook(n)}, nil
}

func listTags(ctx context.Context, c SageMakerAPI, arn string) (map[string]string, error) {
	tags := map[string]string{}
	var token *string
	for {
		out, err := c.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(arn), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("listing tags of %s: %w", arn, err)
		}
		for _, t := range out.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		if aws.ToString(out.NextToken) == "" {
			return tags, nil
		}
		token = out.NextToken
	}
}

func observeLifecycleConfig(ctx context.Context, c SageMakerAPI, name string) (State, error) {
	out, err := c.DescribeNotebookInstanceLifecycleConfig(ctx, &sagemaker.DescribeNotebookInstanceLifecycleConfigInput{
		NotebookInstanceLifecycleConfigName: aws.String(name),
	})
	if isNotFound(err) {
		return State{Absent: true}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("lifecycle configuration %s: describing: %w", name, err)
	}
	return State{LifecycleConfig: &LifecycleConfigState{
		Name: aws.ToString(out.NotebookInstanceLifecycleConfigName), OnCreate: firstScript(out.OnCreate),
		OnStart: firstScript(out.OnStart),
	}}, nil
}

func firstScript(hooks []smtypes.NotebookInstanceLifecycleHook) string {
	if len(hooks) == 0 {
		return ""
	}
	return aws.ToString(hooks[0].Content)
}

func hooks(content string) []smtypes.NotebookInstanceLifecycleHook {
	if content == "" {
		return nil
	}
	return []smtypes.NotebookInstanceLifecycleHook{{Content: aws.String(content)}}
}

// Diff lists how got differs from want, one human-readable line each; nil
// when they are the same.
func Diff(want, got State) []string {
	switch {
	case want.Absent && got.Absent:
		return nil
	case want.Absent:
		return []string{"exists, expected it absent"}
	case got.Absent:
		return []string{"does not exist, expected it present"}
	}
	var d []string
	switch {
	case want.SecurityGroup != nil:
		if got.SecurityGroup == nil {
			return []string{"is not a security group"}
		}
		d = diffRules(want.SecurityGroup.Egress, got.SecurityGroup.Egress, true)
	case want.Subnet != nil:
		if got.Subnet == nil {
			return []string{"is not a subnet"}
		}
		if w, g := want.Subnet.MapPublicIPOnLaunch, got.Subnet.MapPublicIPOnLaunch; w != g {
			d = append(d, fmt.Sprintf("MapPublicIpOnLaunch is %t, expected %t", g, w))
		}
	case want.Notebook != nil:
		if got.Notebook == nil {
			return []string{"is not a notebook instance"}
		}
		d = diffNotebook(want.Notebook, got.Notebook)
	case want.LifecycleConfig != nil:
		if got.LifecycleConfig == nil {
			return []string{"is not a lifecycle configuration"}
		}
		if want.LifecycleConfig.OnCreate != got.LifecycleConfig.OnCreate {
			d = append(d, "on-create script differs")
		}
		if want.LifecycleConfig.OnStart != got.LifecycleConfig.OnStart {
			d = append(d, "on-start script differs")
		}
	case want.Domain != nil:
		if got.Domain == nil {
			return []string{"is not a Studio domain"}
		}
		d = diffDomain(want.Domain, got.Domain)
	}
	return d
}

// diffRules lists rules missing from got and rules got has extra. With
// descriptions, a rule whose description changed is reported too.
func diffRules(want, got []Rule, descriptions bool) []string {
	var d []string
	gotBy := map[string]Rule{}
	for _, r := range got {
		gotBy[normRule(r).key()] = r
	}
	wantBy := map[string]Rule{}
	for _, r := range want {
		r = normRule(r)
		wantBy[r.key()] = r
		g, ok := gotBy[r.key()]
		switch {
		case !ok:
			d = append(d, "egress rule missing: "+r.String())
		case descriptions && g.Description != r.Description:
			d = append(d, fmt.Sprintf("egress rule %s: description is %q, expected %q", r.String(), g.Description, r.Description))
		}
	}
	for _, r := range got {
		if _, ok := wantBy[normRule(r).key()]; !ok {
			d = append(d, "egress rule unexpected: "+normRule(r).String())
		}
	}
	return d
}

func diffNotebook(w, g *NotebookState) []string {
	var d []string
	compareNotebook(w, g, func(field, want, got string) {
		d = append(d, fmt.Sprintf("%s is %q, expected %q", field, got, want))
	})
	for _, k := range slices.Sorted(maps.Keys(w.Tags)) {
		if gv, ok := g.Tags[k]; !ok {
			d = append(d, fmt.Sprintf("tag %s is missing, expected %q", k, w.Tags[k]))
		} else if gv != w.Tags[k] {
			d = append(d, fmt.Sprintf("tag %s is %q, expected %q", k, gv, w.Tags[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(g.Tags)) {
		if _, ok := w.Tags[k]; !ok {
			d = append(d, fmt.Sprintf("tag %s=%q is unexpected", k, g.Tags[k]))
		}
	}
	return d
}

// compareNotebook calls differ for each setting (and the status) in which
// g differs from w, with the field's name and both values.
func compareNotebook(w, g *NotebookState, differ func(field, want, got string)) {
	cmp := func(field, want, got string) {
		if want != got {
			differ(field, want, got)
		}
	}
	cmp("status", w.Status, g.Status)
	cmp("DirectInternetAccess", w.DirectInternetAccess, g.DirectInternetAccess)
	cmp("SubnetId", w.SubnetID, g.SubnetID)
	cmp("SecurityGroups", strings.Join(w.SecurityGroupIDs, ","), strings.Join(g.SecurityGroupIDs, ","))
	cmp("InstanceType", w.InstanceType, g.InstanceType)
	cmp("RoleArn", w.RoleARN, g.RoleARN)
	cmp("KmsKeyId", w.KMSKeyID, g.KMSKeyID)
	cmp("VolumeSizeInGB", fmt.Sprint(w.VolumeSizeInGB), fmt.Sprint(g.VolumeSizeInGB))
	cmp("LifecycleConfigName", w.LifecycleConfigName, g.LifecycleConfigName)
	cmp("DefaultCodeRepository", w.DefaultCodeRepository, g.DefaultCodeRepository)
	cmp("AdditionalCodeRepositories", strings.Join(w.AdditionalCodeRepositories, ","), strings.Join(g.AdditionalCodeRepositories, ","))
	cmp("RootAccess", w.RootAccess, g.RootAccess)
	cmp("PlatformIdentifier", w.PlatformIdentifier, g.PlatformIdentifier)
	cmp("MinimumInstanceMetadataServiceVersion", w.MinimumIMDSVersion, g.MinimumIMDSVersion)
	cmp("IpAddressType", w.IPAddressType, g.IPAddressType)
	cmp("AcceleratorTypes", strings.Join(w.AcceleratorTypes, ","), strings.Join(g.AcceleratorTypes, ","))
}

package remediate

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// Step kinds: the journaled units an action is carried out in. Each changes
// one resource.
const (
	StepAuthorizeSGEgress     = "authorize-sg-egress"
	StepRevokeSGEgress        = "revoke-sg-egress"
	StepSetSubnetPublicIP     = "set-subnet-map-public-ip"
	StepCreateNotebook        = "create-notebook"
	StepStopNotebook          = "stop-notebook"
	StepTagNotebook           = "tag-notebook"
	StepCreateLifecycleConfig = "create-lifecycle-config"
	StepDeleteLifecycleConfig = "delete-lifecycle-config"
	StepBackupNotebookData    = "backup-notebook-data"
	StepVerifyRestore         = "verify-restore"
	StepSetNotebookLifecycle  = "set-notebook-lifecycle"
	StepDeleteNotebook        = "delete-notebook"
	// StepSetDomainNetworkAccess sets a Studio domain's
	// AppNetworkAccessType (studio.go).
	StepSetDomainNetworkAccess = "set-domain-network-access"
)

// step is one change with everything needed to make it, check it and undo
// it. Its exported fields are its journaled intent.
//
//   - observe reads the live state of the step's resource;
//   - check is the precondition on that state, tested just before do;
//   - expect is the state do should leave, given the state before;
//   - do makes the change (and waits for it to settle);
//   - undo drives the live state back to before for what this step
//     changes. It reads the live state itself, so it also finishes the job
//     when do was interrupted halfway, and it leaves alone what the step
//     did not touch.
type step interface {
	kind() string
	resource() string
	observe(ctx context.Context, r *runner) (State, error)
	check(before State) error
	expect(before State) State
	do(ctx context.Context, r *runner, before State) (result any, err error)
	undo(ctx context.Context, r *runner, before State) error
}

// decodeStep rebuilds a step from its journaled kind and intent.
func decodeStep(kind string, intent []byte) (step, error) {
	var s step
	switch kind {
	case StepAuthorizeSGEgress:
		s = &authorizeSGEgress{}
	case StepRevokeSGEgress:
		s = &revokeSGEgress{}
	case StepSetSubnetPublicIP:
		s = &setSubnetPublicIP{}
	case StepCreateNotebook:
		s = &createNotebook{}
	case StepStopNotebook:
		s = &stopNotebook{}
	case StepTagNotebook:
		s = &tagNotebook{}
	case StepCreateLifecycleConfig:
		s = &createLifecycleConfig{}
	case StepDeleteLifecycleConfig:
		s = &deleteLifecycleConfig{}
	case StepBackupNotebookData:
		s = &backupNotebookData{}
	case StepVerifyRestore:
		s = &verifyRestore{}
	case StepSetNotebookLifecycle:
		s = &setNotebookLifecycle{}
	case StepDeleteNotebook:
		s = &deleteNotebook{}
	case StepSetDomainNetworkAccess:
		s = &setDomainNetworkAccess{}
	default:
		return nil, fmt.Errorf("unknown step kind %q (journal written by a newer sagefence?)", kind)
	}
	if err := json.Unmarshal(intent, s); err != nil {
		return nil, fmt.Errorf("step %s: decoding its intent: %w", kind, err)
	}
	return s, nil
}

// --- security groups -------------------------------------------------------

type authorizeSGEgress struct {
	GroupID string `json:"group_id"`
	Rules   []Rule `json:"rules"`
}

func (s *authorizeSGEgress) kind() string     { return StepAuthorizeSGEgress }
func (s *authorizeSGEgress) resource() string { return s.GroupID }
func (s *authorizeSGEgress) observe(ctx context.Context, r *runner) (State, error) {
	return observeSG(ctx, r.c.EC2, s.GroupID)
}

func (s *authorizeSGEgress) check(before State) error {
	if before.SecurityGroup == nil {
		return fmt.Errorf("security group %s does not exist", s.GroupID)
	}
	live := ruleKeys(before.SecurityGroup.Egress)
	for _, r := range s.Rules {
		if live[normRule(r).key()] {
			return fmt.Errorf("security group %s already has egress rule %s", s.GroupID, r)
		}
	}
	return nil
}

func (s *authorizeSGEgress) expect(before State) State {
	g := *before.SecurityGroup
	g.Egress = applyRuleChange(g.Egress, nil, s.Rules)
	return State{SecurityGroup: &g}
}

func (s *authorizeSGEgress) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := authorize(ctx, r.c.EC2, s.GroupID, s.Rules); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

func (s *authorizeSGEgress) undo(ctx context.Context, r *runner, before State) error {
	live, err := s.observe(ctx, r)
	if err != nil || live.Absent {
		return err
	}
	had, has := ruleKeys(before.SecurityGroup.Egress), ruleKeys(live.SecurityGroup.Egress)
	var revoke []Rule
	for _, x := range s.Rules {
		if k := normRule(x).key(); has[k] && !had[k] {
			revoke = append(revoke, x)
		}
	}
	return revokeRules(ctx, r.c.EC2, s.GroupID, revoke)
}

type revokeSGEgress struct {
	GroupID string `json:"group_id"`
	Rules   []Rule `json:"rules"`
}

func (s *revokeSGEgress) kind() string     { return StepRevokeSGEgress }
func (s *revokeSGEgress) resource() string { return s.GroupID }
func (s *revokeSGEgress) observe(ctx context.Context, r *runner) (State, error) {
	return observeSG(ctx, r.c.EC2, s.GroupID)
}

func (s *revokeSGEgress) check(before State) error {
	if before.SecurityGroup == nil {
		return fmt.Errorf("security group %s does not exist", s.GroupID)
	}
	live := ruleKeys(before.SecurityGroup.Egress)
	for _, r := range s.Rules {
		if !live[normRule(r).key()] {
			return fmt.Errorf("security group %s no longer has egress rule %s", s.GroupID, r)
		}
	}
	return nil
}

func (s *revokeSGEgress) expect(before State) State {
	g := *before.SecurityGroup
	g.Egress = applyRuleChange(g.Egress, s.Rules, nil)
	return State{SecurityGroup: &g}
}

func (s *revokeSGEgress) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := revokeRules(ctx, r.c.EC2, s.GroupID, s.Rules); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

// undo re-authorizes exactly the revoked rules that are missing, with the
// protocol, ports, destination and description they had before.
func (s *revokeSGEgress) undo(ctx context.Context, r *runner, before State) error {
	live, err := s.observe(ctx, r)
	if err != nil {
		return err
	}
	if live.Absent {
		return fmt.Errorf("security group %s no longer exists: cannot re-authorize its egress", s.GroupID)
	}
	revoked := ruleKeys(s.Rules)
	has := ruleKeys(live.SecurityGroup.Egress)
	var add []Rule
	for _, x := range before.SecurityGroup.Egress {
		if k := normRule(x).key(); revoked[k] && !has[k] {
			add = append(add, x)
		}
	}
	return authorize(ctx, r.c.EC2, s.GroupID, add)
}

func ruleKeys(rs []Rule) map[string]bool {
	m := make(map[string]bool, len(rs))
	for _, r := range rs {
		m[normRule(r).key()] = true
	}
	return m
}

func ipPermissions(rs []Rule) []ec2types.IpPermission {
	out := make([]ec2types.IpPermission, len(rs))
	for i, r := range rs {
		out[i] = permission(r)
	}
	return out
}

func authorize(ctx context.Context, c EC2API, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(group), IpPermissions: ipPermissions(rules),
	})
	if err != nil {
		return fmt.Errorf("security group %s: authorizing egress %s: %w", group, rulesString(rules), err)
	}
	return nil
}

func revokeRules(ctx context.Context, c EC2API, group string, rules []Rule) error {
	if len(rules) == 0 {
		return nil
	}
	_, err := c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{
		GroupId: aws.String(group), IpPermissions: ipPermissions(rules),
	})
	if err != nil {
		return fmt.Errorf("security group %s: revoking egress %s: %w", group, rulesString(rules), err)
	}
	return nil
}

func rulesString(rs []Rule) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, "; ")
}

// --- subnets ---------------------------------------------------------------

type setSubnetPublicIP struct {
	SubnetID            string `json:"subnet_id"`
	MapPublicIPOnLaunch bool   `json:"map_public_ip_on_launch"`
}

func (s *setSubnetPublicIP) kind() string     { return StepSetSubnetPublicIP }
func (s *setSubnetPublicIP) resource() string { return s.SubnetID }
func (s *setSubnetPublicIP) observe(ctx context.Context, r *runner) (State, error) {
	return observeSubnet(ctx, r.c.EC2, s.SubnetID)
}

func (s *setSubnetPublicIP) check(before State) error {
	if before.Subnet == nil {
		return fmt.Errorf("subnet %s does not exist", s.SubnetID)
	}
	if before.Subnet.MapPublicIPOnLaunch == s.MapPublicIPOnLaunch {
		return fmt.Errorf("subnet %s already has MapPublicIpOnLaunch=%t", s.SubnetID, s.MapPublicIPOnLaunch)
	}
	return nil
}

func (s *setSubnetPublicIP) expect(before State) State {
	n := *before.Subnet
	n.MapPublicIPOnLaunch = s.MapPublicIPOnLaunch
	return State{Subnet: &n}
}

func (s *setSubnetPublicIP) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := setMapPublicIP(ctx, r.c.EC2, s.SubnetID, s.MapPublicIPOnLaunch); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

func (s *setSubnetPublicIP) undo(ctx context.Context, r *runner, before State) error {
	live, err := s.observe(ctx, r)
	if err != nil {
		return err
	}
	if live.Absent {
		return fmt.Errorf("subnet %s no longer exists", s.SubnetID)
	}
	if live.Subnet.MapPublicIPOnLaunch == before.Subnet.MapPublicIPOnLaunch {
		return nil
	}
	return setMapPublicIP(ctx, r.c.EC2, s.SubnetID, before.Subnet.MapPublicIPOnLaunch)
}

func setMapPublicIP(ctx context.Context, c EC2API, subnet string, v bool) error {
	_, err := c.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
		SubnetId: aws.String(subnet), MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(v)},
	})
	if err != nil {
		return fmt.Errorf("subnet %s: setting MapPublicIpOnLaunch=%t: %w", subnet, v, err)
	}
	return nil
}

// --- notebooks -------------------------------------------------------------

// createNotebook creates the replacement and waits until it is InService.
type createNotebook struct {
	Spec NotebookState `json:"spec"`
}

func (s *createNotebook) kind() string     { return StepCreateNotebook }
func (s *createNotebook) resource() string { return s.Spec.Name }
func (s *createNotebook) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Spec.Name)
}

func (s *createNotebook) check(before State) error {
	if !before.Absent {
		return fmt.Errorf("a notebook instance named %s already exists", s.Spec.Name)
	}
	return nil
}

func (s *createNotebook) expect(State) State {
	n := s.Spec
	n.Status = statusInService
	n.Tags = maps.Clone(s.Spec.Tags)
	return State{Notebook: &n}
}

func (s *createNotebook) do(ctx context.Context, r *runner, _ State) (any, error) {
	n := s.Spec
	in := &sagemaker.CreateNotebookInstanceInput{
		NotebookInstanceName: aws.String(n.Name), InstanceType: smtypes.InstanceType(n.InstanceType),
		RoleArn: aws.String(n.RoleARN), DirectInternetAccess: smtypes.DirectInternetAccess(n.DirectInternetAccess),
		SubnetId: optional(n.SubnetID), SecurityGroupIds: n.SecurityGroupIDs, KmsKeyId: optional(n.KMSKeyID),
		LifecycleConfigName: optional(n.LifecycleConfigName), DefaultCodeRepository: optional(n.DefaultCodeRepository),
		AdditionalCodeRepositories: n.AdditionalCodeRepositories, RootAccess: smtypes.RootAccess(n.RootAccess),
		PlatformIdentifier: optional(n.PlatformIdentifier), IpAddressType: smtypes.IPAddressType(n.IPAddressType),
	}
	if n.VolumeSizeInGB > 0 {
		in.VolumeSizeInGB = aws.Int32(n.VolumeSizeInGB)
	}
	if n.MinimumIMDSVersion != "" {
		in.InstanceMetadataServiceConfiguration = &smtypes.InstanceMetadataServiceConfiguration{
			MinimumInstanceMetadataServiceVersion: aws.String(n.MinimumIMDSVersion),
		}
	}
	for _, a := range n.AcceleratorTypes {
		in.AcceleratorTypes = append(in.AcceleratorTypes, smtypes.NotebookInstanceAcceleratorType(a))
	}
	for _, k := range slices.Sorted(maps.Keys(n.Tags)) {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(n.Tags[k])})
	}
	out, err := r.c.SageMaker.CreateNotebookInstance(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("notebook instance %s: creating: %w", n.Name, err)
	}
	r.afterCall()
	if _, err := r.waitNotebook(ctx, n.Name, statusInService); err != nil {
		return nil, err
	}
	return map[string]string{"arn": aws.ToString(out.NotebookInstanceArn)}, nil
}

// undo stops and deletes the replacement.
func (s *createNotebook) undo(ctx context.Context, r *runner, _ State) error {
	return r.deleteNotebook(ctx, s.Spec.Name)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// stopNotebook stops an InService notebook.
type stopNotebook struct {
	Name string `json:"name"`
}

func (s *stopNotebook) kind() string     { return StepStopNotebook }
func (s *stopNotebook) resource() string { return s.Name }
func (s *stopNotebook) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *stopNotebook) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	if before.Notebook.Status != statusInService {
		return fmt.Errorf("notebook instance %s is %s; it can only be stopped from InService", s.Name, before.Notebook.Status)
	}
	return nil
}

func (s *stopNotebook) expect(before State) State {
	n := *before.Notebook
	n.Status = statusStopped
	return State{Notebook: &n}
}

func (s *stopNotebook) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := r.stopNotebook(ctx, s.Name); err != nil {
		return nil, err
	}
	r.afterCall()
	_, err := r.waitNotebook(ctx, s.Name, statusStopped)
	return nil, err
}

// undo starts the notebook again if it was running.
func (s *stopNotebook) undo(ctx context.Context, r *runner, before State) error {
	return r.ensureStatus(ctx, s.Name, before.Notebook.Status)
}

// tagNotebook adds or overwrites tags.
type tagNotebook struct {
	Name string            `json:"name"`
	Tags map[string]string `json:"tags"`
}

func (s *tagNotebook) kind() string     { return StepTagNotebook }
func (s *tagNotebook) resource() string { return s.Name }
func (s *tagNotebook) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *tagNotebook) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	return nil
}

func (s *tagNotebook) expect(before State) State {
	n := *before.Notebook
	n.Tags = tagsWith(n.Tags, s.Tags)
	return State{Notebook: &n}
}

func (s *tagNotebook) do(ctx context.Context, r *runner, before State) (any, error) {
	// AddTags overwrites an existing key on AWS; delete first so that
	// emulators that append duplicates (moto) end in the same state.
	var existing []string
	for k := range s.Tags {
		if _, ok := before.Notebook.Tags[k]; ok {
			existing = append(existing, k)
		}
	}
	if err := deleteTags(ctx, r.c.SageMaker, before.Notebook.ARN, existing); err != nil {
		return nil, err
	}
	if err := addTags(ctx, r.c.SageMaker, before.Notebook.ARN, s.Tags); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

// undo removes the tags the step added and restores the values it overwrote.
func (s *tagNotebook) undo(ctx context.Context, r *runner, before State) error {
	live, err := s.observe(ctx, r)
	if err != nil || live.Absent {
		return err
	}
	var remove []string
	restore := map[string]string{}
	for k := range s.Tags {
		old, had := before.Notebook.Tags[k]
		cur, has := live.Notebook.Tags[k]
		switch {
		case had && (!has || cur != old):
			if has {
				remove = append(remove, k)
			}
			restore[k] = old
		case !had && has:
			remove = append(remove, k)
		}
	}
	slices.Sort(remove)
	if err := deleteTags(ctx, r.c.SageMaker, live.Notebook.ARN, remove); err != nil {
		return err
	}
	return addTags(ctx, r.c.SageMaker, live.Notebook.ARN, restore)
}

func addTags(ctx context.Context, c SageMakerAPI, arn string, tags map[string]string) error {
	if len(tags) == 0 {
		return nil
	}
	in := &sagemaker.AddTagsInput{ResourceArn: aws.String(arn)}
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := c.AddTags(ctx, in); err != nil {
		return fmt.Errorf("%s: adding tags: %w", arn, err)
	}
	return nil
}

func deleteTags(ctx context.Context, c SageMakerAPI, arn string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if _, err := c.DeleteTags(ctx, &sagemaker.DeleteTagsInput{ResourceArn: aws.String(arn), TagKeys: keys}); err != nil {
		return fmt.Errorf("%s: deleting tags %s: %w", arn, strings.Join(keys, ", "), err)
	}
	return nil
}

// deleteNotebook deletes a replaced notebook. Only Finalize uses it; it
// cannot be undone.
type deleteNotebook struct {
	Name string `json:"name"`
}

func (s *deleteNotebook) kind() string     { return StepDeleteNotebook }
func (s *deleteNotebook) resource() string { return s.Name }
func (s *deleteNotebook) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *deleteNotebook) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	if st := before.Notebook.Status; st != statusStopped && st != statusFailed {
		return fmt.Errorf("notebook instance %s is %s; only a Stopped (or Failed) replaced notebook is deleted", s.Name, st)
	}
	return nil
}

func (s *deleteNotebook) expect(State) State { return State{Absent: true} }

func (s *deleteNotebook) do(ctx context.Context, r *runner, _ State) (any, error) {
	if _, err := r.c.SageMaker.DeleteNotebookInstance(ctx, &sagemaker.DeleteNotebookInstanceInput{NotebookInstanceName: aws.String(s.Name)}); err != nil {
		return nil, fmt.Errorf("notebook instance %s: deleting: %w", s.Name, err)
	}
	r.afterCall()
	return nil, r.waitNotebookGone(ctx, s.Name)
}

func (s *deleteNotebook) undo(context.Context, *runner, State) error {
	return fmt.Errorf("notebook instance %s was deleted by finalize: that cannot be undone", s.Name)
}

// --- lifecycle configurations ----------------------------------------------

type createLifecycleConfig struct {
	Name     string `json:"name"`
	OnCreate string `json:"on_create,omitempty"`
	OnStart  string `json:"on_start,omitempty"`
}

func (s *createLifecycleConfig) kind() string     { return StepCreateLifecycleConfig }
func (s *createLifecycleConfig) resource() string { return s.Name }
func (s *createLifecycleConfig) observe(ctx context.Context, r *runner) (State, error) {
	return observeLifecycleConfig(ctx, r.c.SageMaker, s.Name)
}

func (s *createLifecycleConfig) check(before State) error {
	if !before.Absent {
		return fmt.Errorf("lifecycle configuration %s already exists", s.Name)
	}
	return nil
}

func (s *createLifecycleConfig) expect(State) State {
	return State{LifecycleConfig: &LifecycleConfigState{Name: s.Name, OnCreate: s.OnCreate, OnStart: s.OnStart}}
}

func (s *createLifecycleConfig) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := createLCC(ctx, r.c.SageMaker, LifecycleConfigState{Name: s.Name, OnCreate: s.OnCreate, OnStart: s.OnStart}); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

func (s *createLifecycleConfig) undo(ctx context.Context, r *runner, _ State) error {
	return deleteLCC(ctx, r.c.SageMaker, s.Name)
}

type deleteLifecycleConfig struct {
	Name string `json:"name"`
}

func (s *deleteLifecycleConfig) kind() string     { return StepDeleteLifecycleConfig }
func (s *deleteLifecycleConfig) resource() string { return s.Name }
func (s *deleteLifecycleConfig) observe(ctx context.Context, r *runner) (State, error) {
	return observeLifecycleConfig(ctx, r.c.SageMaker, s.Name)
}

func (s *deleteLifecycleConfig) check(before State) error {
	if before.Absent {
		return fmt.Errorf("lifecycle configuration %s does not exist", s.Name)
	}
	return nil
}

func (s *deleteLifecycleConfig) expect(State) State { return State{Absent: true} }

func (s *deleteLifecycleConfig) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := deleteLCC(ctx, r.c.SageMaker, s.Name); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, nil
}

// undo re-creates the configuration with the scripts it had.
func (s *deleteLifecycleConfig) undo(ctx context.Context, r *runner, before State) error {
	live, err := s.observe(ctx, r)
	if err != nil || !live.Absent {
		return err
	}
	return createLCC(ctx, r.c.SageMaker, *before.LifecycleConfig)
}

func createLCC(ctx context.Context, c SageMakerAPI, l LifecycleConfigState) error {
	_, err := c.CreateNotebookInstanceLifecycleConfig(ctx, &sagemaker.CreateNotebookInstanceLifecycleConfigInput{
		NotebookInstanceLifecycleConfigName: aws.String(l.Name), OnCreate: hooks(l.OnCreate), OnStart: hooks(l.OnStart),
	})
	if err != nil {
		return fmt.Errorf("lifecycle configuration %s: creating: %w", l.Name, err)
	}
	return nil
}

func deleteLCC(ctx context.Context, c SageMakerAPI, name string) error {
	_, err := c.DeleteNotebookInstanceLifecycleConfig(ctx, &sagemaker.DeleteNotebookInstanceLifecycleConfigInput{
		NotebookInstanceLifecycleConfigName: aws.String(name),
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("lifecycle configuration %s: deleting: %w", name, err)
	}
	return nil
}

// --- data preservation -----------------------------------------------------

// backupNotebookData copies the old notebook's volume to S3: it attaches
// the backup lifecycle configuration, starts the notebook so that it runs,
// waits for the manifest, stops the notebook and puts its own lifecycle
// configuration back. The notebook ends Stopped.
type backupNotebookData struct {
	Name           string   `json:"name"`
	BackupConfig   string   `json:"backup_config"`
	OriginalConfig string   `json:"original_config,omitempty"`
	Data           DataPlan `json:"data"`
}

func (s *backupNotebookData) kind() string     { return StepBackupNotebookData }
func (s *backupNotebookData) resource() string { return s.Name }
func (s *backupNotebookData) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *backupNotebookData) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	if st := before.Notebook.Status; st != statusInService && st != statusStopped {
		return fmt.Errorf("notebook instance %s is %s; the backup needs it InService or Stopped", s.Name, st)
	}
	if before.Notebook.LifecycleConfigName != s.OriginalConfig {
		return fmt.Errorf("notebook instance %s has lifecycle configuration %q, expected %q",
			s.Name, before.Notebook.LifecycleConfigName, s.OriginalConfig)
	}
	return nil
}

func (s *backupNotebookData) expect(before State) State {
	n := *before.Notebook
	n.Status = statusStopped
	return State{Notebook: &n}
}

func (s *backupNotebookData) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := r.setLifecycleConfig(ctx, s.Name, s.BackupConfig); err != nil {
		return nil, err
	}
	r.afterCall()
	if err := r.ensureStatus(ctx, s.Name, statusInService); err != nil {
		return nil, err
	}
	m, err := r.waitManifest(ctx, s.Data, "backup")
	if err != nil {
		return nil, fmt.Errorf("notebook instance %s: backup: %w", s.Name, err)
	}
	if err := r.setLifecycleConfig(ctx, s.Name, s.OriginalConfig); err != nil {
		return m, err
	}
	return m, nil
}

// undo puts the original lifecycle configuration back and restores the
// status the notebook had.
func (s *backupNotebookData) undo(ctx context.Context, r *runner, before State) error {
	if err := r.setLifecycleConfig(ctx, s.Name, before.Notebook.LifecycleConfigName); err != nil {
		return err
	}
	return r.ensureStatus(ctx, s.Name, before.Notebook.Status)
}

// verifyRestore waits for the replacement's restore manifest and compares it
// with the backup's. It changes nothing.
type verifyRestore struct {
	Name string   `json:"name"`
	Data DataPlan `json:"data"`
}

func (s *verifyRestore) kind() string     { return StepVerifyRestore }
func (s *verifyRestore) resource() string { return s.Name }
func (s *verifyRestore) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *verifyRestore) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	return nil
}

func (s *verifyRestore) expect(before State) State { return before }

// RestoreCheck is the result of verify-restore.
type RestoreCheck struct {
	Backup  Manifest `json:"backup"`
	Restore Manifest `json:"restore"`
}

func (s *verifyRestore) do(ctx context.Context, r *runner, _ State) (any, error) {
	if r.c.S3 == nil {
		return nil, fmt.Errorf("notebook instance %s: no S3 client to read the data manifests", s.Name)
	}
	backup, ok, err := readManifest(ctx, r.c.S3, s.Data, "backup", r.runID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%sbackup.json: this run's backup manifest is missing", s.Data.MetaURI)
	}
	restore, err := r.waitManifest(ctx, s.Data, "restore")
	r.afterCall() // this step's "call" is reading the manifest
	res := RestoreCheck{Backup: backup, Restore: restore}
	if err != nil {
		return res, fmt.Errorf("notebook instance %s: restore: %w", s.Name, err)
	}
	if restore.Files != backup.Files || restore.Bytes != backup.Bytes || restore.Missing != 0 {
		return res, fmt.Errorf("notebook instance %s: restored data does not match the backup: backup %d files, %d bytes; "+
			"restored %d files, %d bytes, %d missing or of another size", s.Name, backup.Files, backup.Bytes,
			restore.Files, restore.Bytes, restore.Missing)
	}
	return res, nil
}

func (s *verifyRestore) undo(context.Context, *runner, State) error { return nil }

// setNotebookLifecycle gives a notebook a lifecycle configuration (none
// when Config is empty) and leaves it in Status: the replacement gets the
// old notebook's configuration back once its data is restored.
type setNotebookLifecycle struct {
	Name   string `json:"name"`
	Config string `json:"config,omitempty"`
	Status string `json:"status"`
}

func (s *setNotebookLifecycle) kind() string     { return StepSetNotebookLifecycle }
func (s *setNotebookLifecycle) resource() string { return s.Name }
func (s *setNotebookLifecycle) observe(ctx context.Context, r *runner) (State, error) {
	return observeNotebook(ctx, r.c.SageMaker, s.Name)
}

func (s *setNotebookLifecycle) check(before State) error {
	if before.Notebook == nil {
		return fmt.Errorf("notebook instance %s does not exist", s.Name)
	}
	if st := before.Notebook.Status; st != statusInService && st != statusStopped {
		return fmt.Errorf("notebook instance %s is %s; it must be InService or Stopped", s.Name, st)
	}
	return nil
}

func (s *setNotebookLifecycle) expect(before State) State {
	n := *before.Notebook
	n.LifecycleConfigName, n.Status = s.Config, s.Status
	return State{Notebook: &n}
}

func (s *setNotebookLifecycle) do(ctx context.Context, r *runner, _ State) (any, error) {
	if err := r.setLifecycleConfig(ctx, s.Name, s.Config); err != nil {
		return nil, err
	}
	r.afterCall()
	return nil, r.ensureStatus(ctx, s.Name, s.Status)
}

func (s *setNotebookLifecycle) undo(ctx context.Context, r *runner, before State) error {
	if err := r.setLifecycleConfig(ctx, s.Name, before.Notebook.LifecycleConfigName); err != nil {
		return err
	}
	return r.ensureStatus(ctx, s.Name, before.Notebook.Status)
}

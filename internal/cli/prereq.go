package cli

import (
	"context"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/guardrail"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/preflight"
)

// The SOP's Pre-requisites made checkable (preflight), the permissions a
// mode needs as a policy (iam-policy), and a preventive guardrail.

func parseFeatures(names []string) ([]permissions.Feature, error) {
	var out []permissions.Feature
	for _, n := range names {
		f, err := permissions.ParseFeature(strings.TrimSpace(n))
		if err != nil {
			return nil, usageErr(err)
		}
		out = append(out, f)
	}
	return out, nil
}

func featureNames() string {
	var s []string
	for _, f := range permissions.Features() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// writeExitCodes are those of a command that prints what it generates.
const writeExitCodes = `Exit codes: 0 written, 2 usage error, 3 the --output file could not be written.`

// writeOut writes data to --output (atomically) or stdout.
func writeOut(ios *iostreams.IOStreams, output string, write func(io.Writer) error) error {
	if output == "" {
		return write(ios.Out)
	}
	if err := atomicfile.Write(output, 0o644, write); err != nil {
		return &exitError{code: ExitIncomplete, err: err}
	}
	return nil
}

type preflightOptions struct {
	IO           *iostreams.IOStreams
	Live         liveOptions
	Mode         string
	Features     []string
	Format       string
	BackupBucket string
	NotebookRole string
	MemberRole   string
	QueueURL     string
	SNSTopic     string
}

func newPreflightCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &preflightOptions{IO: ios}
	var regions string
	cmd := &cobra.Command{
		Use:   "preflight",
		Short: "Check who you are and whether you hold every permission a scan, a remediation or watch needs",
		Long: `Preflight automates the SOP's Pre-requisites. It prints the caller (STS), the
partition and the enabled regions, then every permission the chosen mode needs
as granted, denied or not verifiable, found by harmless calls: read calls,
EC2 mutating calls with DryRun, and iam:SimulatePrincipalPolicy where the
caller may use it. Nothing is changed.

Exit codes: 0 every needed permission granted, 1 at least one denied,
2 usage or configuration error, 3 some could not be verified.`,
		Example: `  sagefence preflight
  sagefence preflight --for remediate --regions eu-west-1 --backup-bucket s3://nb-backups/sagefence
  sagefence preflight --features securityhub --format json
  sagefence preflight --for watch --queue-url https://sqs.us-east-1.amazonaws.com/111122223333/sagefence-events`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Live.Regions, err = regionsFlag(regions); err != nil {
				return err
			}
			return runPreflight(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Mode, "for", "audit", "what to check the permissions of: audit (scan), remediate (plan, apply, backout) or watch")
	f.StringSliceVar(&o.Features, "features", nil, "optional features to include: "+featureNames())
	f.StringVar(&regions, "regions", "", "comma-separated regions to check (default: the configured region)")
	f.StringVar(&o.Format, "format", "table", "output format: table or json")
	f.StringVar(&o.BackupBucket, "backup-bucket", "", "remediation backup location s3://BUCKET/PREFIX to check S3 access on")
	f.StringVar(&o.NotebookRole, "notebook-role", "", "notebook execution role ARN to check iam:PassRole on")
	f.StringVar(&o.MemberRole, "role-name", "", "role assumed in member accounts (organization scans)")
	f.StringVar(&o.QueueURL, "queue-url", "", "with --for watch: the event queue `URL` to check SQS access on (default: sagefence-events)")
	f.StringVar(&o.SNSTopic, "alert-sns-topic", "", "with --for watch: the alert topic `ARN` to check sns:Publish on (default: sagefence-alerts)")
	addAWSFlags(f, &o.Live)
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func runPreflight(ctx context.Context, o *preflightOptions) error {
	mode, err := permissions.ParseMode(o.Mode)
	if err != nil {
		return usageErrf("--for %q: want audit, remediate or watch", o.Mode)
	}
	if o.Format != "table" && o.Format != "json" {
		return usageErrf("--format %q: want table or json", o.Format)
	}
	features, err := parseFeatures(o.Features)
	if err != nil {
		return err
	}
	if (o.QueueURL != "" || o.SNSTopic != "") && mode != permissions.ModeWatch {
		return usageErrf("--queue-url and --alert-sns-topic apply to --for watch")
	}
	queueARN, topicARN, err := watchResources(o.QueueURL, o.SNSTopic)
	if err != nil {
		return err
	}
	cfg, err := loadAWS(ctx, o.Live, nil)
	if err != nil {
		return usageErr(err)
	}
	if cfg.Region == "" {
		if len(o.Live.Regions) == 0 {
			return usageErrf("no AWS region configured: pass --regions or set AWS_REGION")
		}
		cfg.Region = o.Live.Regions[0]
	}
	rep, err := preflight.Run(ctx, preflight.NewClients(cfg), preflight.Options{
		Mode: mode, Regions: o.Live.Regions, Features: features,
		BackupBucket: o.BackupBucket, NotebookRoleARN: o.NotebookRole, MemberRoleName: o.MemberRole,
		EventQueueARN: queueARN, AlertTopicARN: topicARN,
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return usageErr(err)
	}
	if o.Format == "json" {
		err = rep.JSON(o.IO.Out)
	} else {
		err = rep.Table(o.IO.Out)
	}
	if err != nil {
		return &exitError{code: ExitIncomplete, err: err}
	}
	if code := rep.ExitCode(); code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

type iamPolicyOptions struct {
	IO           *iostreams.IOStreams
	Mode         string
	Features     []string
	AllFeatures  bool
	Partition    string
	Account      string
	BackupBucket string
	NotebookRole []string
	MemberRole   string
	EventQueue   string
	AlertTopic   string
	Output       string
}

func newIAMPolicyCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &iamPolicyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the least-privilege IAM policy a scan, a remediation or watch needs",
		Long: `iam-policy prints an IAM policy document generated from the one list of AWS
API actions sagefence calls (a test fails when the code calls an action the
list lacks). Audit is read-only; remediate adds the calls that plan, apply,
backout and finalize make, scoped as narrowly as each action allows.

` + writeExitCodes,
		Example: `  sagefence iam-policy --for audit > sagefence-audit.json
  sagefence iam-policy --for remediate --account 111122223333 --backup-bucket s3://nb-backups/sagefence \
      --notebook-role 'arn:aws:iam::111122223333:role/SageMaker*'
  aws iam create-policy --policy-name sagefence-audit --policy-document file://sagefence-audit.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFile("--output", o.Output); err != nil {
				return err
			}
			return runIAMPolicy(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Mode, "for", "audit", "audit (scan), remediate (plan, apply, backout, finalize) or watch (scan, the event queue, alerts)")
	f.StringSliceVar(&o.Features, "features", nil, "optional features to include: "+featureNames())
	f.BoolVar(&o.AllFeatures, "all-features", false, "include every optional feature")
	f.StringVar(&o.Partition, "partition", "aws", "ARN partition: aws, aws-cn, aws-us-gov, ...")
	f.StringVar(&o.Account, "account", "", "pin resource ARNs to this account ID (default: any account)")
	f.StringVar(&o.BackupBucket, "backup-bucket", "", "remediation backup location s3://BUCKET/PREFIX (default: buckets named sagefence-*)")
	f.StringSliceVar(&o.NotebookRole, "notebook-role", nil, "execution role ARNs (wildcards allowed) iam:PassRole may pass")
	f.StringVar(&o.MemberRole, "role-name", "", "role assumed in member accounts (with --features organizations)")
	f.StringVar(&o.EventQueue, "queue-name", "", "with --for watch: the SQS queue watch reads (default: sagefence-*)")
	f.StringVar(&o.AlertTopic, "topic-name", "", "with --for watch: the SNS topic watch publishes alerts to (default: sagefence-*)")
	f.StringVarP(&o.Output, "output", "o", "", "write the policy to this file instead of stdout")
	return cmd
}

func runIAMPolicy(o *iamPolicyOptions) error {
	mode, err := permissions.ParseMode(o.Mode)
	if err != nil {
		return usageErrf("--for %q: want audit, remediate or watch", o.Mode)
	}
	features, err := parseFeatures(o.Features)
	if err != nil {
		return err
	}
	opts := []permissions.PolicyOption{permissions.WithPartition(o.Partition), permissions.WithFeatures(features...)}
	if o.AllFeatures {
		opts = append(opts, permissions.WithAllFeatures())
	}
	if o.Account != "" {
		opts = append(opts, permissions.WithAccount(o.Account))
	}
	if o.BackupBucket != "" {
		opts = append(opts, permissions.WithBackupBucket(o.BackupBucket))
	}
	if len(o.NotebookRole) > 0 {
		opts = append(opts, permissions.WithNotebookRoles(o.NotebookRole...))
	}
	if o.MemberRole != "" {
		opts = append(opts, permissions.WithMemberRoleName(o.MemberRole))
	}
	if (o.EventQueue != "" || o.AlertTopic != "") && mode != permissions.ModeWatch {
		return usageErrf("--queue-name and --topic-name apply to --for watch")
	}
	if o.EventQueue != "" {
		opts = append(opts, permissions.WithEventQueue(o.EventQueue))
	}
	if o.AlertTopic != "" {
		opts = append(opts, permissions.WithAlertTopic(o.AlertTopic))
	}
	doc, err := permissions.Policy(mode, opts...)
	if err != nil {
		return usageErr(err)
	}
	return writeOut(o.IO, o.Output, func(w io.Writer) error {
		_, err := w.Write(doc)
		return err
	})
}

type guardrailOptions struct {
	IO      *iostreams.IOStreams
	Format  string
	Kind    string
	Name    string
	Exempt  []string
	Targets []string
	Output  string
}

func newGuardrailCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &guardrailOptions{IO: ios}
	var formats []string
	for _, f := range guardrail.Formats() {
		formats = append(formats, string(f))
	}
	cmd := &cobra.Command{
		Use:   "guardrail",
		Short: "Print a preventive policy that stops notebooks and Studio domains with direct internet access from being created",
		Long: `guardrail prints a policy that denies sagemaker:CreateNotebookInstance unless
sagemaker:DirectInternetAccess is "Disabled" (a request that omits it is
denied too: the API default is Enabled) and a VPC subnet is given; denies
sagemaker:CreateDomain unless sagemaker:AppNetworkAccessType is "VpcOnly"
(omitted is denied: the default is PublicInternetOnly); and denies
sagemaker:UpdateDomain when it sets AppNetworkAccessType to anything else
(an update that leaves it out is allowed: it does not change it). Attach it
as a service control policy (scp) to an OU, or as an IAM policy (iam); the
cloudformation and terraform formats wrap either kind for deployment.
See docs/guardrails.md for rollout and exemptions.

` + writeExitCodes,
		Example: `  sagefence guardrail --format scp > deny-direct-internet.json
  sagefence guardrail --format terraform --exempt-principal 'arn:aws:iam::*:role/NotebookBreakGlass' > guardrail.tf
  sagefence guardrail --format cloudformation --target ou-abcd-12345678`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutputFile("--output", o.Output); err != nil {
				return err
			}
			return runGuardrail(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Format, "format", "scp", "output: "+strings.Join(formats, ", "))
	f.StringVar(&o.Kind, "kind", "scp", "what cloudformation and terraform create: scp or iam")
	f.StringVar(&o.Name, "name", "", "policy resource name")
	f.StringSliceVar(&o.Exempt, "exempt-principal", nil, "principal ARN patterns the denial does not apply to (repeatable)")
	f.StringSliceVar(&o.Targets, "target", nil, "root, OU or account IDs to attach the SCP to (cloudformation/terraform)")
	f.StringVarP(&o.Output, "output", "o", "", "write to this file instead of stdout")
	return cmd
}

func runGuardrail(o *guardrailOptions) error {
	kind := guardrail.Kind(o.Kind)
	if kind != guardrail.KindSCP && kind != guardrail.KindIAM {
		return usageErrf("--kind %q: want scp or iam", o.Kind)
	}
	out, err := guardrail.Generate(o.Format, guardrail.Options{Name: o.Name, ExemptPrincipalARNs: o.Exempt, Kind: kind, TargetIDs: o.Targets})
	if err != nil {
		return usageErr(err)
	}
	return writeOut(o.IO, o.Output, func(w io.Writer) error {
		_, err := w.Write(out)
		return err
	})
}

// addAWSFlags adds the flags that select credentials and endpoints.
func addAWSFlags(f interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
}, o *liveOptions) {
	f.StringVar(&o.Profile, "profile", "", "AWS shared-config profile (default: the SDK's default chain)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (an emulator); AWS_ENDPOINT_URL is honoured too")
	f.DurationVar(&o.CallTimeout, "call-timeout", 30*time.Second, "give up on one AWS call attempt after this long")
}

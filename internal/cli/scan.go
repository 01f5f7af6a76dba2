package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/evidence"
	"github.com/sagefence/sagefence/internal/exceptions"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/remediate"
	"github.com/sagefence/sagefence/internal/report"
	"github.com/sagefence/sagefence/internal/securityhub"
)

// liveOptions select what a live collection reads and whom it tells how
// it goes.
type liveOptions struct {
	Profile     string
	EndpointURL string
	Regions     []string
	Concurrency int
	CallTimeout time.Duration
	// Resources are the resource kinds to read (scan --resources); empty
	// reads them all.
	Resources []string
	// Org selects the accounts and how they are read (org.go).
	Org orgOptions

	// Stats, if set, counts every AWS call made with these options: the
	// scan shares one between the collection, the Security Hub push, the
	// progress line and --stats.
	Stats *awsclient.Stats
	// Progress, if set, is called as each account-region has been read
	// (from several goroutines at once).
	Progress func(account, region string, notebooks int)
	// Identity, if set, is given the caller's account and ARN once the
	// collection has resolved them.
	Identity func(account, arn string)
	// Config, if set, is the SDK configuration already loaded for these
	// options, counting its calls in Stats: the scan loads it once for the
	// collection and the Security Hub push, so that credentials (a
	// credential process, an SSO token, an assumed role) are resolved once.
	Config *aws.Config
}

// statsPrinter prints call statistics (--stats).
type statsPrinter interface {
	Print(w io.Writer, wall time.Duration)
}

// collectFunc collects a live inventory. A returned error means nothing
// could be evaluated (configuration); AWS failures are inside the inventory.
type collectFunc func(ctx context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error)

// securityHubAPI is what the push needs of Security Hub in one region.
type securityHubAPI interface {
	securityhub.BatchImportFindingsAPI
	securityhub.WorkflowAPI
}

// securityHubFunc builds the Security Hub client of one region.
type securityHubFunc func(cfg aws.Config, region string) securityHubAPI

type scanOptions struct {
	IO *iostreams.IOStreams

	Live            liveOptions
	ControlProfile  string
	OpenThreshold   string
	openV4, openV6  int
	Formats         []string
	Output          string
	OutputDir       string
	Input           string
	SaveInventory   string
	Exceptions      string
	EvidenceDir     string
	Force           bool
	PushSecurityHub bool
	Stats           bool
	Strict          bool
	Journal         string
	regionsText     string
	resourcesText   []string

	Now         func() time.Time
	Collect     collectFunc
	SecurityHub securityHubFunc
	// ProgressInterval is how often the progress line is redrawn on a
	// terminal; the first line appears after one interval.
	ProgressInterval time.Duration
}

func newScanCmd(ios *iostreams.IOStreams, runF func(context.Context, *scanOptions) error) *cobra.Command {
	opts := &scanOptions{IO: ios, Now: time.Now, Collect: collectLive, SecurityHub: newSecurityHub, ProgressInterval: 200 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Audit notebook instances and Studio domains for direct internet access and internet paths",
		Long: `Scan evaluates every SageMaker notebook instance of the account (in every
enabled region of the caller's partition, or those given with --regions) and
reports one result per notebook and, with the control
sagemaker-studio-no-direct-internet-access, one per SageMaker Studio domain
and per user profile with security groups of its own (--resources selects
notebook-instances, studio-domains or both, the default; see docs/studio.md):

  PASS    no internet path, or controlled egress (an allowlist within the open
          threshold)
  FAIL    DirectInternetAccess is Enabled (a Studio domain: AppNetworkAccessType
          is not VpcOnly), or the VPC gives an internet path
          (through NAT gateways, transit gateways and egress VPCs, followed
          hop by hop) whose security groups and network ACLs open more public
          space than the open threshold, or the subnet is public
  REVIEW  public traffic ends at something the scanner cannot see past: an
          appliance, a VPN or Direct Connect, or a transit gateway or egress
          VPC in an account the scan does not read (--network-accounts)
  ERROR   could not be evaluated (never reported as PASS)
  MUTED   a FAIL or REVIEW covered by an exception (--exceptions); it stays in
          every output with the exception's reason, owner and expiry

Credentials come from the AWS SDK's default chain (environment, shared config,
SSO, instance role) or --profile. The scan is read-only; "sagefence iam-policy
--for audit" prints the permissions it needs. --input evaluates a saved
inventory without AWS.

Outputs: one --format goes to stdout or --output; several (repeat --format or
separate them with commas) need --output-dir, which gets report.<ext> for each.
--format github writes GitHub Actions workflow commands (each FAIL and ERROR an
::error, REVIEW a ::warning, MUTED a ::notice), which a workflow step shows as
annotations on the run.
--evidence-dir writes an evidence bundle: the raw inventory, the report in
every format and a manifest with the SHA-256 of each file, the tool version,
the time and the caller. --push-securityhub imports one finding per result
(notebook, Studio domain or user profile) into Security Hub, in its account
and region; IDs are stable, so a
re-run updates findings instead of duplicating them. It also keeps Security
Hub's workflow in step: a muted finding is SUPPRESSED with the reason as its
note, and one sagefence suppressed that nothing mutes any more is set back
to NEW (RESOLVED if it passes) by a scan that read what had muted it (the
exceptions file, the remediation journal); an analyst's own workflow
changes are left alone. It needs credentials, and the securityhub actions
BatchImportFindings, GetFindings and BatchUpdateFindings, with --input too.
A finding Security Hub rejects is reported on stderr and makes the exit code
3; the report is still written. On a terminal, a live scan shows its
progress on stderr.

` + exitCodesHelp,
		Example: `  # evaluate the bundled example estate, no AWS account needed
  sagefence scan --input examples/inventory.json

  # scan two regions of the account behind a profile, as JSON
  sagefence scan --profile audit --regions eu-west-1,us-east-1 --format json --output report.json

  # several formats at once, one file each (reports/report.json, reports/report.html, ...)
  sagefence scan --format json,html,junit --output-dir reports

  # annotations in a GitHub Actions run
  sagefence scan --format github

  # mute accepted exposures (reason, owner, expiry); expired exceptions are reported
  sagefence scan --input examples/inventory.json --exceptions examples/exceptions.yaml

  # keep an evidence bundle for auditors (--force writes into a non-empty directory)
  sagefence scan --evidence-dir evidence/2026-11-02

  # import the findings into Security Hub, in each notebook's account and region
  sagefence scan --push-securityhub
  sagefence scan --input inv.json --push-securityhub --profile audit   # a saved scan, later

  # every account of the organization, through a role deployed in each
  sagefence scan --org --role-name SagefenceAudit --format json --output org.json

  # follow transit gateways into a network account's egress VPCs (its notebooks are not scanned)
  sagefence scan --org --role-name SagefenceAudit --network-accounts 999988887777

  # one shard of four (one per machine or pod), then join the shards
  sagefence scan --org --role-name SagefenceAudit --shard 0/4 --format json --output shard-0.json
  sagefence merge shard-*.json --format json --output org.json

  # keep the raw facts as evidence and re-evaluate them later
  sagefence scan --save-inventory inv.json && sagefence scan --input inv.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runScan(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	addLiveFlags(f, &opts.Live, &opts.regionsText)
	f.StringVar(&opts.ControlProfile, "control-profile", control.ProfileSOP, "control profile: sop (every sub-check decides) or fsbp (DirectInternetAccess alone, Security Hub SageMaker.1 parity)")
	f.StringVar(&opts.OpenThreshold, "open-threshold", defaultOpenThreshold, openThresholdHelp)
	f.StringSliceVar(&opts.Formats, "format", []string{"table"}, "output format, repeatable or comma-separated (several need --output-dir): "+strings.Join(report.Formats(), ", "))
	completeWords(cmd, "format", report.Formats())
	f.StringVarP(&opts.Output, "output", "o", "", "write the report to this file (atomically) instead of stdout")
	f.StringVar(&opts.OutputDir, "output-dir", "", "write each --format to `DIR`/report.<ext> (atomically), e.g. report.json, report.html")
	f.StringVar(&opts.Input, "input", "", "evaluate a saved inventory file instead of calling AWS")
	f.StringVar(&opts.SaveInventory, "save-inventory", "", "write the collected inventory (raw facts, versioned JSON) to this file")
	f.StringVar(&opts.Exceptions, "exceptions", "", "YAML `FILE` of exceptions (match, reason, owner, expires) that mute FAIL and REVIEW results")
	f.StringVar(&opts.EvidenceDir, "evidence-dir", "", "write an evidence bundle (inventory, every format, SHA-256 manifest) into `DIR`, which must be empty unless --force")
	f.BoolVar(&opts.Force, "force", false, "with --evidence-dir: write into a directory that is not empty")
	f.BoolVar(&opts.PushSecurityHub, "push-securityhub", false, "import the findings into AWS Security Hub (BatchImportFindings) in each resource's account and region")
	f.BoolVar(&opts.Stats, "stats", false, "print API call statistics to stderr")
	f.BoolVar(&opts.Strict, "strict", false, "exit 1 on REVIEW results too")
	f.StringSliceVar(&opts.resourcesText, "resources", nil, "resource kinds to scan, comma-separated: "+strings.Join(resourceKinds(), ", ")+" (default: all)")
	f.StringVar(&opts.Journal, "journal", "", "remediation journal whose replaced notebooks are MUTED until finalize (default: the state directory's, when it exists)")
	addOrgFlags(f, &opts.Live.Org)
	return cmd
}

func (o *scanOptions) validate(cmd *cobra.Command) error {
	formats, err := checkFormats(o.Formats)
	if err != nil {
		return err
	}
	o.Formats = formats
	if err := o.Live.Org.validate(cmd.Flags(), o.Input != ""); err != nil {
		return err
	}
	if o.openV4, o.openV6, err = parseOpenThreshold(o.OpenThreshold); err != nil {
		return err
	}
	if o.ControlProfile != control.ProfileSOP && o.ControlProfile != control.ProfileFSBP {
		return usageErrf("--control-profile %q: want %s", o.ControlProfile, strings.Join(control.Profiles(), " or "))
	}
	if o.Live.Concurrency < 1 || o.Live.Concurrency > 256 {
		return usageErrf("--concurrency %d: want 1 to 256", o.Live.Concurrency)
	}
	if o.Live.CallTimeout <= 0 {
		return usageErrf("--call-timeout must be positive")
	}
	if o.Live.Resources, err = resourcesFlag(o.resourcesText); err != nil {
		return err
	}
	if o.Input != "" {
		for _, name := range []string{"regions", "save-inventory", "concurrency", "resources"} {
			if cmd.Flags().Changed(name) {
				return usageErrf("--%s reads AWS and cannot be combined with --input", name)
			}
		}
		// These select the credentials and endpoint of the Security Hub
		// push, the one AWS call an --input scan can make.
		for _, name := range []string{"profile", "endpoint-url", "call-timeout", "stats"} {
			if cmd.Flags().Changed(name) && !o.PushSecurityHub {
				return usageErrf("--%s reads AWS and cannot be combined with --input (unless with --push-securityhub)", name)
			}
		}
	}
	if o.Live.Regions, err = regionsFlag(o.regionsText); err != nil {
		return err
	}
	if len(o.Formats) > 1 && o.OutputDir == "" {
		return usageErrf("--format %s: several formats need --output-dir (one file each)", strings.Join(o.Formats, ","))
	}
	if o.Output != "" && o.OutputDir != "" {
		return usageErrf("--output and --output-dir cannot be combined (--output-dir names its files report.<ext>)")
	}
	if o.Force && o.EvidenceDir == "" {
		return usageErrf("--force only applies to --evidence-dir")
	}
	if o.EvidenceDir != "" && o.OutputDir != "" && filepath.Clean(o.EvidenceDir) == filepath.Clean(o.OutputDir) {
		return usageErrf("--output-dir and --evidence-dir name the same directory (the bundle already holds every format)")
	}
	if o.SaveInventory != "" {
		for _, p := range o.reportPaths() {
			if filepath.Clean(p) == filepath.Clean(o.SaveInventory) {
				return usageErrf("--save-inventory and the report name the same file %s", p)
			}
		}
	}
	// Output paths are checked now, not after the scan they would lose.
	for _, check := range []error{
		checkOutputFile("--output", o.Output),
		checkOutputDir("--output-dir", o.OutputDir),
		checkOutputFile("--save-inventory", o.SaveInventory),
		checkOutputDir("--evidence-dir", o.EvidenceDir),
	} {
		if check != nil {
			return check
		}
	}
	return nil
}

// resourceKinds are the values --resources takes.
func resourceKinds() []string {
	return []string{inventory.ResourceNotebookInstances, inventory.ResourceStudioDomains}
}

// resourcesFlag validates --resources values and drops repeats; nil reads
// every kind.
func resourcesFlag(in []string) ([]string, error) {
	var out []string
	for _, r := range in {
		r = strings.TrimSpace(r)
		if !slices.Contains(resourceKinds(), r) {
			return nil, usageErrf("--resources %q: want %s (comma-separated)", r, strings.Join(resourceKinds(), " or "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// checkFormats validates --format values and drops repeats.
func checkFormats(in []string) ([]string, error) {
	var out []string
	for _, f := range in {
		f = strings.TrimSpace(f)
		if !report.Valid(f) {
			return nil, usageErrf("--format %q: want one of %s", f, strings.Join(report.Formats(), ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, usageErrf("--format: no format given")
	}
	return out, nil
}

func runScan(ctx context.Context, opts *scanOptions) error {
	ev, err := control.New(control.Options{Profile: opts.ControlProfile, OpenV4Bits: opts.openV4, OpenV6Bits: opts.openV6})
	if err != nil {
		return usageErr(err)
	}
	// Everything that can be refused is refused before AWS is read.
	set, err := loadExceptions(opts.Exceptions)
	if err != nil {
		return err
	}
	if opts.EvidenceDir != "" && !opts.Force {
		if err := checkEvidenceDir(opts.EvidenceDir); err != nil {
			return err
		}
	}
	if opts.Live.Stats == nil {
		opts.Live.Stats = awsclient.NewStats()
	}
	var pushCfg aws.Config
	if opts.PushSecurityHub {
		if pushCfg, err = loadAWS(ctx, opts.Live, opts.Live.Stats); err != nil {
			return usageErr(fmt.Errorf("--push-securityhub: %w", err))
		}
		opts.Live.Config = &pushCfg
	}
	started := opts.Now().UTC()

	var (
		inv     *inventory.Inventory
		invData []byte // the inventory as the evidence bundle stores it
		stats   statsPrinter
		caller  evidence.Caller
	)
	if opts.Input != "" {
		// One read serves the evaluation and the bundle, so both see the
		// same bytes.
		if invData, err = os.ReadFile(opts.Input); err != nil {
			return usageErr(err)
		}
		if inv, err = inventory.Parse(invData, opts.Input); err != nil {
			return usageErr(err)
		}
		if opts.EvidenceDir == "" {
			invData = nil // a large inventory's bytes need not outlive the parse
		}
		caller = evidence.Caller{AccountID: accountsOf(inv), ARN: "unknown"}
	} else {
		inv, stats, caller, err = collectWithProgress(ctx, opts)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return usageErr(err)
		}
		if opts.SaveInventory != "" {
			if err := inv.WriteFile(opts.SaveInventory); err != nil {
				return &exitError{code: ExitIncomplete, err: fmt.Errorf("save inventory: %w", err)}
			}
		}
		if opts.EvidenceDir != "" {
			var buf bytes.Buffer
			if err := inv.Encode(&buf); err != nil {
				return &exitError{code: ExitIncomplete, err: fmt.Errorf("evidence: %w", err)}
			}
			invData = buf.Bytes()
		}
		if caller.AccountID == "" {
			caller.AccountID = accountsOf(inv)
		}
		if caller.ARN == "" {
			caller.ARN = "unknown"
		}
	}

	rep := &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "sagefence", Version: Version()},
		Profile:       ev.Profile(),
		StartedAt:     started,
	}
	if sh := inv.Shard; sh != nil {
		rep.Shard = &finding.Shard{Index: sh.Index, Count: sh.Count}
	}
	rep.Results, rep.Errors = ev.Evaluate(inv)
	inv = nil // results keep what they need; the rest of the snapshot can go
	interrupted := ctx.Err() != nil
	if interrupted {
		rep.Errors = append(rep.Errors, finding.Error{Operation: "scan", Message: "interrupted before the scan finished"})
	}
	rep.FinishedAt = opts.Now().UTC()
	// Before any output, so that every format shows the same verdicts.
	// consulted are the mute sources this scan read: the Security Hub push
	// may lift the suppressions of those alone.
	var consulted []string
	if opts.Input == "" || opts.Journal != "" {
		// A stopped notebook a remediation run replaced is MUTED until
		// finalize; a journal that cannot be read is said, not fatal.
		read, err := muteReplaced(ctx, opts.Journal, rep)
		if err != nil {
			fmt.Fprintln(opts.IO.ErrOut, "sagefence: warning: "+oneLine(err.Error()))
		}
		if read {
			consulted = append(consulted, remediate.MuteSource)
		}
	}
	if opts.Exceptions != "" {
		consulted = append(consulted, exceptions.Source)
	}
	exceptions.Apply(rep, set, rep.FinishedAt)
	rep.Summarize()

	// Each output is attempted even when another failed; any failure makes
	// the scan incomplete (3) but the rest is still delivered.
	failed := false
	fail := func(errs ...error) {
		for _, err := range errs {
			if err != nil {
				fmt.Fprintln(opts.IO.ErrOut, "sagefence: "+oneLine(err.Error()))
				failed = true
			}
		}
	}
	fail(writeReports(opts, rep)...)
	if opts.EvidenceDir != "" {
		fail(writeEvidence(opts, rep, invData, caller))
	}
	if opts.PushSecurityHub {
		if interrupted {
			fail(errors.New("interrupted: findings not pushed to Security Hub"))
		} else {
			fail(pushSecurityHub(ctx, opts, pushCfg, rep, consulted)...)
		}
	}
	if opts.Stats {
		if stats == nil {
			stats = opts.Live.Stats
		}
		stats.Print(opts.IO.ErrOut, rep.FinishedAt.Sub(started))
	}
	if interrupted {
		return codeOnly(ExitInterrupted)
	}
	code := rep.ExitCode(opts.Strict)
	if failed {
		code = ExitIncomplete
	}
	if code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

// collectWithProgress runs the live collection with a progress line on a
// terminal, and returns who ran it.
func collectWithProgress(ctx context.Context, opts *scanOptions) (*inventory.Inventory, statsPrinter, evidence.Caller, error) {
	p := newScanProgress(opts.Live.Stats)
	live := opts.Live
	live.Progress = p.regionDone
	live.Identity = p.identity
	stop := opts.IO.StartProgress(opts.ProgressInterval, p.line)
	inv, stats, err := opts.Collect(ctx, live)
	stop()
	return inv, stats, p.caller(), err
}

// loadExceptions reads the --exceptions file; no file means no exceptions.
func loadExceptions(path string) (*exceptions.Set, error) {
	if path == "" {
		return nil, nil
	}
	set, err := exceptions.Load(path)
	if err != nil {
		// The CLI reports in one line: the first problem, and how many
		// more the file has.
		var j interface{ Unwrap() []error }
		if errors.As(err, &j) {
			if errs := j.Unwrap(); len(errs) > 1 {
				err = fmt.Errorf("%w (and %d more problem(s) in the file)", errs[0], len(errs)-1)
			}
		}
		return nil, usageErr(err)
	}
	return set, nil
}

// accountsOf lists the inventory's scanned account IDs, comma-separated
// (an account read for networking only is not one the scan covered).
func accountsOf(inv *inventory.Inventory) string {
	var ids []string
	for _, r := range inv.Regions {
		if r.AccountID != "" && !r.NetworkOnly && !slices.Contains(ids, r.AccountID) {
			ids = append(ids, r.AccountID)
		}
	}
	slices.Sort(ids)
	return strings.Join(ids, ",")
}

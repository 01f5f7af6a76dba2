package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/exceptions"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/remediate"
)

// The SOP's Implementation Steps and Backout Plan: plan (read-only), apply
// (single use, journaled), backout, journal, finalize.

const remediationExitCodes = `Exit codes: 0 done (or nothing to do), 1 a step failed or backout stopped on
changed state, 2 usage or configuration error, 3 actions skipped, blocked or
refused, 130 interrupted.`

// oneArg takes exactly one argument, named what in the error when it is
// missing or not alone.
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch len(args) {
		case 1:
			return nil
		case 0:
			return usageErrf("%s: missing %s (see %s --help)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return usageErrf("%s takes one %s, got %d: %s", cmd.CommandPath(), what, len(args), strings.Join(args, " "))
	}
}

// planExitCodes are plan's: it changes nothing, so no step can fail.
const planExitCodes = `Exit codes: 0 the plan is written and every action in it is ready (or there is
nothing to do), 2 usage or configuration error, 3 the scan was incomplete, an
action is blocked or the plan could not be written, 130 interrupted.`

// accountFlags select how other accounts are reached (plans may span an
// organisation's scan).
type accountFlags struct {
	RoleName, ExternalID, SessionName string
}

func (a *accountFlags) add(f *pflag.FlagSet) {
	f.StringVar(&a.RoleName, "role-name", "", "role to assume in accounts other than the caller's (as for scan --accounts)")
	f.StringVar(&a.ExternalID, "external-id", "", "external ID for AssumeRole")
	f.StringVar(&a.SessionName, "role-session-name", awsclient.DefaultRoleSessionName, "role session name, as CloudTrail shows it")
}

// remediateClients builds the clients apply, backout and finalize call, one
// set per account-region, assuming --role-name in other accounts.
func remediateClients(ctx context.Context, live liveOptions, acct accountFlags) (remediate.ClientsFunc, error) {
	cfg, err := loadAWS(ctx, live, live.Stats)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // only for the identity call; every client names its region
	}
	caller, partition, _, err := awsclient.Identity(ctx, sts.NewFromConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("who am I (sts:GetCallerIdentity): %w", err)
	}
	var mu sync.Mutex
	cache := map[[2]string]remediate.Clients{}
	return func(_ context.Context, account, region string) (remediate.Clients, error) {
		mu.Lock()
		defer mu.Unlock()
		key := [2]string{account, region}
		if c, ok := cache[key]; ok {
			return c, nil
		}
		c := cfg.Copy()
		c.Region = region
		if account != "" && account != caller {
			if acct.RoleName == "" {
				return remediate.Clients{}, fmt.Errorf("account %s is not the caller's (%s): pass --role-name to reach it", account, caller)
			}
			c = awsclient.AssumeRole(c, region, awsclient.RoleARN(partition, account, acct.RoleName),
				awsclient.RoleOptions{Name: acct.RoleName, ExternalID: acct.ExternalID, SessionName: acct.SessionName})
		}
		cl := remediate.Clients{
			SageMaker: sagemaker.NewFromConfig(c),
			EC2:       ec2.NewFromConfig(c),
			S3:        s3.NewFromConfig(c, func(o *s3.Options) { o.UsePathStyle = c.BaseEndpoint != nil }),
		}
		cache[key] = cl
		return cl, nil
	}, nil
}

func openJournal(ctx context.Context, path string) (*journal.Journal, error) {
	path, err := journalPath(path)
	if err != nil {
		return nil, err
	}
	j, err := journal.Open(ctx, path)
	if err != nil {
		return nil, usageErr(err) // it names the journal and its path
	}
	return j, nil
}

// journalPath is path, or the default journal's.
func journalPath(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	p, err := journal.DefaultPath()
	if err != nil {
		return "", usageErrf("journal: %v (pass --journal PATH)", err)
	}
	return p, nil
}

// readJournal opens a journal for reading only: one that does not exist
// is not created (nil, nil): nothing was ever applied with it.
func readJournal(ctx context.Context, path string) (*journal.Journal, string, error) {
	path, err := journalPath(path)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	j, err := openJournal(ctx, path)
	return j, path, err
}

// runErr maps a run's outcome to an exit: a held lock and changed state are
// explained in one line.
func runErr(res *remediate.RunResult, err error) error {
	var locked *journal.LockedError
	if errors.As(err, &locked) {
		return &exitError{code: ExitIncomplete, err: err}
	}
	if err != nil && res == nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return usageErr(err)
	}
	if err != nil {
		return &exitError{code: res.ExitCode(), err: err}
	}
	if code := res.ExitCode(); code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return usageErrf("--format %q: want table or json", f)
	}
	return nil
}

// ---- plan ----

type planOptions struct {
	IO             *iostreams.IOStreams
	Live           liveOptions
	Input          string
	ControlProfile string
	OpenThreshold  string
	Exceptions     string
	Fix            string
	TargetSubnet   string
	TargetSGs      []string
	AllowEgress    []string
	AllowShared    bool
	AllowMissingEP bool
	BackupBucket   string
	Output         string
	Format         string
	Now            func() time.Time
	Collect        collectFunc
}

func newPlanCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &planOptions{IO: ios, Now: time.Now, Collect: collectLive}
	var regions string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Plan the fixes for failing notebooks and Studio domains (read-only)",
		Long: `Plan scans (or reads --input), then writes a versioned, reviewable plan of the
changes that would fix the FAIL results. It changes nothing.

  recreate-notebook            DirectInternetAccess=Enabled cannot be changed in
                               place: a new notebook <name>-private with it
                               Disabled in a private subnet, every other setting
                               copied; the old one is stopped and tagged, never
                               deleted by apply (see finalize)
  restrict-sg-egress           revoke egress to 0.0.0.0/0 and ::/0 on the
                               notebook's groups, allow --allow-egress instead
  disable-public-ip-on-launch  the subnet's MapPublicIpOnLaunch
  set-domain-vpc-only          (--fix studio-vpc-only, asked for by name) a
                               Studio domain's AppNetworkAccessType becomes
                               VpcOnly: every app's traffic goes through the
                               domain's VPC. Planned for every domain of the
                               inventory that is not VpcOnly. AWS allows it only
                               when no app is InService, Pending or Deleting:
                               the plan lists them with the delete-app command
                               for each and is blocked until they are stopped.
                               It checks the VPC's endpoints (SageMaker API and
                               runtime required, or a NAT route from every
                               domain subnet; S3, STS, Logs, Service Catalog
                               recommended) and is blocked when Studio could not
                               reach the API, unless --allow-missing-endpoints

Each action shows its change as a diff (egress rule by rule, settings field by
field) and its blast radius (what else uses the group or subnet); a recreate
shows the replacement's subnet, why it qualifies, and its groups. A blocked
action names the flags that resolve it, and a blocked recreate the subnets
that would do. A group other interfaces use is refused unless --allow-shared. Without --backup-bucket the data on a replaced notebook's volume
stays on the stopped old notebook; with it, it is copied through S3.

` + planExitCodes,
		Example: `  sagefence plan --output plan.json
  sagefence plan --regions eu-west-1 --fix direct --target-subnet subnet-0abc --backup-bucket s3://nb-backups/sagefence --output plan.json
  sagefence plan --input inventory.json --fix egress --allow-egress 10.0.0.0/8,pl-63a5400a --output plan.json
  sagefence plan --regions us-east-1 --fix studio-vpc-only --output plan.json
  sagefence apply plan.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Input != "" {
				for _, name := range []string{"profile", "regions", "endpoint-url"} {
					if cmd.Flags().Changed(name) {
						return usageErrf("--%s reads AWS and cannot be combined with --input", name)
					}
				}
			}
			var err error
			if o.Live.Regions, err = regionsFlag(regions); err != nil {
				return err
			}
			if err := checkOutputFile("--output", o.Output); err != nil {
				return err
			}
			return runPlan(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	addAWSFlags(f, &o.Live)
	f.StringVar(&regions, "regions", "", "comma-separated regions to scan (default: every enabled region)")
	f.IntVar(&o.Live.Concurrency, "concurrency", 8, "notebooks described at once per region")
	f.StringVar(&o.Input, "input", "", "plan from a saved inventory instead of scanning (blast radius then comes from the inventory)")
	f.StringVar(&o.ControlProfile, "control-profile", control.ProfileSOP, "control profile: sop or fsbp")
	f.StringVar(&o.OpenThreshold, "open-threshold", defaultOpenThreshold, openThresholdHelp)
	f.StringVar(&o.Exceptions, "exceptions", "", "exceptions file: muted results are not fixed")
	f.StringVar(&o.Fix, "fix", "direct,egress,public-subnet", "fixes to plan: direct, egress, public-subnet, studio-vpc-only")
	f.StringVar(&o.TargetSubnet, "target-subnet", "", "subnet for replacement notebooks (default: a private subnet of the same VPC)")
	f.StringSliceVar(&o.TargetSGs, "target-security-groups", nil, "security groups for replacement notebooks (default: the old ones)")
	f.StringSliceVar(&o.AllowEgress, "allow-egress", nil, "CIDRs or pl- prefix lists egress is restricted to (default: the VPC's CIDRs)")
	f.BoolVar(&o.AllowShared, "allow-shared", false, "allow changing security groups other network interfaces use too")
	f.StringVar(&o.BackupBucket, "backup-bucket", "", "s3://BUCKET/PREFIX to copy replaced notebooks' data through")
	f.BoolVar(&o.AllowMissingEP, "allow-missing-endpoints", false, "plan studio-vpc-only even where the domain's VPC cannot reach the SageMaker API and runtime")
	f.StringVarP(&o.Output, "output", "o", "", "write the plan (JSON) to this file; apply reads it")
	f.StringVar(&o.Format, "format", "table", "what to print: table (the review) or json (the plan)")
	return cmd
}

func runPlan(ctx context.Context, o *planOptions) error {
	if err := checkFormat(o.Format); err != nil {
		return err
	}
	fixes, err := remediate.ParseFixes(o.Fix)
	if err != nil {
		return usageErr(err)
	}
	ev, err := newEvaluator(o.ControlProfile, o.OpenThreshold)
	if err != nil {
		return err
	}
	set, err := loadExceptions(o.Exceptions)
	if err != nil {
		return err
	}
	var inv *inventory.Inventory
	var interfaces func(context.Context, string, string) (remediate.NetworkInterfacesAPI, error)
	var studio func(context.Context, string, string) (remediate.StudioClients, error)
	if o.Input != "" {
		if inv, err = inventory.ReadFile(o.Input); err != nil {
			return usageErr(err)
		}
	} else {
		if inv, _, err = o.Collect(ctx, o.Live); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return usageErr(err)
		}
		clients, err := remediateClients(ctx, o.Live, accountFlags{})
		if err != nil {
			return usageErr(err)
		}
		interfaces = func(ctx context.Context, account, region string) (remediate.NetworkInterfacesAPI, error) {
			c, err := clients(ctx, account, region)
			if err != nil {
				return nil, err
			}
			return c.EC2, nil
		}
		studio = func(ctx context.Context, account, region string) (remediate.StudioClients, error) {
			c, err := clients(ctx, account, region)
			if err != nil {
				return remediate.StudioClients{}, err
			}
			return remediate.StudioClients{SageMaker: c.SageMaker, EC2: c.EC2}, nil
		}
	}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Profile: ev.Profile()}
	rep.Results, rep.Errors = ev.Evaluate(inv)
	exceptions.Apply(rep, set, o.Now().UTC())
	rep.Summarize()
	plan, err := remediate.BuildPlan(ctx, inv, rep, remediate.PlanOptions{
		Fixes: fixes, TargetSubnet: o.TargetSubnet, TargetSecurityGroups: o.TargetSGs,
		AllowEgress: o.AllowEgress, AllowShared: o.AllowShared, BackupBucket: o.BackupBucket,
		Interfaces: interfaces, Evaluator: ev, Studio: studio, AllowMissingEndpoints: o.AllowMissingEP,
	})
	if err != nil {
		return usageErr(err)
	}
	if o.Output != "" {
		if err := atomicfile.Write(o.Output, 0o600, plan.Encode); err != nil {
			return &exitError{code: ExitIncomplete, err: err}
		}
	}
	if o.Format == "json" {
		if err := plan.Encode(o.IO.Out); err != nil {
			return &exitError{code: ExitIncomplete, err: err}
		}
	} else if err := printPlan(o.IO.Out, plan, o.Output); err != nil {
		return &exitError{code: ExitIncomplete, err: err}
	}
	if !rep.Complete {
		fmt.Fprintf(o.IO.ErrOut, "sagefence: the scan was incomplete (%d error(s)): notebooks that could not be evaluated are not in the plan\n", len(rep.Errors))
		return codeOnly(ExitIncomplete)
	}
	if _, blocked := plan.Counts(); blocked > 0 {
		return codeOnly(ExitIncomplete)
	}
	return nil
}

// printPlan writes the plan's review and a last line with the counts and
// what to do next.
func printPlan(w io.Writer, p *remediate.Plan, file string) error {
	if err := p.WriteReview(w); err != nil {
		return err
	}
	ready, blocked := p.Counts()
	next := ""
	switch {
	case ready == 0 && blocked > 0:
		next = ": nothing to apply; resolve the blocked actions and plan again"
	case ready > 0 && file != "":
		next = "; apply it with: sagefence apply " + file
	}
	_, err := fmt.Fprintf(w, "\n%d action(s) ready, %d blocked%s\n", ready, blocked, next)
	return err
}

// ---- apply, backout, finalize ----

type runOptions struct {
	IO        *iostreams.IOStreams
	Live      liveOptions
	Accounts  accountFlags
	Journal   string
	Yes       bool
	Force     bool
	Format    string
	Remediate remediate.Options
	// Clients, when set, replaces the SDK clients (tests).
	Clients remediate.ClientsFunc
}

func (o *runOptions) addFlags(f *pflag.FlagSet) {
	addAWSFlags(f, &o.Live)
	o.Accounts.add(f)
	f.StringVar(&o.Journal, "journal", "", "journal database (default: $XDG_STATE_HOME/sagefence/journal.db or ~/.local/state/sagefence/journal.db)")
	f.BoolVar(&o.Yes, "yes", false, "do not ask for confirmation (required when stdin is not a terminal)")
	f.StringVar(&o.Format, "format", "table", "output: table or json")
	f.DurationVar(&o.Remediate.PollInterval, "poll-interval", 15*time.Second, "how often to poll a notebook's status while it starts or stops")
	f.DurationVar(&o.Remediate.NotebookTimeout, "notebook-timeout", 45*time.Minute, "give up waiting for a notebook to start, stop or be deleted after this long")
}

func (o *runOptions) clients(ctx context.Context) (remediate.ClientsFunc, error) {
	if o.Clients != nil {
		return o.Clients, nil
	}
	c, err := remediateClients(ctx, o.Live, o.Accounts)
	if err != nil {
		return nil, usageErr(err)
	}
	return c, nil
}

// checkConfig loads the AWS configuration without using it: a profile
// that does not exist or a region that is not one is refused (exit 2)
// before a plan or run is shown, without credentials or any call.
func (o *runOptions) checkConfig(ctx context.Context) error {
	if o.Clients != nil {
		return nil
	}
	if _, err := awsclient.Load(ctx, awsclient.Options{Profile: o.Live.Profile, EndpointURL: o.Live.EndpointURL, CallTimeout: o.Live.CallTimeout}); err != nil {
		return usageErr(err)
	}
	return nil
}

// confirm asks on a terminal; without one, --yes is required.
func (o *runOptions) confirm(question string) error {
	if o.Yes {
		return nil
	}
	if err := o.needConfirmation(); err != nil {
		return err
	}
	fmt.Fprintf(o.IO.ErrOut, "%s [y/N] ", question)
	line, _ := bufio.NewReader(o.IO.In).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a != "y" && a != "yes" {
		return usageErrf("not confirmed; nothing was changed")
	}
	return nil
}

// needConfirmation refuses to go on without --yes when nobody can answer.
func (o *runOptions) needConfirmation() error {
	if !o.Yes && !o.IO.IsStdinTTY() {
		return usageErrf("refusing to change AWS without confirmation: stdin is not a terminal, pass --yes")
	}
	return nil
}

// confirmTyped asks the user to type want (a run ID): for what cannot be
// undone, "y" is too easy to give.
func (o *runOptions) confirmTyped(what, want string) error {
	if o.Yes {
		return nil
	}
	fmt.Fprintf(o.IO.ErrOut, "Type the run ID (%s) to %s: ", want, what)
	line, _ := bufio.NewReader(o.IO.In).ReadString('\n')
	if got := strings.TrimSpace(line); got != want {
		return usageErrf("not confirmed: %q is not the run ID; nothing was deleted", got)
	}
	return nil
}

func (o *runOptions) now() time.Time {
	if o.Remediate.Now != nil {
		return o.Remediate.Now()
	}
	return time.Now()
}

// progress reports each step on stderr as it finishes, without its error:
// a failure is reported once, when the command ends.
func (o *runOptions) progress() {
	if o.Format == "json" {
		return
	}
	o.Remediate.OnStep = func(s remediate.StepResult) { fmt.Fprintln(o.IO.ErrOut, progressLine(s)) }
}

// print writes a backout's result on stdout; its error, if any, is
// reported once on stderr by the caller.
func (o *runOptions) print(res *remediate.RunResult) {
	if res == nil {
		return
	}
	if o.Format == "json" {
		_ = writeJSON(o.IO.Out, res)
		return
	}
	printRunTable(o.IO.Out, res, true, false)
}

func newApplyCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &runOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "apply PLAN",
		Short: "Execute a plan once, journaling every step before it acts",
		Long: `Apply executes a plan written by "sagefence plan". It first lists the
notebooks that will stop or be replaced, the groups and subnets that will
change and how old the plan is, and asks. A plan with no ready action is
refused (exit 2) and not used up. Before each action it re-reads the live
state and skips the action if it differs from the plan's (drift); every
step's intent and before-state is committed to the journal before the AWS
call. A plan is applied once: applying it again changes nothing. Replaced
notebooks are stopped and tagged, never deleted. If a step fails, apply says
which, reads back what the run left changed and how to restore it. Undo
with "sagefence backout RUN_ID".

` + remediationExitCodes,
		Example: `  sagefence apply plan.json
  sagefence apply plan.json --yes --format json`,
		Args: oneArg("PLAN"),
		RunE: func(cmd *cobra.Command, args []string) error { return runApply(cmd.Context(), o, args[0]) },
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runApply(ctx context.Context, o *runOptions, path string) error {
	if err := checkFormat(o.Format); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return usageErr(err)
	}
	plan, err := remediate.ReadPlan(f)
	f.Close()
	if err != nil {
		return usageErrf("%s: %v", path, err)
	}
	// Refused before any run is journaled: the plan stays applicable.
	if err := plan.CheckReady(); err != nil {
		return usageErrf("%s: %v", path, err)
	}
	if err := o.needConfirmation(); err != nil {
		return err
	}
	// The configuration (profile, regions) is checked before anything is
	// shown or asked; credentials are needed only once confirmed.
	if err := o.checkConfig(ctx); err != nil {
		return err
	}
	// A plan already applied changes nothing: say so rather than ask.
	if res, err := appliedBefore(ctx, o.Journal, plan); err != nil || res != nil {
		if res != nil {
			o.printApplied(res)
		}
		return err
	}
	applyPreview(o.IO.ErrOut, plan, path, o.now())
	ready, _ := plan.Counts()
	if err := o.confirm(fmt.Sprintf("Apply %s?", plural(ready, "action"))); err != nil {
		return err
	}
	clients, err := o.clients(ctx)
	if err != nil {
		return err
	}
	j, err := openJournal(ctx, o.Journal)
	if err != nil {
		return err
	}
	defer j.Close()
	o.progress()
	res, err := remediate.Apply(ctx, plan, clients, j, o.Remediate)
	if res == nil {
		return runErr(nil, err)
	}
	o.printApplied(res)
	if err != nil {
		// Reported above, once; only the exit code is left to give.
		return codeOnly(res.ExitCode())
	}
	return runErr(res, nil)
}

// printApplied writes an apply's result on stdout and, on stderr, its
// failure or the hints that follow it.
func (o *runOptions) printApplied(res *remediate.RunResult) {
	failed := res.Status == journal.RunFailed || res.Status == journal.RunInterrupted
	if res.NothingToDo {
		failed = false
	}
	if o.Format == "json" {
		_ = writeJSON(o.IO.Out, res)
		if failed {
			printApplyFailure(o.IO.ErrOut, res)
		}
		return
	}
	printRunTable(o.IO.Out, res, false, false)
	printApplyStatus(o.IO.ErrOut, res, failed)
}

// appliedBefore finds the run that applied plan in the journal at path,
// without creating the journal: one that does not exist has applied
// nothing. Apply checks again under the journal's lock.
func appliedBefore(ctx context.Context, path string, plan *remediate.Plan) (*remediate.RunResult, error) {
	if path == "" {
		p, err := journal.DefaultPath()
		if err != nil {
			return nil, nil // openJournal reports it when the run needs the journal
		}
		path = p
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	j, err := openJournal(ctx, path)
	if err != nil {
		return nil, err
	}
	defer j.Close()
	res, err := remediate.AppliedBefore(ctx, j, plan)
	if err != nil {
		return nil, &exitError{code: ExitIncomplete, err: err}
	}
	return res, nil
}

func newBackoutCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &runOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "backout RUN_ID",
		Short: "Undo an apply run exactly, from its journal",
		Long: `Backout runs the inverse of every step an apply run took, in reverse order:
re-authorizes exactly the revoked rules, removes added ones, restores the
subnet attribute, stops and deletes the replacement notebook and restarts the
old one if it was running. Before each inverse it checks that the live state is
what apply left; if someone changed it since, it stops and says what differs
(--force proceeds). After a crash it decides from the live state whether an
in-flight call happened. Backout numbers its own steps from 1; each names the
apply step it undoes.

` + remediationExitCodes,
		Example: `  sagefence journal list
  sagefence backout 20261129T091500-1a2b3c
  sagefence backout 20261129T091500-1a2b3c --force --yes`,
		Args: oneArg("RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBackout(cmd.Context(), o, args[0])
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.Force, "force", false, "proceed even where the live state changed since apply")
	return cmd
}

func newFinalizeCmd(ios *iostreams.IOStreams) *cobra.Command {
	o := &runOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "finalize RUN_ID",
		Short: "Delete the notebooks an apply run replaced (the only command that deletes them)",
		Long: `Finalize deletes the old, stopped notebooks an apply run replaced, once you
have checked the replacements. Deleting a notebook deletes its ML storage
volume: this cannot be undone, and after it the run can no longer be backed out.
It first lists each notebook it will delete with what became of its data, and
on a terminal asks you to type the run ID; with --yes it prints the list and
goes on.

` + remediationExitCodes,
		Args: oneArg("RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runFinalize(cmd.Context(), o, args[0])
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runBackout(ctx context.Context, o *runOptions, runID string) error {
	if err := checkFormat(o.Format); err != nil {
		return err
	}
	// The configuration is checked first (as finalize does), then the run
	// must exist, before anything is asked or AWS is called.
	if err := o.checkConfig(ctx); err != nil {
		return err
	}
	j, at, err := readJournal(ctx, o.Journal)
	if err != nil {
		return err
	}
	if j == nil {
		return usageErrf("run %s: no journal at %s (nothing was applied with it)", runID, at)
	}
	defer j.Close()
	if _, err := j.Run(ctx, runID); err != nil { // the run alone, not its steps
		return usageErr(err)
	}
	if err := o.confirm(fmt.Sprintf("Back out run %s?", runID)); err != nil {
		return err
	}
	clients, err := o.clients(ctx)
	if err != nil {
		return err
	}
	o.progress()
	o.Remediate.Force = o.Force
	res, err := remediate.Backout(ctx, runID, clients, j, o.Remediate)
	o.print(res)
	return runErr(res, err)
}

func runFinalize(ctx context.Context, o *runOptions, runID string) error {
	if err := checkFormat(o.Format); err != nil {
		return err
	}
	if err := o.needConfirmation(); err != nil {
		return err
	}
	// The configuration is checked before the run is read or anything
	// asked.
	if err := o.checkConfig(ctx); err != nil {
		return err
	}
	j, err := openJournal(ctx, o.Journal)
	if err != nil {
		return err
	}
	defer j.Close()
	items, err := remediate.FinalizePreview(ctx, j, runID)
	if err != nil {
		return usageErr(err)
	}
	if len(items) > 0 {
		printFinalizeList(o.IO.ErrOut, runID, items)
		if err := o.confirmTyped("delete them", runID); err != nil {
			return err
		}
	}
	clients, err := o.clients(ctx)
	if err != nil {
		return err
	}
	o.progress()
	res, err := remediate.Finalize(ctx, runID, clients, j, o.Remediate)
	if res != nil {
		if o.Format == "json" {
			_ = writeJSON(o.IO.Out, res)
		} else {
			printFinalizeTable(o.IO.Out, res)
		}
	}
	return runErr(res, err)
}

func newJournalCmd(ios *iostreams.IOStreams) *cobra.Command {
	var path, format string
	cmd := &cobra.Command{
		Use:   "journal",
		Short: "List and show remediation runs",
		Long: `journal lists the remediation runs of a journal and shows one run's actions
and steps. It only reads: a journal that does not exist is not created.

Exit codes: 0 listed or shown, 2 usage error, an unknown run or a file that
is not a journal, 3 the journal could not be read.`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&path, "journal", "", "journal database (default: the state directory's journal.db)")
	cmd.PersistentFlags().StringVar(&format, "format", "table", "output: table or json")
	list := &cobra.Command{
		Use:   "list",
		Short: "List every run, oldest first",
		Long: `List every run in the journal, oldest first: its ID, kind, status, start
time, the apply run it acts on (backout, finalize) and its number of steps.
On a terminal the columns have a header; piped, each run is one
tab-separated line.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			j, _, err := readJournal(cmd.Context(), path)
			if err != nil {
				return err
			}
			var runs []remediate.RunSummary
			if j != nil {
				defer j.Close()
				if runs, err = remediate.ListRuns(cmd.Context(), j); err != nil {
					return &exitError{code: ExitIncomplete, err: err}
				}
			}
			if format == "json" {
				if runs == nil {
					runs = []remediate.RunSummary{}
				}
				return writeJSON(ios.Out, runs)
			}
			return printRunList(ios.Out, runs, ios.IsStdoutTTY())
		},
	}
	show := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run's actions and steps",
		Args:  oneArg("RUN_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format); err != nil {
				return err
			}
			j, at, err := readJournal(cmd.Context(), path)
			if err != nil {
				return err
			}
			if j == nil {
				return usageErrf("run %s: no journal at %s (nothing was applied with it)", args[0], at)
			}
			defer j.Close()
			res, err := remediate.ShowRun(cmd.Context(), j, args[0])
			if err != nil {
				return usageErr(err)
			}
			if format == "json" {
				return writeJSON(ios.Out, res)
			}
			printRunTable(ios.Out, res, true, true)
			printStepsTable(ios.Out, res.Steps)
			return nil
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}

func total(m map[journal.StepStatus]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// muteReplaced marks notebooks that a remediation run replaced (stopped,
// pending finalize) as MUTED in a scan's report, and says whether it read a
// journal. A journal that does not exist yet means nothing was replaced
// here, which says nothing of runs recorded elsewhere.
func muteReplaced(ctx context.Context, path string, rep *finding.Report) (read bool, err error) {
	if path == "" {
		p, err := journal.DefaultPath()
		if err != nil {
			return false, nil
		}
		path = p
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	j, err := journal.Open(ctx, path)
	if err != nil {
		return false, err // it names the journal and its path
	}
	defer j.Close()
	replaced, err := remediate.ReplacedNotebooks(ctx, j)
	if err != nil {
		return false, fmt.Errorf("journal %s: %w", path, err)
	}
	remediate.MuteReplaced(rep, replaced)
	return true, nil
}

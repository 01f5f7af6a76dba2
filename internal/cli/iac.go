package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/exceptions"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac"
	"github.com/sagefence/sagefence/internal/iac/terraform"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/report"
	"github.com/sagefence/sagefence/internal/report/codequality"
	"github.com/sagefence/sagefence/internal/report/sarif"
)

func iacFormats() []string {
	return []string{"table", "json", "sarif", "junit", "markdown", "csv", "github", "codequality"}
}

type iacOptions struct {
	IO *iostreams.IOStreams

	Paths      []string
	Format     string
	Output     string
	VarArgs    []terraform.VarArg
	Unresolved string
	Exceptions string
	Strict     bool

	Now func() time.Time
}

// varArgFlag appends --var-file and --var to one list, so that their
// command-line order (later wins, as in Terraform) survives parsing.
type varArgFlag struct {
	args *[]terraform.VarArg
	file bool
}

func (f *varArgFlag) String() string { return "" }

func (f *varArgFlag) Type() string {
	if f.file {
		return "file"
	}
	return "NAME=VALUE"
}

func (f *varArgFlag) Set(s string) error {
	if f.file {
		if s == "" {
			return errors.New("empty file name")
		}
		*f.args = append(*f.args, terraform.VarArg{File: s})
		return nil
	}
	name, value, ok := strings.Cut(s, "=")
	if name = strings.TrimSpace(name); !ok || name == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	*f.args = append(*f.args, terraform.VarArg{Name: name, Value: value})
	return nil
}

func newIACCmd(ios *iostreams.IOStreams, runF func(context.Context, *iacOptions) error) *cobra.Command {
	opts := &iacOptions{IO: ios, Now: time.Now}
	cmd := &cobra.Command{
		Use:   "iac PATH...",
		Short: "Check Terraform, plans and CloudFormation/CDK for notebooks and Studio domains with direct internet access",
		Long: `Iac finds SageMaker notebook instances and Studio domains declared in
infrastructure as code, before they are deployed, and checks
DirectInternetAccess (notebooks) and AppNetworkAccessType (domains):

  Terraform       .tf and .tf.json, each directory a root module (found
                  recursively); local modules are evaluated with their
                  caller's inputs; variables from defaults, terraform.tfvars,
                  *.auto.tfvars, --var-file and --var
  Terraform plan  terraform show -json output (any .json file, by content)
  CloudFormation  JSON and YAML templates, short-form tags included; CDK's
                  cdk.out/*.template.json (with the construct path)

  FAIL    DirectInternetAccess is Enabled, omitted (the API default is
          Enabled), not exactly "Disabled", or Disabled without a subnet;
          AppNetworkAccessType is PublicInternetOnly, omitted (the API
          default) or not exactly "VpcOnly" (control
          sagemaker-studio-no-direct-internet-access)
  REVIEW  a value is known only at deployment (--unresolved decides)
  MUTED   suppressed with a reason: "# sagefence:ignore
          sagemaker-notebook-no-direct-internet-access reason=\"...\"" on or
          above a Terraform resource, or Metadata: {sagefence: {ignore: [{id,
          reason}]}} in CloudFormation; or matched by --exceptions

--var NAME=VALUE also overrides the CloudFormation parameter NAME.
A file that cannot be parsed is reported with file:line and the others are
still checked (exit 3).

Formats for CI: sarif (code scanning), github (workflow commands: each
FAIL/ERROR an ::error, REVIEW a ::warning, MUTED a ::notice, at its file and
line, so a pull request shows them as annotations), codequality (GitLab's
code quality report, for merge requests), junit, markdown (step summaries).

` + exitCodesHelp,
		Example: `  # check a repository, SARIF for code scanning
  sagefence iac . --format sarif --output sagefence.sarif

  # a Terraform root with production values
  sagefence iac infra/ --var-file prod.tfvars --var notebook_access=Disabled

  # the exact plan (most precise: modules and functions already evaluated)
  terraform plan -out tf.plan && terraform show -json tf.plan > plan.json && sagefence iac plan.json

  # annotations on a GitHub pull request (run from the repository root)
  sagefence iac . --format github

  # GitLab merge request widget
  sagefence iac . --format codequality --output gl-code-quality-report.json

  # a CDK app after synthesis
  cdk synth && sagefence iac cdk.out`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrf("iac: give at least one file or directory")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			if err := opts.validate(); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runIAC(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "table", "output format: "+strings.Join(iacFormats(), ", "))
	completeWords(cmd, "format", iacFormats())
	f.StringVarP(&opts.Output, "output", "o", "", "write the report to this file (atomically) instead of stdout")
	f.Var(&varArgFlag{args: &opts.VarArgs, file: true}, "var-file", "Terraform variables file for every root module (repeatable; later wins)")
	f.Var(&varArgFlag{args: &opts.VarArgs}, "var", "set a Terraform root variable or CloudFormation parameter (repeatable; later wins)")
	f.StringVar(&opts.Unresolved, "unresolved", string(iac.UnresolvedReview), "report values known only at deployment as: "+strings.Join(iac.UnresolvedPolicies(), ", "))
	f.StringVar(&opts.Exceptions, "exceptions", "", "exceptions file (YAML) muting matching results, by notebook name")
	f.BoolVar(&opts.Strict, "strict", false, "exit 1 on REVIEW results too")
	return cmd
}

func (o *iacOptions) validate() error {
	if !slices.Contains(iacFormats(), o.Format) {
		return usageErrf("--format %q: want one of %s", o.Format, strings.Join(iacFormats(), ", "))
	}
	if !slices.Contains(iac.UnresolvedPolicies(), o.Unresolved) {
		return usageErrf("--unresolved %q: want one of %s", o.Unresolved, strings.Join(iac.UnresolvedPolicies(), ", "))
	}
	for _, p := range o.Paths {
		if _, err := os.Stat(p); err != nil {
			return usageErrf("%s: no such file or directory", p)
		}
	}
	return checkOutputFile("--output", o.Output)
}

func runIAC(ctx context.Context, opts *iacOptions) error {
	started := opts.Now().UTC()
	inputs, err := terraform.ParseInputs(ctx, opts.VarArgs)
	if err != nil {
		return usageErr(err)
	}
	var set *exceptions.Set
	if opts.Exceptions != "" {
		if set, err = exceptions.Load(opts.Exceptions); err != nil {
			return usageErr(err)
		}
	}
	compliance, err := iac.Compliance()
	if err != nil {
		return err
	}
	params := map[string]string{}
	for _, a := range opts.VarArgs {
		if a.File == "" {
			params[a.Name] = a.Value
		}
	}

	sc := iac.New(iac.Options{Inputs: inputs, Params: params, Unresolved: iac.Unresolved(opts.Unresolved), Compliance: compliance})
	results, errs, err := sc.Scan(ctx, opts.Paths)
	interrupted := ctx.Err() != nil
	switch {
	case interrupted:
		errs = append(errs, finding.Error{Operation: "iac", Message: "interrupted before every source was checked"})
	case err != nil:
		return usageErr(err)
	}
	rep := iac.NewReport(finding.Tool{Name: "sagefence", Version: Version()}, started, opts.Now().UTC(), results, errs)
	exceptions.Apply(rep, set, rep.FinishedAt)

	if err := writeIACReport(opts, rep); err != nil {
		return err
	}
	if interrupted {
		return codeOnly(ExitInterrupted)
	}
	if code := rep.ExitCode(opts.Strict); code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

func writeIACReport(opts *iacOptions, rep *finding.Report) error {
	write := func(w io.Writer, tty, color bool) error {
		switch opts.Format {
		case "sarif":
			return sarif.Write(w, rep)
		case "codequality":
			return codequality.Write(w, rep)
		case "table":
			return iac.WriteTable(w, rep, tty, color)
		}
		return report.Write(w, opts.Format, rep, report.Options{})
	}
	if opts.Output == "" {
		if err := write(opts.IO.Out, opts.IO.IsStdoutTTY(), opts.IO.ColorEnabled()); err != nil && !errors.Is(err, os.ErrClosed) {
			return &exitError{code: ExitIncomplete, err: err}
		}
		return nil
	}
	if err := atomicfile.Write(opts.Output, 0o644, func(w io.Writer) error { return write(w, false, false) }); err != nil {
		return &exitError{code: ExitIncomplete, err: fmt.Errorf("write report: %w", err)}
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s (%d resources)\n", opts.Output, len(rep.Results))
	}
	return nil
}

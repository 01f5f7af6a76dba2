package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/report"
)

// liveOptions select what a live collection reads.
type liveOptions struct {
	Profile     string
	EndpointURL string
	Regions     []string
	Concurrency int
	CallTimeout time.Duration
}

// statsPrinter prints call statistics (--stats).
type statsPrinter interface {
	Print(w io.Writer, wall time.Duration)
}

// collectFunc collects a live inventory. A returned error means nothing
// could be evaluated (configuration); AWS failures are inside the inventory.
type collectFunc func(ctx context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error)

type scanOptions struct {
	IO *iostreams.IOStreams

	Live           liveOptions
	ControlProfile string
	Format         string
	Output         string
	Input          string
	SaveInventory  string
	Stats          bool
	Strict         bool

	Now     func() time.Time
	Collect collectFunc
}

func newScanCmd(ios *iostreams.IOStreams, runF func(context.Context, *scanOptions) error) *cobra.Command {
	opts := &scanOptions{IO: ios, Now: time.Now, Collect: collectLive}
	var regions string
	cmd := &cobra.Command{
		Use:   "scan",
		Short: "Audit notebook instances for direct internet access and internet paths",
		Long: `Scan evaluates every SageMaker notebook instance of the account (in every
enabled region of the caller's partition, or those given with --regions) and
reports one result per notebook:

  PASS    no internet path
  FAIL    DirectInternetAccess is Enabled, or the VPC gives an internet path whose
          security groups allow the whole internet, or the subnet is public
  REVIEW  public traffic leaves through a transit gateway, peering or appliance
          the scanner cannot see past
  ERROR   could not be evaluated (never reported as PASS)

Credentials come from the AWS SDK's default chain (environment, shared config,
SSO, instance role) or --profile. The scan is read-only; "sagefence iam-policy
--for audit" prints the permissions it needs. --input evaluates a saved
inventory without AWS.

` + exitCodesHelp,
		Example: `  # evaluate the bundled example estate, no AWS account needed
  sagefence scan --input examples/inventory.json

  # scan two regions of the account behind a profile, as JSON
  sagefence scan --profile audit --regions eu-west-1,us-east-1 --format json --output report.json

  # keep the raw facts as evidence and re-evaluate them later
  sagefence scan --save-inventory inv.json && sagefence scan --input inv.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if regions != "" {
				for _, r := range strings.Split(regions, ",") {
					if r = strings.TrimSpace(r); r != "" {
						opts.Live.Regions = append(opts.Live.Regions, r)
					}
				}
				if len(opts.Live.Regions) == 0 {
					return usageErrf("--regions: no region given")
				}
			}
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
	f.StringVar(&opts.Live.Profile, "profile", "", "AWS shared-config profile (default: the SDK's default chain)")
	f.StringVar(&regions, "regions", "", "comma-separated regions to scan (default: every enabled region of the caller's partition)")
	f.StringVar(&opts.Live.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (an emulator); AWS_ENDPOINT_URL is honoured too")
	f.IntVar(&opts.Live.Concurrency, "concurrency", 8, "notebooks described at once per region")
	f.DurationVar(&opts.Live.CallTimeout, "call-timeout", 30*time.Second, "give up on one AWS call (with its retries) after this long")
	f.StringVar(&opts.ControlProfile, "control-profile", control.ProfileSOP, "control profile: sop (every sub-check decides) or fsbp (DirectInternetAccess alone, Security Hub SageMaker.1 parity)")
	f.StringVar(&opts.Format, "format", "table", "output format: "+strings.Join(report.Formats(), ", "))
	f.StringVarP(&opts.Output, "output", "o", "", "write the report to this file (atomically) instead of stdout")
	f.StringVar(&opts.Input, "input", "", "evaluate a saved inventory file instead of calling AWS")
	f.StringVar(&opts.SaveInventory, "save-inventory", "", "write the collected inventory (raw facts, versioned JSON) to this file")
	f.BoolVar(&opts.Stats, "stats", false, "print API call statistics to stderr")
	f.BoolVar(&opts.Strict, "strict", false, "exit 1 on REVIEW results too")
	return cmd
}

func (o *scanOptions) validate(cmd *cobra.Command) error {
	if !report.Valid(o.Format) {
		return usageErrf("--format %q: want one of %s", o.Format, strings.Join(report.Formats(), ", "))
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
	if o.Input != "" {
		for _, name := range []string{"profile", "regions", "endpoint-url", "save-inventory", "concurrency", "call-timeout", "stats"} {
			if cmd.Flags().Changed(name) {
				return usageErrf("--%s reads AWS and cannot be combined with --input", name)
			}
		}
	}
	if o.Output != "" && o.Output == o.SaveInventory {
		return usageErrf("--output and --save-inventory name the same file")
	}
	return nil
}

func runScan(ctx context.Context, opts *scanOptions) error {
	ev, err := control.New(control.Options{Profile: opts.ControlProfile})
	if err != nil {
		return usageErr(err)
	}
	started := opts.Now().UTC()

	var inv *inventory.Inventory
	var stats statsPrinter
	if opts.Input != "" {
		inv, err = inventory.ReadFile(opts.Input)
		if err != nil {
			return usageErr(err)
		}
	} else {
		inv, stats, err = opts.Collect(ctx, opts.Live)
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
	}

	rep := &finding.Report{
		SchemaVersion: finding.SchemaVersion,
		Tool:          finding.Tool{Name: "sagefence", Version: Version()},
		Profile:       ev.Profile(),
		StartedAt:     started,
	}
	rep.Results, rep.Errors = ev.Evaluate(inv)
	interrupted := ctx.Err() != nil
	if interrupted {
		rep.Errors = append(rep.Errors, finding.Error{Operation: "scan", Message: "interrupted before the scan finished"})
	}
	rep.FinishedAt = opts.Now().UTC()
	rep.Summarize()

	if err := writeReport(opts, rep); err != nil {
		return err
	}
	if opts.Stats && stats != nil {
		stats.Print(opts.IO.ErrOut, rep.FinishedAt.Sub(started))
	}
	if interrupted {
		return codeOnly(ExitInterrupted)
	}
	if code := rep.ExitCode(opts.Strict); code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

func writeReport(opts *scanOptions, rep *finding.Report) error {
	if opts.Output == "" {
		ro := report.Options{TTY: opts.IO.IsStdoutTTY(), Color: opts.IO.ColorEnabled(), Width: opts.IO.TerminalWidth()}
		if err := report.Write(opts.IO.Out, opts.Format, rep, ro); err != nil && !errors.Is(err, os.ErrClosed) {
			return &exitError{code: ExitIncomplete, err: err}
		}
		return nil
	}
	err := atomicfile.Write(opts.Output, 0o644, func(w io.Writer) error {
		return report.Write(w, opts.Format, rep, report.Options{})
	})
	if err != nil {
		return &exitError{code: ExitIncomplete, err: fmt.Errorf("write report: %w", err)}
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s (%d notebooks)\n", opts.Output, len(rep.Results))
	}
	return nil
}

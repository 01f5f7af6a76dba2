package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	shsdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/evidence"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report"
	"github.com/sagefence/sagefence/internal/report/asff"
	"github.com/sagefence/sagefence/internal/securityhub"
)

// reportPaths are the files the report goes to: --output, or one file per
// format in --output-dir; none for stdout.
func (o *scanOptions) reportPaths() []string {
	if o.OutputDir == "" {
		if o.Output != "" {
			return []string{o.Output}
		}
		return nil
	}
	paths := make([]string, len(o.Formats))
	for i, f := range o.Formats {
		paths[i] = filepath.Join(o.OutputDir, "report."+report.Extension(f))
	}
	return paths
}

// writeReports writes the report in every requested format: to stdout
// (one format, as the terminal wants it), to --output, or to one file per
// format in --output-dir. Files are written atomically, so a failure leaves
// the previous file, never half a report. It returns one error per output
// that failed.
func writeReports(opts *scanOptions, rep *finding.Report) []error {
	paths := opts.reportPaths()
	if len(paths) == 0 {
		ro := report.Options{TTY: opts.IO.IsStdoutTTY(), Color: opts.IO.ColorEnabled(), Width: opts.IO.TerminalWidth()}
		// A reader that went away (a closed pipe) is not a failure of the scan.
		if err := report.Write(opts.IO.Out, opts.Formats[0], rep, ro); err != nil && !errors.Is(err, os.ErrClosed) {
			return []error{fmt.Errorf("write report: %w", err)}
		}
		return nil
	}
	if opts.OutputDir != "" {
		if err := os.MkdirAll(opts.OutputDir, 0o755); err != nil {
			return []error{fmt.Errorf("write reports: %w", err)}
		}
	}
	var errs []error
	var wrote []string
	for i, path := range paths {
		err := atomicfile.Write(path, 0o644, func(w io.Writer) error {
			return report.Write(w, opts.Formats[i], rep, report.Options{})
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("write %s report: %w", opts.Formats[i], err))
			continue
		}
		wrote = append(wrote, path)
	}
	if len(wrote) > 0 && opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s (%d notebooks)\n", strings.Join(wrote, ", "), len(rep.Results))
	}
	return errs
}

// checkEvidenceDir refuses, before anything is scanned, an evidence
// directory that already holds files.
func checkEvidenceDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return usageErr(fmt.Errorf("--evidence-dir: %w", err))
	case len(entries) > 0:
		return usageErr(fmt.Errorf("%w; pass --force to write into it", &evidence.NotEmptyError{Dir: dir}))
	}
	return nil
}

// writeEvidence writes the evidence bundle of rep, evaluated from the
// inventory bytes inv.
func writeEvidence(opts *scanOptions, rep *finding.Report, inv []byte, caller evidence.Caller) error {
	m, err := evidence.WriteBundle(opts.EvidenceDir, evidence.Bundle{
		Inventory: inv,
		Report:    rep,
		Caller:    caller,
		Time:      opts.Now(),
		Overwrite: opts.Force,
	})
	if err != nil {
		var ne *evidence.NotEmptyError
		if errors.As(err, &ne) {
			return fmt.Errorf("%w; pass --force to write into it", err)
		}
		return err
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "wrote evidence bundle %s (%d files and %s)\n", opts.EvidenceDir, len(m.Files), evidence.ManifestFile)
	}
	return nil
}

// newSecurityHub is the SDK's Security Hub client for region.
func newSecurityHub(cfg aws.Config, region string) securityHubAPI {
	return shsdk.NewFromConfig(cfg, func(o *shsdk.Options) { o.Region = region })
}

// findingGroup is the findings of one account and region: Security Hub
// takes a finding only in the account and region it is about.
type findingGroup struct {
	account, region string
	findings        []types.AwsSecurityFinding
}

func groupFindings(fs []types.AwsSecurityFinding) []findingGroup {
	var groups []findingGroup
	index := map[[2]string]int{}
	for _, f := range fs {
		key := [2]string{aws.ToString(f.AwsAccountId), aws.ToString(f.Region)}
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, findingGroup{account: key[0], region: key[1]})
		}
		groups[i].findings = append(groups[i].findings, f)
	}
	slices.SortFunc(groups, func(a, b findingGroup) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.region, b.region))
	})
	return groups
}

// pushSecurityHub imports rep's findings into Security Hub, one account and
// region at a time with a client for that region built from cfg, and
// brings their workflow status in line with what muted them; it lifts only
// suppressions of the mute sources in consulted (those the scan read). A
// group that fails does not stop the others. It returns one error per
// rejected finding and per failed call.
func pushSecurityHub(ctx context.Context, opts *scanOptions, cfg aws.Config, rep *finding.Report, consulted []string) []error {
	fs, err := asff.Findings(rep)
	if err != nil {
		return []error{fmt.Errorf("security hub: %w", err)}
	}
	var errs []error
	imported := 0
	var wf securityhub.WorkflowResult
	groups := groupFindings(fs)
	rejections := func(g findingGroup, what string, failed []securityhub.FailedFinding) {
		for _, f := range failed {
			which := "finding " + f.ID
			if f.ID == "" {
				which = "findings"
			}
			errs = append(errs, fmt.Errorf("security hub %s %s %s %s: %s: %s", g.account, g.region, what, which, f.Code, f.Message))
		}
	}
	for _, g := range groups {
		api := opts.SecurityHub(cfg, g.region)
		res, err := securityhub.Push(ctx, api, g.findings)
		imported += res.Imported
		var rejected *securityhub.RejectedError
		switch {
		case errors.As(err, &rejected):
			rejections(g, "rejected", rejected.Failed)
		case err != nil:
			errs = append(errs, fmt.Errorf("security hub %s %s: %w", g.account, g.region, err))
			continue
		}
		w, err := securityhub.SyncWorkflow(ctx, api, withoutFailed(g.findings, res.Failed),
			securityhub.WorkflowOptions{Reopen: consulted})
		wf.Suppressed, wf.Reopened = wf.Suppressed+w.Suppressed, wf.Reopened+w.Reopened
		switch {
		case errors.As(err, &rejected):
			rejections(g, "did not update the workflow of", rejected.Failed)
		case err != nil:
			errs = append(errs, fmt.Errorf("security hub %s %s: %w", g.account, g.region, err))
		}
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "security hub: imported %d of %d findings in %d account-region(s)", imported, len(fs), len(groups))
		if wf.Suppressed+wf.Reopened > 0 {
			fmt.Fprintf(opts.IO.ErrOut, "; workflow: %d suppressed, %d reopened", wf.Suppressed, wf.Reopened)
		}
		fmt.Fprintln(opts.IO.ErrOut)
	}
	return errs
}

// withoutFailed is fs without the findings Security Hub rejected.
func withoutFailed(fs []types.AwsSecurityFinding, failed []securityhub.FailedFinding) []types.AwsSecurityFinding {
	if len(failed) == 0 {
		return fs
	}
	drop := map[string]bool{}
	for _, f := range failed {
		drop[f.ID] = true
	}
	var out []types.AwsSecurityFinding
	for _, f := range fs {
		if !drop[aws.ToString(f.Id)] {
			out = append(out, f)
		}
	}
	return out
}

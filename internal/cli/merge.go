package cli

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/atomicfile"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/report"
)

type mergeOptions struct {
	IO *iostreams.IOStreams

	Files  []string
	Format string
	Output string
	Strict bool
}

func newMergeCmd(ios *iostreams.IOStreams, runF func(context.Context, *mergeOptions) error) *cobra.Command {
	opts := &mergeOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "merge FILE...",
		Short: "Join the JSON reports of sharded scans into one report",
		Long: `Merge joins JSON reports (scan --format json) into one, as if one scan had
read everything: typically the shards of an organisation scan (scan --shard K/N),
or scans of different regions. The summary and "complete" are recomputed; the
report starts when the first input started and finishes when the last finished.

Merging fails (exit 2, nothing written) when the reports overlap (two of them
cover the same account-region: the shards were not split the same way, or a
file is given twice), when two are the same shard or shards of different
splits, or when their schema_version or control profile differ. An input
that is incomplete (an account that could not be read, an interrupted shard)
makes the merged report incomplete too, and so does a missing shard: every
shard's report records K/N, so a shard with no accounts is told apart from a
shard that was never given (exit 3, the missing shard named under errors).

` + exitCodesHelp,
		Example: `  # four shards from a Kubernetes Indexed Job, joined into one JSON report
  sagefence merge shard-0.json shard-1.json shard-2.json shard-3.json --format json --output org.json

  # the same as a table
  sagefence merge shard-*.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErrf("merge needs at least one JSON report")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if !report.Valid(opts.Format) {
				return usageErrf("--format %q: want one of %s", opts.Format, strings.Join(report.Formats(), ", "))
			}
			if err := checkOutputFile("--output", opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runMerge(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Format, "format", "table", "output format: "+strings.Join(report.Formats(), ", "))
	completeWords(cmd, "format", report.Formats())
	f.StringVarP(&opts.Output, "output", "o", "", "write the merged report to this file (atomically) instead of stdout")
	f.BoolVar(&opts.Strict, "strict", false, "exit 1 on REVIEW results too")
	return cmd
}

func runMerge(_ context.Context, opts *mergeOptions) error {
	reports := make([]*finding.Report, len(opts.Files))
	for i, name := range opts.Files {
		r, err := readReport(name)
		if err != nil {
			return usageErr(err)
		}
		reports[i] = r
	}
	merged, err := mergeReports(opts.Files, reports)
	if err != nil {
		return usageErr(err)
	}
	if err := writeMerged(opts, merged); err != nil {
		return err
	}
	if code := merged.ExitCode(opts.Strict); code != ExitOK {
		return codeOnly(code)
	}
	return nil
}

// readReport reads one JSON report and checks it is one this sagefence
// can merge.
func readReport(name string) (*finding.Report, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", name, pe.Err)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var head struct {
		SchemaVersion *string          `json:"schema_version"`
		Results       *json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: not a JSON report (scan --format json): %w", name, err)
	}
	switch {
	case head.SchemaVersion == nil || head.Results == nil:
		return nil, fmt.Errorf("%s: not a sagefence JSON report (no schema_version or results)", name)
	case *head.SchemaVersion != finding.SchemaVersion:
		return nil, fmt.Errorf("%s: report schema_version %q cannot be merged by this sagefence (it reads %q)", name, *head.SchemaVersion, finding.SchemaVersion)
	}
	var r finding.Report
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: not a sagefence JSON report: %w", name, err)
	}
	return &r, nil
}

// accountRegion is what shards must not share.
type accountRegion struct{ account, region string }

// mergeReports joins reports read from names (for messages) into one. It
// fails when they disagree on schema_version or profile, or when two of
// them cover the same account-region: a result, or an error about a
// region, names the account-regions a report covers. Errors about a whole
// account (a role that could not be assumed) or none (an interrupted scan)
// are kept once each.
func mergeReports(names []string, reports []*finding.Report) (*finding.Report, error) {
	if len(reports) == 0 {
		return nil, errors.New("nothing to merge")
	}
	first := reports[0]
	out := &finding.Report{
		SchemaVersion: first.SchemaVersion,
		Tool:          first.Tool,
		Profile:       first.Profile,
		StartedAt:     first.StartedAt,
		FinishedAt:    first.FinishedAt,
	}
	owner := map[accountRegion]int{}
	var overlaps []string
	claim := func(i int, account, region string) {
		if account == "" || region == "" {
			return
		}
		k := accountRegion{account, region}
		j, seen := owner[k]
		switch {
		case !seen:
			owner[k] = i
		case j >= 0 && j != i:
			overlaps = append(overlaps, fmt.Sprintf("%s and %s both cover account %s in %s", names[j], names[i], account, region))
			owner[k] = -1 // reported once
		}
	}
	expired := map[[2]string]*finding.ExpiredException{}
	var expiredOrder [][2]string
	for i, r := range reports {
		switch {
		case r.SchemaVersion != out.SchemaVersion:
			return nil, fmt.Errorf("%s has schema_version %q, %s has %q: reports of different versions cannot be merged", names[0], out.SchemaVersion, names[i], r.SchemaVersion)
		case r.Profile != out.Profile:
			return nil, fmt.Errorf("%s was evaluated with control profile %q, %s with %q: re-run them with the same --control-profile", names[0], out.Profile, names[i], r.Profile)
		}
		for _, res := range r.Results {
			claim(i, res.AccountID, res.Region)
		}
		for _, e := range r.Errors {
			claim(i, e.AccountID, e.Region)
		}
		out.Results = append(out.Results, r.Results...)
		out.Errors = append(out.Errors, r.Errors...)
		if !r.StartedAt.IsZero() && (out.StartedAt.IsZero() || r.StartedAt.Before(out.StartedAt)) {
			out.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(out.FinishedAt) {
			out.FinishedAt = r.FinishedAt
		}
		for _, x := range r.ExpiredExceptions {
			k := [2]string{x.Source, x.Match}
			if have := expired[k]; have != nil {
				have.Resources = append(have.Resources, x.Resources...)
				continue
			}
			x.Resources = slices.Clone(x.Resources)
			expired[k] = &x
			expiredOrder = append(expiredOrder, k)
		}
	}
	if len(overlaps) > 0 {
		more := ""
		if len(overlaps) > 3 {
			more = fmt.Sprintf(" (and %d more)", len(overlaps)-3)
			overlaps = overlaps[:3]
		}
		return nil, fmt.Errorf("the reports overlap: %s%s; merge the reports of one sharded scan, each once", strings.Join(overlaps, "; "), more)
	}
	if err := checkShards(names, reports, out); err != nil {
		return nil, err
	}
	// The order a single scan writes: account, region, the notebooks by
	// name, then the Studio domains and user profiles by name (a profile,
	// DOMAIN/PROFILE, after its domain).
	studio := func(r finding.Result) int {
		if finding.ControlOf(r.Resource.Type) == finding.ControlIDStudio {
			return 1
		}
		return 0
	}
	slices.SortStableFunc(out.Results, func(a, b finding.Result) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(studio(a), studio(b)), cmp.Compare(a.Resource.Name, b.Resource.Name))
	})
	slices.SortStableFunc(out.Errors, func(a, b finding.Error) int {
		return cmp.Or(cmp.Compare(a.AccountID, b.AccountID), cmp.Compare(a.Region, b.Region),
			cmp.Compare(a.Operation, b.Operation), cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Code, b.Code), cmp.Compare(a.Message, b.Message))
	})
	out.Errors = slices.Compact(out.Errors)
	for _, k := range expiredOrder {
		x := expired[k]
		slices.Sort(x.Resources)
		x.Resources = slices.Compact(x.Resources)
		out.ExpiredExceptions = append(out.ExpiredExceptions, *x)
	}
	out.Summarize()
	return out, nil
}

// checkShards looks at the inputs that are shards of a sharded scan: they
// must come from one split (the same N), each shard at most once. A shard
// that is not among them is recorded as an error in out, which makes the
// merged report incomplete: an empty shard still has a report, so a
// missing one means accounts that were not read.
func checkShards(names []string, reports []*finding.Report, out *finding.Report) error {
	count, countFrom := 0, ""
	given := map[int]string{}
	for i, r := range reports {
		sh := r.Shard
		if sh == nil {
			continue
		}
		switch {
		case sh.Count < 1 || sh.Index < 0 || sh.Index >= sh.Count:
			return fmt.Errorf("%s: shard %d/%d is not a valid shard", names[i], sh.Index, sh.Count)
		case count == 0:
			count, countFrom = sh.Count, names[i]
		case sh.Count != count:
			return fmt.Errorf("%s is shard %d/%d but %s is of a split into %d: merge the shards of one sharded scan", names[i], sh.Index, sh.Count, countFrom, count)
		}
		if other, dup := given[sh.Index]; dup {
			return fmt.Errorf("%s and %s are both shard %d/%d: merge each shard once", other, names[i], sh.Index, count)
		}
		given[sh.Index] = names[i]
	}
	for k := range count {
		if _, ok := given[k]; !ok {
			out.Errors = append(out.Errors, finding.Error{
				Operation: "sagefence:merge",
				Resource:  fmt.Sprintf("shard %d/%d", k, count),
				Message:   fmt.Sprintf("the report of shard %d/%d was not given: the accounts of that shard are not in this report", k, count),
			})
		}
	}
	return nil
}

func writeMerged(opts *mergeOptions, rep *finding.Report) error {
	if opts.Output == "" {
		ro := report.Options{TTY: opts.IO.IsStdoutTTY(), Color: opts.IO.ColorEnabled()}
		if err := report.Write(opts.IO.Out, opts.Format, rep, ro); err != nil && !errors.Is(err, os.ErrClosed) {
			return &exitError{code: ExitIncomplete, err: err}
		}
		return nil
	}
	err := atomicfile.Write(opts.Output, 0o644, func(w io.Writer) error {
		return report.Write(w, opts.Format, rep, report.Options{})
	})
	if err != nil {
		return &exitError{code: ExitIncomplete, err: fmt.Errorf("write merged report: %w", err)}
	}
	if opts.IO.IsStderrTTY() {
		fmt.Fprintf(opts.IO.ErrOut, "wrote %s (%d notebooks from %d reports)\n", opts.Output, len(rep.Results), len(opts.Files))
	}
	return nil
}

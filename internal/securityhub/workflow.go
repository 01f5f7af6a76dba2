package securityhub

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/report/asff"
)

// UpdateBatchSize is the most findings BatchUpdateFindings takes in one call.
const UpdateBatchSize = 100

// WorkflowAPI is what SyncWorkflow needs of Security Hub; the SDK's
// *securityhub.Client satisfies it.
type WorkflowAPI interface {
	GetFindings(ctx context.Context, params *securityhub.GetFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.GetFindingsOutput, error)
	BatchUpdateFindings(ctx context.Context, params *securityhub.BatchUpdateFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchUpdateFindingsOutput, error)
}

// Reopened is the note on a finding sagefence had suppressed and that no
// exception mutes any more.
const Reopened = "Reopened by sagefence: nothing mutes this finding any more."

// WorkflowResult is what SyncWorkflow did.
type WorkflowResult struct {
	// Suppressed and Reopened count the findings Security Hub updated.
	Suppressed, Reopened int
	// Calls counts the GetFindings and BatchUpdateFindings calls made.
	Calls int
	// Failed are the findings Security Hub did not update.
	Failed []FailedFinding
}

// WorkflowOptions say what SyncWorkflow may change.
type WorkflowOptions struct {
	// Reopen are the mute sources (finding.Mute.Source: "exception",
	// "sagefence journal") whose suppressions it may lift from findings
	// that are no longer muted: those the scan consulted. A scan that did
	// not apply the exceptions cannot tell that none mutes a finding any
	// more.
	Reopen []string
}

// SyncWorkflow brings the workflow status of findings, just imported into
// one account and region, in line with what muted them (an exception, a
// remediation run). Security Hub keeps Workflow and Note from an import
// only when it creates a finding, so a finding muted after it first
// appeared, or no longer muted, needs BatchUpdateFindings:
//
//   - a finding asff built as muted (SUPPRESSED, with a note by
//     asff.NoteAuthor) is suppressed with that note, unless it already is
//     with the same note or someone else suppressed it;
//   - a finding sagefence suppressed (its note is by asff.NoteAuthor and
//     names a source in o.Reopen) that is no longer muted is reopened:
//     NEW, or RESOLVED when it now passes.
//
// Every other workflow status is the analysts' and is left alone. The
// current state comes from GetFindings (suppressed findings of the
// findings' product and generator, filtered again here); with nothing
// muted and no reopening, no call is made. SyncWorkflow stops at the first
// call that fails and returns what it did with the error; findings Security
// Hub does not update are returned in Failed with a *RejectedError.
func SyncWorkflow(ctx context.Context, api WorkflowAPI, findings []types.AwsSecurityFinding, o WorkflowOptions) (WorkflowResult, error) {
	var res WorkflowResult
	if len(findings) == 0 || (len(o.Reopen) == 0 && !slices.ContainsFunc(findings, muted)) {
		return res, nil
	}
	current, err := suppressed(ctx, api, findings, &res)
	if err != nil {
		return res, err
	}
	type change struct {
		status types.WorkflowStatus
		note   string
	}
	changes := map[change][]types.AwsSecurityFindingIdentifier{}
	for _, f := range findings {
		id := types.AwsSecurityFindingIdentifier{Id: f.Id, ProductArn: f.ProductArn}
		cur, isSuppressed := current[aws.ToString(f.Id)]
		if muted(f) {
			want := aws.ToString(f.Note.Text)
			if isSuppressed && (aws.ToString(cur.UpdatedBy) != asff.NoteAuthor || aws.ToString(cur.Text) == want) {
				continue
			}
			c := change{types.WorkflowStatusSuppressed, want}
			changes[c] = append(changes[c], id)
			continue
		}
		if isSuppressed && aws.ToString(cur.UpdatedBy) == asff.NoteAuthor && o.mayReopen(aws.ToString(cur.Text)) {
			c := change{types.WorkflowStatusNew, Reopened}
			if f.Compliance != nil && f.Compliance.Status == types.ComplianceStatusPassed {
				c.status = types.WorkflowStatusResolved
			}
			changes[c] = append(changes[c], id)
		}
	}
	keys := slices.SortedFunc(maps.Keys(changes), func(a, b change) int {
		return cmp.Or(cmp.Compare(a.status, b.status), cmp.Compare(a.note, b.note))
	})
	sent := 0
	for _, c := range keys {
		ids := changes[c]
		for start := 0; start < len(ids); start += UpdateBatchSize {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("securityhub: workflow: %w", err)
			}
			batch := ids[start:min(start+UpdateBatchSize, len(ids))]
			sent += len(batch)
			out, err := api.BatchUpdateFindings(ctx, &securityhub.BatchUpdateFindingsInput{
				FindingIdentifiers: batch,
				Workflow:           &types.WorkflowUpdate{Status: c.status},
				Note:               &types.NoteUpdate{Text: aws.String(c.note), UpdatedBy: aws.String(asff.NoteAuthor)},
			})
			res.Calls++
			if err != nil {
				return res, fmt.Errorf("securityhub: BatchUpdateFindings (%d findings to %s): %w", len(batch), c.status, err)
			}
			done := len(out.ProcessedFindings)
			if c.status == types.WorkflowStatusSuppressed {
				res.Suppressed += done
			} else {
				res.Reopened += done
			}
			for _, u := range out.UnprocessedFindings {
				id := ""
				if u.FindingIdentifier != nil {
					id = aws.ToString(u.FindingIdentifier.Id)
				}
				res.Failed = append(res.Failed, FailedFinding{ID: id, Code: aws.ToString(u.ErrorCode), Message: aws.ToString(u.ErrorMessage)})
			}
			if got := done + len(out.UnprocessedFindings); got < len(batch) {
				res.Failed = append(res.Failed, FailedFinding{Code: "Unaccounted",
					Message: fmt.Sprintf("workflow update: %d findings sent, %d reported processed or not", len(batch), got)})
			}
		}
	}
	if len(res.Failed) > 0 {
		return res, &RejectedError{Failed: res.Failed, Sent: sent}
	}
	return res, nil
}

// mayReopen reports whether a suppression with note text may be lifted.
func (o WorkflowOptions) mayReopen(text string) bool {
	source, ok := asff.NoteSource(text)
	return ok && slices.Contains(o.Reopen, source)
}

// muted reports whether asff built f as a muted finding.
func muted(f types.AwsSecurityFinding) bool {
	return f.Workflow != nil && f.Workflow.Status == types.WorkflowStatusSuppressed &&
		f.Note != nil && aws.ToString(f.Note.UpdatedBy) == asff.NoteAuthor
}

// suppressed returns the note of each of findings that Security Hub holds
// as SUPPRESSED (a nil Note when it has none).
func suppressed(ctx context.Context, api WorkflowAPI, findings []types.AwsSecurityFinding, res *WorkflowResult) (map[string]types.Note, error) {
	ours := make(map[string]bool, len(findings))
	var products, generators []string
	for _, f := range findings {
		ours[aws.ToString(f.Id)] = true
		if p := aws.ToString(f.ProductArn); !slices.Contains(products, p) {
			products = append(products, p)
		}
		if g := aws.ToString(f.GeneratorId); !slices.Contains(generators, g) {
			generators = append(generators, g)
		}
	}
	filters := &types.AwsSecurityFindingFilters{
		ProductArn:     equals(products...),
		GeneratorId:    equals(generators...),
		WorkflowStatus: equals(string(types.WorkflowStatusSuppressed)),
	}
	current := map[string]types.Note{}
	p := securityhub.NewGetFindingsPaginator(api, &securityhub.GetFindingsInput{Filters: filters, MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		res.Calls++
		if err != nil {
			return nil, fmt.Errorf("securityhub: GetFindings (suppressed findings): %w", err)
		}
		// The filter is applied again: an emulator may ignore it, and a
		// finding that is not ours must never be touched.
		for _, f := range out.Findings {
			id := aws.ToString(f.Id)
			if !ours[id] || f.Workflow == nil || f.Workflow.Status != types.WorkflowStatusSuppressed {
				continue
			}
			var n types.Note
			if f.Note != nil {
				n = *f.Note
			}
			current[id] = n
		}
	}
	return current, nil
}

func equals(values ...string) []types.StringFilter {
	out := make([]types.StringFilter, len(values))
	for i, v := range values {
		out[i] = types.StringFilter{Value: aws.String(v), Comparison: types.StringFilterComparisonEquals}
	}
	return out
}

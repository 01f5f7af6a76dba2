// Package securityhub imports findings into AWS Security Hub with
// BatchImportFindings: in batches of the API's maximum of 100, reporting
// every finding the service rejects with its ID and reason. Finding IDs come
// from the asff package and are deterministic, so pushing the same scan
// again updates findings instead of duplicating them. SyncWorkflow then
// keeps the findings' workflow status in step with what mutes them (an
// exception, a remediation run), which an import cannot change, with
// GetFindings and BatchUpdateFindings.
package securityhub

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// BatchSize is the most findings BatchImportFindings takes in one call.
const BatchSize = 100

// BatchImportFindingsAPI is the one Security Hub call Push needs; the SDK's
// *securityhub.Client satisfies it.
type BatchImportFindingsAPI interface {
	BatchImportFindings(ctx context.Context, params *securityhub.BatchImportFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

// PushResult is what a push did.
type PushResult struct {
	// Batches is the number of BatchImportFindings calls that returned.
	Batches int
	// Sent is the number of findings in those calls.
	Sent int
	// Imported is the number Security Hub accepted (created or updated).
	Imported int
	// Failed are the findings Security Hub rejected.
	Failed []FailedFinding
}

// FailedFinding is one finding Security Hub rejected.
type FailedFinding struct {
	ID      string
	Code    string
	Message string
}

// RejectedError is returned, together with the full PushResult, when every
// call succeeded but Security Hub rejected some findings.
type RejectedError struct {
	Failed []FailedFinding
	Sent   int
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "security hub rejected %d of %d findings", len(e.Failed), e.Sent)
	for i, f := range e.Failed {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Failed)-i)
			break
		}
		fmt.Fprintf(&b, "; %s: %s: %s", f.ID, f.Code, f.Message)
	}
	return b.String()
}

// Push imports findings in batches of BatchSize, in order. It stops at the
// first call that fails (including a cancelled ctx) and returns what was
// done so far with the wrapped error; findings rejected one by one do not
// stop it and are returned in PushResult.Failed with a *RejectedError.
// Findings without an Id, or two with the same Id, are refused before
// anything is sent: either would make a re-run duplicate or lose findings.
func Push(ctx context.Context, api BatchImportFindingsAPI, findings []types.AwsSecurityFinding) (PushResult, error) {
	var res PushResult
	seen := make(map[string]int, len(findings))
	for i := range findings {
		id := aws.ToString(findings[i].Id)
		if id == "" {
			return res, fmt.Errorf("securityhub: finding %d has no Id", i)
		}
		if j, dup := seen[id]; dup {
			return res, fmt.Errorf("securityhub: findings %d and %d have the same Id %s", j, i, id)
		}
		seen[id] = i
	}
	total := (len(findings) + BatchSize - 1) / BatchSize
	for start := 0; start < len(findings); start += BatchSize {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("securityhub: stopped before batch %d of %d: %w", res.Batches+1, total, err)
		}
		end := min(start+BatchSize, len(findings))
		out, err := api.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: findings[start:end]})
		if err != nil {
			return res, fmt.Errorf("securityhub: BatchImportFindings batch %d of %d (findings %d-%d): %w", res.Batches+1, total, start+1, end, err)
		}
		res.Batches++
		res.Sent += end - start
		res.Imported += int(aws.ToInt32(out.SuccessCount))
		for _, f := range out.FailedFindings {
			res.Failed = append(res.Failed, FailedFinding{ID: aws.ToString(f.Id), Code: aws.ToString(f.ErrorCode), Message: aws.ToString(f.ErrorMessage)})
		}
		// A response that accounts for fewer findings than were sent is a
		// failure too, or the missing ones would vanish silently.
		if got := int(aws.ToInt32(out.SuccessCount)) + len(out.FailedFindings); got < end-start {
			res.Failed = append(res.Failed, FailedFinding{
				Code:    "Unaccounted",
				Message: fmt.Sprintf("batch %d: %d findings sent, %d reported imported or failed", res.Batches, end-start, got),
			})
		}
	}
	if len(res.Failed) > 0 {
		return res, &RejectedError{Failed: res.Failed, Sent: res.Sent}
	}
	return res, nil
}

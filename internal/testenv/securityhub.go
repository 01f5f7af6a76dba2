package testenv

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	shsdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"
)

// SecurityHubWorkflow returns the FaultProxy rules that make moto's
// Security Hub (at motoURL) keep findings' workflow the way AWS does.
// moto 5.2 has no BatchUpdateFindings: the proxy answers it by importing
// each finding again with the new workflow and note. And moto's
// BatchImportFindings overwrites the Workflow and Note of an existing
// finding, which AWS keeps (they are the analysts'): the proxy puts the
// stored ones back into each import before moto sees it.
func SecurityHubWorkflow(t testing.TB, motoURL string) []Rule {
	ctx := context.Background()
	client := func(region string) *shsdk.Client {
		return shsdk.NewFromConfig(Config(motoURL), func(o *shsdk.Options) { o.Region = region })
	}
	stored := func(region string) map[string]types.AwsSecurityFinding {
		out := map[string]types.AwsSecurityFinding{}
		p := shsdk.NewGetFindingsPaginator(client(region), &shsdk.GetFindingsInput{MaxResults: aws.Int32(100)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Errorf("emulation: GetFindings: %v", err)
				return nil
			}
			for _, f := range page.Findings {
				out[aws.ToString(f.Id)] = f
			}
		}
		return out
	}
	keep := func(c Call) []byte {
		var in struct{ Findings []map[string]any }
		if err := json.Unmarshal(c.Body, &in); err != nil {
			t.Errorf("emulation: import body: %v", err)
			return c.Body
		}
		have := stored(c.Region)
		for _, f := range in.Findings {
			id, _ := f["Id"].(string)
			old, ok := have[id]
			if !ok {
				continue
			}
			f["Workflow"] = old.Workflow
			delete(f, "Note")
			if old.Note != nil {
				f["Note"] = old.Note
			}
		}
		b, _ := json.Marshal(in)
		return b
	}
	update := func(c Call) (int, []byte) {
		var in struct {
			FindingIdentifiers []types.AwsSecurityFindingIdentifier
			Workflow           types.WorkflowUpdate
			Note               types.NoteUpdate
		}
		if err := json.Unmarshal(c.Body, &in); err != nil {
			return 400, []byte(`{"message":"bad body"}`)
		}
		have := stored(c.Region)
		var done []types.AwsSecurityFinding
		processed, unprocessed := []types.AwsSecurityFindingIdentifier{}, []map[string]any{}
		for _, id := range in.FindingIdentifiers {
			f, ok := have[aws.ToString(id.Id)]
			if !ok {
				unprocessed = append(unprocessed, map[string]any{"FindingIdentifier": id,
					"ErrorCode": "FindingNotFound", "ErrorMessage": "no such finding"})
				continue
			}
			f.Workflow = &types.Workflow{Status: types.WorkflowStatus(in.Workflow.Status)}
			f.Note = &types.Note{Text: in.Note.Text, UpdatedBy: in.Note.UpdatedBy, UpdatedAt: aws.String("2025-01-02T03:04:05.000Z")}
			done = append(done, f)
			processed = append(processed, id)
		}
		if len(done) > 0 {
			if _, err := client(c.Region).BatchImportFindings(ctx, &shsdk.BatchImportFindingsInput{Findings: done}); err != nil {
				t.Errorf("emulation: re-import: %v", err)
			}
		}
		out := map[string]any{"ProcessedFindings": processed, "UnprocessedFindings": unprocessed}
		b, _ := json.Marshal(out)
		return 200, b
	}
	return []Rule{
		{Op: "securityhub:POST /findings/import", Fault: Fault{Rewrite: keep}},
		{Op: "securityhub:PATCH /findings/batchupdate", Fault: Fault{Answer: update}},
	}
}

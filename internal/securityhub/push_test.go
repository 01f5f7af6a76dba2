package securityhub_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/asff"
	"github.com/sagefence/sagefence/internal/securityhub"
	"github.com/sagefence/sagefence/internal/testenv"
)

// report builds a scan of n failing notebooks in moto's account.
func report(n int, finished time.Time) *finding.Report {
	r := &finding.Report{
		SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "sagefence", Version: "test"}, Profile: "sop",
		StartedAt: finished.Add(-time.Minute), FinishedAt: finished,
	}
	for i := range n {
		name := fmt.Sprintf("nb-%03d", i)
		r.Results = append(r.Results, finding.Result{
			ControlID: finding.ControlID, AccountID: testenv.AccountID, Region: testenv.Region,
			Resource: finding.Resource{Type: finding.ResourceType, Name: name,
				ARN: "arn:aws:sagemaker:" + testenv.Region + ":" + testenv.AccountID + ":notebook-instance/" + name},
			Status: finding.StatusFail, Severity: finding.SeverityHigh, InternetPath: finding.PathDirect,
			Checks:      []finding.Check{{ID: "direct-internet-access", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Enabled"}},
			Remediation: "Recreate the notebook without direct internet access.",
			Compliance:  map[string][]string{"aws-securityhub": {"SageMaker.1"}},
		})
	}
	r.Summarize()
	return r
}

func findingsOf(t *testing.T, r *finding.Report) []types.AwsSecurityFinding {
	t.Helper()
	fs, err := asff.Findings(r)
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

// counting records the size of every BatchImportFindings call.
type counting struct {
	api     securityhub.BatchImportFindingsAPI
	mu      sync.Mutex
	batches []int
}

func (c *counting) BatchImportFindings(ctx context.Context, in *sdk.BatchImportFindingsInput, opts ...func(*sdk.Options)) (*sdk.BatchImportFindingsOutput, error) {
	c.mu.Lock()
	c.batches = append(c.batches, len(in.Findings))
	c.mu.Unlock()
	return c.api.BatchImportFindings(ctx, in, opts...)
}

func countFindings(ctx context.Context, t *testing.T, c *sdk.Client) (int, map[string]string) {
	t.Helper()
	updated := map[string]string{}
	n := 0
	p := sdk.NewGetFindingsPaginator(c, &sdk.GetFindingsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetFindings: %v", err)
		}
		for _, f := range out.Findings {
			n++
			updated[aws.ToString(f.Id)] = aws.ToString(f.UpdatedAt)
		}
	}
	return n, updated
}

func TestPushToMotoBatchesAndUpdatesInPlace(t *testing.T) {
	m := testenv.MotoForTest(t)
	ctx := context.Background()
	client := sdk.NewFromConfig(testenv.Config(m.URL()))

	const n = 250
	first := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	api := &counting{api: client}
	res, err := securityhub.Push(ctx, api, findingsOf(t, report(n, first)))
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	if want := []int{100, 100, 50}; fmt.Sprint(api.batches) != fmt.Sprint(want) {
		t.Errorf("batches %v, want %v (ceil(%d/100) calls)", api.batches, want, n)
	}
	if res.Batches != 3 || res.Sent != n || res.Imported != n || len(res.Failed) != 0 {
		t.Errorf("result %+v, want 3 batches, %d sent and imported", res, n)
	}
	got, _ := countFindings(ctx, t, client)
	if got != n {
		t.Fatalf("Security Hub holds %d findings, want %d", got, n)
	}

	// A re-run of the same scan later updates the same findings.
	second := first.Add(24 * time.Hour)
	if _, err := securityhub.Push(ctx, client, findingsOf(t, report(n, second))); err != nil {
		t.Fatalf("second Push: %v", err)
	}
	got, updated := countFindings(ctx, t, client)
	if got != n {
		t.Errorf("after a re-push Security Hub holds %d findings, want still %d", got, n)
	}
	for id, at := range updated {
		if at != "2025-01-03T03:04:05.000Z" {
			t.Errorf("finding %s UpdatedAt %s, want the second run's time", id, at)
			break
		}
	}
}

func TestPushReportsRejectedFindingsByID(t *testing.T) {
	m := testenv.MotoForTest(t)
	ctx := context.Background()
	client := sdk.NewFromConfig(testenv.Config(m.URL()))

	fs := findingsOf(t, report(5, time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)))
	// Security Hub (and moto) reject a finding without resources.
	fs[3].Resources = []types.Resource{}
	bad := aws.ToString(fs[3].Id)

	res, err := securityhub.Push(ctx, client, fs)
	var rejected *securityhub.RejectedError
	if !errors.As(err, &rejected) {
		t.Fatalf("Push error = %v, want a *RejectedError", err)
	}
	if len(res.Failed) != 1 || res.Failed[0].ID != bad || res.Failed[0].Code == "" || res.Failed[0].Message == "" {
		t.Errorf("Failed = %+v, want the one finding %s with its code and message", res.Failed, bad)
	}
	if res.Imported != 4 || res.Sent != 5 {
		t.Errorf("result %+v, want 4 of 5 imported", res)
	}
	if got, _ := countFindings(ctx, t, client); got != 4 {
		t.Errorf("Security Hub holds %d findings, want 4", got)
	}
}

// stub answers BatchImportFindings from a function, for what moto cannot do.
type stub struct {
	calls int
	fn    func(call int, in *sdk.BatchImportFindingsInput) (*sdk.BatchImportFindingsOutput, error)
}

func (s *stub) BatchImportFindings(_ context.Context, in *sdk.BatchImportFindingsInput, _ ...func(*sdk.Options)) (*sdk.BatchImportFindingsOutput, error) {
	s.calls++
	return s.fn(s.calls, in)
}

func ok(_ int, in *sdk.BatchImportFindingsInput) (*sdk.BatchImportFindingsOutput, error) {
	return &sdk.BatchImportFindingsOutput{SuccessCount: aws.Int32(int32(len(in.Findings))), FailedCount: aws.Int32(0)}, nil
}

func TestPushStopsAtAFailedCallAndKeepsWhatWasDone(t *testing.T) {
	s := &stub{fn: func(call int, in *sdk.BatchImportFindingsInput) (*sdk.BatchImportFindingsOutput, error) {
		if call == 2 {
			return nil, errors.New("AccessDeniedException: not subscribed")
		}
		return ok(call, in)
	}}
	res, err := securityhub.Push(context.Background(), s, findingsOf(t, report(250, time.Now())))
	if err == nil || s.calls != 2 {
		t.Fatalf("err %v after %d calls, want an error after 2", err, s.calls)
	}
	if res.Batches != 1 || res.Imported != 100 {
		t.Errorf("result %+v, want the first batch only", res)
	}
	var rejected *securityhub.RejectedError
	if errors.As(err, &rejected) {
		t.Error("a failed call is not a per-finding rejection")
	}
}

func TestPushHonoursCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stub{fn: func(call int, in *sdk.BatchImportFindingsInput) (*sdk.BatchImportFindingsOutput, error) {
		cancel()
		return ok(call, in)
	}}
	res, err := securityhub.Push(ctx, s, findingsOf(t, report(250, time.Now())))
	if !errors.Is(err, context.Canceled) || s.calls != 1 || res.Batches != 1 {
		t.Errorf("err %v, %d calls, result %+v; want context.Canceled after one batch", err, s.calls, res)
	}
}

func TestPushRefusesBadIDsBeforeSending(t *testing.T) {
	fs := findingsOf(t, report(3, time.Now()))
	for name, mutate := range map[string]func([]types.AwsSecurityFinding){
		"missing Id":   func(f []types.AwsSecurityFinding) { f[1].Id = nil },
		"duplicate Id": func(f []types.AwsSecurityFinding) { f[2].Id = f[0].Id },
	} {
		t.Run(name, func(t *testing.T) {
			c := append([]types.AwsSecurityFinding(nil), fs...)
			mutate(c)
			s := &stub{fn: ok}
			if _, err := securityhub.Push(context.Background(), s, c); err == nil || s.calls != 0 {
				t.Errorf("err %v after %d calls, want an error before any call", err, s.calls)
			}
		})
	}
}

func TestPushNothingMakesNoCall(t *testing.T) {
	s := &stub{fn: ok}
	res, err := securityhub.Push(context.Background(), s, nil)
	if err != nil || s.calls != 0 || res.Batches != 0 {
		t.Errorf("Push(nil) = %+v, %v after %d calls", res, err, s.calls)
	}
}

func TestUnaccountedFindingsAreFailures(t *testing.T) {
	s := &stub{fn: func(int, *sdk.BatchImportFindingsInput) (*sdk.BatchImportFindingsOutput, error) {
		return &sdk.BatchImportFindingsOutput{SuccessCount: aws.Int32(1), FailedCount: aws.Int32(0)}, nil
	}}
	res, err := securityhub.Push(context.Background(), s, findingsOf(t, report(3, time.Now())))
	var rejected *securityhub.RejectedError
	if !errors.As(err, &rejected) || len(res.Failed) != 1 || res.Failed[0].Code != "Unaccounted" {
		t.Errorf("err %v, failed %+v; want the 2 missing findings reported", err, res.Failed)
	}
}

// TestPushStudioResultsToMoto: a Studio domain's and a user profile's
// results are imported beside a notebook's, each under its own ID, with the
// resource type ASFF allows for them (Other) and the Studio control.
func TestPushStudioResultsToMoto(t *testing.T) {
	m := testenv.MotoForTest(t)
	ctx := context.Background()
	client := sdk.NewFromConfig(testenv.Config(m.URL()))
	r := report(1, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	arn := "arn:aws:sagemaker:" + testenv.Region + ":" + testenv.AccountID + ":"
	for _, res := range []finding.Resource{
		{Type: finding.ResourceTypeDomain, Name: "research", ARN: arn + "domain/d-1"},
		{Type: finding.ResourceTypeUserProfile, Name: "research/alice", ARN: arn + "user-profile/d-1/alice"},
	} {
		r.Results = append(r.Results, finding.Result{
			ControlID: finding.ControlIDStudio, AccountID: testenv.AccountID, Region: testenv.Region, Resource: res,
			Status: finding.StatusFail, Severity: finding.SeverityHigh, InternetPath: finding.PathDirect,
			Checks:   []finding.Check{{ID: "app-network-access-type", Status: finding.StatusFail, Severity: finding.SeverityHigh, Message: "AppNetworkAccessType is PublicInternetOnly"}},
			Evidence: finding.Evidence{StudioEvidence: &finding.StudioEvidence{DomainID: "d-1", AppNetworkAccessType: "PublicInternetOnly"}},
		})
	}
	r.Summarize()
	res, err := securityhub.Push(ctx, client, findingsOf(t, r))
	if err != nil || res.Imported != 3 || len(res.Failed) != 0 {
		t.Fatalf("Push: %+v, %v; want 3 imported", res, err)
	}
	out, err := client.GetFindings(ctx, &sdk.GetFindingsInput{})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range out.Findings {
		if len(f.Resources) != 1 {
			t.Fatalf("finding %s has %d resources", aws.ToString(f.Id), len(f.Resources))
		}
		types[aws.ToString(f.Resources[0].Id)] = aws.ToString(f.Resources[0].Type) + " " + aws.ToString(f.GeneratorId)
	}
	want := map[string]string{
		arn + "notebook-instance/nb-000": "AwsSageMakerNotebookInstance " + finding.ControlID,
		arn + "domain/d-1":               "Other " + finding.ControlIDStudio,
		arn + "user-profile/d-1/alice":   "Other " + finding.ControlIDStudio,
	}
	for id, w := range want {
		if types[id] != w {
			t.Errorf("Security Hub holds %s as %q, want %q (all: %v)", id, types[id], w, types)
		}
	}
}

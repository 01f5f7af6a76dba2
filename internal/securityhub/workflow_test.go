package securityhub_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdk "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/securityhub"
)

// hub is an in-memory Security Hub with the service's documented workflow
// semantics, which moto does not have: an import keeps the Workflow and
// Note of a finding that already exists (they are the analysts'), and only
// BatchUpdateFindings changes them. GetFindings honours the equality
// filters sagefence uses unless ignoreFilters (as moto does).
type hub struct {
	mu            sync.Mutex
	findings      map[string]types.AwsSecurityFinding
	order         []string
	ignoreFilters bool
	unprocessed   string // a finding ID BatchUpdateFindings refuses
	failGet       error
	updates       []string // "STATUS xN" per BatchUpdateFindings call
	gets          int
}

func newHub() *hub { return &hub{findings: map[string]types.AwsSecurityFinding{}} }

func (h *hub) BatchImportFindings(_ context.Context, in *sdk.BatchImportFindingsInput, _ ...func(*sdk.Options)) (*sdk.BatchImportFindingsOutput, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range in.Findings {
		id := aws.ToString(f.Id)
		if old, ok := h.findings[id]; ok {
			f.Workflow, f.Note = old.Workflow, old.Note
		} else {
			h.order = append(h.order, id)
			if f.Workflow == nil {
				f.Workflow = &types.Workflow{Status: types.WorkflowStatusNew}
			}
		}
		h.findings[id] = f
	}
	return &sdk.BatchImportFindingsOutput{SuccessCount: aws.Int32(int32(len(in.Findings))), FailedCount: aws.Int32(0)}, nil
}

func matchesAll(filters []types.StringFilter, v string) bool {
	if len(filters) == 0 {
		return true
	}
	return slices.ContainsFunc(filters, func(f types.StringFilter) bool {
		return f.Comparison == types.StringFilterComparisonEquals && aws.ToString(f.Value) == v
	})
}

func (h *hub) GetFindings(_ context.Context, in *sdk.GetFindingsInput, _ ...func(*sdk.Options)) (*sdk.GetFindingsOutput, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gets++
	if h.failGet != nil {
		return nil, h.failGet
	}
	var match []types.AwsSecurityFinding
	for _, id := range h.order {
		f := h.findings[id]
		if fl := in.Filters; fl != nil && !h.ignoreFilters {
			if !matchesAll(fl.ProductArn, aws.ToString(f.ProductArn)) || !matchesAll(fl.GeneratorId, aws.ToString(f.GeneratorId)) ||
				!matchesAll(fl.WorkflowStatus, string(f.Workflow.Status)) {
				continue
			}
		}
		match = append(match, f)
	}
	start, _ := strconv.Atoi(aws.ToString(in.NextToken))
	end := min(start+int(aws.ToInt32(in.MaxResults)), len(match))
	out := &sdk.GetFindingsOutput{Findings: match[start:end]}
	if end < len(match) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (h *hub) BatchUpdateFindings(_ context.Context, in *sdk.BatchUpdateFindingsInput, _ ...func(*sdk.Options)) (*sdk.BatchUpdateFindingsOutput, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(in.FindingIdentifiers) > securityhub.UpdateBatchSize {
		return nil, errors.New("InvalidInputException: at most 100 findings")
	}
	h.updates = append(h.updates, fmt.Sprintf("%s x%d", in.Workflow.Status, len(in.FindingIdentifiers)))
	out := &sdk.BatchUpdateFindingsOutput{}
	for _, fi := range in.FindingIdentifiers {
		id := aws.ToString(fi.Id)
		f, ok := h.findings[id]
		if !ok || id == h.unprocessed || aws.ToString(fi.ProductArn) != aws.ToString(f.ProductArn) {
			out.UnprocessedFindings = append(out.UnprocessedFindings, types.BatchUpdateFindingsUnprocessedFinding{
				FindingIdentifier: &fi, ErrorCode: aws.String("FindingNotFound"), ErrorMessage: aws.String("no such finding")})
			continue
		}
		f.Workflow = &types.Workflow{Status: in.Workflow.Status}
		f.Note = &types.Note{Text: in.Note.Text, UpdatedBy: in.Note.UpdatedBy}
		h.findings[id] = f
		out.ProcessedFindings = append(out.ProcessedFindings, fi)
	}
	return out, nil
}

// state is each finding's workflow status and note author, by notebook.
func (h *hub) state() map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for _, f := range h.findings {
		name := aws.ToString(f.Resources[0].Details.AwsSageMakerNotebookInstance.NotebookInstanceName)
		s := string(f.Workflow.Status)
		if f.Note != nil {
			s += " by " + aws.ToString(f.Note.UpdatedBy) + ": " + aws.ToString(f.Note.Text)
		}
		out[name] = s
	}
	return out
}

// mute mutes results [from, to) of r with reason, as an exception does.
func mute(r *finding.Report, from, to int, reason string) {
	for i := from; i < to; i++ {
		res := &r.Results[i]
		res.UnmutedStatus, res.Status = res.Status, finding.StatusMuted
		res.Mute = &finding.Mute{Reason: reason, Owner: "ml-platform", Expires: "2099-01-01", Source: "exception"}
	}
	r.Summarize()
}

func push(t *testing.T, h *hub, r *finding.Report) securityhub.WorkflowResult {
	t.Helper()
	fs := findingsOf(t, r)
	if _, err := securityhub.Push(context.Background(), h, fs); err != nil {
		t.Fatalf("Push: %v", err)
	}
	h.updates = nil
	res, err := securityhub.SyncWorkflow(context.Background(), h, fs, securityhub.WorkflowOptions{Reopen: []string{"exception"}})
	if err != nil {
		t.Fatalf("SyncWorkflow: %v", err)
	}
	return res
}

func TestSyncWorkflowFollowsTheExceptions(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreFilters=%v", ignore), func(t *testing.T) {
			h := newHub()
			h.ignoreFilters = ignore
			at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
			const n = 150
			name := func(i int) string { return fmt.Sprintf("nb-%03d", i) }

			// First push, nothing muted: every finding is NEW, nothing to do.
			if res := push(t, h, report(n, at)); res.Suppressed+res.Reopened != 0 || len(h.updates) != 0 {
				t.Fatalf("unmuted push: %+v, updates %v", res, h.updates)
			}
			// An analyst suppresses one finding by hand.
			for id, f := range h.findings {
				if aws.ToString(f.Resources[0].Details.AwsSageMakerNotebookInstance.NotebookInstanceName) == name(140) {
					f.Workflow = &types.Workflow{Status: types.WorkflowStatusSuppressed}
					f.Note = &types.Note{Text: aws.String("accepted risk"), UpdatedBy: aws.String("alice")}
					h.findings[id] = f
				}
			}

			// An exception now mutes 120 existing findings: the import
			// alone leaves them NEW; the sync suppresses them in two calls.
			r := report(n, at)
			mute(r, 0, 120, "vendor mirror")
			res := push(t, h, r)
			if res.Suppressed != 120 || res.Reopened != 0 || fmt.Sprint(h.updates) != "[SUPPRESSED x100 SUPPRESSED x20]" {
				t.Fatalf("muting push: %+v, updates %v", res, h.updates)
			}
			want := "SUPPRESSED by sagefence: Muted (exception): vendor mirror (owner ml-platform, expires 2099-01-01)."
			st := h.state()
			for i := range n {
				switch got := st[name(i)]; {
				case i < 120 && got != want:
					t.Fatalf("%s = %q, want %q", name(i), got, want)
				case i == 140 && got != "SUPPRESSED by alice: accepted risk":
					t.Fatalf("the analyst's suppression was changed: %q", got)
				case i >= 120 && i != 140 && got != "NEW":
					t.Fatalf("%s = %q, want NEW", name(i), got)
				}
			}

			// The same push again changes nothing.
			if res := push(t, h, r); res.Suppressed+res.Reopened != 0 || len(h.updates) != 0 {
				t.Fatalf("repeated push: %+v, updates %v", res, h.updates)
			}

			// The exception narrows and changes its reason; one notebook
			// now passes; the analyst's finding is muted too.
			r = report(n, at)
			r.Results[110].Status, r.Results[110].Severity = finding.StatusPass, finding.SeverityInformational
			mute(r, 0, 10, "vendor mirror, renewed")
			mute(r, 140, 141, "vendor mirror, renewed")
			res = push(t, h, r)
			if res.Suppressed != 10 || res.Reopened != 110 {
				t.Errorf("narrowing push: %+v, want 10 suppressed, 110 reopened", res)
			}
			if got, want := fmt.Sprint(h.updates), "[NEW x100 NEW x9 RESOLVED x1 SUPPRESSED x10]"; got != want {
				t.Errorf("updates %s, want %s", got, want)
			}
			st = h.state()
			reopened := "by sagefence: " + securityhub.Reopened
			for i := range n {
				var want string
				switch {
				case i < 10:
					want = "SUPPRESSED by sagefence: Muted (exception): vendor mirror, renewed (owner ml-platform, expires 2099-01-01)."
				case i == 110:
					want = "RESOLVED " + reopened
				case i < 120:
					want = "NEW " + reopened
				case i == 140:
					want = "SUPPRESSED by alice: accepted risk"
				default:
					want = "NEW"
				}
				if st[name(i)] != want {
					t.Errorf("%s = %q, want %q", name(i), st[name(i)], want)
				}
			}
		})
	}
}

func TestSyncWorkflowReportsWhatSecurityHubRefused(t *testing.T) {
	h := newHub()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	push(t, h, report(3, at))
	r := report(3, at)
	mute(r, 0, 3, "lab")
	fs := findingsOf(t, r)
	h.unprocessed = aws.ToString(fs[1].Id)
	res, err := securityhub.SyncWorkflow(context.Background(), h, fs, securityhub.WorkflowOptions{Reopen: []string{"exception"}})
	var rejected *securityhub.RejectedError
	if !errors.As(err, &rejected) || len(res.Failed) != 1 || res.Failed[0].ID != h.unprocessed ||
		res.Failed[0].Code != "FindingNotFound" || res.Suppressed != 2 {
		t.Errorf("result %+v, err %v: want 2 suppressed and the refused one named", res, err)
	}
}

func TestSyncWorkflowChangesNothingWhenItCannotReadTheState(t *testing.T) {
	h := newHub()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	push(t, h, report(3, at))
	r := report(3, at)
	mute(r, 0, 3, "lab")
	h.failGet = errors.New("AccessDeniedException: securityhub:GetFindings")
	h.updates = nil
	_, err := securityhub.SyncWorkflow(context.Background(), h, findingsOf(t, r), securityhub.WorkflowOptions{Reopen: []string{"exception"}})
	if err == nil || !strings.Contains(err.Error(), "GetFindings") || len(h.updates) != 0 {
		t.Errorf("err %v, updates %v: want the GetFindings error and no update", err, h.updates)
	}
}

func TestSyncWorkflowOfNothingMakesNoCall(t *testing.T) {
	h := newHub()
	if res, err := securityhub.SyncWorkflow(context.Background(), h, nil, securityhub.WorkflowOptions{Reopen: []string{"exception"}}); err != nil || res.Calls != 0 || h.gets != 0 {
		t.Errorf("res %+v err %v gets %d", res, err, h.gets)
	}
}

// Without Reopen (a scan that did not apply the exceptions), muted findings
// are still suppressed, but nothing sagefence suppressed is reopened, and a
// push with nothing muted makes no call at all.
func TestSyncWorkflowWithoutReopenOnlySuppresses(t *testing.T) {
	h := newHub()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	pushAndSync := func(r *finding.Report, o securityhub.WorkflowOptions) securityhub.WorkflowResult {
		t.Helper()
		fs := findingsOf(t, r)
		if _, err := securityhub.Push(context.Background(), h, fs); err != nil {
			t.Fatal(err)
		}
		res, err := securityhub.SyncWorkflow(context.Background(), h, fs, o)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pushAndSync(report(5, at), securityhub.WorkflowOptions{})
	r := report(5, at)
	mute(r, 0, 2, "replaced by nb-new (run r-1), pending finalize")
	if res := pushAndSync(r, securityhub.WorkflowOptions{}); res.Suppressed != 2 || res.Reopened != 0 || res.Calls != 2 {
		t.Errorf("muting without reopen: %+v, want 2 suppressed in 1 read and 1 update", res)
	}
	gets := h.gets
	if res := pushAndSync(report(5, at), securityhub.WorkflowOptions{}); res.Calls != 0 || h.gets != gets {
		t.Errorf("nothing muted, no reopen: %+v and %d reads, want no call", res, h.gets-gets)
	}
	if n := strings.Count(fmt.Sprint(h.state()), "SUPPRESSED by sagefence"); n != 2 {
		t.Errorf("%d findings still suppressed by sagefence, want 2 (nothing may reopen them): %v", n, h.state())
	}
	if res := pushAndSync(report(5, at), securityhub.WorkflowOptions{Reopen: []string{"exception"}}); res.Reopened != 2 {
		t.Errorf("with reopen: %+v, want the 2 reopened", res)
	}
}

// A push lifts only the suppressions of the mute sources its scan read: a
// scan with the exceptions but no journal leaves a replaced notebook's
// suppression alone, and the other way round.
func TestSyncWorkflowReopensOnlyTheSourcesItRead(t *testing.T) {
	h := newHub()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	push(t, h, report(4, at))
	r := report(4, at)
	mute(r, 0, 2, "lab")
	for i := 2; i < 4; i++ {
		res := &r.Results[i]
		res.UnmutedStatus, res.Status = res.Status, finding.StatusMuted
		res.Mute = &finding.Mute{Reason: "replaced by nb-new (run r-1), pending finalize", Source: "sagefence journal"}
	}
	r.Summarize()
	if res := push(t, h, r); res.Suppressed != 4 {
		t.Fatalf("muting push: %+v, want 4 suppressed", res)
	}
	reopen := func(sources ...string) int {
		t.Helper()
		fs := findingsOf(t, report(4, at))
		if _, err := securityhub.Push(context.Background(), h, fs); err != nil {
			t.Fatal(err)
		}
		res, err := securityhub.SyncWorkflow(context.Background(), h, fs, securityhub.WorkflowOptions{Reopen: sources})
		if err != nil {
			t.Fatal(err)
		}
		return res.Reopened
	}
	if n := reopen("exception"); n != 2 {
		t.Errorf("a scan with the exceptions reopened %d, want the 2 they muted", n)
	}
	if n := reopen("exception"); n != 0 {
		t.Errorf("again: reopened %d, want 0 (the journal's stay suppressed)", n)
	}
	if n := reopen("sagefence journal"); n != 2 {
		t.Errorf("a scan that read the journal reopened %d, want the 2 it had muted", n)
	}
}

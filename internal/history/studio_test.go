package history

import (
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
)

// TestADomainNamedLikeANotebookIsStoredBesideIt: a Studio domain and a
// notebook of one region may share a name; both are stored, each result
// reads back as it was, and the domain's transitions say it is one.
func TestADomainNamedLikeANotebookIsStoredBesideIt(t *testing.T) {
	s := openTemp(t)
	notebook := nb(use1.AccountID, use1.Region, "research", finding.StatusPass, finding.PathNone)
	domain := nb(use1.AccountID, use1.Region, "research", finding.StatusFail, finding.PathDirect)
	domain.ControlID, domain.Resource.Type = finding.ControlIDStudio, finding.ResourceTypeDomain
	domain.Resource.ARN = "arn:aws:sagemaker:us-east-1:111111111111:domain/d-1"
	trs := record(t, s, scanAt(t0, Cause{Kind: CauseStart}, use1), report(notebook, domain))
	var names []string
	for _, tr := range trs {
		names = append(names, tr.Name)
	}
	if want := []string{"research", "studio-domain/research"}; !slices.Equal(names, want) {
		t.Errorf("transitions name %v, want %v", names, want)
	}
	got := current(t, s)
	if len(got) != 2 {
		t.Fatalf("stored %d results, want 2", len(got))
	}
	types := []string{got[0].Resource.Type, got[1].Resource.Type}
	if !slices.Contains(types, finding.ResourceTypeDomain) || !slices.Contains(types, finding.ResourceType) {
		t.Errorf("stored types %v", types)
	}
	for _, r := range got {
		if r.Resource.Name != "research" {
			t.Errorf("stored result renamed to %q", r.Resource.Name)
		}
	}
}

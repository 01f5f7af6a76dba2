package dashboard

import (
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
)

// TestStudioResultIsShownAndTimedUnderItsStoredName: a Studio domain named
// like a notebook is its own entry, and its timeline is read under the
// name the history stores it by (studio-domain/NAME), not the notebook's.
func TestStudioResultIsShownAndTimedUnderItsStoredName(t *testing.T) {
	src := newFake()
	nb := src.rep.Results[0]
	domain := nb
	domain.ControlID, domain.Resource.Type = finding.ControlIDStudio, finding.ResourceTypeDomain
	src.rep.Results = append(src.rep.Results, domain)
	_, _, out := getPage(t, src, "/")
	if !strings.Contains(out, `<span class="nb-name">studio-domain/`+nb.Resource.Name) {
		t.Errorf("the page does not show the domain as studio-domain/%s", nb.Resource.Name)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if !slices.Contains(src.historyCalls, key{domain.AccountID, domain.Region, "studio-domain/" + nb.Resource.Name}) {
		t.Errorf("history read under %v, not the domain's stored name", src.historyCalls)
	}
}

package control

import (
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
)

func TestCatalogForEachControl(t *testing.T) {
	notebook, err := CatalogFor(finding.ControlID)
	if err != nil {
		t.Fatal(err)
	}
	top, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(notebook, top, func(a, b Framework) bool { return a.Key == b.Key && slices.Equal(a.IDs, b.IDs) }) {
		t.Errorf("CatalogFor(notebook) = %v, want the top-level catalog %v", notebook, top)
	}

	studio, err := CatalogFor("sagemaker-studio-no-direct-internet-access")
	if err != nil {
		t.Fatal(err)
	}
	got := complianceMap(studio)
	if !slices.Equal(got["aws-config"], []string{"sagemaker-domain-in-vpc"}) {
		t.Errorf("studio aws-config = %v, want sagemaker-domain-in-vpc", got["aws-config"])
	}
	// Security Hub's SageMaker.1 is about notebook instances only.
	if ids, ok := got["aws-securityhub"]; ok {
		t.Errorf("studio maps to Security Hub %v, which has no domain control", ids)
	}
	for _, f := range studio {
		if f.Source == "" || f.Name == "" {
			t.Errorf("framework %s has no name or source", f.Key)
		}
	}

	if _, err := CatalogFor("no-such-control"); err == nil || !strings.Contains(err.Error(), "no-such-control") {
		t.Errorf("unknown control: err = %v", err)
	}
}

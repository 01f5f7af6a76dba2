package collect

import (
	"context"
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/permissions"
)

// TestCollectCallsOnlyListedActions records every AWS operation a scan
// makes (an organisation scan over a VPC estate, so that every describe is
// exercised) and fails if the audit policy (internal/permissions, which
// iam-policy prints) does not list one of them.
func TestCollectCallsOnlyListedActions(t *testing.T) {
	s := newSetup(t)
	buildEstate(t, s)
	motoOrg(t, s.m.URL(), 1)
	rec := permissions.NewRecorder()
	cfg, _ := liveConfig(t, s.m.URL(), awsclient.Options{})
	cfg.APIOptions = append(cfg.APIOptions, rec.APIOption)
	inv, err := Collect(context.Background(), cfg, CollectOptions{Org: true, Role: awsclient.RoleOptions{Name: "OrganizationAccountAccessRole"}, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Fatalf("collection errors: %+v", inv.Errors)
	}
	if missing := rec.Missing(permissions.ModeAudit); len(missing) != 0 {
		t.Errorf("the scan called actions the audit policy does not list: %v", missing)
	}
	ops := rec.Operations()
	for _, want := range []string{"ec2:DescribeRouteTables", "ec2:DescribeNetworkAcls", "sagemaker:DescribeNotebookInstance", "sagemaker:ListTags", "organizations:ListAccounts"} {
		if !slices.Contains(ops, want) {
			t.Errorf("recorder did not see %s (saw %v): the test would not notice a missing action", want, ops)
		}
	}
}

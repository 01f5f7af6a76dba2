package collect

import (
	"context"
	"slices"
	"testing"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

// TestCollectCallsOnlyListedActions records every AWS operation a scan
// makes (an organisation scan over a VPC estate, so that every describe is
// exercised) and fails if the audit policy (internal/permissions, which
// iam-policy prints) does not list one of them.
func TestCollectCallsOnlyListedActions(t *testing.T) {
	s := newSetup(t)
	e := buildEstate(t, s)
	addTransit(t, s, e) // the transit gateway and prefix list reads too
	motoOrg(t, s.m.URL(), 1)
	// A VpcOnly Studio domain with a profile, a space and an app: moto
	// has the domain, the proxy answers for the rest (MOTO-NOTES.md).
	if _, err := testenv.CreateDomain(context.Background(), s.sm, testenv.Domain{Name: "perms", AppNetworkAccessType: "VpcOnly",
		VPCID: e.net.VPCID, SubnetIDs: []string{e.net.IsolatedSubnetID}, UserSecurityGroupIDs: []string{e.sgLocked}}); err != nil {
		t.Fatal(err)
	}
	ledger := testenv.NewStudioLedger()
	ledger.AddProfile("d-perms", testenv.StudioProfile{Name: "alice", SecurityGroupIDs: []string{e.sgOpen}})
	ledger.AddSpace("d-perms", testenv.StudioSpace{Name: "team", SharingType: "Shared"})
	ledger.AddApp("d-perms", testenv.StudioApp{Space: "team", Type: "JupyterLab", Name: "default", Status: "InService"})
	proxy := testenv.NewFaultProxy(t, s.m.URL())
	proxy.Add(testenv.MotoStudioAnswers(ledger)...)
	rec := permissions.NewRecorder()
	cfg, _ := liveConfig(t, proxy.URL(), awsclient.Options{})
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
	// Every operation a scan reads must have been seen, or the check above
	// proves nothing about it; moto's notebooks have no network interface
	// to describe.
	ops := rec.Operations()
	for _, want := range awsop.Audit() {
		if !slices.Contains(ops, want) && want != awsop.DescribeNetworkInterfaces {
			t.Errorf("recorder did not see %s (saw %v): the test would not notice a missing action", want, ops)
		}
	}
}

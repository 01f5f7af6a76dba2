package remediate

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/permissions"
	"github.com/sagefence/sagefence/internal/testenv"
)

// TestMotoLacksUpdateDomainAndListApps pins the moto gaps the Studio tests
// fill in the proxy (studio_env_test.go): if moto learns these operations,
// the emulation may go.
func TestMotoLacksUpdateDomainAndListApps(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, false)
	ctx := context.Background()
	if _, err := e.direct.sm.UpdateDomain(ctx, &sagemaker.UpdateDomainInput{DomainId: aws.String(s.domainID),
		AppNetworkAccessType: "VpcOnly"}); err == nil {
		t.Error("moto now answers UpdateDomain: the proxy's emulation may no longer be needed")
	}
	if _, err := e.direct.sm.ListApps(ctx, &sagemaker.ListAppsInput{DomainIdEquals: aws.String(s.domainID)}); err == nil {
		t.Error("moto now answers ListApps: the proxy's answer may no longer be needed")
	}
}

// Plan, apply and backout of studio-vpc-only: the plan reads the domain,
// its apps and its VPC's endpoints live; apply journals the previous
// AppNetworkAccessType before UpdateDomain and leaves VpcOnly; backout puts
// the exact previous value back. Every call is in the remediate policy.
func TestStudioVPCOnlyPlanApplyBackoutRoundTrip(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, true)
	ctx := context.Background()
	before := e.domain(t, s.domainID)

	e.proxy.ResetCounts()
	p := e.studioPlan(t, PlanOptions{})
	planCalls := e.proxy.Counts()
	a := domainAction(t, p)
	if a.Blocked != "" || len(a.Warnings) == 0 {
		t.Fatalf("action blocked %q, warnings %v; want ready, with the recommended endpoints named", a.Blocked, a.Warnings)
	}
	if a.Before.Domain.AppNetworkAccessType != "PublicInternetOnly" || a.After.Domain.AppNetworkAccessType != "VpcOnly" ||
		a.BlastRadius.Source != "DescribeDomain, ListApps, DescribeVpcEndpoints" {
		t.Errorf("before %+v after %+v source %q", a.Before.Domain, a.After.Domain, a.BlastRadius.Source)
	}
	status := map[string]string{}
	for _, c := range a.Endpoints {
		status[strings.TrimPrefix(c.Service, "com.amazonaws.us-east-1.")] = c.Status
	}
	if d := cmp.Diff(map[string]string{"sagemaker.api": EndpointOK, "sagemaker.runtime": EndpointOK, "s3": EndpointOK,
		"sts": EndpointMissing, "logs": EndpointMissing, "servicecatalog": EndpointMissing}, status); d != "" {
		t.Errorf("endpoint checks (-want +got):\n%s", d)
	}
	if p.Settings.Fixes[0] != FixStudioVPCOnly || len(p.Actions) != 1 {
		t.Errorf("plan %+v: want only the domain's action", p.Actions)
	}

	j := openJournal(t)
	e.proxy.ResetCounts()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	applyCalls := e.proxy.Counts()
	if got := e.domain(t, s.domainID).AppNetworkAccessType; got != "VpcOnly" {
		t.Fatalf("after apply the domain is %s", got)
	}
	if res.Summary == nil || res.Summary.Done != 1 || !strings.Contains(res.Message, "backout "+res.RunID) {
		t.Errorf("summary %+v, message %q", res.Summary, res.Message)
	}
	steps, err := j.Steps(ctx, res.RunID)
	if err != nil || len(steps) != 1 || steps[0].Action != StepSetDomainNetworkAccess {
		t.Fatalf("steps %+v, %v", steps, err)
	}
	var journaled State
	if err := json.Unmarshal(steps[0].Before, &journaled); err != nil || journaled.Domain == nil ||
		journaled.Domain.AppNetworkAccessType != "PublicInternetOnly" {
		t.Errorf("journaled before-state %s (%v): want the previous AppNetworkAccessType", steps[0].Before, err)
	}

	e.proxy.ResetCounts()
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatalf("Backout: %v", err)
	}
	backoutCalls := e.proxy.Counts()
	if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
		t.Errorf("domain after backout (-before +after):\n%s", d)
	}
	if missing := e.rec.Missing(permissions.ModeRemediate); len(missing) > 0 {
		t.Errorf("calls the remediate policy does not grant: %v", missing)
	}
	for phase, counts := range map[string]map[string]int{"plan": planCalls, "apply": applyCalls, "backout": backoutCalls} {
		t.Logf("%s: %v", phase, counts)
	}
	if n := applyCalls["sagemaker:UpdateDomain"] + backoutCalls["sagemaker:UpdateDomain"]; n != 2 {
		t.Errorf("%d UpdateDomain calls, want one each way", n)
	}
}

// A domain whose DescribeDomain has no AppNetworkAccessType (AWS's default
// applies) is journaled as such, and backout sets PublicInternetOnly, the
// same network.
func TestStudioVPCOnlyOfADomainWithoutTheSettingRestoresItsDefault(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, true)
	// moto always answers the value; AWS may leave it out.
	e.withFaults(testenv.Rule{Op: "sagemaker:DescribeDomain", Fault: testenv.Fault{
		RewriteResponse: func(_ testenv.Call, _ int, body []byte) []byte {
			return []byte(strings.Replace(string(body), `"AppNetworkAccessType": "PublicInternetOnly"`, `"Ignored": ""`, 1))
		}}})
	p := e.studioPlan(t, PlanOptions{})
	a := domainAction(t, p)
	if !a.Before.Domain.AppNetworkAccessTypeUnset || a.Before.Domain.AppNetworkAccessType != "PublicInternetOnly" ||
		!strings.Contains(a.Summary, "unset") {
		t.Fatalf("before %+v, summary %q: want the unset value read as AWS's default", a.Before.Domain, a.Summary)
	}
	ctx := context.Background()
	j := openJournal(t)
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if got := e.domain(t, s.domainID).AppNetworkAccessType; got != "PublicInternetOnly" {
		t.Errorf("after backout %s", got)
	}
}

// Running apps: the plan names each with the command that stops it and is
// blocked (no flag unblocks it); apps started after the plan make apply
// skip the action without calling UpdateDomain; apps started after apply
// make backout refuse, naming them, until they are stopped.
func TestStudioVPCOnlyRefusesWhileAppsRun(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, true)
	ctx := context.Background()
	running := []StudioAppRef{
		{UserProfileName: "alice", AppType: "JupyterServer", AppName: "default", Status: "InService"},
		{SpaceName: "team", AppType: "JupyterLab", AppName: "default", Status: "Pending"},
		{UserProfileName: "bob", AppType: "KernelGateway", AppName: "old", Status: "Deleted"},
	}
	e.apps.set(s.domainID, running...)

	t.Run("plan", func(t *testing.T) {
		p := e.studioPlan(t, PlanOptions{})
		a := domainAction(t, p)
		if !strings.Contains(a.Blocked, "2 app(s) of studio domain d-lab are InService, Pending or Deleting") {
			t.Errorf("blocked %q", a.Blocked)
		}
		want := []string{
			"aws sagemaker delete-app --domain-id d-lab --space-name team --app-type JupyterLab --app-name default --region us-east-1",
			"aws sagemaker delete-app --domain-id d-lab --user-profile-name alice --app-type JupyterServer --app-name default --region us-east-1",
		}
		var got []string
		for _, app := range a.Apps {
			got = append(got, app.Command)
		}
		slices.Sort(got)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("apps to stop (-want +got):\n%s", d)
		}
		var na *NotApplicableError
		if err := p.CheckReady(); err == nil || !errors.As(err, &na) || len(na.Flags) != 0 {
			t.Errorf("CheckReady = %v: want refused with no plan flag to offer", err)
		}
	})

	t.Run("apply", func(t *testing.T) {
		e.apps.set(s.domainID)
		p := e.studioPlan(t, PlanOptions{})
		if a := domainAction(t, p); a.Blocked != "" {
			t.Fatalf("blocked without apps: %s", a.Blocked)
		}
		e.apps.set(s.domainID, running[0])
		e.proxy.ResetCounts()
		res, err := Apply(ctx, p, e.clients(), openJournal(t), fast())
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode() != 3 || res.Actions[0].Status != ActionSkipped ||
			!strings.Contains(strings.Join(res.Actions[0].Details, "\n"), "JupyterServer app default of user profile alice (InService)") {
			t.Errorf("exit %d, action %+v: want skipped, naming the app", res.ExitCode(), res.Actions[0])
		}
		if n := e.proxy.Calls("sagemaker:UpdateDomain"); n != 0 {
			t.Errorf("%d UpdateDomain calls", n)
		}
		if got := e.domain(t, s.domainID).AppNetworkAccessType; got != "PublicInternetOnly" {
			t.Errorf("domain is %s", got)
		}
	})

	t.Run("backout", func(t *testing.T) {
		e.apps.set(s.domainID)
		p := e.studioPlan(t, PlanOptions{})
		j := openJournal(t)
		res, err := Apply(ctx, p, e.clients(), j, fast())
		if err != nil {
			t.Fatal(err)
		}
		e.apps.set(s.domainID, running[0])
		b, err := Backout(ctx, res.RunID, e.clients(), j, fast())
		if err == nil || !strings.Contains(err.Error(), "cannot restore AppNetworkAccessType=PublicInternetOnly while 1 app(s)") ||
			!strings.Contains(err.Error(), "--user-profile-name alice") || b.Status != journal.RunFailed {
			t.Fatalf("Backout with an app running: %v", err)
		}
		if got := e.domain(t, s.domainID).AppNetworkAccessType; got != "VpcOnly" {
			t.Errorf("a refused backout changed the domain to %s", got)
		}
		e.apps.set(s.domainID)
		if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
			t.Fatalf("Backout once the app is stopped: %v", err)
		}
		if got := e.domain(t, s.domainID).AppNetworkAccessType; got != "PublicInternetOnly" {
			t.Errorf("after backout the domain is %s", got)
		}
	})
}

// The endpoint check: without the SageMaker API and runtime endpoints (or
// with private DNS off) and without a NAT route the action is blocked,
// naming what is missing and the flag that applies it anyway; a NAT route
// from the domain's subnets is a path too; recommended services only warn.
func TestStudioVPCOnlyNamesMissingEndpoints(t *testing.T) {
	private := func(n testenv.Network) string { return n.PrivateSubnetID }
	for _, tc := range []struct {
		name         string
		subnet       func(testenv.Network) string
		privateDNS   bool // for the API endpoint, when there is one
		endpoints    bool
		allow        bool
		blocked      string
		warning      string
		apiStatus    string
		unblockFlags []string
	}{
		{name: "none", subnet: isolated, apiStatus: EndpointMissing, unblockFlags: []string{"--allow-missing-endpoints"},
			blocked: "has no usable endpoint for com.amazonaws.us-east-1.sagemaker.api (no endpoint), com.amazonaws.us-east-1.sagemaker.runtime (no endpoint)"},
		{name: "private-dns-off", subnet: isolated, endpoints: true, apiStatus: EndpointPrivateDNSDisabled,
			unblockFlags: []string{"--allow-missing-endpoints"}, blocked: "sagemaker.api (endpoint vpce-"},
		{name: "allowed", subnet: isolated, allow: true, apiStatus: EndpointMissing,
			warning: "apps will not reach the SageMaker API and runtime until you add them"},
		{name: "nat", subnet: private, apiStatus: EndpointMissing, warning: "through the NAT route of every domain subnet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := buildStudioEstate(t, e, tc.subnet, false)
			if tc.endpoints {
				e.createInterfaceEndpoint(t, s.net.VPCID, s.net.IsolatedSubnetID, s.sg, "sagemaker.api", tc.privateDNS)
				e.createInterfaceEndpoint(t, s.net.VPCID, s.net.IsolatedSubnetID, s.sg, "sagemaker.runtime", true)
			}
			p := e.studioPlan(t, PlanOptions{AllowMissingEndpoints: tc.allow})
			a := domainAction(t, p)
			if tc.blocked == "" && a.Blocked != "" || !strings.Contains(a.Blocked, tc.blocked) {
				t.Errorf("blocked %q, want it to contain %q", a.Blocked, tc.blocked)
			}
			if !slices.Equal(a.Unblock, tc.unblockFlags) {
				t.Errorf("unblock %v, want %v", a.Unblock, tc.unblockFlags)
			}
			if tc.warning != "" && !slices.ContainsFunc(a.Warnings, func(w string) bool { return strings.Contains(w, tc.warning) }) {
				t.Errorf("warnings %v lack %q", a.Warnings, tc.warning)
			}
			if a.Endpoints[0].Service != "com.amazonaws.us-east-1.sagemaker.api" || a.Endpoints[0].Status != tc.apiStatus {
				t.Errorf("API endpoint check %+v, want %s", a.Endpoints[0], tc.apiStatus)
			}
			if !slices.ContainsFunc(a.Warnings, func(w string) bool { return strings.Contains(w, "com.amazonaws.us-east-1.sts") }) {
				t.Errorf("warnings %v do not name the missing STS endpoint", a.Warnings)
			}
			if tc.blocked != "" {
				var na *NotApplicableError
				if err := p.CheckReady(); !errors.As(err, &na) || !slices.Equal(na.Flags, []string{"--allow-missing-endpoints"}) {
					t.Errorf("CheckReady = %v, want the one flag", err)
				}
			}
		})
	}
}

// Offline (an inventory, no live reads) the plan says so; domains already
// VpcOnly, or that could not be read, are not planned; without
// --fix studio-vpc-only a PublicInternetOnly domain is a note.
func TestStudioDomainSelectionFromTheInventory(t *testing.T) {
	reg := inventory.Region{AccountID: testenv.AccountID, Region: testenv.Region,
		Subnets: []inventory.Subnet{{ID: "subnet-1", VPCID: "vpc-1"}},
		VPCEndpoints: []inventory.VPCEndpoint{
			{ID: "vpce-1", VPCID: "vpc-1", Type: "Interface", ServiceName: "com.amazonaws.us-east-1.sagemaker.api"},
			{ID: "vpce-2", VPCID: "vpc-1", Type: "Interface", ServiceName: "com.amazonaws.us-east-1.sagemaker.runtime"},
			{ID: "vpce-3", VPCID: "vpc-2", Type: "Interface", ServiceName: "com.amazonaws.us-east-1.sts"},
		},
		StudioDomains: []inventory.StudioDomain{
			{ID: "d-pub", Status: "InService", VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}, DefaultUserSecurityGroupIDs: []string{"sg-1"}},
			{ID: "d-vpc", Status: "InService", AppNetworkAccessType: "VpcOnly", VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}},
			{ID: "d-err", Error: &inventory.CollectError{Operation: "sagemaker:DescribeDomain", Message: "AccessDenied"}},
			{ID: "d-nosg", Status: "InService", AppNetworkAccessType: "PublicInternetOnly", VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}},
			// A value the control cannot judge is not changed blind.
			{ID: "d-odd", Status: "InService", AppNetworkAccessType: "SomethingNew", VPCID: "vpc-1", SubnetIDs: []string{"subnet-1"}, DefaultUserSecurityGroupIDs: []string{"sg-1"}},
		}}
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{reg}}
	rep := &finding.Report{}
	p, err := BuildPlan(context.Background(), inv, rep, PlanOptions{Fixes: []Fix{FixStudioVPCOnly}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range p.Actions {
		ids = append(ids, a.Resource)
	}
	if !slices.Equal(ids, []string{"d-nosg", "d-pub"}) {
		t.Fatalf("actions for %v, want d-nosg and d-pub", ids)
	}
	if a := p.Actions[1]; a.Blocked != "" || a.BlastRadius.Source != "inventory" ||
		!slices.ContainsFunc(a.Warnings, func(w string) bool { return strings.Contains(w, "not checked") }) {
		t.Errorf("d-pub: blocked %q, source %q, warnings %v", a.Blocked, a.BlastRadius.Source, a.Warnings)
	}
	if a := p.Actions[0]; !strings.Contains(a.Blocked, "no default security groups") {
		t.Errorf("d-nosg blocked %q", a.Blocked)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "d-err") }) {
		t.Errorf("notes %v do not name the unreadable domain", p.Notes)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "d-odd") && strings.Contains(n, "does not recognise") }) {
		t.Errorf("notes %v do not name the domain with a value not recognised", p.Notes)
	}
	p, err = BuildPlan(context.Background(), inv, rep, PlanOptions{Fixes: []Fix{FixEgress}})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Actions) != 0 || !slices.ContainsFunc(p.Notes, func(n string) bool {
		return strings.Contains(n, "d-pub") && strings.Contains(n, "--fix does not include studio-vpc-only")
	}) {
		t.Errorf("without the fix: actions %+v, notes %v", p.Actions, p.Notes)
	}
}

// UpdateDomain refused (denied, throttled past the SDK's retries, a
// server error): the run fails at that step naming AWS's answer, reports
// nothing changed (read live), journals the step failed, and backout has
// nothing to undo.
func TestStudioVPCOnlyUpdateDomainFaultsReportNothingFalse(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault testenv.Fault
		want  string
	}{
		{"denied", testenv.AccessDenied(), "SageMaker UpdateDomain: AccessDeniedException"},
		{"throttled", testenv.Throttle(), "SageMaker UpdateDomain: ThrottlingException"},
		{"server-error", testenv.ServerError(), "SageMaker UpdateDomain: InternalFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			s := buildStudioEstate(t, e, isolated, true)
			before := e.domain(t, s.domainID)
			p := e.studioPlan(t, PlanOptions{})
			e.withFaults(testenv.Rule{Op: "sagemaker:UpdateDomain", Fault: tc.fault})
			ctx := context.Background()
			j := openJournal(t)
			res, err := Apply(ctx, p, e.clients(), j, fast())
			if err == nil || res == nil || res.Status != journal.RunFailed {
				t.Fatalf("Apply: %v, %+v", err, res)
			}
			if f := res.Failure; f == nil || f.Seq != 1 || f.Action != StepSetDomainNetworkAccess || f.Resource != s.domainID ||
				!strings.HasPrefix(f.Error, tc.want) {
				t.Errorf("failure %+v, want step 1 and %q", res.Failure, tc.want)
			}
			if len(res.LeftChanged) != 0 || !strings.Contains(res.Message, "nothing it touched differs from before the run") {
				t.Errorf("left changed %+v, message %q", res.LeftChanged, res.Message)
			}
			if res.Summary == nil || *res.Summary != (ActionCounts{Failed: 1}) || res.Steps[0].Status != journal.StepFailed {
				t.Errorf("summary %+v, steps %+v", res.Summary, res.Steps)
			}
			if e.proxy.Injected("sagemaker:UpdateDomain") == 0 {
				t.Fatal("no fault was injected")
			}
			if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
				t.Errorf("domain changed (-before +after):\n%s", d)
			}
			e.withFaults()
			e.proxy.ResetCounts()
			b, err := Backout(ctx, res.RunID, e.clients(), j, fast())
			if err != nil {
				t.Fatalf("Backout: %v", err)
			}
			if e.proxy.Calls("sagemaker:UpdateDomain") != 0 || len(b.Steps) != 0 {
				t.Errorf("backout of a refused call made %d UpdateDomain calls, steps %+v", e.proxy.Calls("sagemaker:UpdateDomain"), b.Steps)
			}
			if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
				t.Errorf("domain after backout (-before +after):\n%s", d)
			}
		})
	}
}

// UpdateDomain carried out but answered with an error, and the SDK's
// retry refused because the domain is updating: apply sees from the
// account that the change is in place and goes on; backout restores it.
// (The proxy's Lost fault forwards to moto, which lacks UpdateDomain, so
// the lost answer is emulated by an Answer that updates and then fails.)
func TestStudioVPCOnlyLostUpdateDomainAnswerIsNotAFailure(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, true)
	before := e.domain(t, s.domainID)
	p := e.studioPlan(t, PlanOptions{})
	ctx := context.Background()
	lost := func(c testenv.Call) (int, []byte) {
		if _, err := e.emulateUpdateDomain(ctx, c.Params); err != nil {
			t.Errorf("emulating UpdateDomain: %v", err)
		}
		return 500, []byte(`{"__type":"InternalFailure","message":"connection reset"}`)
	}
	e.withFaults(
		testenv.Rule{Op: "sagemaker:UpdateDomain", Limit: 1, Fault: testenv.Fault{Answer: lost}},
		testenv.Rule{Op: "sagemaker:UpdateDomain", Limit: 2, Fault: testenv.APIError(400, "ResourceInUse", "The domain is being updated")},
	)
	j := openJournal(t)
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !strings.Contains(res.Steps[0].Note, "the account shows the change in place") || res.Summary.Done != 1 {
		t.Errorf("step %+v, summary %+v", res.Steps[0], res.Summary)
	}
	e.withFaults()
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
		t.Errorf("domain after backout (-before +after):\n%s", d)
	}
}

// A crash right after the intent is journaled, right after UpdateDomain,
// and right after the result: backout, from the journal alone, restores
// the domain, deciding from the live state whether the call took effect.
func TestCrashAtEveryStudioStepBoundaryBacksOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per step boundary")
	}
	for _, point := range []string{pointIntent, pointCall, pointResult} {
		t.Run(point, func(t *testing.T) {
			m := moto.ForTest(t)
			e := envFor(t, m.URL())
			s := buildStudioEstate(t, e, isolated, true)
			before := e.domain(t, s.domainID)
			journalPath := t.TempDir() + "/journal.db"
			runCrashChild(t, m.URL(), journalPath, writePlan(t, e.studioPlan(t, PlanOptions{})), "", 1, point)
			ctx := context.Background()
			j, run := crashedRun(t, journalPath)
			wantAfterCrash := "PublicInternetOnly"
			if point != pointIntent {
				wantAfterCrash = "VpcOnly"
			}
			if got := e.domain(t, s.domainID).AppNetworkAccessType; got != wantAfterCrash {
				t.Errorf("after a crash at %s the domain is %s, want %s", point, got, wantAfterCrash)
			}
			if _, err := Backout(ctx, run.ID, e.clients(), j, fast()); err != nil {
				t.Fatalf("Backout: %v", err)
			}
			if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
				t.Errorf("domain after backout (-before +after):\n%s", d)
			}
			if r, _ := j.Run(ctx, run.ID); r.Status != journal.RunBackedOut {
				t.Errorf("apply run %s, want backed-out", r.Status)
			}
		})
	}
}

// TestStudioVPCOnlyAnUpdateThatDoesNotShowIsAFailure: UpdateDomain
// answered 200 but the domain stays PublicInternetOnly: apply does not
// count a change it cannot see; the step fails and nothing is left changed.
func TestStudioVPCOnlyAnUpdateThatDoesNotShowIsAFailure(t *testing.T) {
	e := newEnv(t)
	s := buildStudioEstate(t, e, isolated, true)
	before := e.domain(t, s.domainID)
	p := e.studioPlan(t, PlanOptions{})
	accepted := testenv.Fault{Answer: func(testenv.Call) (int, []byte) {
		return http.StatusOK, []byte(`{"DomainArn":"arn:aws:sagemaker:us-east-1:123456789012:domain/` + s.domainID + `"}`)
	}}
	e.withFaults(testenv.Rule{Op: "sagemaker:UpdateDomain", Fault: accepted})
	opts := fast()
	opts.NotebookTimeout = time.Second // how long it waits for the value to show
	res, err := Apply(context.Background(), p, e.clients(), openJournal(t), opts)
	if err == nil || res == nil || res.Status != journal.RunFailed {
		t.Fatalf("Apply: %v, %+v; want a failed run", err, res)
	}
	if res.Summary == nil || res.Summary.Done != 0 || res.Failure == nil || !strings.Contains(res.Failure.Error, "AppNetworkAccessType is still PublicInternetOnly") {
		t.Errorf("summary %+v, failure %+v; want nothing done and the value that did not change", res.Summary, res.Failure)
	}
	if d := cmp.Diff(before, e.domain(t, s.domainID)); d != "" {
		t.Errorf("domain changed (-before +after):\n%s", d)
	}
}

package main

// End-to-end tests of issue 11's path analysis: the binary against the
// estates of testenv.PathScenarios, built in moto and scanned through a
// proxy that fixes moto's transit gateway answers
// (testenv.MotoTransitGatewayFixes) and, in the fault tests, injects
// faults before the fixes.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/testenv"
)

const pathRegion = "us-east-1"

func pathClients(url string) testenv.PathClients {
	c := clientsFor(url, pathRegion)
	return testenv.PathClients{EC2: c.ec2, SageMaker: c.sm}
}

// pathProxy is a proxy to moto with faults (first: the first rule that
// fires decides a call) and then the fixes of moto's transit gateway
// answers.
func pathProxy(t *testing.T, motoURL string, ledger *testenv.TransitGatewayLedger, faults ...testenv.Rule) *testenv.FaultProxy {
	t.Helper()
	p := testenv.NewFaultProxy(t, motoURL)
	p.Add(faults...)
	p.Add(testenv.MotoTransitGatewayFixes(ledger)...)
	return p
}

// checkPathResult asserts a scenario notebook's result: status,
// internet_path, the internet-egress-path check, and hops that name the
// resources that decide it, in the scanned account and region.
func checkPathResult(t *testing.T, r finding.Result, e testenv.PathEstate) {
	t.Helper()
	if r.Status != finding.Status(e.Want.Status) || r.InternetPath != finding.InternetPath(e.Want.InternetPath) {
		t.Errorf("%s: %s/%s, want %s/%s; checks %+v; hops %+v", e.Name, r.Status, r.InternetPath,
			e.Want.Status, e.Want.InternetPath, r.Checks, r.Hops)
	}
	egress := false
	for _, c := range r.Checks {
		if c.ID == "internet-egress-path" {
			egress = true
			if c.Status != finding.Status(e.Want.Status) {
				t.Errorf("%s: internet-egress-path is %s, want %s: %s", e.Name, c.Status, e.Want.Status, c.Message)
			}
		}
	}
	if !egress {
		t.Errorf("%s: no internet-egress-path check: %+v", e.Name, r.Checks)
	}
	for _, want := range e.Deciding {
		if !hasHop(r.Hops, want) {
			t.Errorf("%s: hops do not name the %s %s (in %s/%s): %s", e.Name, want.Kind, want.ResourceID,
				testenv.AccountID, pathRegion, hopList(r.Hops))
		}
	}
}

func hasHop(hops []finding.Hop, want testenv.HopRef) bool {
	for _, h := range hops {
		if h.Kind == want.Kind && h.ResourceID == want.ResourceID && h.AccountID == testenv.AccountID && h.Region == pathRegion {
			return true
		}
	}
	return false
}

func hopList(hops []finding.Hop) string {
	if len(hops) == 0 {
		return "(none)"
	}
	var b strings.Builder
	for _, h := range hops {
		fmt.Fprintf(&b, "\n  %s %s %s/%s: %s", h.Kind, h.ResourceID, h.AccountID, h.Region, h.Decision)
	}
	return b.String()
}

// TestE2EPathScenarios scans each scenario of issue 11 alone in a fresh
// region: the notebook's verdict, its hops and the exit code.
func TestE2EPathScenarios(t *testing.T) {
	for _, s := range testenv.PathScenarios() {
		t.Run(s.Name, func(t *testing.T) {
			m := moto.ForTest(t)
			ledger := testenv.NewTransitGatewayLedger()
			e, err := s.Build(context.Background(), pathClients(m.URL()), ledger, 20)
			if err != nil {
				t.Fatal(err)
			}
			proxy := pathProxy(t, m.URL(), ledger)
			got := scan(t, proxy.URL(), "--regions", pathRegion)
			if got.code != e.Want.ExitCode {
				t.Errorf("exit = %d, want %d; stderr %s; errors %+v", got.code, e.Want.ExitCode, got.stderr, got.report.Errors)
			}
			if !got.report.Complete || len(got.report.Errors) != 0 {
				t.Errorf("report incomplete: %+v", got.report.Errors)
			}
			if len(got.report.Results) != 1 {
				t.Fatalf("%d results, want the one notebook %s", len(got.report.Results), e.Name)
			}
			r, ok := got.byName()[e.Name]
			if !ok {
				t.Fatalf("no result for %s", e.Name)
			}
			checkPathResult(t, r, e)
		})
	}
}

// pathFaultEstate builds, side by side in one region, two notebooks whose
// path goes through a transit gateway, two whose security group
// references a customer-managed prefix list, and one that needs neither.
func pathFaultEstate(t *testing.T, url string, ledger *testenv.TransitGatewayLedger) map[string]testenv.PathEstate {
	t.Helper()
	wanted := map[string]int{
		"hub-and-spoke-egress-nat": 20, // FAIL
		"tgw-blackhole-default":    30, // PASS: must not stay PASS when its table cannot be read
		"sg-prefix-list-open":      40, // FAIL
		"sg-prefix-list-private":   42, // PASS: must not stay PASS when its list cannot be read
		"nat-igw-detached":         44, // PASS, needs neither
	}
	out := map[string]testenv.PathEstate{}
	for _, s := range testenv.PathScenarios() {
		octet, ok := wanted[s.Name]
		if !ok {
			continue
		}
		e, err := s.Build(context.Background(), pathClients(url), ledger, octet)
		if err != nil {
			t.Fatal(err)
		}
		out[s.Name] = e
	}
	if len(out) != len(wanted) {
		t.Fatalf("built %d of the %d scenarios", len(out), len(wanted))
	}
	return out
}

// TestE2EPathFaults: a transit gateway route table or a prefix list that
// cannot be read makes the notebooks whose path needs it ERROR (never
// PASS) and the scan incomplete (exit 3); the others keep their verdict.
func TestE2EPathFaults(t *testing.T) {
	m := moto.ForTest(t)
	ledger := testenv.NewTransitGatewayLedger()
	estate := pathFaultEstate(t, m.URL(), ledger)
	baseline := scan(t, pathProxy(t, m.URL(), ledger).URL(), "--regions", pathRegion)
	throughTGW := []string{"hub-and-spoke-egress-nat", "tgw-blackhole-default"}
	throughList := []string{"sg-prefix-list-open", "sg-prefix-list-private"}

	cases := []struct {
		name     string
		fault    testenv.Rule
		args     []string
		op       string
		affected []string
	}{
		{"transit gateway route search denied",
			testenv.Rule{Op: awsop.SearchTransitGatewayRoutes, Fault: testenv.AccessDenied()}, nil,
			awsop.SearchTransitGatewayRoutes, throughTGW},
		// Every attempt is throttled: the call fails when the retries or
		// the call timeout run out, whichever comes first.
		{"transit gateway route search throttled on every attempt",
			testenv.Rule{Op: awsop.SearchTransitGatewayRoutes, Fault: testenv.Throttle()}, []string{"--call-timeout", "10s"},
			awsop.SearchTransitGatewayRoutes, throughTGW},
		{"prefix list entries denied",
			testenv.Rule{Op: awsop.GetManagedPrefixListEntries, Fault: testenv.AccessDenied()}, nil,
			awsop.GetManagedPrefixListEntries, throughList},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			proxy := pathProxy(t, m.URL(), ledger, c.fault)
			got := scan(t, proxy.URL(), append([]string{"--regions", pathRegion}, c.args...)...)
			wantExit(t, got, 3)
			if proxy.Calls(c.op) == 0 {
				t.Errorf("the scan never called %s: the fault was not exercised", c.op)
			}
			hasError(t, got, c.op, "")
			results := got.byName()
			for name, e := range estate {
				r, ok := results[name]
				if !ok {
					t.Errorf("%s lost from the report", name)
					continue
				}
				if slices.Contains(c.affected, name) {
					if r.Status != finding.StatusError || r.InternetPath != "unknown" {
						t.Errorf("%s = %s/%s without %s, want ERROR/unknown; checks %+v", name, r.Status, r.InternetPath, c.op, r.Checks)
					}
					continue
				}
				checkPathResult(t, r, e)
			}
			noFalsePass(t, got, baseline)
		})
	}
}

// TestE2EPathCallBudget: a region's EC2 reads do not grow with its
// notebooks. The same six-spoke estate (one transit gateway, three route
// tables, one egress VPC, one customer-managed prefix list referenced by
// every spoke's group) is scanned with 30 and with 150 notebooks; the EC2
// calls per operation must be equal, route searches at most one per
// transit gateway route table, prefix list entries one read per list,
// and SageMaker's calls the list pages plus one describe and one ListTags
// per notebook.
func TestE2EPathCallBudget(t *testing.T) {
	count := func(t *testing.T, perSpoke int) (map[string]int, int) {
		m := moto.ForTest(t)
		ledger := testenv.NewTransitGatewayLedger()
		h, err := testenv.BuildHubAndSpoke(context.Background(), pathClients(m.URL()), ledger, testenv.HubAndSpokeOptions{
			Octet: 100, Spokes: 6, NotebooksPerSpoke: perSpoke, NamePrefix: "budget", PrefixList: []string{"203.0.113.0/24"},
		})
		if err != nil {
			t.Fatal(err)
		}
		n := len(h.Spokes) * perSpoke
		proxy := pathProxy(t, m.URL(), ledger)
		got := scan(t, proxy.URL(), "--regions", pathRegion)
		if len(got.report.Results) != n {
			t.Fatalf("%d results, want %d", len(got.report.Results), n)
		}
		if got.code != 1 || !got.report.Complete {
			t.Errorf("exit %d complete %v, want 1 (every notebook FAILs through the egress NAT); errors %+v", got.code, got.report.Complete, got.report.Errors)
		}
		for _, r := range got.report.Results {
			if r.Status != finding.StatusFail || r.InternetPath != finding.InternetPath("nat") {
				t.Errorf("%s = %s/%s, want FAIL/nat", r.Resource.Name, r.Status, r.InternetPath)
				break
			}
		}
		pages := (n + 99) / 100
		for op, want := range map[string]int{
			awsop.ListNotebookInstances: pages, awsop.DescribeNotebookInstance: n, awsop.ListTags: n,
		} {
			if got := proxy.Calls(op); got != want {
				t.Errorf("%d notebooks: %s calls = %d, want %d", n, op, got, want)
			}
		}
		ec2Counts := map[string]int{}
		for op, c := range proxy.Counts() {
			if strings.HasPrefix(op, "ec2:") && op != awsop.DescribeRegions {
				ec2Counts[op] = c
			}
		}
		return ec2Counts, n
	}
	small, nSmall := count(t, 5)
	large, nLarge := count(t, 25)
	t.Logf("EC2 calls with %d notebooks: %v", nLarge, large)

	for op := range mergeKeys(small, large) {
		if small[op] != large[op] {
			t.Errorf("%s: %d calls with %d notebooks, %d with %d: EC2 reads grow with notebooks", op, small[op], nSmall, large[op], nLarge)
		}
	}
	// The new reads happen, and at the rate the design allows.
	const tgwRouteTables, customerLists = 3, 1
	if got := large[awsop.SearchTransitGatewayRoutes]; got < 1 || got > tgwRouteTables {
		t.Errorf("%s calls = %d, want 1 to %d (one per transit gateway route table at most)", awsop.SearchTransitGatewayRoutes, got, tgwRouteTables)
	}
	if got := large[awsop.GetManagedPrefixListEntries]; got != customerLists {
		t.Errorf("%s calls = %d, want %d (once per referenced customer-managed list)", awsop.GetManagedPrefixListEntries, got, customerLists)
	}
	for _, op := range []string{awsop.DescribeTransitGatewayAttachments, awsop.DescribeTransitGatewayVpcAttachments,
		awsop.DescribeTransitGatewayRouteTables, awsop.DescribeManagedPrefixLists} {
		if large[op] == 0 {
			t.Errorf("%s never called", op)
		}
	}
	// Every other read is a fixed number of queries per region: once for
	// the notebooks' VPCs, once for the transit gateway its owner reads,
	// once for the egress VPC the follow-up reads (subnets are also read by
	// ID first), whatever the estate holds.
	for op, c := range large {
		if op != awsop.SearchTransitGatewayRoutes && op != awsop.GetManagedPrefixListEntries && c > 3 {
			t.Errorf("%s calls = %d, want at most 3 per region", op, c)
		}
	}
}

func mergeKeys(a, b map[string]int) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

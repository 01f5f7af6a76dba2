package history

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
)

// Benchmarks (bench/RESULTS.md, "Continuous mode: history (issue 12)"):
//
//	go test ./internal/history -run '^$' -bench . -benchtime 20x -benchmem

const benchNotebooks = 10_000

var benchScopes = func() []Scope {
	var out []Scope
	for _, acct := range []string{"111111111111", "222222222222"} {
		for _, region := range []string{"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-southeast-2"} {
			out = append(out, Scope{AccountID: acct, Region: region})
		}
	}
	return out
}()

// benchCompliance is shared by every result, as the control's mapping is.
var benchCompliance = map[string][]string{"aws-config": {"sagemaker-notebook-no-direct-internet-access"},
	"aws-securityhub": {"SageMaker.1"}, "cis-controls-v8": {"3.4", "6.7", "6.8", "14.6"},
	"hipaa": {"164.312(e)(1)"}, "nist-800-53-r5": {"AC-4", "SC-7"}, "pci-dss-4.0": {"1.4.1"}, "soc2": {"CC6.1", "CC6.6"}}

// benchResult is a live scan's result as the control writes it: five
// checks, the evidence of a VPC notebook, seven reproduce commands, five
// hops and the compliance mapping, about 3 KB of JSON.
func benchResult(sc Scope, i int, st finding.Status) finding.Result {
	name := fmt.Sprintf("team-%02d-notebook-%05d", i%37, i)
	subnet, rtb, sg := fmt.Sprintf("subnet-0%016x", i%400), fmt.Sprintf("rtb-0%016x", i%40), fmt.Sprintf("sg-0%016x", i%200)
	r := finding.Result{
		ControlID: finding.ControlID, AccountID: sc.AccountID, Region: sc.Region,
		Resource: finding.Resource{Type: finding.ResourceType, Name: name,
			ARN:  "arn:aws:sagemaker:" + sc.Region + ":" + sc.AccountID + ":notebook-instance/" + name,
			Tags: map[string]string{"team": fmt.Sprintf("team-%02d", i%37), "cost-center": "ml-research"}},
		Severity: finding.SeverityHigh,
		Checks: []finding.Check{
			{ID: "direct-internet-access", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "DirectInternetAccess is Disabled"},
			{ID: "in-vpc", Status: finding.StatusPass, Severity: finding.SeverityHigh, Message: "the notebook is in subnet " + subnet},
			{ID: "root-access", Status: finding.StatusPass, Severity: finding.SeverityLow, Message: "RootAccess is Disabled", Informational: true},
			{ID: "security-group-egress", Status: finding.StatusPass, Severity: finding.SeverityMedium, Message: sg + " allows egress to 10.0.0.0/8 only"},
			{},
		},
		Evidence: finding.Evidence{DirectInternetAccess: "Disabled", NotebookStatus: "InService", RootAccess: "Disabled",
			SubnetID: subnet, VPCID: fmt.Sprintf("vpc-0%016x", i%20), SecurityGroupIDs: []string{sg},
			NetworkInterfaceID: fmt.Sprintf("eni-0%016x", i), RouteTableID: rtb, RouteTableSource: "explicit",
			NetworkACLID: fmt.Sprintf("acl-0%016x", i%20)},
		Remediation: "Route the subnet's 0.0.0.0/0 to a firewall appliance or remove the NAT gateway route; " +
			"keep DirectInternetAccess Disabled. See docs/remediation.md.",
		Reproduce: finding.CommandList(
			"aws sagemaker describe-notebook-instance --notebook-instance-name "+name+" --region "+sc.Region,
			"aws ec2 describe-subnets --subnet-ids "+subnet+" --region "+sc.Region,
			"aws ec2 describe-route-tables --route-table-ids "+rtb+" --region "+sc.Region,
			"aws ec2 describe-security-groups --group-ids "+sg+" --region "+sc.Region,
			"aws ec2 describe-network-acls --filters Name=association.subnet-id,Values="+subnet+" --region "+sc.Region,
			"aws ec2 describe-nat-gateways --nat-gateway-ids nat-0123456789abcdef0 --region "+sc.Region,
			"aws ec2 describe-network-interfaces --network-interface-ids "+fmt.Sprintf("eni-0%016x", i)+" --region "+sc.Region),
		Compliance: benchCompliance,
		Hops: []finding.Hop{
			{Kind: "subnet", ResourceID: subnet, AccountID: sc.AccountID, Region: sc.Region},
			{Kind: "route-table", ResourceID: rtb, Decision: "0.0.0.0/0 -> nat-0123456789abcdef0 (nat)"},
			{Kind: "nat-gateway", ResourceID: "nat-0123456789abcdef0", Decision: "public NAT in subnet-0pub"},
			{Kind: "route-table", ResourceID: "rtb-0pub", Decision: "0.0.0.0/0 -> igw-0123456789abcdef0 (igw)"},
			{Kind: "end", Decision: "internet"},
		},
	}
	setBenchStatus(&r, st)
	return r
}

// setBenchStatus gives r a status and what goes with it.
func setBenchStatus(r *finding.Result, st finding.Status) {
	r.Status = st
	checks := append([]finding.Check(nil), r.Checks...)
	checks[4] = finding.Check{ID: "vpc-egress", Status: st, Severity: finding.SeverityHigh}
	switch st {
	case finding.StatusFail, finding.StatusMuted:
		r.InternetPath = finding.PathNAT
		checks[4].Message = "the subnet's route table sends 0.0.0.0/0 to nat-0123456789abcdef0, a public NAT gateway"
		r.Evidence.DecidingRoute = "0.0.0.0/0 -> nat-0123456789abcdef0 (nat)"
	default:
		r.InternetPath = finding.PathNone
		checks[4].Message = "no route from the subnet reaches the internet"
		r.Evidence.DecidingRoute = ""
	}
	r.Checks = checks
}

// benchEstate is a scan of benchNotebooks notebooks: 70 % PASS, 20 %
// FAIL, 5 % REVIEW, 5 % MUTED.
func benchEstate() (Scan, *finding.Report) {
	per := benchNotebooks / len(benchScopes)
	results := make([]finding.Result, 0, benchNotebooks)
	for _, sc := range benchScopes {
		for i := range per {
			st := finding.StatusPass
			switch i % 20 {
			case 0, 1, 2, 3:
				st = finding.StatusFail
			case 4:
				st = finding.StatusReview
			case 5:
				st = finding.StatusMuted
			}
			results = append(results, benchResult(sc, i, st))
		}
	}
	return scanAt(t0, Cause{Kind: CauseStart}, benchScopes...), report(results...)
}

// changeOnePercent turns PASS into FAIL and anything else into PASS for
// one notebook in a hundred, a different hundred each scan k.
func changeOnePercent(rep *finding.Report, k int) {
	n := len(rep.Results)
	for j := range n / 100 {
		r := &rep.Results[(j*100+k*7)%n]
		if r.Status == finding.StatusPass {
			setBenchStatus(r, finding.StatusFail)
		} else {
			setBenchStatus(r, finding.StatusPass)
		}
	}
}

func benchOpen(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "history.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

func reportJSONSize(b *testing.B, rep *finding.Report) {
	doc, err := json.Marshal(rep.Results)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(doc))/float64(len(rep.Results)), "json-bytes/notebook")
}

// BenchmarkRecordFirstScan10k: the first scan of 10,000 notebooks into an
// empty database, every notebook a transition.
func BenchmarkRecordFirstScan10k(b *testing.B) {
	scan, rep := benchEstate()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := benchOpen(b)
		b.StartTimer()
		trs, err := s.Record(context.Background(), scan, rep)
		if err != nil {
			b.Fatal(err)
		}
		if len(trs) != benchNotebooks {
			b.Fatalf("%d transitions", len(trs))
		}
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	reportJSONSize(b, rep)
}

// BenchmarkRecordScan10kOnePercentChanging: a scan of the same 10,000
// notebooks in which 100 change status.
func BenchmarkRecordScan10kOnePercentChanging(b *testing.B) {
	scan, rep := benchEstate()
	s := benchOpen(b)
	if _, err := s.Record(context.Background(), scan, rep); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		b.StopTimer()
		k++
		changeOnePercent(rep, k)
		scan.FinishedAt = t0.Add(time.Duration(k) * time.Minute)
		b.StartTimer()
		trs, err := s.Record(context.Background(), scan, rep)
		if err != nil {
			b.Fatal(err)
		}
		if len(trs) != benchNotebooks/100 {
			b.Fatalf("%d transitions, want %d", len(trs), benchNotebooks/100)
		}
	}
}

// BenchmarkGrowthPerScan10kOnePercentChanging reports how much the
// database (file and write-ahead log, after a checkpoint) grows per scan
// of 10,000 notebooks with 1 % changing: run it with -benchtime 50x for
// 50 scans.
func BenchmarkGrowthPerScan10kOnePercentChanging(b *testing.B) {
	ctx := context.Background()
	scan, rep := benchEstate()
	s := benchOpen(b)
	if _, err := s.Record(ctx, scan, rep); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		b.Logf("write-ahead log after the first scan: %d bytes", fi.Size())
	}
	// Two scans more, for SQLite's own checkpoints to reset the log.
	k := 0
	for range 2 {
		k++
		changeOnePercent(rep, k)
		scan.FinishedAt = t0.Add(time.Duration(k) * time.Minute)
		if _, err := s.Record(ctx, scan, rep); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		b.Logf("write-ahead log two scans later: %d bytes", fi.Size())
	}
	size0 := dbSize(b, s)
	b.Logf("database after the first three scans: %d bytes", size0)
	k0 := k
	for b.Loop() {
		k++
		changeOnePercent(rep, k)
		scan.FinishedAt = t0.Add(time.Duration(k) * time.Minute)
		if _, err := s.Record(ctx, scan, rep); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	// The log as the scans left it: SQLite's automatic checkpoints reuse
	// it from the start without shrinking it.
	if fi, err := os.Stat(s.path + "-wal"); err == nil {
		b.ReportMetric(float64(fi.Size()), "wal-bytes-before-checkpoint")
	}
	b.ReportMetric(float64(dbSize(b, s)-size0)/float64(k-k0), "db-bytes/scan")
}

// dbSize checkpoints the write-ahead log into the database file and
// returns the size of both.
func dbSize(b *testing.B, s *Store) int64 {
	b.Helper()
	if _, err := s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var total int64
	for _, p := range []string{s.path, s.path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		if err == nil {
			total += fi.Size()
		}
	}
	return total
}

// BenchmarkRecordEventRescanOneRegion10k: an event-driven rescan of one
// account-region (1,000 notebooks, one of which changes) in a database of
// 10,000: what an event costs before its alert.
func BenchmarkRecordEventRescanOneRegion10k(b *testing.B) {
	ctx := context.Background()
	scan, rep := benchEstate()
	s := benchOpen(b)
	if _, err := s.Record(ctx, scan, rep); err != nil {
		b.Fatal(err)
	}
	region := &finding.Report{Results: rep.Results[:benchNotebooks/len(benchScopes)]}
	event := scanAt(t0, createRoute, benchScopes[0])
	b.ReportAllocs()
	k := 0
	for b.Loop() {
		b.StopTimer()
		k++
		r := &region.Results[(k*37)%len(region.Results)]
		if r.Status == finding.StatusPass {
			setBenchStatus(r, finding.StatusFail)
		} else {
			setBenchStatus(r, finding.StatusPass)
		}
		event.FinishedAt = t0.Add(time.Duration(k) * time.Second)
		b.StartTimer()
		trs, err := s.Record(ctx, event, region)
		if err != nil {
			b.Fatal(err)
		}
		if len(trs) != 1 {
			b.Fatalf("%d transitions, want 1", len(trs))
		}
	}
}

// BenchmarkCurrent10k: reading back the current state of 10,000
// notebooks (what /api/v1/results and the dashboard serve).
func BenchmarkCurrent10k(b *testing.B) {
	ctx := context.Background()
	scan, rep := benchEstate()
	s := benchOpen(b)
	if _, err := s.Record(ctx, scan, rep); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		cur, err := s.Current(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(cur) != benchNotebooks {
			b.Fatalf("%d results", len(cur))
		}
	}
}

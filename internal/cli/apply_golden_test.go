package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/remediate"
	"github.com/sagefence/sagefence/internal/testenv"
)

// runWorld is one journal over one moto estate, with a clock and run IDs
// that make every run's output the same each time.
type runWorld struct {
	t       *testing.T
	journal string
	clients remediate.ClientsFunc
	proxy   *testenv.FaultProxy
	now     time.Time
	runs    int
	// scrub replaces moto's random IDs with names.
	scrub *strings.Replacer
}

// collectedAt is when every plan of these tests says its inventory was
// collected; the runs happen 26 hours later, so the plan is stale.
var collectedAt = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func (w *runWorld) options(stdin string, tty bool) (*runOptions, *bytes.Buffer, *bytes.Buffer) {
	ios, in, out, errOut := iostreams.Test()
	ios.SetStdinTTY(tty)
	in.WriteString(stdin)
	return &runOptions{IO: ios, Journal: w.journal, Format: "table", Clients: w.clients, Remediate: remediate.Options{
		PollInterval: 10 * time.Millisecond, NotebookTimeout: 20 * time.Second,
		Now: func() time.Time { return w.now },
		NewRunID: func() string {
			w.runs++
			w.now = w.now.Add(time.Minute)
			return fmt.Sprintf("r-%s-%06d", w.now.Format("20060102T150405Z"), w.runs)
		},
	}}, out, errOut
}

// transcript is what a person saw: the command, its exit code, stdout and
// stderr, with moto's IDs replaced by names.
func (w *runWorld) transcript(cmd string, code int, out, errOut *bytes.Buffer) string {
	s := w.scrub.Replace(fmt.Sprintf("$ sagefence %s\n[exit %d]\n--- stdout\n%s--- stderr\n%s", cmd, code, out, errOut))
	return planHash.ReplaceAllString(s, "plan <hash> ") // the hash covers moto's IDs
}

var planHash = regexp.MustCompile(`\bplan [0-9a-f]{12} `)

// run runs one apply, backout or finalize and returns its transcript.
func (w *runWorld) run(cmd string, stdin string, tty bool, fn func(context.Context, *runOptions) error) string {
	o, out, errOut := w.options(stdin, tty)
	code := exitCode(context.Background(), o.IO, fn(context.Background(), o))
	return w.transcript(cmd, code, out, errOut)
}

// main runs a command through Main (plan, journal) and returns its transcript.
func (w *runWorld) main(tty bool, args ...string) string {
	ios, _, out, errOut := iostreams.Test()
	ios.SetStdoutTTY(tty)
	code := Main(context.Background(), ios, append(args, "--journal", w.journal))
	return w.transcript(strings.Join(args, " "), code, out, errOut)
}

// plan writes a plan of the live estate to name, dated at.
func (w *runWorld) plan(name string, at time.Time, args ...string) {
	w.t.Helper()
	ios, _, out, errOut := iostreams.Test()
	if code := Main(context.Background(), ios, append([]string{"plan", "--regions", "us-east-1", "--output", name}, args...)); code != 0 {
		w.t.Fatalf("plan %v: exit %d\n%s\n%s", args, code, out, errOut)
	}
	f, err := os.Open(name)
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := remediate.ReadPlan(f)
	f.Close()
	if err != nil {
		w.t.Fatal(err)
	}
	p.InventoryCollectedAt = at
	if p.Hash, err = p.ComputeHash(); err != nil {
		w.t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Encode(&b); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(name, b.Bytes(), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

func exitOf(transcript string) string {
	_, rest, _ := strings.Cut(transcript, "\n")
	code, _, _ := strings.Cut(rest, "\n")
	return code
}

// TestRemediationTranscripts runs plan, apply, backout, finalize and
// journal in-process against moto, in the order a user would, and compares
// what each prints with its golden file: a failed apply, the backout that
// restores it, an apply that drift skipped, a prompt declined, an apply
// that changes the account, finalize's typed confirmation, and the journal.
func TestRemediationTranscripts(t *testing.T) {
	m := testenv.MotoForTest(t)
	testenv.SetAWSEnv(t, m.URL())
	t.Chdir(t.TempDir()) // plan files by relative name, as a user types them
	ctx := context.Background()
	cfg := testenv.Config(m.URL())
	sm, ec2c := sagemaker.NewFromConfig(cfg), ec2.NewFromConfig(cfg)
	net, err := testenv.CreateNetwork(ctx, ec2c, "10.0.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	direct, err := testenv.CreateSecurityGroup(ctx, ec2c, net.VPCID, testenv.SecurityGroup{Name: "nb-direct",
		RevokeDefaultEgress: true, Egress: []testenv.Perm{testenv.AllTraffic("10.0.0.0/16")}})
	if err != nil {
		t.Fatal(err)
	}
	open, err := testenv.CreateSecurityGroup(ctx, ec2c, net.VPCID, testenv.SecurityGroup{Name: "nb-open"})
	if err != nil {
		t.Fatal(err)
	}
	for _, nb := range []testenv.Notebook{
		{Name: "nb-direct", DirectInternetAccess: "Enabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{direct}},
		{Name: "nat-open", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}},
	} {
		if _, err := testenv.CreateNotebook(ctx, sm, nb); err != nil {
			t.Fatal(err)
		}
	}
	proxy := testenv.NewFaultProxy(t, m.URL())
	via := testenv.Config(proxy.URL())
	w := &runWorld{t: t, journal: filepath.Join(t.TempDir(), "journal.db"), proxy: proxy,
		clients: remediate.StaticClients(remediate.Clients{SageMaker: sagemaker.NewFromConfig(via), EC2: ec2.NewFromConfig(via)}),
		now:     collectedAt.Add(26 * time.Hour),
		scrub: strings.NewReplacer(direct, "sg-direct", open, "sg-open", net.IsolatedSubnetID, "subnet-isolated",
			net.PrivateSubnetID, "subnet-private", net.PublicSubnetID, "subnet-public", net.VPCID, "vpc-1")}
	apply := func(plan string) func(context.Context, *runOptions) error {
		return func(ctx context.Context, o *runOptions) error { return runApply(ctx, o, plan) }
	}
	yes := func(fn func(context.Context, *runOptions) error) func(context.Context, *runOptions) error {
		return func(ctx context.Context, o *runOptions) error { o.Yes = true; return fn(ctx, o) }
	}
	runID := func(n int) string {
		return fmt.Sprintf("r-%s-%06d", collectedAt.Add(26*time.Hour+time.Duration(n)*time.Minute).Format("20060102T150405Z"), n)
	}

	// 1. Tagging the old notebook, after it was stopped, is denied.
	w.plan("plan-a.json", collectedAt)
	proxy.Add(testenv.Rule{Op: "sagemaker:AddTags", Fault: testenv.AccessDenied()})
	got := w.run("apply plan-a.json --yes", "", false, yes(apply("plan-a.json")))
	golden(t, "apply-failed", got)
	proxy.ClearRules()
	if exitOf(got) != "[exit 1]" {
		t.Fatalf("failed apply:\n%s", got)
	}

	// 2. Backout restores it, numbering its own steps.
	got = w.run("backout "+runID(1)+" --yes", "", false, yes(func(ctx context.Context, o *runOptions) error {
		return runBackout(ctx, o, runID(1))
	}))
	golden(t, "backout", got)
	golden(t, "journal-show-backout", w.main(false, "journal", "show", runID(2)))
	// The journal keeps the failed step's error, once, on that step.
	golden(t, "journal-show-failed", w.main(false, "journal", "show", runID(1)))

	// 3. Drift on the only action of a plan: nothing changes.
	w.plan("plan-b.json", collectedAt.Add(30*time.Minute))
	w.plan("plan-c.json", collectedAt.Add(45*time.Minute), "--fix", "egress")
	dns := []ec2types.IpPermission{{IpProtocol: aws.String("udp"), FromPort: aws.Int32(53), ToPort: aws.Int32(53),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String("8.8.8.8/32")}}}}
	if _, err := ec2c.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{GroupId: aws.String(open), IpPermissions: dns}); err != nil {
		t.Fatal(err)
	}
	golden(t, "apply-drift", w.run("apply plan-c.json --yes", "", false, yes(apply("plan-c.json"))))
	if _, err := ec2c.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: aws.String(open), IpPermissions: dns}); err != nil {
		t.Fatal(err)
	}

	// 4. The prompt lists what will stop or change; declined, nothing runs.
	golden(t, "apply-declined", w.run("apply plan-b.json", "n\n", true, apply("plan-b.json")))
	golden(t, "apply-completed", w.run("apply plan-b.json --yes", "", false, yes(apply("plan-b.json"))))
	// Applied once, a plan changes nothing more, and nobody is asked.
	golden(t, "apply-again", w.run("apply plan-b.json", "", true, apply("plan-b.json")))

	// 5. Finalize asks for the run ID; anything else deletes nothing.
	finalize := func(ctx context.Context, o *runOptions) error { return runFinalize(ctx, o, runID(4)) }
	got = w.run("finalize "+runID(4), "y\n", true, finalize)
	golden(t, "finalize-declined", got)
	if _, err := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String("nb-direct")}); err != nil {
		t.Fatalf("a declined finalize deleted nb-direct: %v", err)
	}
	golden(t, "finalize", w.run("finalize "+runID(4), runID(4)+"\n", true, finalize))

	// 6. The journal: a table with a header on a terminal, tab-separated lines when piped.
	golden(t, "journal-list-tty", w.main(true, "journal", "list"))
	golden(t, "journal-list-piped", w.main(false, "journal", "list"))
}

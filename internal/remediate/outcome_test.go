package remediate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/testenv"
)

func TestActionCountsSummaryLine(t *testing.T) {
	results := func(statuses ...ActionStatus) []ActionResult {
		var out []ActionResult
		for _, s := range statuses {
			out = append(out, ActionResult{Status: s})
		}
		return out
	}
	cases := []struct {
		actions []ActionResult
		want    string
	}{
		{nil, "0 changed, 0 skipped (drift), 0 failed, 0 blocked"},
		{results(ActionSkipped, ActionSkipped), "0 changed, 2 skipped (drift), 0 failed, 0 blocked"},
		{results(ActionDone, ActionBlocked, ActionDone, ActionSkipped), "2 changed, 1 skipped (drift), 0 failed, 1 blocked"},
		{results(ActionDone, ActionFailed, ActionNotStarted, ActionNotStarted),
			"1 changed, 0 skipped (drift), 1 failed, 0 blocked, 2 not started"},
		{results(ActionInFlight, ActionUndone, ActionUndone, ActionBlocked),
			"0 changed, 0 skipped (drift), 0 failed, 1 blocked, 1 in flight, 2 undone"},
	}
	for _, c := range cases {
		if got := CountActions(c.actions).String(); got != c.want {
			t.Errorf("%v: %q, want %q", c.actions, got, c.want)
		}
	}
}

func TestApplyMessageGivesHintsOnlyWhenSomethingChanged(t *testing.T) {
	act := func(kind ActionKind, resource string, s ActionStatus) ActionResult {
		return ActionResult{Action: kind, Resource: resource, Status: s}
	}
	cases := []struct {
		name       string
		res        RunResult
		want, dont []string
	}{
		{"drift skipped everything",
			RunResult{RunID: "r-1", Status: journal.RunCompleted, Actions: []ActionResult{
				act(ActionRestrictSGEgress, "sg-1", ActionSkipped), act(ActionRecreateNotebook, "nb", ActionSkipped)}},
			[]string{"run r-1 changed nothing (0 changed, 2 skipped (drift), 0 failed, 0 blocked)"},
			[]string{"backout", "finalize"}},
		{"a group changed, no notebook replaced",
			RunResult{RunID: "r-2", Status: journal.RunCompleted, Actions: []ActionResult{
				act(ActionRestrictSGEgress, "sg-1", ActionDone), act(ActionRecreateNotebook, "nb", ActionSkipped)}},
			[]string{"run r-2 completed (1 changed, 1 skipped (drift)", "`sagefence backout r-2` undoes it"},
			[]string{"finalize"}},
		{"notebooks replaced",
			RunResult{RunID: "r-3", Status: journal.RunCompleted, Actions: []ActionResult{
				act(ActionRecreateNotebook, "nb-a", ActionDone), act(ActionRecreateNotebook, "nb-b", ActionDone)}},
			[]string{"`sagefence backout r-3` undoes it", "`sagefence finalize r-3` deletes the notebooks they replace (nb-a, nb-b)"},
			nil},
		{"failed, leaving changes",
			RunResult{RunID: "r-4", Status: journal.RunFailed, Failure: &StepFailure{Seq: 5, Action: StepTagNotebook, Resource: "nb"},
				LeftChanged: []ResourceChange{{Resource: "nb", Changes: []string{"nb is Stopped, was InService"}}}},
			[]string{"run r-4 stopped at step 5 (tag-notebook nb); `sagefence backout r-4` restores what it changed"},
			[]string{"finalize"}},
		{"failed, nothing left changed",
			RunResult{RunID: "r-5", Status: journal.RunFailed, Failure: &StepFailure{Seq: 1, Action: StepAuthorizeSGEgress, Resource: "sg-1"}},
			[]string{"run r-5 stopped at step 1 (authorize-sg-egress sg-1); nothing it touched differs from before the run"},
			[]string{"backout", "finalize"}},
		{"interrupted",
			RunResult{RunID: "r-6", Status: journal.RunInterrupted,
				LeftChanged: []ResourceChange{{Resource: "sg-1", Changes: []string{"x"}}}},
			[]string{"run r-6 was interrupted; `sagefence backout r-6` restores"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := applyMessage(&c.res)
			for _, w := range c.want {
				if !strings.Contains(got, w) {
					t.Errorf("message %q lacks %q", got, w)
				}
			}
			for _, d := range c.dont {
				if strings.Contains(got, d) {
					t.Errorf("message %q mentions %q", got, d)
				}
			}
		})
	}
}

func TestAWSErrorIsTheOperationCodeAndMessage(t *testing.T) {
	api := &smithy.OperationError{ServiceID: "SageMaker", OperationName: "AddTags",
		Err: fmt.Errorf("https response error StatusCode: 400: %w", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"})}
	cases := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("step 5 (tag-notebook nb): arn: adding tags: %w", api), "SageMaker AddTags: AccessDeniedException: not allowed"},
		{&smithy.GenericAPIError{Code: "InternalFailure"}, "InternalFailure"},
		{errors.New("precondition: notebook instance nb is Pending"), ""},
	}
	for _, c := range cases {
		if got := awsError(c.err); got != c.want {
			t.Errorf("awsError(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}

func TestDescribeChangeSaysHowTheLiveStateDiffers(t *testing.T) {
	nb := func(status, lcc string, tags map[string]string) State {
		return State{Notebook: &NotebookState{Name: "nb", Status: status, LifecycleConfigName: lcc, Tags: tags}}
	}
	sg := func(rules ...Rule) State { return State{SecurityGroup: &SGState{GroupID: "sg-1", Egress: rules}} }
	all := Rule{Protocol: "-1", CIDR: "0.0.0.0/0"}
	https := Rule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "10.0.0.0/16", Description: "sagefence: instead of 0.0.0.0/0"}
	cases := []struct {
		name         string
		before, live State
		want         []string
	}{
		{"unchanged", nb("InService", "", nil), nb("InService", "", nil), nil},
		{"stopped", nb("InService", "setup", nil), nb("Stopped", "setup", nil), []string{"nb is Stopped, was InService"}},
		{"lifecycle configuration and tags", nb("Stopped", "setup", map[string]string{"team": "ml", "old": "x"}),
			nb("Stopped", "sagefence-bk-1", map[string]string{"team": "ai", "sagefence:run-id": "r-1"}),
			[]string{"nb has LifecycleConfigName sagefence-bk-1, was setup", "nb has tag sagefence:run-id=r-1, did not before the run",
				"nb has tag team=ai, was ml", "nb no longer has tag old=x"}},
		{"created notebook", State{Absent: true}, nb("InService", "", nil), []string{"nb exists (InService), did not before the run"}},
		{"created lifecycle configuration", State{Absent: true}, State{LifecycleConfig: &LifecycleConfigState{Name: "nb"}},
			[]string{"lifecycle configuration nb exists, did not before the run"}},
		{"gone", nb("Stopped", "", nil), State{Absent: true}, []string{"nb no longer exists"}},
		{"egress restricted", sg(all), sg(https),
			[]string{"nb no longer allows egress all traffic to 0.0.0.0/0", "nb allows egress tcp 443 to 10.0.0.0/16, did not before the run"}},
		{"rule description", sg(Rule{Protocol: "tcp", FromPort: 1, ToPort: 1024, CIDR: "10.0.0.0/8", Description: "a"}),
			sg(Rule{Protocol: "6", FromPort: 1, ToPort: 1024, CIDR: "10.0.0.0/8", Description: "b"}),
			[]string{`nb egress tcp 1-1024 to 10.0.0.0/8 is described "b", was "a"`}},
		{"subnet", State{Subnet: &SubnetState{MapPublicIPOnLaunch: true}}, State{Subnet: &SubnetState{}},
			[]string{"nb has MapPublicIpOnLaunch=false, was true"}},
		{"studio domain", State{Domain: &DomainState{AppNetworkAccessType: "PublicInternetOnly"}},
			State{Domain: &DomainState{AppNetworkAccessType: "VpcOnly", ActiveApps: []StudioAppRef{{AppName: "a"}}}},
			[]string{"studio domain nb has AppNetworkAccessType VpcOnly, was PublicInternetOnly"}},
		{"studio domain with apps since", State{Domain: &DomainState{AppNetworkAccessType: "VpcOnly"}},
			State{Domain: &DomainState{AppNetworkAccessType: "VpcOnly", ActiveApps: []StudioAppRef{{AppName: "a"}}}}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if d := cmp.Diff(c.want, describeChange("nb", c.before, c.live)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// A step AWS refuses after the old notebook was stopped: the result names
// the step and AWS's error, and lists, read live, what the run left
// changed; backout restores it.
func TestFailedApplyReportsTheStepAndWhatItLeftChanged(t *testing.T) {
	e := newEnv(t)
	est := buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()
	e.proxy.Add(testenv.Rule{Op: "sagemaker:AddTags", Fault: testenv.AccessDenied()})
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err == nil || res.Status != journal.RunFailed {
		t.Fatalf("Apply: err %v, status %s", err, res.Status)
	}
	f := res.Failure
	if f == nil || f.Action != StepTagNotebook || f.Resource != "nb-direct" ||
		!strings.HasPrefix(f.Error, "SageMaker AddTags: AccessDeniedException: ") || res.Steps[f.Seq-1].Action != StepTagNotebook {
		t.Errorf("failure = %+v, want the tag-notebook step and AWS's error", f)
	}
	changes := map[string][]string{}
	for _, c := range res.LeftChanged {
		if c.ReadError != "" || c.AccountID != testenv.AccountID || c.Region != testenv.Region {
			t.Errorf("left changed %+v", c)
		}
		changes[c.Resource] = c.Changes
	}
	want := map[string][]string{
		est.sgNB: {est.sgNB + " no longer allows egress all traffic to 0.0.0.0/0",
			est.sgNB + " no longer allows egress tcp 443 to 0.0.0.0/0",
			est.sgNB + " allows egress all traffic to 10.0.0.0/16, did not before the run",
			est.sgNB + " allows egress tcp 443 to 10.0.0.0/16, did not before the run"},
		est.net.PublicSubnetID: {est.net.PublicSubnetID + " has MapPublicIpOnLaunch=false, was true"},
		"nb-direct-private":    {"nb-direct-private exists (InService), did not before the run"},
		"nb-direct":            {"nb-direct is Stopped, was InService"},
	}
	if d := cmp.Diff(want, changes); d != "" {
		t.Errorf("left changed (-want +got):\n%s", d)
	}
	if !strings.Contains(res.Message, "stopped at step") || strings.Contains(res.Message, "AccessDenied") {
		t.Errorf("message %q should name the step and leave the error to the error", res.Message)
	}
	e.proxy.ClearRules()
	e.proxy.Add(e.updateNotebookRules()...)
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if diff := diffAccount(before, e.snapshot(t)); diff != "" {
		t.Errorf("account after backout (-before +after):\n%s", diff)
	}
}

// A run refused at its first call changed nothing: it says so instead of
// pointing at backout.
func TestFailedApplyThatChangedNothingSaysSo(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	p := e.plan(t, PlanOptions{})
	e.proxy.Add(testenv.Rule{Op: "ec2:AuthorizeSecurityGroupEgress", Fault: testenv.AccessDenied()})
	res, err := Apply(context.Background(), p, e.clients(), openJournal(t), fast())
	if err == nil || res.Failure == nil || res.Failure.Seq != 1 || !strings.HasPrefix(res.Failure.Error, "EC2 AuthorizeSecurityGroupEgress: UnauthorizedOperation") {
		t.Fatalf("Apply: err %v, failure %+v", err, res.Failure)
	}
	if len(res.LeftChanged) != 0 || !strings.Contains(res.Message, "nothing it touched differs from before the run") {
		t.Errorf("left changed %+v, message %q", res.LeftChanged, res.Message)
	}
}

// Drift on every action: the run is journaled, changes nothing and says so,
// without pointing at backout or finalize.
func TestApplySkippedForDriftChangesNothingAndGivesNoHints(t *testing.T) {
	e := newEnv(t)
	est := buildEstate(t, e)
	p := e.plan(t, PlanOptions{Fixes: []Fix{FixEgress}})
	ctx := context.Background()
	if _, err := e.direct.ec2.AuthorizeSecurityGroupEgress(ctx, &ec2.AuthorizeSecurityGroupEgressInput{
		GroupId: aws.String(est.sgNB), IpPermissions: []ec2types.IpPermission{{IpProtocol: aws.String("udp"),
			FromPort: aws.Int32(53), ToPort: aws.Int32(53), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("8.8.8.8/32")}}}},
	}); err != nil {
		t.Fatal(err)
	}
	res, err := Apply(ctx, p, e.clients(), openJournal(t), fast())
	if err != nil {
		t.Fatal(err)
	}
	if res.Summary == nil || *res.Summary != (ActionCounts{Skipped: 1}) {
		t.Errorf("summary = %+v, want one skipped", res.Summary)
	}
	if !strings.Contains(res.Message, "changed nothing (0 changed, 1 skipped (drift)") ||
		strings.Contains(res.Message, "backout") || strings.Contains(res.Message, "finalize") {
		t.Errorf("message %q", res.Message)
	}
	if res.ExitCode() != 3 {
		t.Errorf("exit %d, want 3", res.ExitCode())
	}
}

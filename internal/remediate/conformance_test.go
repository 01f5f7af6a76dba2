package remediate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
)

// conformanceCase builds, in a fresh estate, one step to put through the
// conformance test.
type conformanceCase struct {
	kind  string
	build func(t *testing.T, e *env, est estate, runID string) step
}

func conformanceCases() []conformanceCase {
	createLCC := func(t *testing.T, e *env, name, onStart string) {
		t.Helper()
		if _, err := e.direct.sm.CreateNotebookInstanceLifecycleConfig(context.Background(), &sagemaker.CreateNotebookInstanceLifecycleConfigInput{
			NotebookInstanceLifecycleConfigName: aws.String(name), OnStart: hooks(onStart)}); err != nil {
			t.Fatal(err)
		}
	}
	return []conformanceCase{
		{StepAuthorizeSGEgress, func(t *testing.T, e *env, est estate, _ string) step {
			return &authorizeSGEgress{GroupID: est.sgNB, Rules: []Rule{
				{Protocol: "tcp", FromPort: 8443, ToPort: 8443, CIDR: "10.0.0.0/16", Description: "added"},
				{Protocol: "-1", PrefixListID: "pl-63a5400a"},
			}}
		}},
		{StepRevokeSGEgress, func(t *testing.T, e *env, est estate, _ string) step {
			// Undo must bring back the description too.
			return &revokeSGEgress{GroupID: est.sgNB, Rules: []Rule{
				{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDR: "0.0.0.0/0", Description: "https out"},
				{Protocol: "-1", CIDR: "0.0.0.0/0"},
			}}
		}},
		{StepSetSubnetPublicIP, func(t *testing.T, e *env, est estate, _ string) step {
			return &setSubnetPublicIP{SubnetID: est.net.PublicSubnetID, MapPublicIPOnLaunch: false}
		}},
		{StepCreateNotebook, func(t *testing.T, e *env, est estate, _ string) step {
			return &createNotebook{Spec: NotebookState{Name: "nb-new", DirectInternetAccess: "Disabled",
				SubnetID: est.net.IsolatedSubnetID, SecurityGroupIDs: []string{est.sgPublic}, InstanceType: "ml.t3.medium",
				RoleARN: "arn:aws:iam::123456789012:role/nb", VolumeSizeInGB: 10, LifecycleConfigName: "setup",
				RootAccess: "Disabled", Tags: map[string]string{"team": "ml"}}}
		}},
		{StepStopNotebook, func(t *testing.T, e *env, est estate, _ string) step {
			return &stopNotebook{Name: "nb-egress"}
		}},
		{StepTagNotebook, func(t *testing.T, e *env, est estate, _ string) step {
			// Overwrites a tag and adds one: undo restores the first value
			// and removes the second.
			return &tagNotebook{Name: "nb-direct", Tags: map[string]string{"team": "platform", TagReplacedBy: "x"}}
		}},
		{StepCreateLifecycleConfig, func(t *testing.T, e *env, est estate, _ string) step {
			return &createLifecycleConfig{Name: "made", OnCreate: "IyEvYmluL2Jhc2gK", OnStart: "IyEvYmluL2Jhc2gKdHJ1ZQ=="}
		}},
		{StepDeleteLifecycleConfig, func(t *testing.T, e *env, est estate, _ string) step {
			createLCC(t, e, "spare", "IyEvYmluL2Jhc2gKZWNobyBzcGFyZQ==")
			return &deleteLifecycleConfig{Name: "spare"}
		}},
		{StepBackupNotebookData, func(t *testing.T, e *env, est estate, runID string) step {
			dir := setupBackup(t, e)
			e.simulateLifecycle(t, dir)
			d := dataPlan(backupBucket, "", "nb-direct")
			script, err := backupScript(runID, d)
			if err != nil {
				t.Fatal(err)
			}
			bk := lifecycleName("bk", runID, "nb-direct")
			createLCC(t, e, bk, script)
			return &backupNotebookData{Name: "nb-direct", BackupConfig: bk, OriginalConfig: "setup", Data: d}
		}},
		{StepVerifyRestore, func(t *testing.T, e *env, est estate, runID string) step {
			setupBackup(t, e)
			d := dataPlan(backupBucket, "", "nb-direct")
			for _, m := range []Manifest{{RunID: runID, Phase: "backup", Status: "ok", Files: 2, Bytes: 10},
				{RunID: runID, Phase: "restore", Status: "ok", Files: 2, Bytes: 10}} {
				b, _ := json.Marshal(m)
				if _, err := e.direct.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(backupBucket),
					Key: aws.String(s3Key(d.MetaURI) + m.Phase + ".json"), Body: strings.NewReader(string(b))}); err != nil {
					t.Fatal(err)
				}
			}
			return &verifyRestore{Name: "nb-direct", Data: d}
		}},
		{StepSetNotebookLifecycle, func(t *testing.T, e *env, est estate, _ string) step {
			return &setNotebookLifecycle{Name: "nb-egress", Config: "setup", Status: "InService"}
		}},
		{StepSetDomainNetworkAccess, func(t *testing.T, e *env, est estate, _ string) step {
			id := createStudioDomain(t, e, est.net.VPCID, est.net.IsolatedSubnetID, est.sgPublic)
			return &setDomainNetworkAccess{DomainID: id, Region: "us-east-1", AppNetworkAccessType: "VpcOnly"}
		}},
	}
}

// TestEveryStepKindUndoRestoresTheCapturedState is the conformance test all
// step kinds share: observe, check the precondition, do, find the expected
// state, undo, find the captured before-state again.
func TestEveryStepKindUndoRestoresTheCapturedState(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range conformanceCases() {
		covered[tc.kind] = true
		t.Run(tc.kind, func(t *testing.T) {
			e := newEnv(t)
			est := buildEstate(t, e)
			const runID = "r-conformance"
			s := tc.build(t, e, est, runID)
			if s.kind() != tc.kind {
				t.Fatalf("case %s built a %s step", tc.kind, s.kind())
			}
			// The journal round trip is part of the contract: backout only
			// has the decoded intent.
			s, err := decodeStep(s.kind(), mustJSON(s))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			r := fast().runner(Clients{SageMaker: e.sm, EC2: e.ec2, S3: e.s3}, runID, 1)
			before, err := s.observe(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.check(before); err != nil {
				t.Fatalf("precondition on the fixture: %v", err)
			}
			if _, err := s.do(ctx, r, before); err != nil {
				t.Fatalf("do: %v", err)
			}
			after, err := s.observe(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if d := Diff(s.expect(before), after); len(d) > 0 {
				t.Errorf("after do, the state is not the expected one: %v", d)
			}
			if s.kind() != StepVerifyRestore && len(Diff(before, after)) == 0 {
				t.Errorf("do changed nothing")
			}
			// A step that is not safe to repeat must refuse to run twice.
			repeatable := map[string]bool{StepVerifyRestore: true, StepTagNotebook: true, StepSetNotebookLifecycle: true,
				StepBackupNotebookData: true}
			if err := s.check(after); err == nil && !repeatable[s.kind()] {
				t.Errorf("the precondition still holds after do: the step could run twice")
			}
			if err := s.undo(ctx, r, before); err != nil {
				t.Fatalf("undo: %v", err)
			}
			restored, err := s.observe(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if d := Diff(before, restored); len(d) > 0 {
				t.Errorf("after undo, the state differs from the captured one: %v", d)
			}
			// Undo is idempotent: a backout interrupted after it may run it again.
			if err := s.undo(ctx, r, before); err != nil {
				t.Errorf("second undo: %v", err)
			}
			if again, _ := s.observe(ctx, r); len(Diff(before, again)) > 0 {
				t.Errorf("second undo changed the state: %v", Diff(before, again))
			}
		})
	}
	for _, k := range []string{StepAuthorizeSGEgress, StepRevokeSGEgress, StepSetSubnetPublicIP, StepCreateNotebook,
		StepStopNotebook, StepTagNotebook, StepCreateLifecycleConfig, StepDeleteLifecycleConfig, StepBackupNotebookData,
		StepVerifyRestore, StepSetNotebookLifecycle, StepSetDomainNetworkAccess} {
		if !covered[k] {
			t.Errorf("step kind %s has no conformance case", k)
		}
	}
}

// deleteNotebook is the one exception: finalize's deletion cannot be undone,
// and says so instead of pretending.
func TestDeleteNotebookRefusesToPretendItCanBeUndone(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	ctx := context.Background()
	r := fast().runner(Clients{SageMaker: e.sm, EC2: e.ec2}, "r", 1)
	s := &deleteNotebook{Name: "nb-egress"}
	before, err := s.observe(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.check(before); err == nil {
		t.Error("deleting an InService notebook passed the precondition")
	}
	if err := r.ensureStatus(ctx, "nb-egress", statusStopped); err != nil {
		t.Fatal(err)
	}
	before, _ = s.observe(ctx, r)
	if err := s.check(before); err != nil {
		t.Fatal(err)
	}
	if _, err := s.do(ctx, r, before); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.observe(ctx, r); !st.Absent {
		t.Errorf("notebook still exists: %+v", st)
	}
	if err := s.undo(ctx, r, before); err == nil || !strings.Contains(err.Error(), "cannot be undone") {
		t.Errorf("undo of a deletion: err = %v", err)
	}
}

// Every action kind, applied alone and backed out, leaves the account as it
// was (the action-level face of the conformance test).
func TestEveryActionKindIsUndoneByBackout(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts PlanOptions
	}{
		{string(ActionRestrictSGEgress), PlanOptions{Fixes: []Fix{FixEgress}}},
		{string(ActionDisablePublicIP), PlanOptions{Fixes: []Fix{FixPublicSubnet}}},
		{string(ActionRecreateNotebook), PlanOptions{Fixes: []Fix{FixDirect}}},
		{string(ActionRecreateNotebook) + "-stopped", PlanOptions{Fixes: []Fix{FixDirect}}},
		{string(ActionRecreateNotebook) + "-with-backup", PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://" + backupBucket}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			buildEstate(t, e)
			ctx := context.Background()
			if strings.HasSuffix(tc.name, "-stopped") {
				if _, err := e.direct.sm.StopNotebookInstance(ctx, &sagemaker.StopNotebookInstanceInput{NotebookInstanceName: aws.String("nb-direct")}); err != nil {
					t.Fatal(err)
				}
			}
			if tc.opts.BackupBucket != "" {
				e.simulateLifecycle(t, setupBackup(t, e))
			}
			p := e.plan(t, tc.opts)
			if len(p.Actions) != 1 || p.Actions[0].Blocked != "" {
				t.Fatalf("plan: %+v", p.Actions)
			}
			before := e.snapshot(t)
			j := openJournal(t)
			res, err := Apply(ctx, p, e.clients(), j, fast())
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if d := diffAccount(before, e.snapshot(t)); d == "" {
				t.Error("apply changed nothing")
			}
			if strings.HasSuffix(tc.name, "-stopped") {
				// The replacement mirrors the old notebook's status.
				if st := e.snapshot(t).Notebooks["nb-direct-private"].Status; st != "Stopped" {
					t.Errorf("replacement of a stopped notebook is %s", st)
				}
			}
			if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
				t.Fatalf("Backout: %v", err)
			}
			if d := diffAccount(before, e.snapshot(t, runLCCs(res.RunID, "nb-direct")...)); d != "" {
				t.Errorf("account after backout (-before +after):\n%s", d)
			}
		})
	}
}

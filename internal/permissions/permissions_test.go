package permissions

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/awsop"
)

// The documented lists, spelled out independently of the catalog so that a
// dropped action fails here rather than silently shrinking the policy.
func wantLists() (audit []string, optional map[string]Feature, remediateOnly []string) {
	audit = []string{
		"sts:GetCallerIdentity", "ec2:DescribeRegions", "sagemaker:ListNotebookInstances",
		"sagemaker:DescribeNotebookInstance", "sagemaker:ListTags", "ec2:DescribeSubnets",
		"ec2:DescribeVpcs", "ec2:DescribeRouteTables", "ec2:DescribeNatGateways",
		"ec2:DescribeInternetGateways", "ec2:DescribeEgressOnlyInternetGateways",
		"ec2:DescribeSecurityGroups", "ec2:DescribeNetworkAcls", "ec2:DescribeNetworkInterfaces",
		"ec2:DescribeVpcEndpoints", "ec2:DescribeTransitGatewayAttachments", "ec2:DescribeTransitGatewayVpcAttachments",
		"ec2:DescribeTransitGatewayRouteTables", "ec2:SearchTransitGatewayRoutes", "ec2:DescribeManagedPrefixLists",
		"ec2:GetManagedPrefixListEntries",
		"sagemaker:ListDomains", "sagemaker:DescribeDomain", "sagemaker:ListUserProfiles",
		"sagemaker:DescribeUserProfile", "sagemaker:ListSpaces", "sagemaker:ListApps",
	}
	optional = map[string]Feature{
		"securityhub:BatchImportFindings": FeatureSecurityHub,
		"securityhub:GetFindings":         FeatureSecurityHub,
		"securityhub:BatchUpdateFindings": FeatureSecurityHub,
		"organizations:ListAccounts":      FeatureOrganizations,
		"sts:AssumeRole":                  FeatureOrganizations,
		"iam:SimulatePrincipalPolicy":     FeaturePreflight,
	}
	remediateOnly = []string{
		"ec2:RevokeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupEgress", "ec2:ModifySubnetAttribute",
		"sagemaker:CreateNotebookInstance", "sagemaker:StopNotebookInstance", "sagemaker:StartNotebookInstance",
		"sagemaker:DeleteNotebookInstance", "sagemaker:UpdateNotebookInstance", "sagemaker:AddTags",
		"sagemaker:DeleteTags", "sagemaker:CreateNotebookInstanceLifecycleConfig",
		"sagemaker:DescribeNotebookInstanceLifecycleConfig", "sagemaker:DeleteNotebookInstanceLifecycleConfig",
		"iam:PassRole", "s3:GetObject", "s3:ListBucket",
		"ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface", "kms:DescribeKey", "kms:CreateGrant",
		"sagemaker:UpdateDomain",
	}
	return audit, optional, remediateOnly
}

func names(as []Action) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func TestActionsAreExactlyTheDocumentedSet(t *testing.T) {
	wantAudit, wantOptional, wantRemediateOnly := wantLists()
	var audit []string
	audit = append(audit, wantAudit...)
	for n := range wantOptional {
		audit = append(audit, n)
	}
	remediate := append(slices.Clone(audit), wantRemediateOnly...)
	watch := append(slices.Clone(audit), "sqs:ReceiveMessage", "sqs:DeleteMessage", "sns:Publish")
	for _, tc := range []struct {
		mode Mode
		want []string
	}{{ModeAudit, audit}, {ModeRemediate, remediate}, {ModeWatch, watch}} {
		got := names(Actions(tc.mode))
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("Actions(%s):\n got  %v\n want %v", tc.mode, got, want)
		}
	}
}

func TestOptionalActionsCarryTheirFeatureAndNeededFiltersThem(t *testing.T) {
	wantAudit, wantOptional, _ := wantLists()
	for _, a := range Actions(ModeRemediate) {
		if want, ok := wantOptional[a.String()]; ok != (a.Feature != "") || a.Feature != want {
			t.Errorf("%s: feature %q, want %q", a, a.Feature, want)
		}
	}
	plain := names(Needed(ModeAudit))
	if len(plain) != len(wantAudit) {
		t.Errorf("Needed(audit) = %v, want only %v", plain, wantAudit)
	}
	withHub := names(Needed(ModeAudit, FeatureSecurityHub))
	if !slices.Contains(withHub, "securityhub:BatchImportFindings") || slices.Contains(withHub, "sts:AssumeRole") {
		t.Errorf("Needed(audit, securityhub) = %v", withHub)
	}
}

// TestEveryAuditOperationIsInTheCatalog: every operation a scan can read
// (awsop, the vocabulary collect records failures under) is an audit-mode
// action of the catalog, so iam-policy and preflight cover it.
func TestEveryAuditOperationIsInTheCatalog(t *testing.T) {
	for _, op := range awsop.Audit() {
		a, ok := Lookup(op)
		if !ok {
			t.Errorf("%s is read by a scan but missing from the catalog", op)
			continue
		}
		if a.String() != op {
			t.Errorf("%s is spelled %s in the catalog", op, a)
		}
		if a.Mode != ModeAudit {
			t.Errorf("%s: mode %s, want audit", op, a.Mode)
		}
	}
}

func TestCatalogIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	scopes := map[string]Scope{}
	for _, a := range catalog() {
		if seen[a.String()] {
			t.Errorf("%s listed twice", a)
		}
		seen[a.String()] = true
		if a.Service == "" || a.Name == "" || a.Statement == "" || a.Scope == "" {
			t.Errorf("%s: incomplete %+v", a, a)
		}
		if a.Reason == "" || strings.ContainsAny(a.Reason, "\n\t") || len(a.Reason) > 160 {
			t.Errorf("%s: reason must be one short line: %q", a, a.Reason)
		}
		if a.Access != AccessRead && a.Access != AccessWrite {
			t.Errorf("%s: access %q", a, a.Access)
		}
		if a.Mode == ModeAudit && a.Access == AccessWrite && a.Feature == "" {
			t.Errorf("%s: audit mode must not need a write action", a)
		}
		k := a.Service + "/" + a.Statement
		if s, ok := scopes[k]; ok && s != a.Scope {
			t.Errorf("%s: statement %s mixes scopes %s and %s", a, k, s, a.Scope)
		}
		scopes[k] = a.Scope
	}
}

func TestParseModeAndFeature(t *testing.T) {
	for in, want := range map[string]Mode{"audit": ModeAudit, " Remediate ": ModeRemediate, "WATCH": ModeWatch} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseMode("admin"); err == nil {
		t.Error("ParseMode(admin) succeeded")
	}
	if _, err := ParseFeature("securityhub"); err != nil {
		t.Error(err)
	}
	if _, err := ParseFeature("everything"); err == nil {
		t.Error("ParseFeature(everything) succeeded")
	}
}

func TestLookup(t *testing.T) {
	a, ok := Lookup("EC2:describesubnets")
	if !ok || a.String() != "ec2:DescribeSubnets" {
		t.Errorf("Lookup = %v, %v", a, ok)
	}
	if _, ok := Lookup("ec2:TerminateInstances"); ok {
		t.Error("Lookup found an action sagefence never calls")
	}
}

// decode unmarshals a policy into a generic map first, so the test checks
// the JSON itself, not just our own struct round-tripping.
func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("policy is not valid JSON: %v\n%s", err, b)
	}
	return m
}

func TestPolicyIsAValidLeastPrivilegeDocument(t *testing.T) {
	for _, mode := range Modes() {
		t.Run(string(mode), func(t *testing.T) {
			b, err := Policy(mode, WithAllFeatures())
			if err != nil {
				t.Fatal(err)
			}
			m := decode(t, b)
			if m["Version"] != "2012-10-17" {
				t.Errorf("Version = %v", m["Version"])
			}
			if len(m) != 2 {
				t.Errorf("unexpected top-level keys: %v", m)
			}
			stmts, _ := m["Statement"].([]any)
			if len(stmts) == 0 {
				t.Fatal("no statements")
			}
			sids := map[string]bool{}
			var serviceOrder []string
			covered := map[string]bool{}
			for _, raw := range stmts {
				st := raw.(map[string]any)
				sid, _ := st["Sid"].(string)
				if sid == "" || !isAlnum(sid) || sids[sid] {
					t.Errorf("bad or duplicate Sid %q", sid)
				}
				sids[sid] = true
				if st["Effect"] != "Allow" {
					t.Errorf("%s: Effect %v", sid, st["Effect"])
				}
				acts := st["Action"].([]any)
				res := st["Resource"].([]any)
				if len(acts) == 0 || len(res) == 0 {
					t.Fatalf("%s: empty Action or Resource", sid)
				}
				svc := strings.SplitN(acts[0].(string), ":", 2)[0]
				if len(serviceOrder) == 0 || serviceOrder[len(serviceOrder)-1] != svc {
					if slices.Contains(serviceOrder, svc) {
						t.Errorf("%s: statements of %s are not grouped together", sid, svc)
					}
					serviceOrder = append(serviceOrder, svc)
				}
				for _, x := range acts {
					name := x.(string)
					if strings.Contains(name, "*") {
						t.Errorf("%s: wildcard action %s", sid, name)
					}
					if !strings.HasPrefix(name, svc+":") {
						t.Errorf("%s mixes services: %s", sid, name)
					}
					a, ok := Lookup(name)
					if !ok {
						t.Errorf("%s: %s not in the catalog", sid, name)
						continue
					}
					covered[name] = true
					star := len(res) == 1 && res[0] == "*"
					if star != (a.Scope == ScopeAny) {
						t.Errorf("%s: %s has scope %s but Resource %v", sid, name, a.Scope, res)
					}
				}
			}
			for _, a := range Actions(mode) {
				if !covered[a.String()] {
					t.Errorf("%s missing from the %s policy", a, mode)
				}
			}
		})
	}
}

func TestAuditPolicyAllowsNothingThatChangesTheAccount(t *testing.T) {
	b, err := Policy(ModeAudit)
	if err != nil {
		t.Fatal(err)
	}
	var doc Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statement {
		for _, name := range st.Action {
			a, _ := Lookup(name)
			if a.Access != AccessRead {
				t.Errorf("audit policy allows %s (%s)", name, a.Access)
			}
			if a.Feature != "" {
				t.Errorf("audit policy without features allows optional %s", name)
			}
		}
	}
}

func statementWith(t *testing.T, doc Document, action string) Statement {
	t.Helper()
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, action) {
			return st
		}
	}
	t.Fatalf("no statement allows %s", action)
	return Statement{}
}

func TestPolicyOptionsNarrowResources(t *testing.T) {
	doc, err := Build(ModeRemediate,
		WithPartition("aws-us-gov"), WithAccount("123456789012"), WithBackupBucket("acme-nb-backup"),
		WithNotebookRoles("arn:aws-us-gov:iam::123456789012:role/service-role/SageMakerNotebook*"),
		WithFeatures(FeatureOrganizations), WithMemberRoleName("SagefenceAudit"))
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string][]string{
		"sagemaker:DeleteNotebookInstance":                {"arn:aws-us-gov:sagemaker:*:123456789012:notebook-instance/*"},
		"sagemaker:CreateNotebookInstanceLifecycleConfig": {"arn:aws-us-gov:sagemaker:*:123456789012:notebook-instance-lifecycle-config/*"},
		"ec2:RevokeSecurityGroupEgress":                   {"arn:aws-us-gov:ec2:*:123456789012:security-group/*"},
		"ec2:ModifySubnetAttribute":                       {"arn:aws-us-gov:ec2:*:123456789012:subnet/*"},
		"s3:ListBucket":                                   {"arn:aws-us-gov:s3:::acme-nb-backup"},
		"s3:GetObject":                                    {"arn:aws-us-gov:s3:::acme-nb-backup/*"},
		"iam:PassRole":                                    {"arn:aws-us-gov:iam::123456789012:role/service-role/SageMakerNotebook*"},
		"sts:AssumeRole":                                  {"arn:aws-us-gov:iam::*:role/SagefenceAudit"},
		"ec2:DescribeRouteTables":                         {"*"},
	} {
		if got := statementWith(t, doc, action).Resource; !slices.Equal(got, want) {
			t.Errorf("%s: Resource %v, want %v", action, got, want)
		}
	}
	pass := statementWith(t, doc, "iam:PassRole")
	if pass.Condition["StringEquals"]["iam:PassedToService"] != "sagemaker.amazonaws.com" {
		t.Errorf("iam:PassRole not limited to SageMaker: %v", pass.Condition)
	}
	if len(pass.Action) != 1 {
		t.Errorf("PassRole statement carries other actions: %v", pass.Action)
	}
	for _, st := range doc.Statement {
		if slices.Contains(st.Action, "securityhub:BatchImportFindings") {
			t.Error("securityhub action present without its feature")
		}
	}
}

func TestBackupLocationWithPrefixNarrowsObjects(t *testing.T) {
	doc, err := Build(ModeRemediate, WithBackupBucket("s3://acme-nb/backups/sagefence/"))
	if err != nil {
		t.Fatal(err)
	}
	if got := statementWith(t, doc, "s3:GetObject").Resource; !slices.Equal(got, []string{"arn:aws:s3:::acme-nb/backups/sagefence/*"}) {
		t.Errorf("objects: %v", got)
	}
	if got := statementWith(t, doc, "s3:ListBucket").Resource; !slices.Equal(got, []string{"arn:aws:s3:::acme-nb"}) {
		t.Errorf("bucket: %v", got)
	}
	if _, err := Build(ModeRemediate, WithBackupBucket("s3://acme-nb/a*b")); err == nil {
		t.Error("wildcard prefix accepted")
	}
}

func TestPolicyRejectsBadOptions(t *testing.T) {
	for name, opt := range map[string]PolicyOption{
		"partition": WithPartition("amazon"),
		"account":   WithAccount("12345"),
		"bucket":    WithBackupBucket("Bad_Bucket"),
		"role":      WithNotebookRoles("role/x"),
		"member":    WithMemberRoleName("a b"),
		"feature":   WithFeatures("everything"),
	} {
		if _, err := Policy(ModeRemediate, opt); err == nil {
			t.Errorf("%s: bad option accepted", name)
		}
	}
	if _, err := Policy("admin"); err == nil {
		t.Error("unknown mode accepted")
	}
}

// TestWatchPolicyScopesTheQueueAndTopic: the watch policy names the event
// queue and alert topic it is given, and refuses names that are not.
func TestWatchPolicyScopesTheQueueAndTopic(t *testing.T) {
	doc, err := Build(ModeWatch, WithAccount("111122223333"), WithEventQueue("sagefence-events"), WithAlertTopic("secops"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, st := range doc.Statement {
		got[st.Sid] = st.Resource
	}
	if want := []string{"arn:aws:sqs:*:111122223333:sagefence-events"}; !slices.Equal(got["SQSEventQueue"], want) {
		t.Errorf("SQSEventQueue resources = %v, want %v", got["SQSEventQueue"], want)
	}
	if want := []string{"arn:aws:sns:*:111122223333:secops"}; !slices.Equal(got["SNSAlertTopic"], want) {
		t.Errorf("SNSAlertTopic resources = %v, want %v", got["SNSAlertTopic"], want)
	}
	for _, st := range doc.Statement {
		for _, a := range st.Action {
			if act, _ := Lookup(a); act.Mode == ModeRemediate {
				t.Errorf("watch policy grants remediation action %s", a)
			}
		}
	}
	for _, bad := range []PolicyOption{WithEventQueue("a:b"), WithAlertTopic("x/y"), WithEventQueue("")} {
		if _, err := Build(ModeWatch, bad); err == nil {
			t.Error("Build accepted an invalid queue or topic name")
		}
	}
}

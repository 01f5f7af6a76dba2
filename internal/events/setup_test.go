package events

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"go.yaml.in/yaml/v3"

	"github.com/sagefence/sagefence/internal/testenv"
)

// role is what a rule does, read back from a template.
type role string

const (
	roleQueue   role = "queue"   // the hub's default bus, to the queue
	roleCentral role = "central" // the hub's central bus (org), to the queue
	roleForward role = "forward" // elsewhere, to the hub's bus
)

// readRule is a rule read back from a rendered template.
type readRule struct {
	id      string
	role    role
	pattern map[string]any
}

// checkPatterns: for every role, the rules of that role together list
// exactly Names, each once, in patterns of the expected shape that fit
// EventBridge's quota however they are serialized.
func checkPatterns(t *testing.T, rules []readRule, roles ...role) {
	t.Helper()
	want := Names()
	byRole := map[role][]Name{}
	for _, r := range rules {
		p := r.pattern
		detail, _ := p["detail"].(map[string]any)
		srcs, _ := p["source"].([]any)
		evSrcs, _ := detail["eventSource"].([]any)
		if len(srcs) != 1 || len(evSrcs) != 1 || srcs[0] != "aws."+strings.TrimSuffix(fmt.Sprint(evSrcs[0]), ".amazonaws.com") {
			t.Errorf("%s: source %v does not match eventSource %v", r.id, srcs, evSrcs)
			continue
		}
		if dt, _ := p["detail-type"].([]any); len(dt) != 1 || dt[0] != DetailType {
			t.Errorf("%s: detail-type %v", r.id, p["detail-type"])
		}
		if ec, _ := json.Marshal(detail["errorCode"]); string(ec) != `[{"exists":false}]` {
			t.Errorf("%s: errorCode %s, want failed calls filtered out", r.id, ec)
		}
		if len(p) != 3 || len(detail) != 3 {
			t.Errorf("%s: unexpected pattern fields %v", r.id, p)
		}
		names, _ := detail["eventName"].([]any)
		for _, n := range names {
			byRole[r.role] = append(byRole[r.role], Name{Source: fmt.Sprint(evSrcs[0]), Name: fmt.Sprint(n)})
		}
		compact, _ := json.Marshal(p)
		indented, _ := json.MarshalIndent(p, "", "    ")
		if len(compact) > patternQuotaSize || len(indented) > patternQuotaSize {
			t.Errorf("%s: pattern is %d characters (%d indented), over the %d quota", r.id, len(compact), len(indented), patternQuotaSize)
		}
	}
	if got := slices.Sorted(maps.Keys(byRole)); !slices.Equal(got, slices.Sorted(slices.Values(roles))) {
		t.Errorf("rule roles %v, want %v", got, roles)
	}
	key := func(n Name) string { return n.Source + " " + n.Name }
	for _, ro := range roles {
		got := slices.Sorted(func(yield func(string) bool) {
			for _, n := range byRole[ro] {
				if !yield(key(n)) {
					return
				}
			}
		})
		var w []string
		for _, n := range want {
			w = append(w, key(n))
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s rules list %d names, Names has %d;\n got %v\nwant %v", ro, len(got), len(w), got, w)
		}
	}
}

// remarshal decodes a decoded YAML value again, into a struct.
func remarshal(v, into any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return yaml.Unmarshal(b, into)
}

// cfnEnv evaluates the intrinsic functions the template uses, for one
// account and region, the way CloudFormation would.
type cfnEnv struct {
	t      *testing.T
	params map[string]string
	conds  map[string]any
}

func (e cfnEnv) ref(name string) string {
	v, ok := e.params[name]
	if !ok {
		e.t.Fatalf("Ref to unknown %q", name)
	}
	return v
}

func (e cfnEnv) value(v any) any {
	if m, ok := v.(map[string]any); ok {
		if r, ok := m["Ref"]; ok {
			return e.ref(r.(string))
		}
		if s, ok := m["Fn::Sub"]; ok {
			return regexp.MustCompile(`\$\{([^}]+)\}`).ReplaceAllStringFunc(s.(string), func(x string) string { return e.ref(x[2 : len(x)-1]) })
		}
		e.t.Fatalf("unexpected intrinsic %v", m)
	}
	return v
}

func (e cfnEnv) cond(v any) bool {
	m := v.(map[string]any)
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return e.cond(e.conds[arg.(string)])
		case "Fn::Equals":
			return e.value(args[0]) == e.value(args[1])
		case "Fn::And", "Fn::Or":
			all, any_ := true, false
			for _, a := range args {
				b := e.cond(a)
				all, any_ = all && b, any_ || b
			}
			return map[string]bool{"Fn::And": all, "Fn::Or": any_}[fn]
		case "Fn::Not":
			return !e.cond(args[0])
		}
	}
	e.t.Fatalf("unexpected condition %v", v)
	return false
}

type cfnTemplate struct {
	Parameters map[string]map[string]any `yaml:"Parameters"`
	Conditions map[string]any            `yaml:"Conditions"`
	Resources  map[string]struct {
		Type       string         `yaml:"Type"`
		Condition  string         `yaml:"Condition"`
		Properties map[string]any `yaml:"Properties"`
	} `yaml:"Resources"`
	Outputs map[string]map[string]any `yaml:"Outputs"`
}

func renderCFN(t *testing.T, org bool) ([]byte, cfnTemplate) {
	t.Helper()
	b, err := CloudFormation(org)
	if err != nil {
		t.Fatal(err)
	}
	var tmpl cfnTemplate
	if err := yaml.Unmarshal(b, &tmpl); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, b)
	}
	return b, tmpl
}

func cfnRules(t *testing.T, tmpl cfnTemplate) []readRule {
	t.Helper()
	var out []readRule
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Events::Rule" {
			continue
		}
		ro := roleQueue
		switch {
		case r.Condition == "IsForwarder":
			ro = roleForward
		case r.Properties["EventBusName"] != nil:
			ro = roleCentral
		}
		p, ok := r.Properties["EventPattern"].(map[string]any)
		if !ok {
			t.Fatalf("%s: EventPattern is %T", id, r.Properties["EventPattern"])
		}
		out = append(out, readRule{id: id, role: ro, pattern: p})
	}
	return out
}

func TestCloudFormationTemplates(t *testing.T) {
	for _, org := range []bool{false, true} {
		t.Run(fmt.Sprintf("org=%v", org), func(t *testing.T) {
			b, tmpl := renderCFN(t, org)
			rules := cfnRules(t, tmpl)
			if org {
				checkPatterns(t, rules, roleQueue, roleCentral, roleForward)
			} else {
				checkPatterns(t, rules, roleQueue, roleForward)
			}

			// Wiring: queue rules target the queue with the dead-letter
			// queue, forwarders the hub bus through the role, and the queue
			// policy admits exactly the rules that target the queue.
			var toQueue []string
			for _, r := range rules {
				props := tmpl.Resources[r.id].Properties
				targets, _ := props["Targets"].([]any)
				if len(targets) != 1 {
					t.Fatalf("%s: %d targets", r.id, len(targets))
				}
				tg, _ := json.Marshal(targets[0])
				switch r.role {
				case roleForward:
					if !strings.Contains(string(tg), `"RoleArn":{"Fn::GetAtt":["ForwardRole","Arn"]}`) || !strings.Contains(string(tg), `"Fn::Sub"`) {
						t.Errorf("%s target %s", r.id, tg)
					}
				default:
					toQueue = append(toQueue, r.id)
					if !strings.Contains(string(tg), `"Arn":{"Fn::GetAtt":["EventsQueue","Arn"]}`) || !strings.Contains(string(tg), `"DeadLetterConfig":{"Arn":{"Fn::GetAtt":["EventsDeadLetterQueue","Arn"]}}`) {
						t.Errorf("%s target %s", r.id, tg)
					}
				}
			}
			var policy struct {
				PolicyDocument struct {
					Statement []struct {
						Condition struct {
							ArnEquals map[string][]struct {
								GetAtt []string `yaml:"Fn::GetAtt"`
							} `yaml:"ArnEquals"`
						} `yaml:"Condition"`
					} `yaml:"Statement"`
				} `yaml:"PolicyDocument"`
			}
			if err := remarshal(tmpl.Resources["EventsQueuePolicy"].Properties, &policy); err != nil || len(policy.PolicyDocument.Statement) != 1 {
				t.Fatalf("queue policy: %v %+v", err, policy)
			}
			var allowed []string
			for _, a := range policy.PolicyDocument.Statement[0].Condition.ArnEquals["aws:SourceArn"] {
				allowed = append(allowed, a.GetAtt[0])
			}
			slices.Sort(allowed)
			slices.Sort(toQueue)
			if !slices.Equal(allowed, toQueue) {
				t.Errorf("queue policy admits %v, the rules to the queue are %v", allowed, toQueue)
			}
			redrive, _ := json.Marshal(tmpl.Resources["EventsQueue"].Properties["RedrivePolicy"])
			if string(redrive) != `{"deadLetterTargetArn":{"Fn::GetAtt":["EventsDeadLetterQueue","Arn"]},"maxReceiveCount":5}` {
				t.Errorf("redrive policy %s", redrive)
			}
			if out, _ := json.Marshal(tmpl.Outputs["QueueUrl"]["Value"]); string(out) != `{"Ref":"EventsQueue"}` {
				t.Errorf("QueueUrl output = %s", out)
			}
			if org {
				bp, _ := json.Marshal(tmpl.Resources["CentralEventBusPolicy"].Properties["Statement"])
				if !strings.Contains(string(bp), `"Condition":{"StringEquals":{"aws:PrincipalOrgID":{"Ref":"OrganizationId"}}}`) {
					t.Errorf("bus policy does not limit senders to the organization: %s", bp)
				}
			}
			testenv.CfnLint(t, "events.yaml", b)
		})
	}
}

// TestCloudFormationDeploysAsHubOrForwarder evaluates the conditions for
// the places the one template is deployed: one hub, forwarders elsewhere,
// each forwarding to the hub's bus.
func TestCloudFormationDeploysAsHubOrForwarder(t *testing.T) {
	const central, member = "111122223333", "444455556666"
	for _, tc := range []struct {
		name           string
		org            bool
		account        string
		region         string
		params         map[string]string
		hub            bool
		forwardsTo     string
		wantResources  []string // a few that must be there
		absentResource []string
	}{
		{"single region", false, central, "eu-west-1", map[string]string{"HomeRegion": ""}, true, "", []string{"EventsQueue", "Ec2Rule1"}, []string{"ForwardRole", "ForwardEc2Rule1"}},
		{"home region", false, central, "eu-west-1", map[string]string{"HomeRegion": "eu-west-1"}, true, "", []string{"EventsQueue"}, []string{"ForwardRole"}},
		{"another region", false, central, "us-east-1", map[string]string{"HomeRegion": "eu-west-1"}, false,
			"arn:aws:events:eu-west-1:111122223333:event-bus/default", []string{"ForwardRole", "ForwardEc2Rule1"}, []string{"EventsQueue", "Ec2Rule1"}},
		{"org hub", true, central, "eu-west-1", map[string]string{"HomeRegion": "eu-west-1", "CentralAccountId": central, "OrganizationId": "o-abcdefghij"}, true, "",
			[]string{"EventsQueue", "CentralEventBus", "CentralEventBusPolicy", "CentralEc2Rule1", "Ec2Rule1"}, []string{"ForwardRole"}},
		{"org central account, another region", true, central, "us-east-1", map[string]string{"HomeRegion": "eu-west-1", "CentralAccountId": central, "OrganizationId": "o-abcdefghij"}, false,
			"arn:aws:events:eu-west-1:111122223333:event-bus/sagefence-events", []string{"ForwardRole"}, []string{"EventsQueue", "CentralEventBus"}},
		{"org member, home region", true, member, "eu-west-1", map[string]string{"HomeRegion": "eu-west-1", "CentralAccountId": central, "OrganizationId": "o-abcdefghij"}, false,
			"arn:aws:events:eu-west-1:111122223333:event-bus/sagefence-events", []string{"ForwardRole", "ForwardSagemakerRule1"}, []string{"EventsQueue", "CentralEventBus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tmpl := renderCFN(t, tc.org)
			params := map[string]string{"AWS::AccountId": tc.account, "AWS::Region": tc.region, "AWS::Partition": "aws"}
			maps.Copy(params, tc.params)
			if got, want := slices.Sorted(maps.Keys(tmpl.Parameters)), slices.Sorted(maps.Keys(tc.params)); !slices.Equal(got, want) {
				t.Fatalf("parameters %v, want %v", got, want)
			}
			env := cfnEnv{t: t, params: params, conds: tmpl.Conditions}
			deployed := map[string]bool{}
			for id, r := range tmpl.Resources {
				if r.Condition == "" {
					t.Errorf("%s has no condition: it would be deployed everywhere", id)
				}
				deployed[id] = env.cond(map[string]any{"Condition": r.Condition})
			}
			if env.cond(map[string]any{"Condition": "IsHub"}) != tc.hub {
				t.Errorf("IsHub = %v, want %v", !tc.hub, tc.hub)
			}
			for _, id := range tc.wantResources {
				if !deployed[id] {
					t.Errorf("%s not deployed", id)
				}
			}
			for _, id := range tc.absentResource {
				if deployed[id] {
					t.Errorf("%s deployed", id)
				}
			}
			for id, r := range tmpl.Resources {
				if !deployed[id] || r.Condition != "IsForwarder" || r.Type != "AWS::Events::Rule" {
					continue
				}
				tg := r.Properties["Targets"].([]any)[0].(map[string]any)
				if got := env.value(tg["Arn"]); got != tc.forwardsTo {
					t.Errorf("%s forwards to %v, want %s", id, got, tc.forwardsTo)
				}
			}
			role, _ := json.Marshal(tmpl.Resources["ForwardRole"].Properties["Policies"])
			if !strings.Contains(string(role), `"Action":"events:PutEvents"`) {
				t.Errorf("forward role policy %s", role)
			}
		})
	}
}

// tfFile is a parsed Terraform rendering.
type tfFile struct {
	body      *hclsyntax.Body
	locals    map[string]hcl.Expression
	variables map[string]bool
	blocks    map[string]*hclsyntax.Block // "TYPE.NAME" of resources, "data.TYPE.NAME" of data
}

func renderTF(t *testing.T, org bool) ([]byte, tfFile) {
	t.Helper()
	b, err := Terraform(org)
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCL(b, "events.tf")
	if diags.HasErrors() {
		t.Fatalf("HCL does not parse: %s\n%s", diags.Error(), b)
	}
	tf := tfFile{body: f.Body.(*hclsyntax.Body), locals: map[string]hcl.Expression{}, variables: map[string]bool{}, blocks: map[string]*hclsyntax.Block{}}
	for _, blk := range tf.body.Blocks {
		switch blk.Type {
		case "locals":
			for name, a := range blk.Body.Attributes {
				tf.locals[name] = a.Expr
			}
		case "variable":
			tf.variables[blk.Labels[0]] = true
		case "resource":
			tf.blocks[blk.Labels[0]+"."+blk.Labels[1]] = blk
		case "data":
			tf.blocks["data."+blk.Labels[0]+"."+blk.Labels[1]] = blk
		case "terraform", "output":
		default:
			t.Errorf("unexpected top-level block %s", blk.Type)
		}
	}
	return b, tf
}

// attrs visits every attribute of body, nested blocks included.
func attrs(body *hclsyntax.Body, visit func(*hclsyntax.Attribute)) {
	for _, a := range body.Attributes {
		visit(a)
	}
	for _, b := range body.Blocks {
		attrs(b.Body, visit)
	}
}

func tfEval(t *testing.T, e hcl.Expression, ctx *hcl.EvalContext) cty.Value {
	t.Helper()
	v, diags := e.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("evaluate %s: %s", hclRange(e), diags.Error())
	}
	return v
}

func hclRange(e hcl.Expression) string { return e.Range().String() }

var tfFunctions = map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "format": stdlib.FormatFunc}

func TestTerraformConfigurations(t *testing.T) {
	for _, org := range []bool{false, true} {
		t.Run(fmt.Sprintf("org=%v", org), func(t *testing.T) {
			b, tf := renderTF(t, org)

			// Every reference names something the file declares.
			attrs(tf.body, func(a *hclsyntax.Attribute) {
				if a.Name == "type" {
					return // a type constraint, not a reference
				}
				for _, tr := range a.Expr.Variables() {
					var parts []string
					for _, step := range tr {
						switch s := step.(type) {
						case hcl.TraverseRoot:
							parts = append(parts, s.Name)
						case hcl.TraverseAttr:
							parts = append(parts, s.Name)
						}
					}
					ok := false
					switch parts[0] {
					case "var":
						ok = tf.variables[parts[1]]
					case "local":
						_, ok = tf.locals[parts[1]]
					case "data":
						ok = len(parts) >= 3 && tf.blocks[strings.Join(parts[:3], ".")] != nil
					default:
						ok = len(parts) >= 2 && tf.blocks[parts[0]+"."+parts[1]] != nil
					}
					if !ok {
						t.Errorf("%s: %s refers to nothing declared", a.SrcRange, strings.Join(parts, "."))
					}
				}
			})

			var rules []readRule
			var toQueue, targetsQueue []string
			for name, blk := range tf.blocks {
				typ, id, _ := strings.Cut(name, ".")
				switch typ {
				case "aws_cloudwatch_event_rule":
					ro := roleQueue
					switch {
					case strings.HasPrefix(id, "forward_"):
						ro = roleForward
					case strings.HasPrefix(id, "central_"):
						ro = roleCentral
					}
					v := tfEval(t, blk.Body.Attributes["event_pattern"].Expr, &hcl.EvalContext{Functions: tfFunctions})
					var p map[string]any
					if err := json.Unmarshal([]byte(v.AsString()), &p); err != nil {
						t.Fatalf("%s: event_pattern is not JSON: %v", name, err)
					}
					rules = append(rules, readRule{id: name, role: ro, pattern: p})
					if ro != roleForward {
						toQueue = append(toQueue, id)
					}
					if tf.blocks["aws_cloudwatch_event_target."+id] == nil {
						t.Errorf("%s has no target", name)
					}
				case "aws_cloudwatch_event_target":
					arn := blk.Body.Attributes["arn"].Expr
					if refs := arn.Variables(); len(refs) == 1 && refs[0].RootName() == "aws_sqs_queue" {
						targetsQueue = append(targetsQueue, id)
					}
				}
			}
			if org {
				checkPatterns(t, rules, roleQueue, roleCentral, roleForward)
			} else {
				checkPatterns(t, rules, roleQueue, roleForward)
			}
			slices.Sort(toQueue)
			slices.Sort(targetsQueue)
			if !slices.Equal(toQueue, targetsQueue) {
				t.Errorf("rules to the queue %v, targets on the queue %v", toQueue, targetsQueue)
			}
			for _, q := range []string{"events", "dead_letter"} {
				pol := tf.blocks["aws_sqs_queue_policy."+q]
				if pol == nil {
					t.Fatalf("no policy for queue %s", q)
				}
				var allowed []string
				for _, tr := range pol.Body.Attributes["policy"].Expr.Variables() {
					if tr.RootName() == "aws_cloudwatch_event_rule" {
						allowed = append(allowed, tr[1].(hcl.TraverseAttr).Name)
					}
				}
				slices.Sort(allowed)
				if !slices.Equal(allowed, toQueue) {
					t.Errorf("policy of %s admits %v, the rules to the queue are %v", q, allowed, toQueue)
				}
			}
			terraformFmtCheck(t, b)
		})
	}
}

// TestTerraformDeploysAsHubOrForwarder evaluates count and the hub bus ARN
// as Terraform would in each place the configuration is applied; they
// must agree with the CloudFormation template.
func TestTerraformDeploysAsHubOrForwarder(t *testing.T) {
	const central, member = "111122223333", "444455556666"
	for _, tc := range []struct {
		name            string
		org             bool
		account, region string
		vars            map[string]string
		hub             bool
		forwardsTo      string
	}{
		{"single region", false, central, "eu-west-1", map[string]string{"home_region": ""}, true, ""},
		{"another region", false, central, "us-east-1", map[string]string{"home_region": "eu-west-1"}, false, "arn:aws:events:eu-west-1:111122223333:event-bus/default"},
		{"org hub", true, central, "eu-west-1", map[string]string{"home_region": "eu-west-1", "central_account_id": central, "organization_id": "o-abcdefghij"}, true, ""},
		{"org member", true, member, "eu-west-1", map[string]string{"home_region": "eu-west-1", "central_account_id": central, "organization_id": "o-abcdefghij"}, false, "arn:aws:events:eu-west-1:111122223333:event-bus/sagefence-events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tf := renderTF(t, tc.org)
			if got, want := slices.Sorted(maps.Keys(tf.variables)), slices.Sorted(maps.Keys(tc.vars)); !slices.Equal(got, want) {
				t.Fatalf("variables %v, want %v", got, want)
			}
			vars := map[string]cty.Value{}
			for k, v := range tc.vars {
				vars[k] = cty.StringVal(v)
			}
			ctx := &hcl.EvalContext{Functions: tfFunctions, Variables: map[string]cty.Value{
				"var": cty.ObjectVal(vars),
				"data": cty.ObjectVal(map[string]cty.Value{
					"aws_caller_identity": cty.ObjectVal(map[string]cty.Value{"current": cty.ObjectVal(map[string]cty.Value{"account_id": cty.StringVal(tc.account)})}),
					"aws_region":          cty.ObjectVal(map[string]cty.Value{"current": cty.ObjectVal(map[string]cty.Value{"region": cty.StringVal(tc.region)})}),
					"aws_partition":       cty.ObjectVal(map[string]cty.Value{"current": cty.ObjectVal(map[string]cty.Value{"partition": cty.StringVal("aws")})}),
				}),
			}}
			hub := tfEval(t, tf.locals["hub"], ctx)
			if hub.True() != tc.hub {
				t.Fatalf("local.hub = %v, want %v", hub.True(), tc.hub)
			}
			if !tc.hub {
				if got := tfEval(t, tf.locals["hub_bus_arn"], ctx).AsString(); got != tc.forwardsTo {
					t.Errorf("hub_bus_arn = %s, want %s", got, tc.forwardsTo)
				}
			}
			ctx.Variables["local"] = cty.ObjectVal(map[string]cty.Value{"hub": hub})
			for name, blk := range tf.blocks {
				if strings.HasPrefix(name, "data.") {
					continue
				}
				n, _ := tfEval(t, blk.Body.Attributes["count"].Expr, ctx).AsBigFloat().Int64()
				forwarder := strings.Contains(name, ".forward")
				if want := map[bool]int64{true: 1, false: 0}[forwarder != tc.hub]; n != want {
					t.Errorf("%s: count %d, want %d", name, n, want)
				}
			}
		})
	}
}

// terraformFmtCheck asks terraform, when it is installed, whether the file
// is already canonically formatted. It needs no providers or network.
func terraformFmtCheck(t *testing.T, src []byte) {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		t.Log("terraform not installed; formatting not checked")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "fmt", "-check", "-diff", "-")
	cmd.Stdin = bytes.NewReader(src)
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("terraform fmt -check: %v\n%s", err, out)
	}
}

func TestSplitNamesKeepsEveryPatternWithinTheBudget(t *testing.T) {
	var many []string
	for i := range 300 {
		many = append(many, fmt.Sprintf("ModifySomethingRatherLong%03d", i))
	}
	groups, err := splitNames(SourceEC2, many)
	if err != nil {
		t.Fatal(err)
	}
	var back []string
	for _, g := range groups {
		if n := patternChars(patternFor(SourceEC2, g)); n > maxPatternChars {
			t.Errorf("group of %d names is %d characters", len(g), n)
		}
		back = append(back, g...)
	}
	if !slices.Equal(back, many) || len(groups) < 2 {
		t.Errorf("%d groups do not give back the names in order", len(groups))
	}
}

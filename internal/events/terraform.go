package events

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"
)

// Terraform resource names of the set-up's fixed resources.
const (
	tfQueue       = "events"
	tfDeadLetter  = "dead_letter"
	tfForwardRole = "forward"
	tfCentralBus  = "central"
)

// Terraform renders the same as CloudFormation, in HCL.
//
// The file is written through hclwrite, so quoting and layout are the
// library's (and terraform fmt's). Like the CloudFormation template it is
// applied unchanged in every account and region: count decides whether a
// resource belongs to the hub or to a forwarder. It needs the AWS provider
// 6 or later (the region attribute of aws_region).
func Terraform(org bool) ([]byte, error) {
	s, err := newSetup(org)
	if err != nil {
		return nil, err
	}
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	if org {
		root.AppendUnstructuredTokens(comment("sagefence events-setup (organization): CloudTrail calls that can change a SageMaker\n" +
			"notebook's internet exposure, from every account and region of the organization to one SQS\n" +
			"queue read by sagefence watch. Apply it with the same variables in every account and region;\n" +
			"the central account's home region becomes the hub. EventBridge receives these calls only where\n" +
			"a CloudTrail trail logs management events (an organization trail covers every account).\n" +
			"Then: sagefence watch --queue-url <queue_url>."))
	} else {
		root.AppendUnstructuredTokens(comment("sagefence events-setup: CloudTrail calls that can change a SageMaker notebook's internet\n" +
			"exposure, sent to one SQS queue read by sagefence watch. Apply it in every region to watch with\n" +
			"the same home_region; the copy in home_region holds the queue. EventBridge receives these\n" +
			"calls only where a CloudTrail trail logs management events.\n" +
			"Then: sagefence watch --queue-url <queue_url>."))
	}
	tf := root.AppendNewBlock("terraform", nil).Body()
	providers := tf.AppendNewBlock("required_providers", nil).Body()
	providers.SetAttributeValue("aws", cty.ObjectVal(map[string]cty.Value{
		"source":  cty.StringVal("hashicorp/aws"),
		"version": cty.StringVal(">= 6.0"),
	}))
	root.AppendNewline()

	// Variables.
	if org {
		variable(root, "organization_id", descOrgID, nil, `can(regex("^o-[a-z0-9]{10,32}$", var.organization_id))`, "organization_id must be an AWS Organizations ID: o- and 10 to 32 lowercase letters or digits.")
		variable(root, "central_account_id", descCentral, nil, `can(regex("^[0-9]{12}$", var.central_account_id))`, "central_account_id must be a 12-digit account ID.")
		variable(root, "home_region", descOrgHome, nil, `can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", var.home_region))`, "home_region must be a region name such as eu-west-1.")
	} else {
		empty := cty.StringVal("")
		variable(root, "home_region", descHomeRegion, &empty, `can(regex("^([a-z]{2}(-[a-z]+)+-[0-9]{1,2})?$", var.home_region))`, "home_region must be empty or a region name such as eu-west-1.")
	}
	for _, d := range []string{"aws_caller_identity", "aws_partition", "aws_region"} {
		root.AppendNewBlock("data", []string{d, "current"})
		root.AppendNewline()
	}
	locals := root.AppendNewBlock("locals", nil).Body()
	if org {
		locals.SetAttributeRaw("hub", expr(`data.aws_caller_identity.current.account_id == var.central_account_id && data.aws_region.current.region == var.home_region`))
		locals.SetAttributeRaw("hub_bus_arn", expr(fmt.Sprintf(`format("arn:%%s:events:%%s:%%s:event-bus/%%s", data.aws_partition.current.partition, var.home_region, var.central_account_id, %q)`, CentralBusName)))
	} else {
		locals.SetAttributeRaw("hub", expr(`var.home_region == "" || var.home_region == data.aws_region.current.region`))
		locals.SetAttributeRaw("hub_bus_arn", expr(`format("arn:%s:events:%s:%s:event-bus/default", data.aws_partition.current.partition, var.home_region, data.aws_caller_identity.current.account_id)`))
	}
	root.AppendNewline()
	hubCount, fwdCount := expr(`local.hub ? 1 : 0`), expr(`local.hub ? 0 : 1`)

	// The queue and its dead-letter queue.
	b := resourceBlock(root, "aws_sqs_queue", tfDeadLetter, hubCount)
	b.SetAttributeValue("name", cty.StringVal(DeadLetterQueueName))
	b.SetAttributeValue("message_retention_seconds", cty.NumberIntVal(deadLetterRetentionSeconds))
	b.SetAttributeValue("sqs_managed_sse_enabled", cty.True)
	root.AppendNewline()
	b = resourceBlock(root, "aws_sqs_queue", tfQueue, hubCount)
	b.SetAttributeValue("name", cty.StringVal(QueueName))
	b.SetAttributeValue("message_retention_seconds", cty.NumberIntVal(queueRetentionSeconds))
	b.SetAttributeValue("receive_wait_time_seconds", cty.NumberIntVal(waitTimeSeconds))
	b.SetAttributeValue("sqs_managed_sse_enabled", cty.True)
	b.SetAttributeRaw("redrive_policy", hclwrite.TokensForFunctionCall("jsonencode", object(
		kvTok("deadLetterTargetArn", ref0("aws_sqs_queue", tfDeadLetter, "arn")),
		kvTok("maxReceiveCount", hclwrite.TokensForValue(cty.NumberIntVal(maxReceiveCount))),
	)))
	root.AppendNewline()

	// Policies of both queues: EventBridge may send from the rules that
	// target them, and from nothing else.
	var sourceArns []hclwrite.Tokens
	for _, r := range s.toQueue() {
		sourceArns = append(sourceArns, ref0("aws_cloudwatch_event_rule", r.tfName(), "arn"))
	}
	for _, q := range []string{tfQueue, tfDeadLetter} {
		b = resourceBlock(root, "aws_sqs_queue_policy", q, hubCount)
		b.SetAttributeRaw("queue_url", ref0("aws_sqs_queue", q, "id"))
		b.SetAttributeRaw("policy", hclwrite.TokensForFunctionCall("jsonencode", object(
			kvTok("Version", str("2012-10-17")),
			kvTok("Statement", hclwrite.TokensForTuple([]hclwrite.Tokens{object(
				kvTok("Sid", str("AllowSagefenceRules")),
				kvTok("Effect", str("Allow")),
				kvTok("Principal", object(kvTok("Service", str("events.amazonaws.com")))),
				kvTok("Action", str("sqs:SendMessage")),
				kvTok("Resource", ref0("aws_sqs_queue", q, "arn")),
				kvTok("Condition", object(kvTok("ArnEquals", object(kvTok("aws:SourceArn", hclwrite.TokensForTuple(sourceArns)))))),
			)})),
		)))
		root.AppendNewline()
	}

	if org {
		b = resourceBlock(root, "aws_cloudwatch_event_bus", tfCentralBus, hubCount)
		b.SetAttributeValue("name", cty.StringVal(CentralBusName))
		root.AppendNewline()
		b = resourceBlock(root, "aws_cloudwatch_event_bus_policy", tfCentralBus, hubCount)
		b.SetAttributeRaw("event_bus_name", ref0("aws_cloudwatch_event_bus", tfCentralBus, "name"))
		b.SetAttributeRaw("policy", hclwrite.TokensForFunctionCall("jsonencode", object(
			kvTok("Version", str("2012-10-17")),
			kvTok("Statement", hclwrite.TokensForTuple([]hclwrite.Tokens{object(
				kvTok("Sid", str("AllowOrganizationPutEvents")),
				kvTok("Effect", str("Allow")),
				kvTok("Principal", str("*")),
				kvTok("Action", str("events:PutEvents")),
				kvTok("Resource", ref0("aws_cloudwatch_event_bus", tfCentralBus, "arn")),
				kvTok("Condition", object(kvTok("StringEquals", object(kvTok("aws:PrincipalOrgID", expr("var.organization_id")))))),
			)})),
		)))
		root.AppendNewline()
	}

	for _, r := range s.toQueue() {
		ruleBlock(root, r, hubCount)
		t := resourceBlock(root, "aws_cloudwatch_event_target", r.tfName(), hubCount)
		t.SetAttributeRaw("rule", ref0("aws_cloudwatch_event_rule", r.tfName(), "name"))
		if r.kind == kindCentral {
			t.SetAttributeRaw("event_bus_name", ref0("aws_cloudwatch_event_bus", tfCentralBus, "name"))
		}
		t.SetAttributeValue("target_id", cty.StringVal(queueTargetID))
		t.SetAttributeRaw("arn", ref0("aws_sqs_queue", tfQueue, "arn"))
		t.AppendNewBlock("dead_letter_config", nil).Body().SetAttributeRaw("arn", ref0("aws_sqs_queue", tfDeadLetter, "arn"))
		root.AppendNewline()
	}

	// Forwarders: every other account-region sends the same events to the
	// hub's bus, through a role EventBridge assumes.
	b = resourceBlock(root, "aws_iam_role", tfForwardRole, fwdCount)
	b.SetAttributeValue("name_prefix", cty.StringVal("sagefence-forward-"))
	b.SetAttributeValue("description", cty.StringVal("Lets the sagefence forwarding rules put events on the hub's event bus."))
	b.SetAttributeRaw("assume_role_policy", hclwrite.TokensForFunctionCall("jsonencode", object(
		kvTok("Version", str("2012-10-17")),
		kvTok("Statement", hclwrite.TokensForTuple([]hclwrite.Tokens{object(
			kvTok("Effect", str("Allow")),
			kvTok("Principal", object(kvTok("Service", str("events.amazonaws.com")))),
			kvTok("Action", str("sts:AssumeRole")),
		)})),
	)))
	root.AppendNewline()
	b = resourceBlock(root, "aws_iam_role_policy", tfForwardRole, fwdCount)
	b.SetAttributeValue("name", cty.StringVal("put-events-on-hub-bus"))
	b.SetAttributeRaw("role", ref0("aws_iam_role", tfForwardRole, "id"))
	b.SetAttributeRaw("policy", hclwrite.TokensForFunctionCall("jsonencode", object(
		kvTok("Version", str("2012-10-17")),
		kvTok("Statement", hclwrite.TokensForTuple([]hclwrite.Tokens{object(
			kvTok("Effect", str("Allow")),
			kvTok("Action", str("events:PutEvents")),
			kvTok("Resource", expr("local.hub_bus_arn")),
		)})),
	)))
	root.AppendNewline()
	for _, r := range s.forwarder {
		ruleBlock(root, r, fwdCount)
		t := resourceBlock(root, "aws_cloudwatch_event_target", r.tfName(), fwdCount)
		t.SetAttributeRaw("rule", ref0("aws_cloudwatch_event_rule", r.tfName(), "name"))
		t.SetAttributeValue("target_id", cty.StringVal(forwardTargetID))
		t.SetAttributeRaw("arn", expr("local.hub_bus_arn"))
		t.SetAttributeRaw("role_arn", ref0("aws_iam_role", tfForwardRole, "arn"))
		root.AppendNewline()
	}

	output(root, "queue_url", queueURLHelp, expr(`one(aws_sqs_queue.events[*].url)`))
	output(root, "queue_arn", "ARN of the queue (grant sqs:ReceiveMessage and sqs:DeleteMessage on it to watch).", expr(`one(aws_sqs_queue.events[*].arn)`))
	output(root, "dead_letter_queue_url", "URL of the dead-letter queue: messages the queue could not deliver after 5 receives, and events EventBridge could not deliver.", expr(`one(aws_sqs_queue.dead_letter[*].url)`))
	if org {
		output(root, "central_event_bus_arn", "ARN of the event bus the organization's accounts forward to.", expr(`one(aws_cloudwatch_event_bus.central[*].arn)`))
	}
	return hclwrite.Format(f.Bytes()), nil
}

func ruleBlock(root *hclwrite.Body, r rule, count hclwrite.Tokens) {
	b := resourceBlock(root, "aws_cloudwatch_event_rule", r.tfName(), count)
	b.SetAttributeValue("name", cty.StringVal(r.ruleName()))
	b.SetAttributeValue("description", cty.StringVal(r.description()))
	if r.kind == kindCentral {
		b.SetAttributeRaw("event_bus_name", ref0("aws_cloudwatch_event_bus", tfCentralBus, "name"))
	}
	p := r.pattern()
	b.SetAttributeRaw("event_pattern", hclwrite.TokensForFunctionCall("jsonencode", object(
		kvTok("source", strList(p.Source)),
		kvTok("detail-type", strList(p.DetailType)),
		kvTok("detail", object(
			kvTok("eventSource", strList(p.Detail.EventSource)),
			kvTok("eventName", lines(p.Detail.EventName)),
			kvTok("errorCode", hclwrite.TokensForTuple([]hclwrite.Tokens{object(kvTok("exists", hclwrite.TokensForValue(cty.False)))})),
		)),
	)))
	root.AppendNewline()
}

func resourceBlock(root *hclwrite.Body, typ, name string, count hclwrite.Tokens) *hclwrite.Body {
	b := root.AppendNewBlock("resource", []string{typ, name}).Body()
	b.SetAttributeRaw("count", count)
	return b
}

func variable(root *hclwrite.Body, name, desc string, def *cty.Value, condition, message string) {
	b := root.AppendNewBlock("variable", []string{name}).Body()
	b.SetAttributeRaw("type", expr("string"))
	b.SetAttributeValue("description", cty.StringVal(desc))
	if def != nil {
		b.SetAttributeValue("default", *def)
	}
	v := b.AppendNewBlock("validation", nil).Body()
	v.SetAttributeRaw("condition", expr(condition))
	v.SetAttributeValue("error_message", cty.StringVal(message))
	root.AppendNewline()
}

func output(root *hclwrite.Body, name, desc string, value hclwrite.Tokens) {
	b := root.AppendNewBlock("output", []string{name}).Body()
	b.SetAttributeValue("description", cty.StringVal(desc))
	b.SetAttributeRaw("value", value)
	root.AppendNewline()
}

// expr is the tokens of a fixed HCL expression written in this file. Only
// constants of this package go through it; values go through
// hclwrite.TokensForValue, which quotes them.
func expr(src string) hclwrite.Tokens {
	f, diags := hclwrite.ParseConfig([]byte("x = "+src+"\n"), "expr.tf", hcl.InitialPos)
	if diags.HasErrors() {
		panic(fmt.Sprintf("events: bad HCL expression %q: %s", src, diags.Error()))
	}
	return f.Body().GetAttribute("x").Expr().BuildTokens(nil)
}

// ref0 is TYPE.NAME[0].ATTR: an attribute of a resource with count.
func ref0(typ, name, attr string) hclwrite.Tokens {
	return hclwrite.TokensForTraversal(hcl.Traversal{
		hcl.TraverseRoot{Name: typ},
		hcl.TraverseAttr{Name: name},
		hcl.TraverseIndex{Key: cty.NumberIntVal(0)},
		hcl.TraverseAttr{Name: attr},
	})
}

func comment(text string) hclwrite.Tokens {
	var b strings.Builder
	for _, line := range strings.Split(text, "\n") {
		b.WriteString("# " + line + "\n")
	}
	b.WriteString("\n")
	return hclwrite.Tokens{{Type: hclsyntax.TokenComment, Bytes: []byte(b.String())}}
}

func str(s string) hclwrite.Tokens { return hclwrite.TokensForValue(cty.StringVal(s)) }

func strList(ss []string) hclwrite.Tokens {
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return hclwrite.TokensForValue(cty.TupleVal(vals))
}

// lines is a list of strings one to a line, as terraform fmt keeps it: a
// change to the names is then a one-line diff.
func lines(ss []string) hclwrite.Tokens {
	toks := hclwrite.Tokens{{Type: hclsyntax.TokenOBrack, Bytes: []byte("[")}, {Type: hclsyntax.TokenNewline, Bytes: []byte("\n")}}
	for _, s := range ss {
		toks = append(toks, str(s)...)
		toks = append(toks, &hclwrite.Token{Type: hclsyntax.TokenComma, Bytes: []byte(",")}, &hclwrite.Token{Type: hclsyntax.TokenNewline, Bytes: []byte("\n")})
	}
	return append(toks, &hclwrite.Token{Type: hclsyntax.TokenCBrack, Bytes: []byte("]")})
}

func object(attrs ...hclwrite.ObjectAttrTokens) hclwrite.Tokens {
	return hclwrite.TokensForObject(attrs)
}

// kvTok quotes keys that are not plain HCL identifiers ("detail-type",
// "aws:SourceArn").
func kvTok(key string, value hclwrite.Tokens) hclwrite.ObjectAttrTokens {
	name := hclwrite.TokensForIdentifier(key)
	if !hclsyntax.ValidIdentifier(key) || strings.Contains(key, "-") {
		name = str(key)
	}
	return hclwrite.ObjectAttrTokens{Name: name, Value: value}
}

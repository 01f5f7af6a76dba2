package events

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// CloudFormation logical IDs of the set-up's fixed resources.
const (
	cfnQueue       = "EventsQueue"
	cfnDeadLetter  = "EventsDeadLetterQueue"
	cfnQueuePolicy = "EventsQueuePolicy"
	cfnForwardRole = "ForwardRole"
	cfnCentralBus  = "CentralEventBus"
	cfnCentralPol  = "CentralEventBusPolicy"
	cfnIsHub       = "IsHub"
	cfnIsForwarder = "IsForwarder"
	cfnHomeRegion  = "HomeRegion"
	cfnOrgID       = "OrganizationId"
	cfnCentralAcct = "CentralAccountId"
)

// omap is a YAML mapping that keeps its keys in the order given, so the
// template reads in the order the CloudFormation docs use.
type omap []kv

type kv struct {
	k string
	v any
}

func (m omap) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for _, e := range m {
		var v yaml.Node
		if err := v.Encode(e.v); err != nil {
			return nil, fmt.Errorf("encode %s: %w", e.k, err)
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: e.k}, &v)
	}
	return n, nil
}

// Intrinsic functions, in their long form (no custom YAML tags).
func ref(name string) omap        { return omap{{"Ref", name}} }
func getAtt(id, attr string) omap { return omap{{"Fn::GetAtt", []string{id, attr}}} }
func sub(s string) omap           { return omap{{"Fn::Sub", s}} }
func equals(a, b any) omap        { return omap{{"Fn::Equals", []any{a, b}}} }
func condition(name string) omap  { return omap{{"Condition", name}} }
func resource(typ, cond string, props omap) omap {
	return omap{{"Type", typ}, {"Condition", cond}, {"Properties", props}}
}

// CloudFormation renders the EventBridge rule for Names, the SQS queue
// with its dead-letter queue and policy, and with org the member-account
// rules that forward to a central event bus.
func CloudFormation(org bool) ([]byte, error) {
	s, err := newSetup(org)
	if err != nil {
		return nil, err
	}
	t := omap{{"AWSTemplateFormatVersion", "2010-09-09"}}
	var params, conds omap
	var hubBusArn string
	if org {
		t = append(t, kv{"Description", "sagefence events-setup (organization): CloudTrail calls that can change a SageMaker notebook's internet exposure, from every account and region of the organization to one SQS queue read by sagefence watch. Deploy it with the same parameters in every account and region (a StackSet) and in the central account; the central account's home region becomes the hub. EventBridge receives these calls only where a CloudTrail trail logs management events (an organization trail covers every account)."})
		params = omap{
			{cfnOrgID, omap{{"Type", "String"}, {"AllowedPattern", "^o-[a-z0-9]{10,32}$"}, {"Description", descOrgID}}},
			{cfnCentralAcct, omap{{"Type", "String"}, {"AllowedPattern", "^[0-9]{12}$"}, {"Description", descCentral}}},
			{cfnHomeRegion, omap{{"Type", "String"}, {"AllowedPattern", "^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"}, {"Description", descOrgHome}}},
		}
		conds = omap{
			{"IsCentralAccount", equals(ref("AWS::AccountId"), ref(cfnCentralAcct))},
			{"IsHomeRegion", equals(ref("AWS::Region"), ref(cfnHomeRegion))},
			{cfnIsHub, omap{{"Fn::And", []any{condition("IsCentralAccount"), condition("IsHomeRegion")}}}},
		}
		hubBusArn = "arn:${AWS::Partition}:events:${" + cfnHomeRegion + "}:${" + cfnCentralAcct + "}:event-bus/" + CentralBusName
	} else {
		t = append(t, kv{"Description", "sagefence events-setup: CloudTrail calls that can change a SageMaker notebook's internet exposure, sent to one SQS queue read by sagefence watch. Deploy it in every region to watch with the same HomeRegion; the copy in HomeRegion holds the queue. EventBridge receives these calls only where a CloudTrail trail logs management events."})
		params = omap{
			{cfnHomeRegion, omap{{"Type", "String"}, {"Default", ""}, {"AllowedPattern", "^([a-z]{2}(-[a-z]+)+-[0-9]{1,2})?$"}, {"Description", descHomeRegion}}},
		}
		conds = omap{
			{cfnIsHub, omap{{"Fn::Or", []any{
				equals(ref(cfnHomeRegion), ""),
				equals(ref(cfnHomeRegion), ref("AWS::Region")),
			}}}},
		}
		hubBusArn = "arn:${AWS::Partition}:events:${" + cfnHomeRegion + "}:${AWS::AccountId}:event-bus/default"
	}
	conds = append(conds, kv{cfnIsForwarder, omap{{"Fn::Not", []any{condition(cfnIsHub)}}}})
	t = append(t, kv{"Parameters", params}, kv{"Conditions", conds})

	res := omap{
		{cfnDeadLetter, resource("AWS::SQS::Queue", cfnIsHub, omap{
			{"QueueName", DeadLetterQueueName},
			{"MessageRetentionPeriod", deadLetterRetentionSeconds},
			{"SqsManagedSseEnabled", true},
		})},
		{cfnQueue, resource("AWS::SQS::Queue", cfnIsHub, omap{
			{"QueueName", QueueName},
			{"MessageRetentionPeriod", queueRetentionSeconds},
			{"ReceiveMessageWaitTimeSeconds", waitTimeSeconds},
			{"SqsManagedSseEnabled", true},
			{"RedrivePolicy", omap{{"deadLetterTargetArn", getAtt(cfnDeadLetter, "Arn")}, {"maxReceiveCount", maxReceiveCount}}},
		})},
	}
	var sourceArns []any
	for _, r := range s.toQueue() {
		sourceArns = append(sourceArns, getAtt(r.logicalID(), "Arn"))
	}
	res = append(res, kv{cfnQueuePolicy, resource("AWS::SQS::QueuePolicy", cfnIsHub, omap{
		{"Queues", []any{ref(cfnQueue), ref(cfnDeadLetter)}},
		{"PolicyDocument", omap{
			{"Version", "2012-10-17"},
			{"Statement", []any{omap{
				{"Sid", "AllowSagefenceRules"},
				{"Effect", "Allow"},
				{"Principal", omap{{"Service", "events.amazonaws.com"}}},
				{"Action", "sqs:SendMessage"},
				{"Resource", []any{getAtt(cfnQueue, "Arn"), getAtt(cfnDeadLetter, "Arn")}},
				{"Condition", omap{{"ArnEquals", omap{{"aws:SourceArn", sourceArns}}}}},
			}}},
		}},
	})})
	if org {
		res = append(res,
			kv{cfnCentralBus, resource("AWS::Events::EventBus", cfnIsHub, omap{{"Name", CentralBusName}})},
			kv{cfnCentralPol, resource("AWS::Events::EventBusPolicy", cfnIsHub, omap{
				{"EventBusName", ref(cfnCentralBus)},
				{"StatementId", "AllowOrganizationPutEvents"},
				{"Statement", omap{
					{"Effect", "Allow"},
					{"Principal", "*"},
					{"Action", "events:PutEvents"},
					{"Resource", getAtt(cfnCentralBus, "Arn")},
					{"Condition", omap{{"StringEquals", omap{{"aws:PrincipalOrgID", ref(cfnOrgID)}}}}},
				}},
			})},
		)
	}
	queueTarget := omap{
		{"Id", queueTargetID},
		{"Arn", getAtt(cfnQueue, "Arn")},
		{"DeadLetterConfig", omap{{"Arn", getAtt(cfnDeadLetter, "Arn")}}},
	}
	for _, r := range s.toQueue() {
		props := omap{{"Name", r.ruleName()}, {"Description", r.description()}}
		if r.kind == kindCentral {
			props = append(props, kv{"EventBusName", ref(cfnCentralBus)})
		}
		props = append(props, kv{"EventPattern", r.pattern()}, kv{"State", "ENABLED"}, kv{"Targets", []any{queueTarget}})
		res = append(res, kv{r.logicalID(), resource("AWS::Events::Rule", cfnIsHub, props)})
	}
	res = append(res, kv{cfnForwardRole, resource("AWS::IAM::Role", cfnIsForwarder, omap{
		{"Description", "Lets the sagefence forwarding rules put events on the hub's event bus."},
		{"AssumeRolePolicyDocument", omap{
			{"Version", "2012-10-17"},
			{"Statement", []any{omap{
				{"Effect", "Allow"},
				{"Principal", omap{{"Service", "events.amazonaws.com"}}},
				{"Action", "sts:AssumeRole"},
			}}},
		}},
		{"Policies", []any{omap{
			{"PolicyName", "put-events-on-hub-bus"},
			{"PolicyDocument", omap{
				{"Version", "2012-10-17"},
				{"Statement", []any{omap{
					{"Effect", "Allow"},
					{"Action", "events:PutEvents"},
					{"Resource", sub(hubBusArn)},
				}}},
			}},
		}}},
	})})
	forwardTarget := omap{
		{"Id", forwardTargetID},
		{"Arn", sub(hubBusArn)},
		{"RoleArn", getAtt(cfnForwardRole, "Arn")},
	}
	for _, r := range s.forwarder {
		res = append(res, kv{r.logicalID(), resource("AWS::Events::Rule", cfnIsForwarder, omap{
			{"Name", r.ruleName()},
			{"Description", r.description()},
			{"EventPattern", r.pattern()},
			{"State", "ENABLED"},
			{"Targets", []any{forwardTarget}},
		})})
	}
	t = append(t, kv{"Resources", res})

	output := func(desc string, value any) omap {
		return omap{{"Condition", cfnIsHub}, {"Description", desc}, {"Value", value}}
	}
	outs := omap{
		{"QueueUrl", output(queueURLHelp, ref(cfnQueue))},
		{"QueueArn", output("ARN of the queue (grant sqs:ReceiveMessage and sqs:DeleteMessage on it to watch).", getAtt(cfnQueue, "Arn"))},
		{"DeadLetterQueueUrl", output("URL of the dead-letter queue: messages the queue could not deliver after 5 receives, and events EventBridge could not deliver.", ref(cfnDeadLetter))},
	}
	if org {
		outs = append(outs, kv{"CentralEventBusArn", output("ARN of the event bus the organization's accounts forward to.", getAtt(cfnCentralBus, "Arn"))})
	}
	t = append(t, kv{"Outputs", outs})

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("encode CloudFormation template: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode CloudFormation template: %w", err)
	}
	return buf.Bytes(), nil
}

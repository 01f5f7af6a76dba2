package alert

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/testenv"
)

// SNS as moto emulates it: the published message reaches a subscribed
// queue as the alert's JSON, its attributes included.
func TestSNSAgainstMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto")
	}
	m := testenv.MotoForTest(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := testenv.Config(m.URL())
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	topic, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("sagefence-alerts")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("alerts")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"),
		Endpoint:   aws.String(qa.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	a := failAlert()
	if err := NewSNS(*topic.TopicArn, snsc).Send(ctx, a); err != nil {
		t.Fatalf("Send: %v", err)
	}
	out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 5,
		MessageAttributeNames: []string{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages reached the subscribed queue, want 1", len(out.Messages))
	}
	msg := out.Messages[0]
	var got Alert
	if err := json.Unmarshal([]byte(*msg.Body), &got); err != nil {
		t.Fatalf("the message is not the alert's JSON: %v: %s", err, *msg.Body)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("the queue got a different alert (-sent +received):\n%s", diff)
	}
	if to := msg.MessageAttributes["to"]; to.StringValue == nil || *to.StringValue != "FAIL" {
		t.Errorf("message attribute to = %v, want FAIL", to.StringValue)
	}

	// A topic that does not exist is a permanent failure.
	err = NewSNS("arn:aws:sns:us-east-1:123456789012:no-such-topic", snsc).Send(ctx, a)
	if err == nil || !IsPermanent(err) {
		t.Errorf("Send to a missing topic = %v, want a permanent error", err)
	}
}

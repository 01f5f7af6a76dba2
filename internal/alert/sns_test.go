package alert

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/history"
)

const topicARN = "arn:aws:sns:us-east-1:123456789012:sagefence-alerts"

// fakeSNS records what it is asked to publish and fails the n-th call (from
// 1) with errs(n), if that is not nil.
type fakeSNS struct {
	errs func(n int) error

	mu    sync.Mutex
	calls []*sns.PublishInput
}

func (f *fakeSNS) Publish(ctx context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, in)
	n := len(f.calls)
	f.mu.Unlock()
	if f.errs != nil {
		if err := f.errs(n); err != nil {
			return nil, err
		}
	}
	return &sns.PublishOutput{MessageId: new(string)}, nil
}

func (f *fakeSNS) published() []*sns.PublishInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sns.PublishInput(nil), f.calls...)
}

func TestSNSPublishesTheAlertJSONWithAShortSubject(t *testing.T) {
	api := &fakeSNS{}
	s := NewSNS(topicARN, api)
	if want := "sns " + topicARN; s.Name() != want {
		t.Errorf("Name = %q, want %q", s.Name(), want)
	}
	a := failAlert()
	if err := s.Send(context.Background(), a); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls := api.published()
	if len(calls) != 1 {
		t.Fatalf("%d publishes, want 1", len(calls))
	}
	in := calls[0]
	if *in.TopicArn != topicARN {
		t.Errorf("TopicArn = %s", *in.TopicArn)
	}
	var got Alert
	if err := json.Unmarshal([]byte(*in.Message), &got); err != nil {
		t.Fatalf("Message is not the alert's JSON: %v: %s", err, *in.Message)
	}
	if diff := cmp.Diff(a, got); diff != "" {
		t.Errorf("Message decodes to a different alert (-sent +published):\n%s", diff)
	}
	if want := "FAIL: notebook fraud-model-dev (123456789012 us-east-1) is now FAIL (was PASS)"; *in.Subject != want {
		t.Errorf("Subject = %q, want %q", *in.Subject, want)
	}
	attrs := map[string]string{}
	for k, v := range in.MessageAttributes {
		attrs[k] = *v.DataType + ":" + *v.StringValue
	}
	wantAttrs := map[string]string{"to": "String:FAIL", "account_id": "String:123456789012", "region": "String:us-east-1"}
	if diff := cmp.Diff(wantAttrs, attrs); diff != "" {
		t.Errorf("MessageAttributes (-want +got):\n%s", diff)
	}
	if in.MessageGroupId != nil || in.MessageDeduplicationId != nil {
		t.Errorf("a standard topic got FIFO fields: group %v, dedup %v", in.MessageGroupId, in.MessageDeduplicationId)
	}
}

func TestSNSSubjectIsShortPrintableASCII(t *testing.T) {
	for _, name := range []string{
		strings.Repeat("very-long-notebook-name-", 20),
		"ünïcödé-<!channel>\nnext line\u202e",
	} {
		tr := transition("PASS", "FAIL", "nat", eventCause("CreateRoute"))
		tr.Name = name
		got := subject(FromTransition(tr))
		if len(got) > 99 {
			t.Errorf("subject is %d bytes, SNS wants fewer than 100: %q", len(got), got)
		}
		for _, r := range got {
			if r < 0x20 || r > 0x7e {
				t.Errorf("subject has %q, not printable ASCII: %q", r, got)
			}
		}
		if !strings.HasPrefix(got, "FAIL: notebook ") {
			t.Errorf("subject does not start with what happened: %q", got)
		}
	}
	del := FromTransition(transition("FAIL", history.StatusDeleted, "", history.Cause{Kind: history.CauseScheduled}))
	if want := "DELETED: notebook fraud-model-dev (123456789012 us-east-1) was deleted (was FAIL)"; subject(del) != want {
		t.Errorf("subject = %q, want %q", subject(del), want)
	}
}

func TestSNSFIFOTopicGetsAGroupPerNotebookAndAContentDeduplicationID(t *testing.T) {
	api := &fakeSNS{}
	s := NewSNS(topicARN+".fifo", api)
	a := failAlert()
	for range 2 {
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	other := a
	other.To = "PASS"
	if err := s.Send(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	calls := api.published()
	if got, want := *calls[0].MessageGroupId, "123456789012/us-east-1/fraud-model-dev"; got != want {
		t.Errorf("MessageGroupId = %q, want %q", got, want)
	}
	d0, d1, d2 := *calls[0].MessageDeduplicationId, *calls[1].MessageDeduplicationId, *calls[2].MessageDeduplicationId
	if d0 != d1 {
		t.Errorf("a retried publish of the same alert has another deduplication ID: %s, %s", d0, d1)
	}
	if d0 == d2 {
		t.Errorf("two different alerts share a deduplication ID %s", d0)
	}
	if len(d0) > 128 {
		t.Errorf("deduplication ID longer than SNS allows: %d", len(d0))
	}
}

// publishError is err as the SDK returns it from Publish: an operation
// error around the HTTP response error around the modeled error.
func publishError(status int, err error) error {
	return &smithy.OperationError{ServiceID: "SNS", OperationName: "Publish", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
	}}
}

func TestSNSSaysWhichErrorsAreWorthRetrying(t *testing.T) {
	msg := func(s string) *string { return &s }
	for _, tc := range []struct {
		name      string
		err       error
		retryable bool
	}{
		{"throttled", publishError(400, &types.ThrottledException{Message: msg("Rate exceeded")}), true},
		{"KMS throttled", publishError(400, &types.KMSThrottlingException{}), true},
		{"internal error", publishError(500, &types.InternalErrorException{}), true},
		{"503 unmodeled", publishError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"}), true},
		{"429 unmodeled", publishError(429, &smithy.GenericAPIError{Code: "TooManyRequests"}), true},
		{"connection refused", &smithy.OperationError{ServiceID: "SNS", OperationName: "Publish",
			Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}, true},
		{"topic not found", publishError(404, &types.NotFoundException{}), false},
		{"not authorized", publishError(403, &types.AuthorizationErrorException{}), false},
		{"invalid parameter", publishError(400, &types.InvalidParameterException{}), false},
		{"KMS access denied", publishError(400, &types.KMSAccessDeniedException{}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := NewSNS(topicARN, &fakeSNS{errs: func(int) error { return tc.err }}).Send(context.Background(), failAlert())
			if err == nil {
				t.Fatal("Send = nil, want the publish error")
			}
			if IsPermanent(err) == tc.retryable {
				t.Errorf("Send = %v: permanent %v, want permanent %v", err, IsPermanent(err), !tc.retryable)
			}
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), topicARN) {
				t.Errorf("error does not wrap the SDK's and name the topic: %v", err)
			}
		})
	}
}

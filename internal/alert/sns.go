package alert

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// SNSAPI is the SNS call the SNS sink makes.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
}

// NewSNS publishes each alert's JSON to an SNS topic. The Subject (what
// email subscribers see) is a short ASCII form of the text; the status,
// account and region are also message attributes, so that a subscription
// can filter on them (e.g. only "to": "FAIL"). A FIFO topic (".fifo") gets
// one message group per notebook, which keeps each notebook's alerts in
// order, and a deduplication ID from the content, which makes a retried
// publish harmless.
func NewSNS(topicARN string, api SNSAPI) Sink {
	return &snsSink{topic: topicARN, api: api}
}

type snsSink struct {
	topic string
	api   SNSAPI
}

func (s *snsSink) Name() string { return "sns " + s.topic }

func (s *snsSink) Send(ctx context.Context, a Alert) error {
	msg, err := json.Marshal(a)
	if err != nil {
		return Permanent(fmt.Errorf("%s: encode alert: %w", s.Name(), err))
	}
	in := &sns.PublishInput{
		TopicArn:          aws.String(s.topic),
		Message:           aws.String(string(msg)),
		Subject:           aws.String(subject(a)),
		MessageAttributes: map[string]types.MessageAttributeValue{},
	}
	for k, v := range map[string]string{"to": a.To, "account_id": a.AccountID, "region": a.Region} {
		if v != "" { // SNS refuses an empty attribute value
			in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	if strings.HasSuffix(s.topic, ".fifo") {
		in.MessageGroupId = aws.String(truncate(asciiText(a.AccountID+"/"+a.Region+"/"+a.Resource), 128))
		sum := sha256.Sum256(msg)
		in.MessageDeduplicationId = aws.String(hex.EncodeToString(sum[:]))
	}
	if _, err := s.api.Publish(ctx, in); err != nil {
		err = fmt.Errorf("%s: publish: %w", s.Name(), err)
		if !snsRetryable(err) {
			return Permanent(err)
		}
		return err
	}
	return nil
}

// snsRetryable says whether a failed Publish may succeed later:
// throttling (SNS's own "Throttled" and "KMSThrottling" codes are not in
// the SDK's list), SNS internal errors, any 5xx or 429, and what the SDK's
// standard retryer retries (connection errors, timeouts). Authorization,
// a missing topic or an invalid parameter will fail the same way again.
func snsRetryable(err error) bool {
	var (
		throttled *types.ThrottledException
		kms       *types.KMSThrottlingException
		internal  *types.InternalErrorException
		status    interface{ HTTPStatusCode() int }
	)
	switch {
	case errors.As(err, &throttled), errors.As(err, &kms), errors.As(err, &internal):
		return true
	case errors.As(err, &status) && (status.HTTPStatusCode() == 429 || status.HTTPStatusCode() >= 500):
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// subjectMax is below SNS's limit: "less than 100 characters".
const subjectMax = 99

// subject is the short form of the alert's text for SNS's Subject:
// printable ASCII only (SNS refuses line breaks and control characters,
// and email subjects mangle the rest), at most subjectMax characters.
func subject(a Alert) string {
	return truncate(a.headline(asciiText), subjectMax)
}

// asciiText replaces every character outside printable ASCII with '?'.
func asciiText(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

// truncate shortens s to at most n bytes, ending it with "..." when cut.
// It is used on ASCII text and on IDs.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

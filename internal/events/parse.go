package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// DetailType is the detail-type of the EventBridge events CloudTrail
// delivers for API calls.
const DetailType = "AWS API Call via CloudTrail"

// envelope is the part of an EventBridge event Parse reads
// (https://docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
type envelope struct {
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Detail     json.RawMessage `json:"detail"`
}

// trail is the part of a CloudTrail record Parse reads
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html).
type trail struct {
	EventID            string `json:"eventID"`
	EventName          string `json:"eventName"`
	EventSource        string `json:"eventSource"`
	EventTime          string `json:"eventTime"`
	AWSRegion          string `json:"awsRegion"`
	RecipientAccountID string `json:"recipientAccountId"`
	ErrorCode          string `json:"errorCode"`
	UserIdentity       struct {
		ARN       string `json:"arn"`
		InvokedBy string `json:"invokedBy"`
	} `json:"userIdentity"`
	// RequestParameters is an object whose shape depends on the call;
	// only SageMaker's resource names are read from it.
	RequestParameters json.RawMessage `json:"requestParameters"`
}

type sagemakerParams struct {
	NotebookInstanceName string `json:"notebookInstanceName"`
	ResourceARN          string `json:"resourceArn"`
	// DomainID names the Studio domain of a domain, user profile or
	// space call.
	DomainID string `json:"domainId"`
}

// snsNotification is an SNS message as SNS delivers it to a subscribed
// SQS queue without raw message delivery.
type snsNotification struct {
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	// A notebook instance's or a Studio domain's ARN in any partition:
	// arn:aws:sagemaker:us-east-1:111122223333:notebook-instance/name,
	// arn:aws:sagemaker:us-east-1:111122223333:domain/d-xxxxxxxxxxxx.
	taggedARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:(notebook-instance|domain)/.+$`)
)

// isTaggedARN reports whether s names a resource whose tags exceptions
// match on: a notebook instance or a Studio domain.
func isTaggedARN(s string) bool { return taggedARNRE.MatchString(s) }

// Parse reads one SQS message body: an EventBridge event whose
// detail-type is "AWS API Call via CloudTrail", or the same event wrapped
// in an SNS notification (a queue subscribed to a topic). The account and
// region are those the call concerned: CloudTrail's recipientAccountId and
// awsRegion, else the envelope's. A failed call parses; Event.Failed and
// Event.Relevant say it changed nothing.
func Parse(body []byte) (Event, error) {
	return parse(body, true)
}

func parse(body []byte, unwrap bool) (Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 || body[0] != '{' {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if unwrap {
		var n snsNotification
		if json.Unmarshal(body, &n) == nil && n.Type == "Notification" && n.Message != "" {
			return parse([]byte(n.Message), false)
		}
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if env.DetailType == "" || env.Source == "" || !isObject(env.Detail) {
		return Event{}, fmt.Errorf("%w: no detail-type, source or detail", ErrMalformed)
	}
	if env.DetailType != DetailType {
		return Event{}, fmt.Errorf("%w: detail-type %q", ErrNotCloudTrail, env.DetailType)
	}
	var d trail
	if err := json.Unmarshal(env.Detail, &d); err != nil {
		return Event{}, fmt.Errorf("%w: detail: %v", ErrMalformed, err)
	}
	e := Event{
		ID:        firstNonEmpty(d.EventID, env.ID),
		Source:    d.EventSource,
		Name:      d.EventName,
		AccountID: firstNonEmpty(d.RecipientAccountID, env.Account),
		Region:    firstNonEmpty(d.AWSRegion, env.Region),
		Caller:    firstNonEmpty(d.UserIdentity.ARN, d.UserIdentity.InvokedBy),
		Time:      parseTime(d.EventTime, env.Time),
		ErrorCode: d.ErrorCode,
	}
	switch {
	case e.Source == "" || e.Name == "":
		return Event{}, fmt.Errorf("%w: CloudTrail detail without eventSource or eventName", ErrMalformed)
	case !accountRE.MatchString(e.AccountID):
		return Event{}, fmt.Errorf("%w: account %q", ErrMalformed, e.AccountID)
	case !regionRE.MatchString(e.Region):
		return Event{}, fmt.Errorf("%w: region %q", ErrMalformed, e.Region)
	}
	if e.Source == SourceSageMaker && isObject(d.RequestParameters) {
		var p sagemakerParams
		if json.Unmarshal(d.RequestParameters, &p) == nil {
			e.Resource = firstNonEmpty(p.ResourceARN, p.NotebookInstanceName, p.DomainID)
		}
	}
	return e, nil
}

func isObject(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) > 0 && raw[0] == '{'
}

// parseTime reads the first of the times that parses as RFC 3339; the zero
// time when none does (the time only measures lag).
func parseTime(values ...string) time.Time {
	for _, v := range values {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(v)); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
